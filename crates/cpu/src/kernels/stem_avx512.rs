//! Dense convolutions over a few input channels — a network's stem, 3 → 32 channels, 3×3, stride 2 —
//! computed directly with AVX-512 intrinsics, where the CPU has AVX-512F; elsewhere they stay
//! im2col + GEMM.
//!
//! With 3 input channels the GEMM's inner dimension is only 27 (3 × 3 × 3), its 1.35 MB im2col matrix
//! is written and read once more, and the bias and activation are one more pass over the 1.6 MB output:
//! Lite0's stem ran at ~50 GMAC/s. Here the input channels are scattered once into zero-padded phase
//! planes (as `direct.rs` does: stride 2 becomes contiguous reads), and for each output row, 32 pixels
//! of 8 output channels are summed in 16 registers over every input channel and tap — each input
//! vector read feeds eight multiply-adds, each weight a broadcast — then biased, activated and stored
//! once, straight into the CHW output.

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use std::arch::x86_64::{
    _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use convscope_graph::{Activation, Conv2d, Shape};

use super::depthwise_hwc_avx512::relu_in_registers;
use super::direct::{Layout, scatter};

/// Output channels summed together (their 2 × 8 sums fill half the 32 vector registers).
const CHANNELS: usize = 8;
/// Pixels in a vector.
const LANES: usize = 16;
/// At most this many input channels: beyond, the GEMM's inner dimension is long enough.
const MAX_INPUTS: usize = 4;

/// Whether [`stem`] computes this convolution (CHW in and out): one group of at most 4 input channels,
/// a multiple of 8 output channels, no dilation, output rows at least 16 wide, on a CPU with AVX-512F.
pub fn handles(c: &Conv2d, output: Shape) -> bool {
    c.groups == 1
        && c.in_channels <= MAX_INPUTS
        && c.out_channels.is_multiple_of(CHANNELS)
        && c.out_channels > 0
        && c.dilation == [1, 1]
        && output.w >= LANES
        && std::is_x86_feature_detected!("avx512f")
}

/// The convolution of CHW `x` into CHW `out` (output channels `channels` only: `out` holds those
/// planes), with `bias` and `activation` applied. `scratch` holds the phase planes.
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
    assert!(handles(c, output), "stem: a convolution it does not handle");
    let layout = Layout::new(c, input, output);
    let channel_planes = layout.phases * layout.plane;
    let taps = layout.taps.len();
    let (ih, iw, oh, ow) = (input.h, input.w, output.h, output.w);
    assert_eq!(x.len(), c.in_channels * ih * iw, "stem: input size");
    assert_eq!(weight.len(), c.out_channels * c.in_channels * taps, "stem: weight size");
    assert!(channels.end <= c.out_channels && channels.len().is_multiple_of(CHANNELS), "stem: channel range");
    assert_eq!(out.len(), channels.len() * oh * ow, "stem: output size");
    assert!(bias.is_none_or(|b| b.len() == c.out_channels), "stem: bias size");
    scratch.clear();
    scratch.resize(c.in_channels * channel_planes, 0.0);
    for ic in 0..c.in_channels {
        scatter(&x[ic * ih * iw..(ic + 1) * ih * iw], &layout, c, iw, &mut scratch[ic * channel_planes..]);
    }
    // Every read of an output vector (input channel × tap) as an offset into the planes, with its
    // weights for a block of 8 output channels side by side: `[block][read][channel]`.
    let reads: Vec<usize> =
        (0..c.in_channels).flat_map(|ic| layout.taps.iter().map(move |&t| ic * channel_planes + t)).collect();
    let per_channel = reads.len();
    let mut weights = vec![0.0f32; channels.len() * per_channel];
    for (o, oc) in channels.clone().enumerate() {
        let (block, lane) = (o / CHANNELS, o % CHANNELS);
        for r in 0..per_channel {
            weights[(block * per_channel + r) * CHANNELS + lane] = weight[oc * per_channel + r];
        }
    }
    let biases: Vec<f32> = channels.clone().map(|oc| bias.map_or(0.0, |b| b[oc])).collect();
    // Every read stays inside the planes: the last vector of a row starts at `ow − 16`, and its
    // furthest read is the flat output's end plus the kernel's reach, which `Layout` sized the planes for.
    let furthest = (oh - 1) * layout.pitch + ow + reads.iter().max().copied().unwrap_or(0);
    assert!(furthest <= scratch.len(), "stem: phase planes too short");
    let planes = &scratch[..];
    for (block, out_block) in out.chunks_exact_mut(CHANNELS * oh * ow).enumerate() {
        let w = &weights[block * per_channel * CHANNELS..(block + 1) * per_channel * CHANNELS];
        let b = &biases[block * CHANNELS..(block + 1) * CHANNELS];
        for oy in 0..oh {
            // SAFETY: AVX-512F is present (`handles`); every read `planes[at + oy·pitch + ox ..][..16]`
            // with `ox + 16 ≤ ow` stays below `furthest ≤ planes.len()` (asserted above); `w` holds
            // `reads.len()` rows of 8 weights; every store is inside `out_block` (8 planes of oh × ow,
            // `ox + 16 ≤ ow`).
            unsafe { row(planes, &reads, w, b, activation, out_block, oy * layout.pitch, oy * ow, oh * ow, ow) };
        }
    }
    if let Some(other) = activation.filter(|a| !matches!(a, Activation::Relu | Activation::Relu6)) {
        for v in out.iter_mut() {
            *v = other.apply(*v);
        }
    }
}

