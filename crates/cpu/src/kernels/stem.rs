//! Dense convolutions over a few input channels — a network's stem, 3 → 32 channels, 3×3, stride 2 —
//! computed directly with AVX-512 intrinsics where the CPU has AVX-512F (`stem_avx512.rs`) and with AVX2
//! ones where it has AVX2 and FMA (`stem_avx2.rs`); elsewhere they stay im2col + GEMM. This file holds
//! what both share: which convolutions they take, the phase planes, the weights in blocks, the checks.
//!
//! With 3 input channels the GEMM's inner dimension is only 27 (3 × 3 × 3), its 1.35 MB im2col matrix
//! is written and read once more, and the bias and activation are one more pass over the 1.6 MB output.
//! Here the input channels are scattered
//! once into zero-padded phase planes (as `direct.rs` does: stride 2 becomes contiguous reads), and for
//! each output row, vectors of pixels of a block of output channels are summed in registers over every
//! input channel and tap — each input vector read feeds a multiply-add per channel of the block, each
//! weight a broadcast — then biased, activated and stored once, straight into the CHW output. AVX-512:
//! blocks of 8 channels × 2 vectors of 16 pixels (16 of the 32 registers); AVX2: 4 channels × 3
//! vectors of 8 pixels (12 of the 16). The `stem` bench, Lite0's stem on one thread: im2col + GEMM 380
//! → 254 µs with AVX-512, 523 → 410 µs with AVX2 (AVX-512 hidden).

#![allow(unsafe_code)] // the intrinsic row loops behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use convscope_graph::{Activation, Conv2d, Shape};

use super::direct::{Layout, scatter};
use super::pointwise_hwc::Isa;

/// At most this many input channels: beyond, the GEMM's inner dimension is long enough.
const MAX_INPUTS: usize = 4;

impl Isa {
    /// Output channels a block of the stem kernels sums together.
    fn stem_channels(self) -> usize {
        match self {
            Isa::Avx512 => 8,
            Isa::Avx2 => 4,
        }
    }
}

/// Output channels of a block on every CPU: threads split the output by multiples of it.
pub const BLOCK: usize = 8;

/// Whether [`stem`] computes this convolution (CHW in and out): one group of at most 4 input channels,
/// a multiple of 8 output channels, no dilation, output rows at least a vector wide, on a CPU with
/// AVX-512F or AVX2 and FMA.
pub fn handles(c: &Conv2d, output: Shape) -> bool {
    Isa::detect().is_some_and(|isa| handles_with(isa, c, output))
}

fn handles_with(isa: Isa, c: &Conv2d, output: Shape) -> bool {
    c.groups == 1
        && c.in_channels <= MAX_INPUTS
        && c.out_channels.is_multiple_of(BLOCK)
        && c.out_channels > 0
        && c.dilation == [1, 1]
        && output.w >= isa.lanes()
        && isa.available()
}

/// The convolution of CHW `x` into CHW `out` (output channels `channels` only: `out` holds those
/// planes; a multiple of 8 of them), with `bias` and `activation` applied. `scratch` holds the phase
/// planes.
#[allow(clippy::too_many_arguments)]
pub fn stem(
    c: &Conv2d,
    input: Shape,
    output: Shape,
    weight: &[f32],
    bias: Option<&[f32]>,
    activation: Option<Activation>,
    x: &[f32],
    out: &mut [f32],
    channels: std::ops::Range<usize>,
    scratch: &mut Vec<f32>,
) {
    let isa = Isa::detect().unwrap_or(Isa::Avx2);
    stem_with(isa, c, input, output, weight, bias, activation, x, out, channels, scratch);
}

