//! The CPU engine: runs a bound graph on one image, node by node, and hands out every node's output.
//!
//! Layout: CHW (NCHW with batch 1). PyTorch stores weights as `[out, in, kh, kw]`, so a pointwise conv
//! is one GEMM `W[out × in] · X[in × hw]` with no repacking; grouped convolutions work on whole
//! contiguous planes; and the views show one channel at a time, which in CHW is a slice of the tensor
//! the engine already holds (no copy for the feature-map grid). The one exception: inverted-residual
//! trunks (pointwise → depthwise → pointwise → residual sum) run channels-last, where depthwise
//! convolutions vectorize across channels; their captured maps are transposed to CHW when a run
//! finishes (`layout.rs`).
//!
//! Execution is a [`Run`]: one step per node, so the app can spread a run over frames and show
//! progress while the page stays responsive (the browser build is single-threaded). Natively a
//! convolution is split over threads ([`Engine::threads`]): by output channels or groups in CHW, by
//! pixels or rows in HWC. Outputs are `Arc`s: a
//! fused BN or activation shares its convolution's output, and flatten/dropout share their input's
//! data, so capturing every node costs no copies.

// `web_time::Instant` is the wasm-safe clock; natively it re-exports `std::time::Instant`, which the
// workspace's clippy ban (meant to catch std's clock on the web) cannot tell apart.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod alloc;
pub mod kernels;
mod layout;
pub mod plan;

use std::sync::Arc;

pub use convscope_engine::{Backend, Capture, EngineError, Outputs, Status, Tensor, Timing, top_k};
use convscope_graph::{Graph, NodeId};
use convscope_weights::bind::Bound;
pub use plan::{Plan, Step, StepKind};

/// The engine for one bound graph; cheap to clone (the plan is shared).
#[derive(Clone, Debug)]
pub struct Engine {
    pub plan: Arc<Plan>,
    /// Threads a convolution is split over (rayon's pool, native builds); 1 on the web.
    pub threads: usize,
}

impl Engine {
    /// An engine using every core natively (one thread on the web).
    pub fn new(graph: &Graph, weights: &Bound) -> Result<Self, EngineError> {
        Ok(Self { plan: Arc::new(Plan::new(graph, weights)?), threads: default_threads() })
    }

    /// An engine that holds every value CHW, with no channels-last chains (see `layout.rs`): the
    /// reference those chains are tested against.
    pub fn channels_first(graph: &Graph, weights: &Bound) -> Result<Self, EngineError> {
        Ok(Self { plan: Arc::new(Plan::with_layouts(graph, weights, false)?), threads: default_threads() })
    }

    /// The same engine limited to `threads` threads (at least 1).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The node whose step computes `node`'s output, when `node` (a BN or activation) was fused into an
    /// earlier convolution: its map is that convolution's output after the fused BN and activation.
    pub fn fused_into(&self, node: NodeId) -> Option<NodeId> {
        match self.plan.steps.get(node.0).map(|s| &s.kind) {
            Some(StepKind::Fused { into }) => Some(*into),
            _ => None,
        }
    }

    /// The nodes fused into `node`'s step (its map is shown after them).
    pub fn absorbs(&self, node: NodeId) -> &[NodeId] {
        self.plan.steps.get(node.0).map_or(&[], |s| s.absorbs.as_slice())
    }

    /// Start a run on `input` (already preprocessed, CHW).
    pub fn start(&self, input: Tensor, capture: Capture) -> Result<Run, EngineError> {
        if input.shape != self.plan.input {
            return Err(EngineError::Input(format!("the model takes {}, got {}", self.plan.input, input.shape)));
        }
        let n = self.plan.steps.len();
        let mut values = vec![None; n];
        if let Some(first) = values.first_mut() {
            *first = Some(input);
        }
        Ok(Run { engine: self.clone(), values, next: 1, capture, scratch: Vec::new(), step_ms: vec![None; n] })
    }

    /// Run to the end.
    pub fn run(&self, input: Tensor, capture: Capture) -> Result<Outputs, EngineError> {
        let mut run = self.start(input, capture)?;
        run.step_while(|| true)?;
        run.finish()
    }
}

/// A zeroed map of `n` values. Large ones are zeroed by every thread, a piece each, instead of by the
/// one running the steps while the others wait for the split kernel (Lite0's 112² maps are 1.6–4.8 MB;
/// on two threads a run took 3.0 → 2.7 ms, interleaved).
fn zeroed(n: usize, threads: usize) -> Vec<f32> {
    #[cfg(not(target_arch = "wasm32"))]
    if threads > 1 && n >= PARALLEL_ZEROING {
        use rayon::prelude::*;
        let mut out = Vec::with_capacity(n);
        let piece = n.div_ceil(threads);
        out.spare_capacity_mut().par_chunks_mut(piece).for_each(|c| c.fill(std::mem::MaybeUninit::new(0.0)));
        // SAFETY: the capacity is at least `n`, and all of it was written just above.
        #[allow(unsafe_code)]
        unsafe {
            out.set_len(n)
        };
        return out;
    }
    let _ = threads;
    vec![0.0; n]
}

