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

/// A copy of part of a storage buffer on its way to the host: the copy is encoded by [`PendingRead::encode`],
/// the mapping requested after the submit by [`PendingRead::request`], and the values taken by
/// [`PendingRead::try_take`] once the device has mapped them — never blocking, so it works on the web,
/// where the browser runs the map callback between frames.
pub struct PendingRead {
    staging: wgpu::Buffer,
    bytes: u64,
    state: std::sync::Arc<std::sync::Mutex<Option<Result<(), wgpu::BufferAsyncError>>>>,
}

impl PendingRead {
    /// Encode a copy of `bytes` bytes of `source` from `offset` into a new staging buffer.
    pub fn encode(
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        source: &wgpu::Buffer,
        offset: u64,
        bytes: u64,
    ) -> Self {
        let bytes = bytes.max(4).next_multiple_of(4);
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback staging"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(source, offset, &staging, 0, bytes);
        Self { staging, bytes, state: Default::default() }
    }

    /// Ask for the mapping (after the copy was submitted).
    pub fn request(&self) {
        let state = std::sync::Arc::clone(&self.state);
        self.staging.map_async(wgpu::MapMode::Read, .., move |result| {
            if let Ok(mut slot) = state.lock() {
                *slot = Some(result);
            }
        });
    }

    /// The bytes once mapped (`None` while the device is still working).
    pub fn try_take_bytes(&self) -> Option<Result<Vec<u8>, GpuError>> {
        let result = self.state.lock().ok()?.take()?;
        Some(match result {
            Err(err) => Err(GpuError::Readback(err.to_string())),
            Ok(()) => {
                let bytes = self
                    .staging
                    .get_mapped_range(..self.bytes)
                    .map(|view| view.to_vec())
                    .map_err(|err| GpuError::Readback(err.to_string()));
                self.staging.unmap();
                bytes
            }
        })
    }

    /// The values as f32 once mapped.
    pub fn try_take(&self) -> Option<Result<Vec<f32>, GpuError>> {
        self.try_take_bytes().map(|bytes| {
            bytes.and_then(|b| {
                bytemuck::try_cast_slice::<u8, f32>(&b)
                    .map(<[f32]>::to_vec)
                    .map_err(|err| GpuError::Readback(format!("mapped range is not f32 data: {err}")))
            })
        })
    }
}
