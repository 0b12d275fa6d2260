//! Which values a run holds channels-last (HWC), chosen once per plan.
//!
//! The engine's layout is CHW (see the crate docs). One chain is faster in HWC: a depthwise
//! convolution vectorized across channels (`kernels/depthwise_hwc.rs`) measured 1.3–2.8× the CHW
//! kernel on EfficientNet-Lite0's maps of 28² and smaller, and equal on the large ones. Its input
//! comes from a pointwise (or im2col) convolution and its output goes to a pointwise one, and a GEMM
//! writes or reads HWC as cheaply as CHW by its strides (measured: within ±10% per shape), so the chain
//! expansion → depthwise → projection runs with no transposes at all. Everything else stays CHW.
//!
//! The rule, in node order: a depthwise convolution that `depthwise_hwc::supports` runs HWC when its
//! input is HWC. A convolution's value is HWC when the convolution can write HWC (pointwise, im2col,
//! or a depthwise running HWC), every step reading it can read HWC (pointwise, or a supported
//! depthwise), at least one side is a depthwise (pointwise → pointwise gains nothing), and it is not
//! the graph's output. A depthwise running HWC whose value must be CHW (a squeeze-excite block reads
//! it) transposes its output once.

use convscope_graph::{Arithmetic, NodeId};

use crate::kernels::conv::{ConvStep, Method};
use crate::kernels::depthwise_hwc;
use crate::plan::{Step, StepKind};

/// Switch the steps of HWC chains to their channels-last forms; per node, whether its value is HWC.
pub fn choose(steps: &mut [Step], output: NodeId) -> Vec<bool> {
    let n = steps.len();
    // The step that computes each node's value (a fused BN or activation shares its convolution's).
    let producer: Vec<usize> =
        steps.iter().map(|s| if let StepKind::Fused { into } = s.kind { into.0 } else { s.node.0 }).collect();
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (t, step) in steps.iter().enumerate() {
        if matches!(step.kind, StepKind::Fused { .. }) {
            continue;
        }
        for input in &step.inputs {
            if let Some(r) = producer.get(input.0).and_then(|&p| readers.get_mut(p)) {
                r.push(t);
            }
        }
    }
    let output_step = producer.get(output.0).copied();
    let mut hwc = vec![false; n];
    let kinds = |steps: &[Step], t: usize, test: fn(&ConvStep) -> bool| matches!(steps.get(t).map(|s| &s.kind), Some(StepKind::Conv(c)) if test(c));
    for i in 0..n {
        let input_hwc = steps.get(i).and_then(|s| s.inputs.first()).is_some_and(|id| hwc.get(id.0) == Some(&true));
        let Some(reads) = readers.get(i) else { continue };
        let all_read_hwc = !reads.is_empty() && reads.iter().all(|&t| kinds(steps, t, reads_hwc));
        let feeds_depthwise = reads.iter().any(|&t| kinds(steps, t, is_depthwise_candidate));
        let Some(StepKind::Conv(conv)) = steps.get_mut(i).map(|s| &mut s.kind) else { continue };
        let small = conv.input.h * conv.input.w <= SMALL_MAP;
        if is_depthwise_candidate(conv) && (input_hwc || small) {
            to_depthwise_hwc(conv, input_hwc);
        }
        let is_depthwise_hwc = conv.method == Method::DepthwiseHwc;
        let writes_hwc = match conv.method {
            Method::DepthwiseHwc => true,
            Method::Pointwise | Method::Im2col => conv.conv.out_channels <= WIDEST_HWC_GEMM_OUTPUT,
            _ => false,
        };
        if !(writes_hwc && all_read_hwc && (feeds_depthwise || is_depthwise_hwc) && output_step != Some(i)) {
            continue;
        }
        if let Some(StepKind::Conv(conv)) = steps.get_mut(i).map(|s| &mut s.kind) {
            conv.output_hwc = true;
        }
        let absorbs = steps.get(i).map(|s| s.absorbs.clone()).unwrap_or_default();
        for id in std::iter::once(i).chain(absorbs.iter().map(|a| a.0)) {
            if let Some(h) = hwc.get_mut(id) {
                *h = true;
            }
        }
        for &t in reads.clone().iter() {
            if let Some(StepKind::Conv(c)) = steps.get_mut(t).map(|s| &mut s.kind)
                && c.method == Method::Pointwise
            {
                c.input_hwc = true;
            }
        }
    }
    hwc
}

/// The most output channels for which a GEMM writes HWC as fast as CHW. Measured (EfficientNet-Lite0,
/// MobileNetV2, one thread): up to 672 channels within ±10%; 960 and 1152 channels over 7×7 pixels
/// 40–50% slower, more than the depthwise after them gains.
const WIDEST_HWC_GEMM_OUTPUT: usize = 768;

/// Output maps from which a stride-1 depthwise stays CHW: on 56×56 and larger maps the two kernels
/// are equally fast, and the pointwise convolution after it reads HWC up to 1.8× slower (few output
/// channels over many pixels: 24×56², 16×112²).
const LARGEST_HWC_STRIDE_1_MAP: usize = 56 * 56 - 1;

/// Input maps small enough that a depthwise convolution whose input is CHW (after a GEMM wider than
/// [`WIDEST_HWC_GEMM_OUTPUT`]) still runs HWC, transposing its input: measured on 1152×7×7 and 960×7×7,
/// the transpose takes 11 µs and the kernel gains 40–60 µs; on 14×14, 28 µs against 20–45 µs.
const SMALL_MAP: usize = 14 * 14;

/// A depthwise convolution the HWC kernel computes, and where it pays: stride 2, or maps below 56×56.
fn is_depthwise_candidate(c: &ConvStep) -> bool {
    matches!(c.method, Method::Direct | Method::DepthwiseHwc)
        && c.conv.arithmetic == Arithmetic::Multiply
        && depthwise_hwc::supports(&c.conv)
        && (c.conv.stride != [1, 1] || c.output.h * c.output.w <= LARGEST_HWC_STRIDE_1_MAP)
}

fn reads_hwc(c: &ConvStep) -> bool {
    c.method == Method::Pointwise || is_depthwise_candidate(c)
}

/// The channels-last form of a supported depthwise convolution: weights `[kh·kw, c]`, a bias always.
fn to_depthwise_hwc(c: &mut ConvStep, input_hwc: bool) {
    let channels = c.conv.out_channels;
    let taps = c.conv.kernel[0] * c.conv.kernel[1];
    c.weight = depthwise_hwc::taps_major(&c.weight, channels, taps);
    c.bias.get_or_insert_with(|| vec![0.0; channels]);
    c.method = Method::DepthwiseHwc;
    c.input_hwc = input_hwc;
}
