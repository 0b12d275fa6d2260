//! What the CPU and GPU engines share, so that the app and the CLI never name either engine's internals:
//!
//! - [`plan`]: the engine-neutral fused plan — BN folded into the convolution before it, activations
//!   fused, weights read, the last step that reads each value;
//! - [`Engine`] and [`Run`]: start a run, advance it within a time budget (the GPU engine waits for the
//!   device between calls; natively a run can also be driven to its end), and take its [`Outputs`];
//! - [`Tensor`], [`Capture`], [`Outputs`] (logits, captured maps, per-step timings), [`top_k`].

// `web_time::Instant` is the wasm-safe clock; natively it re-exports `std::time::Instant`, which the
// workspace's clippy ban (meant to catch std's clock on the web) cannot tell apart.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod plan;

use std::any::Any;
use std::sync::Arc;

use convscope_graph::{NodeId, Shape};
pub use plan::{FusedConv, Plan, Step, StepKind, bn_affine};

/// A feature map `[c, h, w]` or a vector, row-major (CHW), shared.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Shape,
    pub data: Arc<Vec<f32>>,
}

impl Tensor {
    pub fn new(shape: Shape, data: Vec<f32>) -> Result<Self, EngineError> {
        if shape.checked_numel() != Some(data.len()) {
            return Err(EngineError::Input(format!("{} values for a {shape} tensor", data.len())));
        }
        Ok(Self { shape, data: Arc::new(data) })
    }

    /// Channel `c` as a slice (a row of the feature-map grid).
    pub fn channel(&self, c: usize) -> Option<&[f32]> {
        let plane = self.shape.h * self.shape.w;
        self.data.get(c * plane..(c + 1) * plane)
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum EngineError {
    #[error("input: {0}")]
    Input(String),
    #[error("weights: {0}")]
    Weights(String),
    /// The GPU could not run the plan (a lost device, a limit the model exceeds, a failed readback):
    /// the app runs the CPU engine instead and says why.
    #[error("GPU: {0}")]
    Device(String),
    #[error("internal error (a bug in convscope): {0}")]
    Internal(String),
}

/// `softmax(x)`, numerically stable (the maximum subtracted first).
pub fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut out: Vec<f32> = x.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|o| *o /= sum);
    out
}

/// The `k` largest softmax probabilities of `logits`, best first: `(class, probability)`.
pub fn top_k(logits: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = softmax(logits).into_iter().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(k);
    ranked
}

/// Write a float32 array as .npy version 1.0.
pub fn npy(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims.join("")) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so that the data starts on a 64-byte boundary, the header ending in a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * 4);
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Which node outputs a run keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capture {
    /// Only the final output (benchmarks, CLI top-5).
    Output,
    /// Every node (the app's feature-map views, `--dump-activations`).
    All,
    /// These nodes and the output.
    Nodes(Vec<NodeId>),
}

impl Capture {
    pub fn keeps(&self, node: NodeId, output: NodeId) -> bool {
        node == output
            || match self {
                Self::Output => false,
                Self::All => true,
                Self::Nodes(nodes) => nodes.contains(&node),
            }
    }
}

/// Which engine computed a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Cpu,
    Gpu,
}

impl Backend {
    /// The name scripts see (`data-engine`, `--backend`): `cpu` or `webgpu`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Gpu => "webgpu",
        }
    }

    /// The name people see.
    pub fn label(self) -> &'static str {
        match self {
            Self::Cpu => "CPU",
            Self::Gpu => "WebGPU",
        }
    }
}

/// How the per-step times of a run were measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Wall-clock time of each step on the CPU.
    Wall,
    /// GPU timestamps written at the start and end of each step's compute pass.
    Timestamps,
    /// Each step submitted alone and waited for (no timestamp queries on this adapter).
    Submissions,
    /// Only the whole run was timed.
    Total,
}

/// Maps a run keeps on a device (the GPU engine's buffers); the app draws them without a read-back.
pub trait DeviceMaps {
    /// Whether `node`'s map is kept.
    fn has(&self, node: NodeId) -> bool;
    /// For the engine that made them (to reach its own type).
    fn as_any(&self) -> &dyn Any;
}

/// What a finished run hands out.
#[derive(Clone)]
pub struct Outputs {
    pub backend: Backend,
    /// The network's output (logits), on the host.
    pub output: Tensor,
    /// Per node, its map on the host if the capture policy kept it there (a GPU run keeps its maps on
    /// the device, [`Outputs::device`], and reads back only what is asked).
    pub activations: Vec<Option<Tensor>>,
    /// Per node, milliseconds spent on the step that computed it (`None` for free steps: the input,
    /// fused nodes, aliases).
    pub step_ms: Vec<Option<f64>>,
    pub timing: Timing,
    /// Compute time of the whole run, milliseconds.
    pub total_ms: f64,
    pub device: Option<Arc<dyn DeviceMaps>>,
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outputs")
            .field("backend", &self.backend)
            .field("output", &self.output.shape)
            .field("timing", &self.timing)
            .field("total_ms", &self.total_ms)
            .finish_non_exhaustive()
    }
}

/// Where a run stands after [`Run::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// More steps to run: call again (next frame).
    Working,
    /// The work is submitted; the results are not back yet (GPU): call again later.
    Waiting,
    /// Finished: [`Run::finish`] hands out the outputs.
    Done,
}

/// One engine for one bound graph.
pub trait Engine {
    fn backend(&self) -> Backend;
    /// What it runs on, for people: "CPU, 2 threads", "WebGPU: llvmpipe (LLVM 15.0.6, 256 bits)".
    fn describe(&self) -> String;
    /// The node whose step computes `node`'s output, when `node` (a BN or activation) was fused into an
    /// earlier convolution.
    fn fused_into(&self, node: NodeId) -> Option<NodeId>;
    /// The nodes fused into `node`'s step (its map is shown after them).
    fn absorbs(&self, node: NodeId) -> &[NodeId];
    /// Start a run on `input` (already preprocessed, CHW).
    fn start(&self, input: Tensor, capture: Capture) -> Result<Box<dyn Run>, EngineError>;
    /// Start a run that times every step even where that costs speed (a GPU without timestamp queries
    /// submits each step alone and waits for it: [`Timing::Submissions`]).
    fn start_profiled(&self, input: Tensor, capture: Capture) -> Result<Box<dyn Run>, EngineError> {
        self.start(input, capture)
    }
    /// Whether a plain [`Engine::start`] run already times each step.
    fn times_steps(&self) -> bool {
        true
    }

    /// Run to the end (blocking; native builds).
    fn run(&self, input: Tensor, capture: Capture) -> Result<Outputs, EngineError> {
        let mut run = self.start(input, capture)?;
        while run.advance(None)? != Status::Done {}
        run.finish()
    }
}

/// A run in progress; it owns what it needs, so the app can keep it across frames.
pub trait Run {
    /// Work until `deadline` passes or the run has to wait for the device; `None`: to the end,
    /// blocking on the device where needed (native builds).
    fn advance(&mut self, deadline: Option<web_time::Instant>) -> Result<Status, EngineError>;
    /// `(steps done, steps in all)`.
    fn progress(&self) -> (usize, usize);
    /// The node the next step computes, if any.
    fn next_node(&self) -> Option<NodeId>;
    /// The outputs of a run whose [`Run::advance`] said [`Status::Done`].
    fn finish(self: Box<Self>) -> Result<Outputs, EngineError>;
}