/// [`stem`] with the kernels of `isa`.
#[allow(clippy::too_many_arguments)]
fn stem_with(
    isa: Isa,
    c: &Conv2d,
    input: Shape,
    output: Shape,
    weight: &[f32],
    bias: Option<&[f32]>,
    activation: Option<Activation>,
    x: &[f32],
    out: &mut [f32],
    channels: std::ops::Range<usize>,
    scratch: &mut Vec<f32>,
) {
    assert!(handles_with(isa, c, output), "stem: a convolution it does not handle");
    let block = isa.stem_channels();
    let layout = Layout::new(c, input, output);
    let channel_planes = layout.phases * layout.plane;
    let taps = layout.taps.len();
    let (ih, iw, oh, ow) = (input.h, input.w, output.h, output.w);
    assert_eq!(x.len(), c.in_channels * ih * iw, "stem: input size");
    assert_eq!(weight.len(), c.out_channels * c.in_channels * taps, "stem: weight size");
    assert!(channels.end <= c.out_channels && channels.len().is_multiple_of(BLOCK), "stem: channel range");
    assert_eq!(out.len(), channels.len() * oh * ow, "stem: output size");
    assert!(bias.is_none_or(|b| b.len() == c.out_channels), "stem: bias size");
    scratch.clear();
    scratch.resize(c.in_channels * channel_planes, 0.0);
    for ic in 0..c.in_channels {
        scatter(&x[ic * ih * iw..(ic + 1) * ih * iw], &layout, c, iw, &mut scratch[ic * channel_planes..]);
    }
    // Every read of an output vector (input channel × tap) as an offset into the planes, with its
    // weights for a block of output channels side by side: `[block][read][channel]`.
    let reads: Vec<usize> =
        (0..c.in_channels).flat_map(|ic| layout.taps.iter().map(move |&t| ic * channel_planes + t)).collect();
    let per_channel = reads.len();
    let mut weights = vec![0.0f32; channels.len() * per_channel];
    for (o, oc) in channels.clone().enumerate() {
        let (b, lane) = (o / block, o % block);
        for r in 0..per_channel {
            weights[(b * per_channel + r) * block + lane] = weight[oc * per_channel + r];
        }
    }
    let biases: Vec<f32> = channels.clone().map(|oc| bias.map_or(0.0, |b| b[oc])).collect();
    // Every read stays inside the planes: the last vector of a row starts at `ow − lanes`, and its
    // furthest read is the flat output's end plus the kernel's reach, which `Layout` sized the planes for.
    let furthest = (oh - 1) * layout.pitch + ow + reads.iter().max().copied().unwrap_or(0);
    assert!(furthest <= scratch.len(), "stem: phase planes too short");
    let planes = &scratch[..];
    for (b, out_block) in out.chunks_exact_mut(block * oh * ow).enumerate() {
        let w = &weights[b * per_channel * block..(b + 1) * per_channel * block];
        let bias = &biases[b * block..(b + 1) * block];
        for oy in 0..oh {
            let r = Row {
                planes,
                reads: &reads,
                w,
                bias,
                activation,
                flat_row: oy * layout.pitch,
                out_row: oy * ow,
                plane: oh * ow,
                ow,
            };
            // SAFETY: the instruction set is present (`handles_with`); every read
            // `planes[at + oy·pitch + ox ..][..lanes]` with `ox + lanes ≤ ow` stays below
            // `furthest ≤ planes.len()` (asserted above); `w` holds `reads.len()` rows of `block` weights;
            // every store is inside `out_block` (`block` planes of oh × ow, `ox + lanes ≤ ow`).
            unsafe {
                match isa {
                    Isa::Avx512 => super::stem_avx512::row(&r, out_block),
                    Isa::Avx2 => super::stem_avx2::row(&r, out_block),
                }
            }
        }
    }
    if let Some(other) = activation.filter(|a| !matches!(a, Activation::Relu | Activation::Relu6)) {
        for v in out.iter_mut() {
            *v = other.apply(*v);
        }
    }
}

/// One output row of one block of output channels: the operands of the row loops.
pub(super) struct Row<'a> {
    /// The phase planes of every input channel.
    pub planes: &'a [f32],
    /// Every read of an output vector as an offset into `planes`.
    pub reads: &'a [usize],
    /// The block's weights: per read, one per output channel.
    pub w: &'a [f32],
    pub bias: &'a [f32],
    pub activation: Option<Activation>,
    /// The row's first pixel in phase-plane coordinates.
    pub flat_row: usize,
    /// The row's first pixel in an output plane.
    pub out_row: usize,
    /// Output pixels in a plane.
    pub plane: usize,
    pub ow: usize,
}

