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

/// When a submitted step's work was done (set by `on_submitted_work_done`).
type DoneAt = Arc<std::sync::Mutex<Option<web_time::Instant>>>;

enum State {
    Ready,
    /// One submission per step, each waited for before the next (adapters without timestamps): the
    /// per-step times of a profiling run.
    Profiling {
        /// Index into the steps that dispatch work: the next to submit.
        next: usize,
        /// The step in flight: its node, when it was submitted, when its work was done.
        in_flight: Option<(NodeId, web_time::Instant, DoneAt)>,
        step_ms: Vec<Option<f64>>,
        errors: Vec<ErrorFuture>,
    },
    Submitted {
        logits: PendingRead,
        timestamps: Option<PendingRead>,
        errors: Vec<ErrorFuture>,
        submitted: web_time::Instant,
        logits_data: Option<Vec<f32>>,
        timestamp_data: Option<Vec<u8>>,
        /// Per-step times already measured by a profiling run.
        profiled: Option<Vec<Option<f64>>>,
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

/// How a run measures its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// One command buffer; per-step timestamps where the device has them.
    Whole,
    /// Without timestamps, one submission per step, each waited for (slower; for the per-layer view).
    ProfileSubmissions,
}

fn device_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::Device(e.to_string())
}

impl GpuRun {
    pub(super) fn new(engine: GpuEngine, input: Tensor, capture: Capture, mode: Mode) -> Result<Self, EngineError> {
        let inner = &engine.inner;
        let variant = inner.variant(&capture);
        let lowered = &variant.lowered;
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
        // A root's buffer is made at the first step writing into it: its own, or that of a convolution
        // written into it (a concatenation's part).
        let root_at = |t: usize| lowered.value_of.get(t).map_or(t, |r| r.0);
        let mut first = vec![usize::MAX; n];
        for t in 0..n {
            if let Some(f) = first.get_mut(root_at(t)) {
                *f = (*f).min(t);
            }
        }
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
            let r = root_at(t);
            if first.get(r) != Some(&t) {
                continue;
            }
            let Some(shape) = lowered.shapes.get(r) else { continue };
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
            if let Some(slot) = values.get_mut(r) {
                *slot = Some(buffer);
            }
            live.push(r);
        }
        let input_buffer =
            values.first().cloned().flatten().ok_or_else(|| EngineError::Internal("no input buffer".into()))?;
        inner.ctx.queue.write_buffer(&input_buffer, 0, bytemuck::cast_slice(&input.data));