/// Maps at least this large (values; 1 MB) are zeroed by every thread.
#[cfg(not(target_arch = "wasm32"))]
const PARALLEL_ZEROING: usize = 1 << 18;

/// Keep a pool worker awake for a run's split steps: steal and run the pool's jobs until the run is
/// `done`. A sleeping worker takes tens of microseconds to wake for each split step, while most steps
/// last 20–300 µs, so without it the thread running the steps ran most halves itself (MobileNetV2 on two
/// threads was 1.1× its one-thread speed). A helper that finds no work for [`HELP_IDLE`] goes back to the
/// pool (rayon then wakes it as usual): that bounds what it costs, and frees the worker should it have
/// been started inside another run's wait (a helper nested above a stalled run must not spin forever).
#[cfg(not(target_arch = "wasm32"))]
fn help_until(done: &std::sync::atomic::AtomicBool) {
    let mut idle_since: Option<web_time::Instant> = None;
    while !done.load(std::sync::atomic::Ordering::Acquire) {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => idle_since = None,
            // Not in a pool (cannot happen: spawned into one), or nothing to run.
            None => return,
            Some(rayon::Yield::Idle) => {
                let since = *idle_since.get_or_insert_with(web_time::Instant::now);
                if since.elapsed() > HELP_IDLE {
                    return;
                }
                std::hint::spin_loop();
            }
        }
    }
}

/// How long a helper ([`help_until`]) waits for work before it leaves: longer than the gaps between a
/// run's split steps (single-threaded steps, bookkeeping), short against a person's notice.
#[cfg(not(target_arch = "wasm32"))]
const HELP_IDLE: std::time::Duration = std::time::Duration::from_millis(2);

/// Every core natively (rayon's pool size, which `RAYON_NUM_THREADS` sets); one thread on the web.
fn default_threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    return 1;
}

/// A run in progress: [`Run::step`] executes the next node. It owns what it needs, so the app can keep
/// it across frames.
pub struct Run {
    engine: Engine,
    values: Vec<Option<Tensor>>,
    next: usize,
    capture: Capture,
    scratch: Vec<f32>,
    /// Per node, the wall-clock milliseconds of the step that computed it.
    step_ms: Vec<Option<f64>>,
}

impl Run {
    /// `(steps done, steps in all)`.
    pub fn progress(&self) -> (usize, usize) {
        (self.next, self.engine.plan.steps.len())
    }

    /// The node the next step computes, if any.
    pub fn next_node(&self) -> Option<NodeId> {
        self.engine.plan.steps.get(self.next).map(|s| s.node)
    }

