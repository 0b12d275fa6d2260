//! The GPU engine: the fused plan lowered to WGSL compute kernels (`lower.rs`), weights uploaded once
//! per engine, pipelines cached per device, every forward encoded in one command buffer (one compute
//! pass per step when the adapter can time passes), maps left on the GPU for the views (`maps.rs`).
//!
//! Layout: CHW (NCHW with batch 1), as the CPU engine and PyTorch: a pointwise convolution is a GEMM
//! with the weights as they are, and a channel of a map is one contiguous range, which the feature-map
//! views colour without a copy.

mod lower;
mod maps;
mod placement;
mod run;

use std::sync::Arc;

use convscope_engine::{Backend, Capture, EngineError, Plan, Tensor};
use convscope_graph::{Graph, NodeId};
use convscope_weights::bind::Bound;
use wgpu::util::DeviceExt as _;

use crate::GpuContext;
use lower::{Lowered, Slot};

/// `workgroups` folded into a grid of at most 65 535 per dimension (kernels use `x + y · groups.x`).
pub(crate) fn fold_workgroups(workgroups: u64) -> [u32; 3] {
    lower::fold(workgroups).unwrap_or([65_535, 65_535, 1])
}
pub use maps::{GpuMaps, PendingMapRead};
pub use run::GpuRun;

/// Uniform buffer offsets are multiples of this (WebGPU's `minUniformBufferOffsetAlignment` default).
const UNIFORM_ALIGN: u64 = 256;
/// Timestamps per query set (wgpu's `QUERY_SET_MAX_QUERIES`): two per step.
const MAX_QUERIES: usize = 4096;

/// Which convolution kernels the engine uses (conv.wgsl).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConvKernels {
    /// By the adapter: `Registers` where shaders run on the CPU (lavapipe, SwiftShader), else `Tiled`.
    #[default]
    Auto,
    /// Implicit GEMM with 32×32 tiles staged in workgroup memory (`conv`).
    Tiled,
    /// 4 channels × 4 pixels per invocation, no workgroup memory (`conv_registers`).
    Registers,
}

/// How a [`GpuEngine`] is built; the defaults suit every adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    pub conv: ConvKernels,
    /// Time each step with timestamp queries where the device has them (one compute pass per step).
    pub timestamps: bool,
    /// Bind at most this many bytes at once even if the device allows more (tests of the split paths).
    pub max_binding_bytes: Option<u64>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self { conv: ConvKernels::Auto, timestamps: true, max_binding_bytes: None }
    }
}

/// One model's plan on one device. Cheap to clone.
#[derive(Clone)]
pub struct GpuEngine {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: GpuContext,
    /// The plan with every value computed: runs that keep maps for the views.
    full: Variant,
    /// The plan with channel shuffles fused into their readers (`placement.rs`), for runs that keep none
    /// of the shuffled maps; only for models with a shuffle. Both use the same uploaded weights.
    remapped: Option<Variant>,
    weights: Vec<wgpu::Buffer>,
    unused: wgpu::Buffer,
    /// Whether passes carry timestamp writes (the device has `TIMESTAMP_QUERY`).
    timestamps: bool,
}

/// A lowering with its uniform parameters and pipelines on the device.
struct Variant {
    lowered: Lowered,
    params: wgpu::Buffer,
    /// Per step, per dispatch: the pipeline and its parameters' offset in `params`.
    pipelines: Vec<Vec<(wgpu::ComputePipeline, u64)>>,
}

impl std::fmt::Debug for GpuEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuEngine").field("adapter", &self.inner.ctx.summary.name).finish_non_exhaustive()
    }
}

impl GpuEngine {
    /// Lower `graph` with its bound weights and upload them to `ctx`'s device.
    pub fn new(ctx: &GpuContext, graph: &Graph, weights: &Bound) -> Result<Self, EngineError> {
        Self::from_plan(ctx, Plan::new(graph, weights)?, EngineOptions::default())
    }

    /// [`GpuEngine::new`] with options.
    pub fn with_options(
        ctx: &GpuContext,
        graph: &Graph,
        weights: &Bound,
        options: EngineOptions,
    ) -> Result<Self, EngineError> {
        Self::from_plan(ctx, Plan::new(graph, weights)?, options)
    }