        let mut bind_groups = Vec::with_capacity(n);
        for (step, pipelines) in lowered.steps.iter().zip(&variant.pipelines) {
            let mut groups = Vec::with_capacity(step.dispatches.len());
            for (d, (pipeline, offset)) in step.dispatches.iter().zip(pipelines) {
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &variant.params,
                        offset: *offset,
                        size: wgpu::BufferSize::new((d.params.len() as u64 * 4).next_multiple_of(16).max(16)),
                    }),
                }];
                for (binding, slot) in &d.bindings {
                    let buffer = inner.slot_buffer(lowered, *slot, &values).ok_or_else(|| {
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
        let state = if mode == Mode::ProfileSubmissions && !inner.timestamps {
            State::Profiling { next: 0, in_flight: None, step_ms: vec![None; n], errors: Vec::new() }
        } else {
            State::Ready
        };
        Ok(Self { engine, values, bind_groups, capture, state })
    }

    /// Encode every step into one command buffer and submit it, with the read-backs.
    fn submit(&mut self) -> Result<State, EngineError> {
        let inner = &self.engine.inner;
        let lowered = &inner.variant(&self.capture).lowered;
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
        let record = |pass: &mut wgpu::ComputePass<'_>, step: usize| self.record(pass, step);
        let working = self.working();
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
        let out_at = lowered.offset_of.get(lowered.output.0).copied().unwrap_or(0) as u64 * 4;
        let logits = PendingRead::encode(device, &mut encoder, &out_buffer, out_at, out_len as u64 * 4);
        let submitted = web_time::Instant::now();
        inner.ctx.queue.submit([encoder.finish()]);
        logits.request();
        if let Some(t) = &timestamps {
            t.request();
        }
        let errors: Vec<ErrorFuture> = vec![Box::pin(memory.pop()), Box::pin(validation.pop())];
        Ok(State::Submitted {
            logits,
            timestamps,
            errors,
            submitted,
            logits_data: None,
            timestamp_data: None,
            profiled: None,
        })
    }

    /// Record step `step`'s dispatches into `pass`.
    fn record(&self, pass: &mut wgpu::ComputePass<'_>, step: usize) {
        let variant = self.engine.inner.variant(&self.capture);
        let (Some(s), Some(groups), Some(pipelines)) =
            (variant.lowered.steps.get(step), self.bind_groups.get(step), variant.pipelines.get(step))
        else {
            return;
        };
        for ((d, group), (pipeline, _)) in s.dispatches.iter().zip(groups).zip(pipelines) {
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
        }
    }

    /// The steps that dispatch work, in order.
    fn working(&self) -> Vec<usize> {
        let steps = &self.engine.inner.variant(&self.capture).lowered.steps;
        (0..steps.len()).filter(|&i| steps.get(i).is_some_and(|s| !s.dispatches.is_empty())).collect()
    }

    /// Submit step `step` alone; returns when its work was done (set by the queue's callback) and the
    /// error scopes around it.
    fn submit_one(&self, step: usize) -> (DoneAt, [ErrorFuture; 2]) {
        let inner = &self.engine.inner;
        let device = &inner.ctx.device;
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("step") });
        {
            let mut pass =
                encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
            self.record(&mut pass, step);
        }
        inner.ctx.queue.submit([encoder.finish()]);
        let done: DoneAt = Arc::default();
        let flag = done.clone();
        inner.ctx.queue.on_submitted_work_done(move || {
            if let Ok(mut at) = flag.lock() {
                *at = Some(web_time::Instant::now());
            }
        });
        (done, [Box::pin(memory.pop()), Box::pin(validation.pop())])
    }

    /// A profiling run: submit the steps one by one, each after the previous one's work was done, until
    /// `deadline`; then the read-back of the logits.
    fn profile(&mut self, deadline: Option<web_time::Instant>) -> Result<(), EngineError> {
        let working = self.working();
        let ctx = self.engine.inner.ctx.clone();
        loop {
            let State::Profiling { next, in_flight, step_ms, errors } = &mut self.state else { return Ok(()) };
            if let Some((node, submitted, done)) = in_flight {
                let poll = if deadline.is_none() { wgpu::PollType::wait_indefinitely() } else { wgpu::PollType::Poll };
                let _ = ctx.device.poll(poll);
                let finished = done.lock().ok().and_then(|at| *at);
                match finished {
                    Some(at) => {
                        if let Some(slot) = step_ms.get_mut(node.0) {
                            *slot = Some(at.saturating_duration_since(*submitted).as_secs_f64() * 1e3);
                        }
                        *in_flight = None;
                    }
                    None if deadline.is_none() => continue,
                    None => return Ok(()),
                }
            }
            if let Some(&step) = working.get(*next) {
                let node =
                    self.engine.inner.variant(&self.capture).lowered.steps.get(step).map_or(NodeId(step), |s| s.node);
                let submitted = web_time::Instant::now();
                let (done, scopes) = self.submit_one(step);
                let State::Profiling { next, in_flight, errors, .. } = &mut self.state else { return Ok(()) };
                errors.extend(scopes);
                *in_flight = Some((node, submitted, done));
                *next += 1;
                if deadline.is_some_and(|d| web_time::Instant::now() >= d) {
                    return Ok(());
                }
                continue;
            }
            // Every step ran: read the logits back (the steps are already on the queue, in order).
            let step_ms = std::mem::take(step_ms);
            let pending = std::mem::take(errors);
            let inner = &self.engine.inner;
            let lowered = &inner.variant(&self.capture).lowered;
            let device = &ctx.device;
            let output = lowered.value_of.get(lowered.output.0).copied().unwrap_or(lowered.output);
            let out_buffer = self
                .values
                .get(output.0)
                .cloned()
                .flatten()
                .ok_or_else(|| EngineError::Internal("the output has no buffer".into()))?;
            let out_len = lowered.shapes.get(lowered.output.0).and_then(|s| s.checked_numel()).unwrap_or(0);
            let out_at = lowered.offset_of.get(lowered.output.0).copied().unwrap_or(0) as u64 * 4;
            let mut encoder =
                device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("read logits") });
            let logits = PendingRead::encode(device, &mut encoder, &out_buffer, out_at, out_len as u64 * 4);
            inner.ctx.queue.submit([encoder.finish()]);
            logits.request();
            self.state = State::Submitted {
                logits,
                timestamps: None,
                errors: pending,
                submitted: web_time::Instant::now(),
                logits_data: None,
                timestamp_data: None,
                profiled: Some(step_ms),
            };
            return Ok(());
        }
    }

    fn outputs(
        &self,
        logits: Vec<f32>,
        timestamps: Option<Vec<u8>>,
        profiled: Option<Vec<Option<f64>>>,
        wall_ms: f64,
    ) -> Result<Outputs, EngineError> {
        let inner = &self.engine.inner;
        let lowered = &inner.variant(&self.capture).lowered;
        let n = lowered.steps.len();
        let out_shape = lowered.shapes.get(lowered.output.0).copied().unwrap_or(lowered.input);
        let mut logits = logits;
        logits.truncate(out_shape.checked_numel().unwrap_or(0));
        let output = Tensor::new(out_shape, logits)?;
        let mut step_ms = vec![None; n];
        let (timing, total_ms) = match (timestamps, profiled) {
            (_, Some(profiled)) => {
                let total = profiled.iter().flatten().sum();
                step_ms = profiled;
                step_ms.resize(n, None);
                (Timing::Submissions, total)
            }
            (Some(bytes), None) => {
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
            (None, None) => (Timing::Total, wall_ms),
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
                    Some((buffer, *lowered.offset_of.get(node)?, *lowered.shapes.get(node)?))
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
        if matches!(self.state, State::Profiling { .. }) {
            self.profile(deadline)?;
            if let State::Profiling { errors, .. } = &mut self.state {
                let mut pending = Vec::with_capacity(errors.len());
                for mut future in errors.drain(..) {
                    match poll_now(&mut future) {
                        Some(Some(error)) => return Err(EngineError::Device(error.to_string())),
                        Some(None) => {}
                        None => pending.push(future),
                    }
                }
                *errors = pending;
                return Ok(Status::Working);
            }
        }
        let blocking = deadline.is_none();
        let poll = if blocking { wgpu::PollType::wait_indefinitely() } else { wgpu::PollType::Poll };
        let _ = ctx.device.poll(poll);
        let State::Submitted { logits, timestamps, errors, submitted, logits_data, timestamp_data, profiled } =
            &mut self.state
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
        let profiled = profiled.take();
        let outputs = self.outputs(logits, stamps, profiled, wall_ms)?;
        self.state = State::Done(Box::new(outputs));
        Ok(Status::Done)
    }

    fn progress(&self) -> (usize, usize) {
        let n = self.engine.inner.variant(&self.capture).lowered.steps.len();
        match &self.state {
            State::Done(_) | State::Taken => (n, n),
            State::Profiling { next, .. } => {
                let working = self.working();
                (working.get(*next).copied().unwrap_or(n), n)
            }
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