#[cfg(test)]
mod tests {
    use convscope_graph::Padding;

    use super::*;
    use crate::kernels::direct::tests::reference;

    /// (in, out, kernel, stride, padding, [h, w])
    type Case = (usize, usize, [usize; 2], [usize; 2], Padding, [usize; 2]);

    #[test]
    #[cfg_attr(not(host_avx512), ignore = "not run: no AVX-512 on this machine")]
    fn stem_avx512_matches_the_definition() {
        assert!(Isa::Avx512.available(), "built on a machine with AVX-512, run on one without");
        stem_matches_the_definition(Isa::Avx512);
    }

    #[test]
    fn stem_avx2_matches_the_definition() {
        assert!(Isa::Avx2.available(), "an x86-64 CPU without AVX2 and FMA");
        stem_matches_the_definition(Isa::Avx2);
    }

    /// Stems of several shapes (strides 1 and 2, 3×3 to 7×7, odd sizes, widths that are and are not a
    /// multiple of the vectors and their groups), with every activation the kernel applies in registers
    /// and one it does not.
    fn stem_matches_the_definition(isa: Isa) {
        let cases: &[Case] = &[
            (3, 32, [3, 3], [2, 2], Padding::uniform(1), [64, 64]),
            (3, 16, [3, 3], [2, 2], Padding { top: 0, bottom: 1, left: 0, right: 1 }, [40, 46]),
            (3, 8, [3, 3], [1, 1], Padding::uniform(1), [9, 17]),
            (1, 24, [5, 5], [1, 1], Padding::uniform(2), [12, 40]),
            (4, 16, [7, 7], [2, 2], Padding::uniform(3), [37, 70]),
            // Rows of 11: one AVX2 vector and an overlapping one; narrower than an AVX-512 vector.
            (3, 8, [3, 3], [2, 2], Padding::uniform(1), [10, 21]),
        ];
        let activations = [None, Some(Activation::Relu), Some(Activation::Relu6), Some(Activation::HardSwish)];
        for (case, &(ci, co, kernel, stride, padding, [h, w])) in cases.iter().enumerate() {
            let c = Conv2d { kernel, stride, padding, ..Conv2d::new(ci, co, 1, 1) };
            let input = Shape::map(ci, h, w);
            let oh = (h + padding.top + padding.bottom - kernel[0]) / stride[0] + 1;
            let ow = (w + padding.left + padding.right - kernel[1]) / stride[1] + 1;
            let output = Shape::map(co, oh, ow);
            if !handles_with(isa, &c, output) {
                assert!(isa == Isa::Avx512 && ow < 16, "case {case}");
                continue;
            }
            let value = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 997) as f32 / 498.5 - 1.0;
            let x: Vec<f32> = (0..ci * h * w).map(|i| value(i, case)).collect();
            let weight: Vec<f32> = (0..co * ci * kernel[0] * kernel[1]).map(|i| value(i, case + 50)).collect();
            let bias: Vec<f32> = (0..co).map(|i| value(i, case + 99)).collect();
            let sums = reference(&c, input, output, &weight, &bias, &x);
            for activation in activations {
                let want: Vec<f32> = sums.iter().map(|&v| activation.map_or(v, |a| a.apply(v))).collect();
                // The whole output, then its second half of channels alone (a thread's part).
                for channels in [0..co, co / 2 / BLOCK * BLOCK..co] {
                    let mut got = vec![f32::NAN; channels.len() * oh * ow];
                    let mut scratch = vec![f32::NAN; 5];
                    let plane = oh * ow;
                    stem_with(
                        isa,
                        &c,
                        input,
                        output,
                        &weight,
                        Some(&bias),
                        activation,
                        &x,
                        &mut got,
                        channels.clone(),
                        &mut scratch,
                    );
                    for (i, (g, w)) in got.iter().zip(&want[channels.start * plane..channels.end * plane]).enumerate() {
                        assert!(
                            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                            "{isa:?}, case {case}, {activation:?}, {channels:?}, output {i}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}