    /// Execute nodes until every node ran (false) or `more` — asked after each — says to stop (true).
    /// With threads (native), the steps run on one of the pool's workers: a split step then runs one
    /// part there and the others are stolen, where from any other thread every split step blocked the
    /// caller until the pool woke it again (30–80 µs a step on a 2-core VM; Lite0 with two threads
    /// 3.6 → 3.0 ms).
    pub fn step_while(&mut self, mut more: impl FnMut() -> bool + Send) -> Result<bool, EngineError> {
        let threads = self.engine.threads;
        let mut steps = move || {
            while self.step()? {
                if !more() {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        #[cfg(not(target_arch = "wasm32"))]
        if threads > 1 {
            let done = std::sync::atomic::AtomicBool::new(false);
            return rayon::scope(|scope| {
                for _ in 1..threads.min(rayon::current_num_threads()) {
                    scope.spawn(|_| help_until(&done));
                }
                let result = steps();
                done.store(true, std::sync::atomic::Ordering::Release);
                result
            });
        }
        let _ = threads;
        steps()
    }

    /// Execute one node; false once every node ran.
    pub fn step(&mut self) -> Result<bool, EngineError> {
        let plan = Arc::clone(&self.engine.plan);
        let Some(step) = plan.steps.get(self.next) else { return Ok(false) };
        if !matches!(step.kind, StepKind::Fused { .. }) {
            let started = web_time::Instant::now();
            let output = self.execute(step)?;
            if !matches!(step.kind, StepKind::Alias | StepKind::Input)
                && let Some(slot) = self.step_ms.get_mut(step.node.0)
            {
                *slot = Some(started.elapsed().as_secs_f64() * 1e3);
            }
            for id in std::iter::once(step.node).chain(step.absorbs.iter().copied()) {
                if let Some(slot) = self.values.get_mut(id.0) {
                    *slot = Some(output.clone());
                }
            }
        }
        // Release what no later step reads, unless captured (fused nodes share one Arc; the data goes
        // when the last of them is released).
        for j in 0..=self.next {
            if plan.last_use.get(j).is_some_and(|&l| l <= self.next)
                && !self.keeps(NodeId(j))
                && let Some(v) = self.values.get_mut(j)
            {
                *v = None;
            }
        }
        self.next += 1;
        Ok(self.next < plan.steps.len())
    }

    fn keeps(&self, node: NodeId) -> bool {
        self.capture.keeps(node, self.engine.plan.output)
    }

    pub fn finish(mut self) -> Result<Outputs, EngineError> {
        while self.step()? {}
        let out = self.engine.plan.output;
        let output = self
            .values
            .get(out.0)
            .cloned()
            .flatten()
            .ok_or_else(|| EngineError::Internal("the output was not computed".into()))?;
        // Values held channels-last are handed out CHW, transposed once per shared buffer.
        let mut transposed: Vec<(*const Vec<f32>, Tensor)> = Vec::new();
        let mut activations = Vec::with_capacity(self.values.len());
        for (i, v) in self.values.iter().enumerate() {
            let kept = v.as_ref().filter(|_| self.keeps(NodeId(i)));
            let hwc = self.engine.plan.channels_last.get(i) == Some(&true);
            activations.push(match kept {
                Some(t) if hwc => {
                    let key = Arc::as_ptr(&t.data);
                    if let Some((_, done)) = transposed.iter().find(|(k, _)| *k == key) {
                        Some(Tensor { shape: t.shape, data: Arc::clone(&done.data) })
                    } else {
                        let mut chw = vec![0.0; t.data.len()];
                        kernels::depthwise_hwc::to_chw(&t.data, t.shape, &mut chw);
                        let done = Tensor { shape: t.shape, data: Arc::new(chw) };
                        transposed.push((key, done.clone()));
                        Some(done)
                    }
                }
                other => other.cloned(),
            });
        }
        let total_ms = self.step_ms.iter().flatten().sum();
        Ok(Outputs {
            backend: Backend::Cpu,
            output,
            activations,
            step_ms: self.step_ms,
            timing: Timing::Wall,
            total_ms,
            device: None,
        })
    }

    fn input(&self, id: NodeId) -> Result<&Tensor, EngineError> {
        self.values
            .get(id.0)
            .and_then(Option::as_ref)
            .ok_or_else(|| EngineError::Internal(format!("input node {} not available", id.0)))
    }

    fn execute(&mut self, step: &Step) -> Result<Tensor, EngineError> {
        use kernels::{channels as ch, elementwise as ew, pool};
        let numel = step.output.checked_numel().ok_or_else(|| EngineError::Internal("output size".into()))?;
        let first = || -> Result<&Tensor, EngineError> {
            let id = step.inputs.first().ok_or_else(|| EngineError::Internal("no input".into()))?;
            self.input(*id)
        };
        #[cfg(target_arch = "x86_64")]
        if let StepKind::Conv(conv) = &step.kind
            && conv.fills()
        {
            // The kernel stores every value: no zeroing first (`ConvStep::fills`).
            let x = Arc::clone(&first()?.data);
            let mut out = Vec::with_capacity(numel);
            let spare =
                out.spare_capacity_mut().get_mut(..numel).ok_or_else(|| EngineError::Internal("capacity".into()))?;
            conv.run_filling(&x, spare, &mut self.scratch, self.engine.threads)?;
            // SAFETY: `run_filling` wrote all `numel` values (or returned the error above).
            #[allow(unsafe_code)]
            unsafe {
                out.set_len(numel)
            };
            return Ok(Tensor { shape: step.output, data: Arc::new(out) });
        }
        let mut out = zeroed(numel, self.engine.threads);
        match &step.kind {
            StepKind::Input | StepKind::Fused { .. } => {
                return Err(EngineError::Internal("input and fused nodes are not executed".into()));
            }
            StepKind::Alias => {
                let x = first()?;
                return Ok(Tensor { shape: step.output, data: Arc::clone(&x.data) });
            }
            StepKind::Conv(conv) => {
                let x = Arc::clone(&first()?.data);
                conv.run(&x, &mut out, &mut self.scratch, self.engine.threads)?;
            }
            StepKind::Affine { scale, shift } => ew::affine(&first()?.data, &mut out, scale, shift),
            StepKind::Activation(a) => {
                out.copy_from_slice(&first()?.data);
                ew::activate(&mut out, *a);
            }
            StepKind::Binary { multiply } => {
                let (a, b) = match step.inputs.as_slice() {
                    [a, b] => (self.input(*a)?, self.input(*b)?),
                    _ => return Err(EngineError::Internal("a binary op needs two inputs".into())),
                };
                ew::binary(&a.data, &b.data, &mut out, a.shape.c, *multiply);
            }
            StepKind::Concat => {
                let mut at = 0;
                for id in &step.inputs {
                    let x = self.input(*id)?;
                    let dst = out
                        .get_mut(at..at + x.data.len())
                        .ok_or_else(|| EngineError::Internal("concat sizes".into()))?;
                    dst.copy_from_slice(&x.data);
                    at += x.data.len();
                }
            }
            StepKind::Slice { start, end } => {
                let x = first()?;
                let plane = x.shape.h * x.shape.w;
                let src =
                    x.data.get(start * plane..end * plane).ok_or_else(|| EngineError::Internal("slice".into()))?;
                out.copy_from_slice(src);
            }
            StepKind::Shuffle { groups } => {
                let x = first()?;
                ch::shuffle(&x.data, x.shape.c, *groups, &mut out);
            }
            StepKind::Pool(p) => {
                let x = first()?;
                pool::pool(&x.data, x.shape, step.output, p, &mut out);
            }
            StepKind::GlobalAvgPool => {
                let x = first()?;
                let input_hwc =
                    step.inputs.first().is_some_and(|i| self.engine.plan.channels_last.get(i.0) == Some(&true));
                if input_hwc {
                    pool::global_avg_channels_last(&x.data, x.shape.c, &mut out);
                } else {
                    pool::global_avg(&x.data, x.shape.c, &mut out);
                }
            }
            StepKind::Linear { weight, bias } => {
                ch::linear(&first()?.data, weight, bias.as_deref(), &mut out, self.engine.threads)?
            }
            StepKind::Softmax => ch::softmax(&first()?.data, &mut out),
            StepKind::Lrn { size, alpha, beta, k } => {
                let x = first()?;
                ch::lrn(&x.data, x.shape.c, *size, *alpha, *beta, *k, &mut out);
            }
            StepKind::Gather { index } => {
                let x = first()?;
                ch::gather(&x.data, x.shape.h * x.shape.w, index, &mut out);
            }
            StepKind::ChannelConv { weight, filters, kernel, stride, padding } => {
                let x = first()?;
                let plane = x.shape.h * x.shape.w;
                ch::channel_conv(&x.data, x.shape.c, plane, weight, *filters, *kernel, *stride, *padding, &mut out);
            }
            StepKind::ShiftMax { groups, branches, scale, init_a, init_b } => {
                let (x, coefficients) = match step.inputs.as_slice() {
                    [a, b] => (self.input(*a)?, self.input(*b)?),
                    _ => return Err(EngineError::Internal("shift-max needs two inputs".into())),
                };
                ch::shift_max(
                    &x.data,
                    x.shape.c,
                    *groups,
                    &coefficients.data,
                    *branches,
                    *scale,
                    *init_a,
                    *init_b,
                    &mut out,
                );
            }
        }
        Ok(Tensor { shape: step.output, data: Arc::new(out) })
    }
}

impl convscope_engine::Engine for Engine {
    fn backend(&self) -> Backend {
        Backend::Cpu
    }

    fn describe(&self) -> String {
        match self.threads {
            1 => "CPU, 1 thread".to_owned(),
            n => format!("CPU, {n} threads"),
        }
    }

    fn fused_into(&self, node: NodeId) -> Option<NodeId> {
        Engine::fused_into(self, node)
    }

    fn absorbs(&self, node: NodeId) -> &[NodeId] {
        Engine::absorbs(self, node)
    }

    fn start(&self, input: Tensor, capture: Capture) -> Result<Box<dyn convscope_engine::Run>, EngineError> {
        Ok(Box::new(Engine::start(self, input, capture)?))
    }

    fn run(&self, input: Tensor, capture: Capture) -> Result<Outputs, EngineError> {
        Engine::run(self, input, capture)
    }
}

impl convscope_engine::Run for Run {
    fn advance(&mut self, deadline: Option<web_time::Instant>) -> Result<Status, EngineError> {
        let more = self.step_while(|| deadline.is_none_or(|d| web_time::Instant::now() < d))?;
        Ok(if more { Status::Working } else { Status::Done })
    }

    fn progress(&self) -> (usize, usize) {
        Run::progress(self)
    }

    fn next_node(&self) -> Option<NodeId> {
        Run::next_node(self)
    }

    fn finish(self: Box<Self>) -> Result<Outputs, EngineError> {
        Run::finish(*self)
    }
}