/// One output row of 8 output channels: pairs of vectors, then one vector, then a last vector ending
/// at the row's end (overlapping the one before; same values).
///
/// # Safety
///
/// AVX-512F; the bounds [`stem`] checks.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn row(
    planes: &[f32],
    reads: &[usize],
    w: &[f32],
    b: &[f32],
    activation: Option<Activation>,
    out: &mut [f32],
    flat_row: usize,
    out_row: usize,
    plane: usize,
    ow: usize,
) {
    let mut ox = 0;
    while ox + 2 * LANES <= ow {
        // SAFETY: the caller's bounds; `ox + 32 ≤ ow`.
        unsafe { vectors::<2>(planes, reads, w, b, activation, out, flat_row + ox, out_row + ox, plane) };
        ox += 2 * LANES;
    }
    if ox < ow {
        let last = if ox + LANES <= ow { ox } else { ow - LANES };
        // SAFETY: as above; `last + 16 ≤ ow` (`ow ≥ 16`).
        unsafe { vectors::<1>(planes, reads, w, b, activation, out, flat_row + last, out_row + last, plane) };
        if last + LANES < ow {
            let end = ow - LANES;
            // SAFETY: as above.
            unsafe { vectors::<1>(planes, reads, w, b, activation, out, flat_row + end, out_row + end, plane) };
        }
    }
}