    pub fn from_plan(ctx: &GpuContext, plan: Plan, options: EngineOptions) -> Result<Self, EngineError> {
        ctx.ensure_alive().map_err(|e| EngineError::Device(e.to_string()))?;
        let mut limits = ctx.summary.limits;
        if let Some(cap) = options.max_binding_bytes {
            limits.max_storage_buffer_binding_size = limits.max_storage_buffer_binding_size.min(cap);
        }
        let registers = match options.conv {
            ConvKernels::Auto => ctx.summary.software,
            ConvKernels::Tiled => false,
            ConvKernels::Registers => true,
        };
        let has_shuffle = plan.steps.iter().any(|s| matches!(s.kind, convscope_engine::StepKind::Shuffle { .. }));
        let remapped = match has_shuffle {
            true => Some(Lowered::new(plan.clone(), &limits, registers, true)?),
            false => None,
        };
        let mut lowered = Lowered::new(plan, &limits, registers, false)?;
        let binding_limit = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        for (node, shape) in lowered.shapes.iter().enumerate() {
            let bytes = shape.checked_numel().unwrap_or(usize::MAX) as u64 * 4;
            if bytes > binding_limit {
                return Err(EngineError::Device(format!(
                    "node {node}'s map ({shape}, {} MB) is larger than this adapter binds at once ({} MB)",
                    bytes >> 20,
                    binding_limit >> 20
                )));
            }
        }
        if let Some(big) = lowered.weights.iter().find(|w| w.len() as u64 > binding_limit) {
            return Err(EngineError::Device(format!(
                "a weight tensor of {} MB is larger than this adapter binds at once ({} MB)",
                big.len() >> 20,
                binding_limit >> 20
            )));
        }
        let device = &ctx.device;
        let storage = |label: &str, bytes: &[u8]| {
            // Zero-sized bindings are invalid: pad empty tensors to one value.
            let padded;
            let contents = if bytes.is_empty() {
                padded = [0u8; 4];
                &padded[..]
            } else {
                bytes
            };
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let weights: Vec<wgpu::Buffer> = lowered.weights.iter().map(|w| storage("weights", w)).collect();
        let unused = storage("unused binding", &[0u8; 16]);
        // The remapped lowering uploads the same tensors in the same order (a shuffle uploads nothing).
        if let Some(r) = &remapped
            && r.weights.iter().map(Vec::len).ne(lowered.weights.iter().map(Vec::len))
        {
            return Err(EngineError::Internal("the two lowerings upload different weights".into()));
        }
        lowered.weights = Vec::new();
        let full = Variant::new(ctx, lowered)?;
        let remapped = match remapped {
            Some(mut r) => {
                r.weights = Vec::new();
                Some(Variant::new(ctx, r)?)
            }
            None => None,
        };
        let passes = full.lowered.steps.iter().filter(|s| !s.dispatches.is_empty()).count();
        let timestamps = options.timestamps
            && device.features().contains(wgpu::Features::TIMESTAMP_QUERY)
            && 2 * passes <= MAX_QUERIES;
        Ok(Self { inner: Arc::new(Inner { ctx: ctx.clone(), full, remapped, weights, unused, timestamps }) })
    }

    pub fn context(&self) -> &GpuContext {
        &self.inner.ctx
    }

    /// Start a run on `input` (preprocessed, CHW).
    pub fn start(&self, input: Tensor, capture: Capture) -> Result<GpuRun, EngineError> {
        GpuRun::new(self.clone(), input, capture, run::Mode::Whole)
    }

    /// Start a run that times every step: with timestamps where the device has them, else by submitting
    /// each step alone and waiting for it (slower; the per-layer view's profiling mode).
    pub fn start_profiled(&self, input: Tensor, capture: Capture) -> Result<GpuRun, EngineError> {
        GpuRun::new(self.clone(), input, capture, run::Mode::ProfileSubmissions)
    }

    /// Whether a plain run times each step (the device has timestamp queries and they are on).
    pub fn times_steps(&self) -> bool {
        self.inner.timestamps
    }

    /// Distinct pipelines this engine uses.
    pub fn pipeline_count(&self) -> usize {
        let variants = std::iter::once(&self.inner.full).chain(&self.inner.remapped);
        let mut seen: Vec<&crate::pipelines::PipelineKey> =
            variants.flat_map(|v| &v.lowered.steps).flat_map(|s| s.dispatches.iter().map(|d| &d.key)).collect();
        seen.sort_by_key(|k| format!("{k:?}"));
        seen.dedup();
        seen.len()
    }

    /// How many steps dispatch work in a run keeping `capture` (the others are the input, fused nodes,
    /// aliases, slices read in place and, when no shuffled map is kept, shuffles fused into their readers).
    pub fn dispatching_steps(&self, capture: &Capture) -> usize {
        self.inner.variant(capture).lowered.steps.iter().filter(|s| !s.dispatches.is_empty()).count()
    }

    /// How many dispatches a run keeping `capture` makes.
    pub fn dispatches(&self, capture: &Capture) -> usize {
        self.inner.variant(capture).lowered.steps.iter().map(|s| s.dispatches.len()).sum()
    }
}

impl convscope_engine::Engine for GpuEngine {
    fn backend(&self) -> Backend {
        Backend::Gpu
    }

