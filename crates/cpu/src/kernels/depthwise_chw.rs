//! Stride-1 depthwise convolutions of CHW maps with AVX-512 intrinsics where the CPU has AVX-512F
//! (`depthwise_chw_avx512.rs`) and AVX2 ones where it has AVX2 and FMA (`depthwise_chw_avx2.rs`) — the
//! first depthwise layer of MobileNetV2 and EfficientNet-Lite0 (32 × 112², 3×3), which runs before any
//! channels-last trunk; elsewhere `direct.rs` computes them. This file holds what both share: which
//! convolutions they take, the padded planes, the bands of rows, the checks and the tests.
//!
//! `direct.rs` sums each output vector over its taps with one unaligned read per tap (9 for 3×3).
//! Here four output rows are computed together: each input row a band needs is read once per column
//! shift and feeds every output row of the band it reaches (for 3×3, 6 rows × 3 shifts = 18 reads for
//! 36 multiply-adds instead of 36 reads), two vectors wide, so 8 independent sums hide the multiply-add
//! latency. The input rows a call needs of each channel are first copied into a zero-padded plane
//! (`direct.rs`'s scatter); bias and ReLU/ReLU6 are applied in registers and the result stored straight
//! into the CHW output.
//!
//! A call computes any range of output rows of any channels (the engine splits threads by channels;
//! splitting by rows measured the same on Lite0's first layer), scattering only the input rows those
//! output rows read.

#![allow(unsafe_code)] // the intrinsic row loops behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use convscope_graph::{Activation, Conv2d, Shape};

use super::direct::{Layout, scatter_rows};
use super::pointwise_hwc::Isa;

/// Output rows computed together.
pub(super) const BAND: usize = 4;

/// Whether [`depthwise`] computes this convolution: depthwise (one input channel a group, as many
/// outputs), stride 1, no dilation, a 3×3 or 5×5 kernel (its size a compile-time constant, so every
/// loop unrolls and the 8 sums stay in registers), output rows at least one vector wide, on a CPU with
/// AVX-512F or AVX2 and FMA.
pub fn handles(c: &Conv2d, output: Shape) -> bool {
    Isa::detect().is_some_and(|isa| handles_with(isa, c, output))
}

fn handles_with(isa: Isa, c: &Conv2d, output: Shape) -> bool {
    c.groups == c.in_channels
        && c.out_channels == c.in_channels
        && c.stride == [1, 1]
        && c.dilation == [1, 1]
        && (c.kernel == [3, 3] || c.kernel == [5, 5])
        && output.w >= isa.lanes()
        && isa.available()
}

/// The convolution of CHW `x` into `planes`: for each `(channel, out)`, `out` receives that channel's
/// output rows `rows` (`rows.len() · ow` values), with `bias` and `activation` applied. `scratch` holds
/// one padded plane.
#[allow(clippy::too_many_arguments)]
pub fn depthwise<'a>(
    c: &Conv2d,
    input: Shape,
    output: Shape,
    weight: &[f32],
    bias: Option<&[f32]>,
    activation: Option<Activation>,
    x: &[f32],
    planes: impl IntoIterator<Item = (usize, &'a mut [f32])>,
    rows: std::ops::Range<usize>,
    scratch: &mut Vec<f32>,
) {
    let isa = Isa::detect().unwrap_or(Isa::Avx2);
    depthwise_with(isa, c, input, output, weight, bias, activation, x, planes, rows, scratch);
}

