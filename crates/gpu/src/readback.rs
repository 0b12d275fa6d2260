//! Copy a storage buffer back to the CPU, on native (blocking poll) and on the web (browser event loop).

use crate::GpuError;

/// Read `len` f32 values from `source` (which must have `COPY_SRC` usage).
pub(crate) async fn read_f32(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    source: &wgpu::Buffer,
    len: usize,
) -> Result<Vec<f32>, GpuError> {
    let size = (len * size_of::<f32>()) as u64;
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback staging"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
    encoder.copy_buffer_to_buffer(source, 0, &staging, 0, size);
    queue.submit([encoder.finish()]);

    let slice = staging.slice(..);
    let (sender, receiver) = futures_channel::oneshot::channel();
    slice.map_async(wgpu::MapMode::Read, move |result| {
        // The receiver only disappears if the caller gave up; nothing to report then.
        let _ = sender.send(result);
    });
    // Native: drive the device until the map callback has run. Web: a no-op; the browser runs the callback.
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|err| GpuError::Readback(err.to_string()))?;
    receiver
        .await
        .map_err(|_| GpuError::Readback("the map callback was dropped".to_owned()))?
        .map_err(|err| GpuError::Readback(err.to_string()))?;

    let values = {
        let view = slice.get_mapped_range().map_err(|err| GpuError::Readback(err.to_string()))?;
        bytemuck::try_cast_slice::<u8, f32>(&view)
            .map_err(|err| GpuError::Readback(format!("mapped range is not f32 data: {err}")))?
            .to_vec()
    };
    staging.unmap();
    Ok(values)
}
