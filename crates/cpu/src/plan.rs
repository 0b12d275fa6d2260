//! The CPU engine's lowering of the engine-neutral plan (`convscope_engine::Plan`, where BN folding and
//! activation fusion happen): each convolution gets its method (`ConvStep::method_for`), and natively
//! the inverted-residual trunks run channels-last with their weights re-laid for that (`layout.rs`).

use convscope_engine::FusedConv;
use convscope_graph::{Graph, NodeId, Shape};
use convscope_weights::bind::Bound;

use crate::EngineError;
use crate::kernels::conv::ConvStep;

/// What one node does at run time, with the CPU's form of a convolution.
pub type StepKind = convscope_engine::StepKind<ConvStep>;
pub type Step = convscope_engine::Step<ConvStep>;

/// A graph made runnable on the CPU.
#[derive(Clone, Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// For each node, the index of the last step that reads it (its own index if none does).
    pub last_use: Vec<usize>,
    pub input: Shape,
    pub output: NodeId,
    /// Per node, whether its value is held channels-last (HWC) during a run (`layout.rs`); captured
    /// values are handed out CHW.
    pub channels_last: Vec<bool>,
}

impl Plan {
    /// The plan the engine runs: inverted-residual trunks channels-last where that pays (`layout.rs`),
    /// natively. Not on the web: in Chromium the trunks made EfficientNet-Lite0 slower (67–74 ms against
    /// 53–59 ms all CHW; V8 gives wasm 16 vector registers and the HWC kernel's sums spill), and with
    /// one channel block per pixel no faster (49–59 ms).
    pub fn new(graph: &Graph, weights: &Bound) -> Result<Self, EngineError> {
        Self::with_layouts(graph, weights, !cfg!(target_arch = "wasm32"))
    }

    /// `channels_last: false` keeps every value CHW: the reference the channels-last chains are
    /// tested against.
    pub fn with_layouts(graph: &Graph, weights: &Bound, channels_last: bool) -> Result<Self, EngineError> {
        Self::lower(convscope_engine::Plan::new(graph, weights)?, channels_last)
    }

    /// The CPU's form of a fused plan.
    pub fn lower(plan: convscope_engine::Plan, channels_last: bool) -> Result<Self, EngineError> {
        let plan = plan.map_convs(|c: FusedConv| {
            Ok(ConvStep {
                method: ConvStep::method_for(&c.conv),
                conv: c.conv,
                input: c.input,
                output: c.output,
                weight: c.weight,
                bias: c.bias,
                activation: c.activation,
                input_hwc: false,
                output_hwc: false,
                weight_column_major: false,
                weight_panels: false,
            })
        })?;
        let mut steps = plan.steps;
        let n = steps.len();
        let channels_last = if channels_last { crate::layout::choose(&mut steps, plan.output) } else { vec![false; n] };
        Ok(Self { steps, last_use: plan.last_use, input: plan.input, output: plan.output, channels_last })
    }
}