/// [`depthwise`] with the kernels of `isa`.
#[allow(clippy::too_many_arguments)]
fn depthwise_with<'a>(
    isa: Isa,
    c: &Conv2d,
    input: Shape,
    output: Shape,
    weight: &[f32],
    bias: Option<&[f32]>,
    activation: Option<Activation>,
    x: &[f32],
    planes: impl IntoIterator<Item = (usize, &'a mut [f32])>,
    rows: std::ops::Range<usize>,
    scratch: &mut Vec<f32>,
) {
    assert!(handles_with(isa, c, output), "depthwise_chw: a convolution it does not handle");
    let layout = Layout::new(c, input, output);
    let [kh, kw] = c.kernel;
    let (ih, iw, oh, ow) = (input.h, input.w, output.h, output.w);
    let pitch = layout.pitch;
    assert_eq!(layout.phases, 1, "depthwise_chw: stride 1 has one phase plane");
    assert_eq!(x.len(), c.in_channels * ih * iw, "depthwise_chw: input size");
    assert_eq!(weight.len(), c.out_channels * kh * kw, "depthwise_chw: weight size");
    assert!(rows.start <= rows.end && rows.end <= oh, "depthwise_chw: row range");
    assert!(bias.is_none_or(|b| b.len() == c.out_channels), "depthwise_chw: bias size");
    // The furthest read: the last band's last input row, shifted by the kernel's width, at the last
    // vector of a row (`ox + lanes ≤ ow`).
    let furthest = (oh - 1 + kh - 1) * pitch + (kw - 1) + ow;
    scratch.clear();
    scratch.resize(layout.plane.max(furthest), 0.0);
    // The input rows the output rows read (padded row `y + ky` is input row `y + ky − top`).
    let top = c.padding.top;
    let needed = rows.start.saturating_sub(top).min(ih)..(rows.end + kh - 1).saturating_sub(top).min(ih);
    let count = rows.len();
    for (oc, out) in planes {
        assert!(oc < c.out_channels, "depthwise_chw: channel {oc}");
        assert_eq!(out.len(), count * ow, "depthwise_chw: output size");
        scatter_rows(&x[oc * ih * iw..(oc + 1) * ih * iw], &layout, c, iw, scratch, needed.clone());
        let w = &weight[oc * kh * kw..(oc + 1) * kh * kw];
        let b = bias.map_or(0.0, |b| b[oc]);
        let mut y = rows.start;
        while y < rows.end {
            let band = Band { plane: scratch, pitch, w, bias: b, activation, y, first: rows.start, ow };
            let n = BAND.min(rows.end - y);
            // SAFETY: the instruction set is present (`handles_with`); every read
            // `plane[(y + r)·pitch + kx + ox ..][..lanes]` with `r < n + kh − 1`, `kx < kw`,
            // `ox + lanes ≤ ow` stays below `furthest ≤ scratch.len()`, and reads only rows scattered
            // above or padding; every store `out[(y − first + o)·ow + ox ..][..lanes]` with `o < n`,
            // `ox + lanes ≤ ow` is inside `out` (`count` rows); `w` holds `kh·kw` weights.
            unsafe {
                match isa {
                    Isa::Avx512 => super::depthwise_chw_avx512::band(&band, kh, n, out),
                    Isa::Avx2 => super::depthwise_chw_avx2::band(&band, kh, n, out),
                }
            }
            y += n;
        }
        // The padding cells are never written: they stay zero from one channel to the next.
        if let Some(other) = activation.filter(|a| !matches!(a, Activation::Relu | Activation::Relu6)) {
            for v in out.iter_mut() {
                *v = other.apply(*v);
            }
        }
    }
}

/// Up to [`BAND`] output rows of one channel from row `y`: the operands of the row loops.
pub(super) struct Band<'a> {
    /// The channel's zero-padded plane.
    pub plane: &'a [f32],
    pub pitch: usize,
    /// The channel's `K × K` weights.
    pub w: &'a [f32],
    pub bias: f32,
    pub activation: Option<Activation>,
    /// The band's first output row.
    pub y: usize,
    /// The first output row the output slice holds.
    pub first: usize,
    pub ow: usize,
}

#[cfg(test)]
mod tests {
    use convscope_graph::Padding;

    use super::*;
    use crate::kernels::direct::tests::reference;

    /// (channels, kernel, padding, [h, w])
    type Case = (usize, [usize; 2], Padding, [usize; 2]);

    #[test]
    #[cfg_attr(not(host_avx512), ignore = "not run: no AVX-512 on this machine")]
    fn depthwise_chw_avx512_matches_the_definition() {
        assert!(Isa::Avx512.available(), "built on a machine with AVX-512, run on one without");
        depthwise_chw_matches_the_definition(Isa::Avx512);
    }

