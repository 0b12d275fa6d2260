//! The maps a GPU run kept, still on the GPU: the views colour them there (`colormap.rs`), and read back
//! only what they need (a hovered value, a channel's statistics, a download) — a node at a time.

use std::any::Any;
use std::sync::Arc;

use convscope_engine::{DeviceMaps, EngineError, Tensor};
use convscope_graph::{NodeId, Shape};

use crate::GpuContext;
use crate::readback::PendingRead;

/// Per node, the buffer holding its map (shared by fused nodes and aliases, and by the parts of a
/// concatenation), where the map starts in it (in elements), and its shape.
pub struct GpuMaps {
    ctx: GpuContext,
    nodes: Vec<Option<(Arc<wgpu::Buffer>, usize, Shape)>>,
}

/// A map on its way back from the GPU ([`GpuMaps::read`]).
pub struct PendingMapRead {
    read: PendingRead,
    shape: Shape,
}

impl PendingMapRead {
    /// The map once the device has copied it (`None` while it is still working).
    pub fn try_take(&self) -> Option<Result<Tensor, EngineError>> {
        let values = self.read.try_take()?;
        Some(values.map_err(|e| EngineError::Device(e.to_string())).and_then(|mut v| {
            v.truncate(self.shape.checked_numel().unwrap_or(0));
            Tensor::new(self.shape, v)
        }))
    }
}

impl GpuMaps {
    pub(crate) fn new(ctx: GpuContext, nodes: Vec<Option<(Arc<wgpu::Buffer>, usize, Shape)>>) -> Self {
        Self { ctx, nodes }
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// The buffer of `node`'s map (CHW, f32), where the map starts in it (in elements), and its shape.
    pub fn buffer(&self, node: NodeId) -> Option<(&wgpu::Buffer, usize, Shape)> {
        self.nodes.get(node.0)?.as_ref().map(|(b, o, s)| (b.as_ref(), *o, *s))
    }

    /// Let the device make progress on read-backs without waiting (natively; the browser needs no help).
    pub fn poll(&self) {
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
    }

    /// Start copying `node`'s map (or channels `channels` of it) to the host.
    pub fn read_channels(&self, node: NodeId, channels: std::ops::Range<usize>) -> Option<PendingMapRead> {
        let (buffer, offset, shape) = self.buffer(node)?;
        let plane = if shape.vector { 1 } else { shape.h * shape.w };
        let end = channels.end.min(shape.c);
        let start = channels.start.min(end);
        let part = if shape.vector { Shape::vector(end - start) } else { Shape::map(end - start, shape.h, shape.w) };
        let device = &self.ctx.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("map read") });
        let read = PendingRead::encode(
            device,
            &mut encoder,
            buffer,
            ((offset + start * plane) * 4) as u64,
            ((end - start) * plane * 4) as u64,
        );
        self.ctx.queue.submit([encoder.finish()]);
        read.request();
        Some(PendingMapRead { read, shape: part })
    }

    /// Start copying the whole maps of `nodes` to the host, in one submission.
    pub fn read_many(&self, nodes: &[NodeId]) -> Vec<Option<PendingMapRead>> {
        let device = &self.ctx.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("maps read") });
        let pending: Vec<Option<PendingMapRead>> = nodes
            .iter()
            .map(|&node| {
                let (buffer, offset, shape) = self.buffer(node)?;
                let bytes = shape.checked_numel().unwrap_or(0) as u64 * 4;
                let read = PendingRead::encode(device, &mut encoder, buffer, offset as u64 * 4, bytes);
                Some(PendingMapRead { read, shape })
            })
            .collect();
        self.ctx.queue.submit([encoder.finish()]);
        for p in pending.iter().flatten() {
            p.read.request();
        }
        pending
    }

    /// The whole maps of `nodes` on the host, waiting for the device (native builds).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_many_blocking(&self, nodes: &[NodeId]) -> Vec<Option<Result<Tensor, EngineError>>> {
        let pending = self.read_many(nodes);
        if let Err(e) = self.ctx.device.poll(wgpu::PollType::wait_indefinitely()) {
            return pending.iter().map(|_| Some(Err(EngineError::Device(e.to_string())))).collect();
        }
        pending
            .iter()
            .map(|p| {
                let p = p.as_ref()?;
                Some(p.try_take().unwrap_or_else(|| Err(EngineError::Device("the map was not read back".into()))))
            })
            .collect()
    }

    /// Start copying `node`'s whole map to the host.
    pub fn read(&self, node: NodeId) -> Option<PendingMapRead> {
        let (_, _, shape) = self.buffer(node)?;
        self.read_channels(node, 0..shape.c)
    }

    /// `node`'s map on the host, waiting for the device (native builds: the CLI's `--dump-activations`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_blocking(&self, node: NodeId) -> Option<Result<Tensor, EngineError>> {
        let pending = self.read(node)?;
        loop {
            if let Err(e) = self.ctx.device.poll(wgpu::PollType::wait_indefinitely()) {
                return Some(Err(EngineError::Device(e.to_string())));
            }
            if let Some(result) = pending.try_take() {
                return Some(result);
            }
        }
    }
}

impl DeviceMaps for GpuMaps {
    fn has(&self, node: NodeId) -> bool {
        self.nodes.get(node.0).is_some_and(Option::is_some)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