/// `V` vectors of 16 pixels from flat index `at` (phase-plane coordinates) for 8 output channels,
/// written at `out[o·plane + to ..]`.
///
/// # Safety
///
/// AVX-512F; every `planes[read + at ..][..16·V]` and `out[o·plane + to ..][..16·V]` in bounds.
#[target_feature(enable = "avx512f")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn vectors<const V: usize>(
    planes: &[f32],
    reads: &[usize],
    w: &[f32],
    b: &[f32],
    activation: Option<Activation>,
    out: &mut [f32],
    at: usize,
    to: usize,
    plane: usize,
) {
    let mut sum = [[_mm512_setzero_ps(); V]; CHANNELS];
    let src = planes.as_ptr();
    for (r, &read) in reads.iter().enumerate() {
        let mut v = [_mm512_setzero_ps(); V];
        for (j, v) in v.iter_mut().enumerate() {
            // SAFETY: the caller's bounds.
            *v = unsafe { _mm512_loadu_ps(src.add(read + at + j * LANES)) };
        }
        let wr = &w[r * CHANNELS..(r + 1) * CHANNELS];
        for (o, s) in sum.iter_mut().enumerate() {
            let wt = _mm512_set1_ps(wr[o]);
            for j in 0..V {
                s[j] = _mm512_fmadd_ps(wt, v[j], s[j]);
            }
        }
    }
    let dst = out.as_mut_ptr();
    for (o, s) in sum.iter().enumerate() {
        let bias = _mm512_set1_ps(b[o]);
        for (j, &v) in s.iter().enumerate() {
            let v = relu_in_registers(_mm512_add_ps(v, bias), activation);
            // SAFETY: the caller's bounds.
            unsafe { _mm512_storeu_ps(dst.add(o * plane + to + j * LANES), v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use convscope_graph::Padding;

    use super::*;
    use crate::kernels::direct::tests::reference;

    /// (in, out, kernel, stride, padding, [h, w])
    type Case = (usize, usize, [usize; 2], [usize; 2], Padding, [usize; 2]);

    /// Stems of several shapes (strides 1 and 2, 3×3 to 7×7, odd sizes, widths that are and are not a
    /// multiple of 16 or 32), with every activation the kernel applies in registers and one it does not.
    #[test]
    #[cfg_attr(not(host_avx512), ignore = "not run: no AVX-512 on this machine")]
    fn stem_matches_the_definition() {
        assert!(std::is_x86_feature_detected!("avx512f"), "built on a machine with AVX-512, run on one without");
        let cases: &[Case] = &[
            (3, 32, [3, 3], [2, 2], Padding::uniform(1), [64, 64]),
            (3, 16, [3, 3], [2, 2], Padding { top: 0, bottom: 1, left: 0, right: 1 }, [40, 46]),
            (3, 8, [3, 3], [1, 1], Padding::uniform(1), [9, 17]),
            (1, 24, [5, 5], [1, 1], Padding::uniform(2), [12, 40]),
            (4, 16, [7, 7], [2, 2], Padding::uniform(3), [37, 70]),
        ];
        let activations = [None, Some(Activation::Relu), Some(Activation::Relu6), Some(Activation::HardSwish)];
        for (case, &(ci, co, kernel, stride, padding, [h, w])) in cases.iter().enumerate() {
            let c = Conv2d { kernel, stride, padding, ..Conv2d::new(ci, co, 1, 1) };
            let input = Shape::map(ci, h, w);
            let oh = (h + padding.top + padding.bottom - kernel[0]) / stride[0] + 1;
            let ow = (w + padding.left + padding.right - kernel[1]) / stride[1] + 1;
            let output = Shape::map(co, oh, ow);
            assert!(handles(&c, output), "case {case}");
            let value = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 997) as f32 / 498.5 - 1.0;
            let x: Vec<f32> = (0..ci * h * w).map(|i| value(i, case)).collect();
            let weight: Vec<f32> = (0..co * ci * kernel[0] * kernel[1]).map(|i| value(i, case + 50)).collect();
            let bias: Vec<f32> = (0..co).map(|i| value(i, case + 99)).collect();
            let sums = reference(&c, input, output, &weight, &bias, &x);
            for activation in activations {
                let want: Vec<f32> = sums.iter().map(|&v| activation.map_or(v, |a| a.apply(v))).collect();
                // The whole output, then its second half of channels alone (a thread's part).
                for channels in [0..co, co / 2 / CHANNELS * CHANNELS..co] {
                    let mut got = vec![f32::NAN; channels.len() * oh * ow];
                    let mut scratch = vec![f32::NAN; 5];
                    let plane = oh * ow;
                    stem(
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
                            "case {case}, {activation:?}, {channels:?}, output {i}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}