    #[test]
    fn depthwise_chw_avx2_matches_the_definition() {
        assert!(Isa::Avx2.available(), "an x86-64 CPU without AVX2 and FMA");
        depthwise_chw_matches_the_definition(Isa::Avx2);
    }

    /// 3×3 and 5×5 kernels, "same" and asymmetric padding, heights that are and are not a multiple of
    /// the 4-row band, widths that are and are not a multiple of the vectors and their pairs, every
    /// activation; every channel and row, the last channels alone, and the rows in two parts as two
    /// threads compute them.
    fn depthwise_chw_matches_the_definition(isa: Isa) {
        let cases: &[Case] = &[
            (3, [3, 3], Padding::uniform(1), [12, 64]),
            (2, [3, 3], Padding::uniform(1), [7, 17]),
            (4, [5, 5], Padding::uniform(2), [9, 40]),
            (2, [3, 3], Padding { top: 0, bottom: 1, left: 0, right: 1 }, [10, 33]),
            (2, [5, 5], Padding { top: 1, bottom: 3, left: 2, right: 2 }, [6, 20]),
            (3, [3, 3], Padding::uniform(1), [11, 12]),
        ];
        let activations = [None, Some(Activation::Relu), Some(Activation::Relu6), Some(Activation::Silu)];
        for (case, &(ch, kernel, padding, [h, w])) in cases.iter().enumerate() {
            let c = Conv2d { kernel, padding, groups: ch, ..Conv2d::new(ch, ch, 1, 1) };
            let input = Shape::map(ch, h, w);
            let oh = h + padding.top + padding.bottom - kernel[0] + 1;
            let ow = w + padding.left + padding.right - kernel[1] + 1;
            let output = Shape::map(ch, oh, ow);
            if !handles_with(isa, &c, output) {
                assert!(isa == Isa::Avx512 && ow < 16, "case {case}");
                continue;
            }
            let value = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 997) as f32 / 498.5 - 1.0;
            let x: Vec<f32> = (0..ch * h * w).map(|i| value(i, case)).collect();
            let weight: Vec<f32> = (0..ch * kernel[0] * kernel[1]).map(|i| value(i, case + 50)).collect();
            let bias: Vec<f32> = (0..ch).map(|i| value(i, case + 99)).collect();
            let sums = reference(&c, input, output, &weight, &bias, &x);
            let plane = oh * ow;
            for activation in activations {
                let want: Vec<f32> = sums.iter().map(|&v| activation.map_or(v, |a| a.apply(v))).collect();
                let run = |channels: std::ops::Range<usize>, rows: std::ops::Range<usize>, scratch: &mut Vec<f32>| {
                    let mut got = vec![f32::NAN; channels.len() * rows.len() * ow];
                    let planes = channels.clone().zip(got.chunks_exact_mut(rows.len() * ow));
                    let b = Some(&bias[..]);
                    depthwise_with(isa, &c, input, output, &weight, b, activation, &x, planes, rows.clone(), scratch);
                    for (n, oc) in channels.clone().enumerate() {
                        let got = &got[n * rows.len() * ow..(n + 1) * rows.len() * ow];
                        let want = &want[oc * plane + rows.start * ow..oc * plane + rows.end * ow];
                        for (i, (g, w)) in got.iter().zip(want).enumerate() {
                            assert!(
                                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                                "{isa:?}, case {case}, {activation:?}, channels {channels:?}, rows {rows:?}, \
                                 output {i}: {g} vs {w}"
                            );
                        }
                    }
                };
                let mut scratch = vec![f32::NAN; 5];
                run(0..ch, 0..oh, &mut scratch);
                run(ch / 2..ch, 0..oh, &mut scratch);
                let split = oh / 2 + 1;
                run(0..ch, split..oh, &mut scratch);
                run(0..ch, 0..split, &mut scratch);
            }
        }
    }
}
