//! A forward pass on the GPU: value buffers (shared between values whose lifetimes do not overlap,
//! unless the capture policy keeps them), one command buffer, and the logits and timestamps read back
//! without blocking (the browser maps buffers between frames).

// `web_time::Instant` is the wasm-safe clock; natively it re-exports `std::time::Instant`, which the
// workspace's clippy ban (meant to catch std's clock on the web) cannot tell apart.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use convscope_engine::{Backend, Capture, EngineError, Outputs, Status, Tensor, Timing};
use convscope_graph::NodeId;

use super::GpuEngine;
use super::maps::GpuMaps;
use crate::readback::PendingRead;

type ErrorFuture = Pin<Box<dyn Future<Output = Option<wgpu::Error>>>>;

enum State {
    Ready,
    Submitted {
        logits: PendingRead,
        timestamps: Option<PendingRead>,
        errors: Vec<ErrorFuture>,
        submitted: web_time::Instant,
        logits_data: Option<Vec<f32>>,
        timestamp_data: Option<Vec<u8>>,
    },
    Done(Box<Outputs>),
    Taken,
}

/// A run of a [`GpuEngine`].
pub struct GpuRun {
    engine: GpuEngine,
    /// Per node: the buffer of the values it roots (`Lowered::value_of`), while the run holds it.
    values: Vec<Option<Arc<wgpu::Buffer>>>,
    bind_groups: Vec<Vec<wgpu::BindGroup>>,
    capture: Capture,
    state: State,
}

fn device_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::Device(e.to_string())
}

