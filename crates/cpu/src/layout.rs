//! Which values a run holds channels-last (HWC), chosen once per plan.
//!
//! The engine's layout is CHW (see the crate docs). Inverted-residual trunks are faster in HWC: a
//! depthwise convolution vectorized across channels (`kernels/depthwise_hwc.rs`) measured 1.3–2.8×
//! the CHW kernel on EfficientNet-Lite0's layers, a GEMM reads and writes HWC by its strides at about
//! the CHW speed when both of its maps are HWC (−5% to +25% per shape, against up to +75% when only
//! its input is), and a residual sum does not care about layout. So whole trunks run HWC —
//! expansion → depthwise → projection → sum → next expansion — with no transposes; captured maps are
//! transposed to CHW when a run finishes. Natively only: on the web it measured slower (see
//! `Plan::new`).
//!
//! The rule. A value (a step's output, shared by the BN and activation fused into it) may be HWC when
//! its step can write HWC — a pointwise or im2col convolution, a depthwise convolution the HWC kernel
//! supports, a same-shape sum — and every step reading it can read HWC — a pointwise convolution, a
//! supported depthwise, a same-shape sum, a global average pool (its `c × 1 × 1` output has no
//! layout; so a network's head GEMM writes HWC, measured 91–95 → 101 GMAC/s on Lite0's 320 → 1280
//! over 7²). Then, to a fixed point: a sum's inputs and output share one layout (any CHW one makes all
//! CHW); a depthwise writes HWC only if its input is HWC or its map small enough to transpose
//! ([`SMALL_MAP`]). Last, regions of HWC values that contain no depthwise convolution go back to CHW:
//! a pointwise chain alone gains nothing.

use convscope_graph::{Arithmetic, NodeId};

use crate::kernels::conv::{ConvStep, Method};
use crate::kernels::depthwise_hwc;
use crate::plan::{Step, StepKind};

/// Input maps small enough that a depthwise convolution whose input is CHW still runs HWC, transposing
/// its input: measured on 1152×7×7 and 960×7×7, the transpose takes 11 µs and the kernel gains
/// 40–60 µs; on 14×14, 28 µs against 20–45 µs. (With the AVX-512 transposes — 4–5 µs on
/// 1152×7², 9–12 µs on 672×14² — transposing every depthwise map up to 112² measured 1–2% slower over a
/// Lite0 run: the 32×112² layer gains less than its two 1.6 MB transposes cost.)
const SMALL_MAP: usize = 14 * 14;

/// Pointwise convolutions read and write HWC only between these channel counts. Measured on
/// EfficientNet-Lite0 and MobileNetV2 (one thread): with the GEMM crate, 16 output channels over
/// 112×112 run 70% slower in HWC (its register blocks run along the output channels: one 16-wide block
/// of its 64), more than the depthwise convolutions next to them gain; 24–672 channels within −25% to
/// +30%. Where the CPU has the pointwise kernel (`kernels/pointwise_hwc.rs`, AVX-512 or AVX2), which
/// takes 16 output channels, the bound is 16 ([`narrowest_hwc_gemm`]): the first block's projection
/// (32 → 16 over 112²) then runs HWC, so the trunk is HWC from the stem on. On two threads that
/// projection had run no faster than on one (232 against 220 µs; the CHW GEMM splits by output channels,
/// each thread reading the whole input, half of it from the other core's cache), HWC split by pixels
/// 101 µs; whole two-thread runs 5–10% faster. The wide
/// ones over 7×7 maps (960–1280 channels) ran 40–60% slower in HWC while the GEMM
/// crate repacked their weights on every call (`kernels/gemm.rs` `LHS_PACKING_THRESHOLD`). Without the
/// repacking they run 0–12% faster channels-last, and their depthwise neighbours lose their transposes:
/// raising this bound from 768 to 1280 made Lite0 3–4% faster and MobileNetV2 2–3% (interleaved runs).
/// 1280 is the widest measured (Lite0's and MobileNetV2's heads).
const NARROWEST_HWC_GEMM: usize = 24;

/// [`NARROWEST_HWC_GEMM`], or 16 where the pointwise kernel computes the narrow ones.
fn narrowest_hwc_gemm() -> usize {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::pointwise_hwc::Isa::detect().is_some() {
        return 16;
    }
    NARROWEST_HWC_GEMM
}
const WIDEST_HWC_GEMM: usize = 1280;