    fn describe(&self) -> String {
        let s = &self.inner.ctx.summary;
        format!("{} on {} ({})", Backend::Gpu.label(), s.name, s.backend)
    }

    fn fused_into(&self, node: NodeId) -> Option<NodeId> {
        self.inner.full.lowered.fused_into.get(node.0).copied().flatten()
    }

    fn absorbs(&self, node: NodeId) -> &[NodeId] {
        self.inner.full.lowered.absorbs.get(node.0).map_or(&[], Vec::as_slice)
    }

    fn start(&self, input: Tensor, capture: Capture) -> Result<Box<dyn convscope_engine::Run>, EngineError> {
        Ok(Box::new(GpuEngine::start(self, input, capture)?))
    }

    fn start_profiled(&self, input: Tensor, capture: Capture) -> Result<Box<dyn convscope_engine::Run>, EngineError> {
        Ok(Box::new(GpuEngine::start_profiled(self, input, capture)?))
    }

    fn times_steps(&self) -> bool {
        GpuEngine::times_steps(self)
    }
}

impl Variant {
    /// The lowering's parameters in one uniform buffer (a 256-byte slot per dispatch) and its pipelines.
    fn new(ctx: &GpuContext, lowered: Lowered) -> Result<Self, EngineError> {
        let device = &ctx.device;
        let mut params = Vec::new();
        let mut pipelines = Vec::with_capacity(lowered.steps.len());
        let mut cache = ctx.pipelines.lock().map_err(|_| EngineError::Internal("pipeline cache poisoned".into()))?;
        for step in &lowered.steps {
            let mut per_step = Vec::with_capacity(step.dispatches.len());
            for d in &step.dispatches {
                let offset = params.len() as u64;
                let mut words: Vec<u8> = d.params.iter().flat_map(|w| w.to_le_bytes()).collect();
                if words.len() as u64 > UNIFORM_ALIGN {
                    return Err(EngineError::Internal(format!("{}: parameters overflow their slot", d.key.entry)));
                }
                words.resize(UNIFORM_ALIGN as usize, 0);
                params.extend_from_slice(&words);
                let pipeline = cache.get(device, &d.key).map_err(|e| EngineError::Device(e.to_string()))?;
                per_step.push((pipeline, offset));
            }
            pipelines.push(per_step);
        }
        drop(cache);
        if params.is_empty() {
            params.resize(UNIFORM_ALIGN as usize, 0);
        }
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("kernel parameters"),
            contents: &params,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        Ok(Self { lowered, params, pipelines })
    }
}

impl Inner {
    /// The lowering a run keeping `capture` uses: shuffles fused unless it keeps a shuffled map.
    fn variant(&self, capture: &Capture) -> &Variant {
        match &self.remapped {
            Some(r) if !r.lowered.remapped.iter().any(|&n| capture.keeps(n, r.lowered.output)) => r,
            _ => &self.full,
        }
    }

    fn slot_buffer<'a>(
        &'a self,
        lowered: &Lowered,
        slot: Slot,
        values: &'a [Option<Arc<wgpu::Buffer>>],
    ) -> Option<&'a wgpu::Buffer> {
        match slot {
            Slot::Weight(i) => self.weights.get(i),
            Slot::Unused => Some(&self.unused),
            Slot::Value(node) => {
                let root = lowered.value_of.get(node.0)?;
                values.get(root.0)?.as_deref()
            }
        }
    }
}