impl GpuRun {
    pub(super) fn new(engine: GpuEngine, input: Tensor, capture: Capture) -> Result<Self, EngineError> {
        let inner = &engine.inner;
        let lowered = &inner.lowered;
        if input.shape != lowered.input {
            return Err(EngineError::Input(format!("the model takes {}, got {}", lowered.input, input.shape)));
        }
        inner.ctx.ensure_alive().map_err(device_error)?;
        let device = &inner.ctx.device;
        let n = lowered.steps.len();

        // Each root value lives from its step to the last step reading any node it holds, or to the end
        // when captured.
        let mut end = vec![0usize; n];
        let mut kept = vec![false; n];
        for node in 0..n {
            let Some(root) = lowered.value_of.get(node).map(|r| r.0) else { continue };
            let last = lowered.last_use.get(node).copied().unwrap_or(node);
            if let Some(e) = end.get_mut(root) {
                *e = (*e).max(last);
            }
            if capture.keeps(NodeId(node), lowered.output)
                && let Some(k) = kept.get_mut(root)
            {
                *k = true;
            }
        }
        let is_root: Vec<bool> = (0..n).map(|i| lowered.value_of.get(i).is_some_and(|r| r.0 == i)).collect();
        let mut values: Vec<Option<Arc<wgpu::Buffer>>> = vec![None; n];
        let mut free: Vec<Arc<wgpu::Buffer>> = Vec::new();
        let mut live: Vec<usize> = Vec::new();
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        for t in 0..n {
            // Buffers whose values were last read before this step can hold this step's output (never
            // one read by this very step: a dispatch cannot read and write one buffer).
            live.retain(|&r| {
                let done = end.get(r).is_some_and(|&e| e < t) && kept.get(r) != Some(&true);
                if done && let Some(b) = values.get(r).cloned().flatten() {
                    free.push(b);
                }
                !done
            });
            if is_root.get(t) != Some(&true) {
                continue;
            }
            let Some(shape) = lowered.shapes.get(t) else { continue };
            let bytes = (shape.checked_numel().unwrap_or(0) as u64 * 4).max(4);
            let reuse = free
                .iter()
                .enumerate()
                .filter(|(_, b)| b.size() >= bytes)
                .min_by_key(|(_, b)| b.size())
                .map(|(i, _)| i);
            let buffer = match reuse {
                Some(i) => free.swap_remove(i),
                None => Arc::new(device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("map"),
                    size: bytes.next_multiple_of(4),
                    usage,
                    mapped_at_creation: false,
                })),
            };
            if let Some(slot) = values.get_mut(t) {
                *slot = Some(buffer);
            }
            live.push(t);
        }
        let input_buffer =
            values.first().cloned().flatten().ok_or_else(|| EngineError::Internal("no input buffer".into()))?;
        inner.ctx.queue.write_buffer(&input_buffer, 0, bytemuck::cast_slice(&input.data));

        let mut bind_groups = Vec::with_capacity(n);
        for (step, pipelines) in lowered.steps.iter().zip(&inner.pipelines) {
            let mut groups = Vec::with_capacity(step.dispatches.len());
            for (d, (pipeline, offset)) in step.dispatches.iter().zip(pipelines) {
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &inner.params,
                        offset: *offset,
                        size: wgpu::BufferSize::new((d.params.len() as u64 * 4).next_multiple_of(16).max(16)),
                    }),
                }];
                for (binding, slot) in &d.bindings {
                    let buffer = inner.slot_buffer(*slot, &values).ok_or_else(|| {
                        EngineError::Internal(format!("node {}: binding {binding} has no buffer", step.node.0))
                    })?;
                    entries.push(wgpu::BindGroupEntry { binding: *binding, resource: buffer.as_entire_binding() });
                }
                groups.push(device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &entries,
                }));
            }
            bind_groups.push(groups);
        }
        Ok(Self { engine, values, bind_groups, capture, state: State::Ready })
    }

    /// Encode every step into one command buffer and submit it, with the read-backs.
    fn submit(&mut self) -> Result<State, EngineError> {
        let inner = &self.engine.inner;
        let lowered = &inner.lowered;
        let device = &inner.ctx.device;
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("forward") });
        let passes = lowered.steps.iter().filter(|s| !s.dispatches.is_empty()).count() as u32;
        let query_set = inner.timestamps.then(|| {
            device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("step timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: (2 * passes).max(2),
            })
        });
        let record = |pass: &mut wgpu::ComputePass<'_>, step: usize| {
            let (Some(s), Some(groups), Some(pipelines)) =
                (lowered.steps.get(step), self.bind_groups.get(step), inner.pipelines.get(step))
            else {
                return;
            };
            for ((d, group), (pipeline, _)) in s.dispatches.iter().zip(groups).zip(pipelines) {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
            }
        };
        let working: Vec<usize> = (0..lowered.steps.len())
            .filter(|&i| lowered.steps.get(i).is_some_and(|s| !s.dispatches.is_empty()))
            .collect();
        match &query_set {
            // One pass per step, timed at its start and end.
            Some(set) => {
                for (index, &step) in working.iter().enumerate() {
                    let index = index as u32;
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: None,
                        timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                            query_set: set,
                            beginning_of_pass_write_index: Some(2 * index),
                            end_of_pass_write_index: Some(2 * index + 1),
                        }),
                    });
                    record(&mut pass, step);
                }
            }
            None => {
                let mut pass =
                    encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
                for &step in &working {
                    record(&mut pass, step);
                }
            }
        }
        let timestamps = query_set.as_ref().map(|set| {
            let bytes = u64::from(2 * passes.max(1)) * 8;
            let resolve = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            encoder.resolve_query_set(set, 0..2 * passes.max(1), &resolve, 0);
            PendingRead::encode(device, &mut encoder, &resolve, 0, bytes)
        });
        let output = lowered.value_of.get(lowered.output.0).copied().unwrap_or(lowered.output);
        let out_buffer = self
            .values
            .get(output.0)
            .cloned()
            .flatten()
            .ok_or_else(|| EngineError::Internal("the output has no buffer".into()))?;
        let out_len = lowered.shapes.get(lowered.output.0).and_then(|s| s.checked_numel()).unwrap_or(0);
        let logits = PendingRead::encode(device, &mut encoder, &out_buffer, 0, out_len as u64 * 4);
        let submitted = web_time::Instant::now();
        inner.ctx.queue.submit([encoder.finish()]);
        logits.request();
        if let Some(t) = &timestamps {
            t.request();
        }
        let errors: Vec<ErrorFuture> = vec![Box::pin(memory.pop()), Box::pin(validation.pop())];
        Ok(State::Submitted { logits, timestamps, errors, submitted, logits_data: None, timestamp_data: None })
    }

    fn outputs(&self, logits: Vec<f32>, timestamps: Option<Vec<u8>>, wall_ms: f64) -> Result<Outputs, EngineError> {
        let inner = &self.engine.inner;
        let lowered = &inner.lowered;
        let n = lowered.steps.len();
        let out_shape = lowered.shapes.get(lowered.output.0).copied().unwrap_or(lowered.input);
        let mut logits = logits;
        logits.truncate(out_shape.checked_numel().unwrap_or(0));
        let output = Tensor::new(out_shape, logits)?;
        let mut step_ms = vec![None; n];
        let (timing, total_ms) = match timestamps {
            Some(bytes) => {
                let ticks: Vec<u64> =
                    bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect();
                let period = f64::from(inner.ctx.queue.get_timestamp_period()) * 1e-6; // ms per tick
                let mut index = 0;
                let (mut first, mut last) = (u64::MAX, 0u64);
                for step in &lowered.steps {
                    if step.dispatches.is_empty() {
                        continue;
                    }
                    if let (Some(&b), Some(&e)) = (ticks.get(2 * index), ticks.get(2 * index + 1)) {
                        if let Some(slot) = step_ms.get_mut(step.node.0) {
                            *slot = Some(e.saturating_sub(b) as f64 * period);
                        }
                        first = first.min(b);
                        last = last.max(e);
                    }
                    index += 1;
                }
                // Timestamps of 0 mean the adapter wrote none: fall back to the wall clock.
                if last > first && first > 0 {
                    (Timing::Timestamps, last.saturating_sub(first) as f64 * period)
                } else {
                    step_ms.iter_mut().for_each(|s| *s = None);
                    (Timing::Total, wall_ms)
                }
            }
            None => (Timing::Total, wall_ms),
        };
        let maps = GpuMaps::new(
            inner.ctx.clone(),
            (0..n)
                .map(|node| {
                    if !self.capture.keeps(NodeId(node), lowered.output) {
                        return None;
                    }
                    let root = lowered.value_of.get(node)?;
                    let buffer = self.values.get(root.0).cloned().flatten()?;
                    Some((buffer, *lowered.shapes.get(node)?))
                })
                .collect(),
        );
        Ok(Outputs {
            backend: Backend::Gpu,
            output,
            activations: vec![None; n],
            step_ms,
            timing,
            total_ms,
            device: Some(Arc::new(maps)),
        })
    }
}