/// Switch the steps of HWC regions to their channels-last forms; per node, whether its value is HWC.
pub fn choose(steps: &mut [Step], output: NodeId) -> Vec<bool> {
    let n = steps.len();
    // The step that computes each node's value (a fused BN or activation shares its convolution's).
    let producer: Vec<usize> =
        steps.iter().map(|s| if let StepKind::Fused { into } = s.kind { into.0 } else { s.node.0 }).collect();
    let source = |id: &NodeId| producer.get(id.0).copied().unwrap_or(id.0);
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (t, step) in steps.iter().enumerate() {
        if matches!(step.kind, StepKind::Fused { .. }) {
            continue;
        }
        for input in &step.inputs {
            if let Some(r) = readers.get_mut(source(input)) {
                r.push(t);
            }
        }
    }
    let role: Vec<Role> = steps.iter().map(|s| role(s, steps)).collect();
    let role_of = |t: usize| role.get(t).copied().unwrap_or(Role::Other);
    let output_step = source(&output);

    // Values that may be HWC, by their producing step.
    let mut hwc: Vec<bool> = (0..n)
        .map(|p| {
            let reads = readers.get(p).map_or(&[][..], Vec::as_slice);
            role_of(p).writes_hwc()
                && p != output_step
                && !reads.is_empty()
                && reads.iter().all(|&t| role_of(t).reads_hwc())
        })
        .collect();
    let first_input: Vec<Option<usize>> = steps.iter().map(|s| s.inputs.first().map(source)).collect();
    let input_of = |t: usize| first_input.get(t).copied().flatten();
    loop {
        let mut changed = false;
        for t in 0..n {
            match role_of(t) {
                Role::Sum => {
                    let Some(step) = steps.get(t) else { continue };
                    let members: Vec<usize> = step.inputs.iter().map(source).chain([t]).collect();
                    if members.iter().any(|&m| hwc.get(m) != Some(&true)) {
                        for m in members {
                            if let Some(h) = hwc.get_mut(m).filter(|h| **h) {
                                *h = false;
                                changed = true;
                            }
                        }
                    }
                }
                Role::Depthwise => {
                    // Transposing is only worth it on small maps: elsewhere a depthwise runs HWC only
                    // with both its maps HWC.
                    let small = matches!(steps.get(t).map(|s| &s.kind), Some(StepKind::Conv(c)) if small_map(c));
                    let input = input_of(t);
                    let input_hwc = input.is_some_and(|i| hwc.get(i) == Some(&true));
                    let output_hwc = hwc.get(t) == Some(&true);
                    if !small && input_hwc != output_hwc {
                        for v in [Some(t), input].into_iter().flatten() {
                            if let Some(h) = hwc.get_mut(v).filter(|h| **h) {
                                *h = false;
                                changed = true;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if !changed {
            break;
        }
    }

    // Regions: HWC values joined through the steps that read them. Keep those with a depthwise.
    let mut region: Vec<usize> = (0..n).collect();
    fn root(region: &mut [usize], mut v: usize) -> usize {
        while let Some(&up) = region.get(v).filter(|&&up| up != v) {
            let grand = region.get(up).copied().unwrap_or(up);
            if let Some(r) = region.get_mut(v) {
                *r = grand;
            }
            v = up;
        }
        v
    }
    for t in 0..n {
        if hwc.get(t) != Some(&true) {
            continue;
        }
        for &r in readers.get(t).map_or(&[][..], Vec::as_slice) {
            if hwc.get(r) == Some(&true) {
                let (a, b) = (root(&mut region, t), root(&mut region, r));
                if let Some(slot) = region.get_mut(a) {
                    *slot = b;
                }
            }
        }
    }
    let mut has_depthwise = vec![false; n];
    for t in 0..n {
        if role_of(t) != Role::Depthwise {
            continue;
        }
        let runs_hwc = hwc.get(t) == Some(&true) || input_of(t).is_some_and(|i| hwc.get(i) == Some(&true));
        if runs_hwc {
            for v in [Some(t), input_of(t)].into_iter().flatten().filter(|&v| hwc.get(v) == Some(&true)) {
                let r = root(&mut region, v);
                if let Some(slot) = has_depthwise.get_mut(r) {
                    *slot = true;
                }
            }
        }
    }
    for v in 0..n {
        let r = root(&mut region, v);
        if has_depthwise.get(r) != Some(&true)
            && let Some(h) = hwc.get_mut(v)
        {
            *h = false;
        }
    }
    // Removing a region can leave a sum with a CHW member only if the sum joined two regions, which
    // the union above makes one region: sums stay consistent.

    // Configure the convolutions, and mark every node of an HWC value.
    let mut node_hwc = vec![false; n];
    for t in 0..n {
        let input_hwc = input_of(t).is_some_and(|i| hwc.get(i) == Some(&true));
        let output_hwc = hwc.get(t) == Some(&true);
        if output_hwc {
            let absorbs = steps.get(t).map(|s| s.absorbs.clone()).unwrap_or_default();
            for id in std::iter::once(t).chain(absorbs.iter().map(|a| a.0)) {
                if let Some(h) = node_hwc.get_mut(id) {
                    *h = true;
                }
            }
        }
        let Some(StepKind::Conv(conv)) = steps.get_mut(t).map(|s| &mut s.kind) else { continue };
        match role_of(t) {
            Role::Depthwise if input_hwc || output_hwc || small_map(conv) => {
                to_depthwise_hwc(conv, input_hwc);
                conv.output_hwc = output_hwc;
            }
            Role::Gemm | Role::Im2col => {
                conv.input_hwc = input_hwc && conv.method == Method::Pointwise;
                conv.output_hwc = output_hwc;
                if output_hwc {
                    to_column_major(conv);
                    #[cfg(target_arch = "x86_64")]
                    to_panels_if_they_pay(conv);
                }
            }
            _ => {}
        }
    }
    node_hwc
}

/// What a step can do with HWC values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A pointwise convolution: reads and writes HWC.
    Gemm,
    /// A dense convolution by im2col: writes HWC, reads CHW.
    Im2col,
    /// A depthwise convolution the HWC kernel supports.
    Depthwise,
    /// A sum of same-shape maps: any layout, the same for all.
    Sum,
    /// A global average pool: reads HWC; its `c × 1 × 1` output is the same in both layouts.
    Pool,
    Other,
}

impl Role {
    fn writes_hwc(self) -> bool {
        !matches!(self, Role::Other | Role::Pool)
    }

    fn reads_hwc(self) -> bool {
        !matches!(self, Role::Other | Role::Im2col)
    }
}

fn role(step: &Step, steps: &[Step]) -> Role {
    match &step.kind {
        StepKind::Conv(c) if is_depthwise(c) => Role::Depthwise,
        StepKind::Conv(c)
            if c.method == Method::Pointwise
                && c.conv.out_channels >= narrowest_hwc_gemm()
                && c.conv.in_channels.max(c.conv.out_channels) <= WIDEST_HWC_GEMM =>
        {
            Role::Gemm
        }
        StepKind::Conv(c) if c.method == Method::Im2col => Role::Im2col,
        StepKind::GlobalAvgPool => Role::Pool,
        StepKind::Binary { multiply: false }
            if step.inputs.iter().all(|i| steps.get(i.0).is_some_and(|s| s.output == step.output)) =>
        {
            Role::Sum
        }
        _ => Role::Other,
    }
}

fn is_depthwise(c: &ConvStep) -> bool {
    c.method == Method::Direct && c.conv.arithmetic == Arithmetic::Multiply && depthwise_hwc::supports(&c.conv)
}

/// Whether a depthwise convolution's input is small enough to transpose ([`SMALL_MAP`]).
fn small_map(c: &ConvStep) -> bool {
    c.input.h * c.input.w <= SMALL_MAP
}

/// A GEMM writing HWC takes its weights column-major (`[in·kh·kw, out]`): the GEMM crate then reads
/// them in place instead of gathering them into its panels on every call. Measured with the
/// `pointwise_layout` bench (HWC in and out, one thread): 672×112 over 14² 124 → 115 µs, 480×80 63 → 59
/// µs, within ±3% on the others; in Lite0 runs the HWC GEMMs of blocks 3 and 4 took 5–14% less, 0.11 ms
/// in all. (A GEMM writing CHW is transposed inside the crate, and there row-major weights are as fast
/// or faster.)
fn to_column_major(c: &mut ConvStep) {
    let out = c.conv.out_channels;
    let mut t = vec![0.0; c.weight.len()];
    depthwise_hwc::transpose(&c.weight, out, c.weight.len() / out.max(1), &mut t);
    c.weight = t;
    c.weight_column_major = true;
}

/// Column-major weights of a pointwise convolution over a 7² map (7 to 49 pixels in sevens) that the
/// GEMM crate would compute go into 48-channel panels for the panel kernel (AVX-512 or AVX2)
/// (`pointwise_hwc::pointwise_panels_uninit`).
#[cfg(target_arch = "x86_64")]
fn to_panels_if_they_pay(c: &mut ConvStep) {
    use crate::kernels::pointwise_hwc::{panel_width, panels_pay, to_panels};
    let (m, k) = (c.conv.out_channels, c.conv.in_channels * c.conv.kernel[0] * c.conv.kernel[1]);
    if c.method == Method::Pointwise && c.conv.groups == 1 && panels_pay(k, m, c.output.h * c.output.w, c.activation) {
        c.weight = to_panels(&c.weight, m, k, panel_width());
        c.weight_column_major = false;
        c.weight_panels = true;
    }
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