/// Poll a future once, without a waker that does anything: the results of wgpu's error scopes are
/// ready after a device poll natively and after the browser resolved them on the web; until then this
/// says `None` and the run waits a frame.
fn poll_now<T>(future: &mut Pin<Box<dyn Future<Output = T>>>) -> Option<T> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

impl convscope_engine::Run for GpuRun {
    fn advance(&mut self, deadline: Option<web_time::Instant>) -> Result<Status, EngineError> {
        let ctx = self.engine.inner.ctx.clone();
        if let Some(reason) = ctx.lost_reason() {
            return Err(EngineError::Device(format!("the device was lost: {reason}")));
        }
        if matches!(self.state, State::Ready) {
            self.state = self.submit()?;
        }
        let blocking = deadline.is_none();
        let poll = if blocking { wgpu::PollType::wait_indefinitely() } else { wgpu::PollType::Poll };
        let _ = ctx.device.poll(poll);
        let State::Submitted { logits, timestamps, errors, submitted, logits_data, timestamp_data } = &mut self.state
        else {
            return Ok(match self.state {
                State::Done(_) => Status::Done,
                _ => Status::Waiting,
            });
        };
        if logits_data.is_none()
            && let Some(values) = logits.try_take()
        {
            *logits_data = Some(values.map_err(device_error)?);
        }
        if let Some(t) = timestamps
            && timestamp_data.is_none()
            && let Some(bytes) = t.try_take_bytes()
        {
            *timestamp_data = Some(bytes.map_err(device_error)?);
        }
        let mut pending_errors = Vec::new();
        for mut future in errors.drain(..) {
            match poll_now(&mut future) {
                Some(Some(error)) => return Err(EngineError::Device(error.to_string())),
                Some(None) => {}
                None => pending_errors.push(future),
            }
        }
        *errors = pending_errors;
        let ready = logits_data.is_some() && (timestamps.is_none() || timestamp_data.is_some()) && errors.is_empty();
        if !ready {
            if let Some(reason) = ctx.lost_reason() {
                return Err(EngineError::Device(format!("the device was lost: {reason}")));
            }
            return Ok(Status::Waiting);
        }
        let wall_ms = submitted.elapsed().as_secs_f64() * 1e3;
        let logits = logits_data.take().unwrap_or_default();
        let stamps = timestamp_data.take();
        let outputs = self.outputs(logits, stamps, wall_ms)?;
        self.state = State::Done(Box::new(outputs));
        Ok(Status::Done)
    }

    fn progress(&self) -> (usize, usize) {
        let n = self.engine.inner.lowered.steps.len();
        match self.state {
            State::Done(_) | State::Taken => (n, n),
            _ => (0, n),
        }
    }

    fn next_node(&self) -> Option<NodeId> {
        None
    }

    fn finish(mut self: Box<Self>) -> Result<Outputs, EngineError> {
        match std::mem::replace(&mut self.state, State::Taken) {
            State::Done(outputs) => Ok(*outputs),
            _ => Err(EngineError::Internal("finish() before the GPU run was done".into())),
        }
    }
}
