//! Stride-1 depthwise convolutions of CHW maps with AVX-512 intrinsics, where the CPU has AVX-512F —
//! the first depthwise layer of MobileNetV2 and EfficientNet-Lite0 (32 × 112², 3×3), which runs
//! before any channels-last trunk; elsewhere `direct.rs` computes them.
//!
//! `direct.rs` sums each output vector over its taps with one unaligned read per tap (9 for 3×3).
//! Here four output rows are computed together: each input row a band needs is read once per column
//! shift and feeds every output row of the band it reaches (for 3×3, 6 rows × 3 shifts = 18 reads for
//! 36 multiply-adds instead of 36 reads), two vectors of 16 pixels wide, so 8 independent sums hide
//! the multiply-add latency. Each channel is first copied into a zero-padded plane (`direct.rs`'s
//! scatter); bias and ReLU/ReLU6 are applied in registers and the result stored straight into the
//! CHW output.

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use std::arch::x86_64::{_mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps};

use convscope_graph::{Activation, Conv2d, Shape};

use super::depthwise_hwc_avx512::relu_in_registers;
use super::direct::{Layout, scatter};

/// Pixels in a vector.
const LANES: usize = 16;
/// Output rows computed together.
const BAND: usize = 4;

/// Whether [`depthwise`] computes this convolution: depthwise (one input channel a group, as many
/// outputs), stride 1, no dilation, a 3×3 or 5×5 kernel (its size a compile-time constant, so every
/// loop unrolls and the 8 sums stay in registers), output rows at least 16 wide, AVX-512F.
pub fn handles(c: &Conv2d, output: Shape) -> bool {
    c.groups == c.in_channels
        && c.out_channels == c.in_channels
        && c.stride == [1, 1]
        && c.dilation == [1, 1]
        && (c.kernel == [3, 3] || c.kernel == [5, 5])
        && output.w >= LANES
        && std::is_x86_feature_detected!("avx512f")
}

/// The convolution of channels `channels` of CHW `x` into `out` (those channels' planes), with
/// `bias` and `activation` applied. `scratch` holds one padded plane.
#[allow(clippy::too_many_arguments)]
pub fn depthwise(
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
    assert!(handles(c, output), "depthwise_chw: a convolution it does not handle");
    let layout = Layout::new(c, input, output);
    let [kh, kw] = c.kernel;
    let (ih, iw, oh, ow) = (input.h, input.w, output.h, output.w);
    let pitch = layout.pitch;
    assert_eq!(layout.phases, 1, "depthwise_chw: stride 1 has one phase plane");
    assert_eq!(x.len(), c.in_channels * ih * iw, "depthwise_chw: input size");
    assert_eq!(weight.len(), c.out_channels * kh * kw, "depthwise_chw: weight size");
    assert!(channels.end <= c.out_channels, "depthwise_chw: channel range");
    assert_eq!(out.len(), channels.len() * oh * ow, "depthwise_chw: output size");
    assert!(bias.is_none_or(|b| b.len() == c.out_channels), "depthwise_chw: bias size");
    // The furthest read: the last band's last input row, shifted by the kernel's width, at the last
    // vector of a row (`ox + 16 ≤ ow`).
    let furthest = (oh - 1 + kh - 1) * pitch + (kw - 1) + ow;
    scratch.clear();
    scratch.resize(layout.plane.max(furthest), 0.0);
    for (oc, out_plane) in channels.zip(out.chunks_exact_mut(oh * ow)) {
        scatter(&x[oc * ih * iw..(oc + 1) * ih * iw], &layout, c, iw, scratch);
        let w = &weight[oc * kh * kw..(oc + 1) * kh * kw];
        let b = bias.map_or(0.0, |b| b[oc]);
        let mut y = 0;
        while y < oh {
            let rows = BAND.min(oh - y);
            // SAFETY: AVX-512F is present (`handles`); every read `scratch[(y + r)·pitch + kx + ox ..][..16]`
            // with `r < rows + kh − 1`, `kx < kw`, `ox + 16 ≤ ow` stays below `furthest ≤ scratch.len()`;
            // every store `out_plane[(y + o)·ow + ox ..][..16]` with `o < rows`, `ox + 16 ≤ ow` is inside
            // the plane; `w` holds `kh·kw` weights.
            unsafe {
                match (kh, rows) {
                    (3, 4) => band::<4, 3>(scratch, pitch, w, b, activation, out_plane, y, ow),
                    (3, 3) => band::<3, 3>(scratch, pitch, w, b, activation, out_plane, y, ow),
                    (3, 2) => band::<2, 3>(scratch, pitch, w, b, activation, out_plane, y, ow),
                    (3, _) => band::<1, 3>(scratch, pitch, w, b, activation, out_plane, y, ow),
                    (_, 4) => band::<4, 5>(scratch, pitch, w, b, activation, out_plane, y, ow),
                    (_, 3) => band::<3, 5>(scratch, pitch, w, b, activation, out_plane, y, ow),
                    (_, 2) => band::<2, 5>(scratch, pitch, w, b, activation, out_plane, y, ow),
                    (_, _) => band::<1, 5>(scratch, pitch, w, b, activation, out_plane, y, ow),
                }
            }
            y += rows;
        }
        // The padding cells are never written: they stay zero from one channel to the next.
    }
    if let Some(other) = activation.filter(|a| !matches!(a, Activation::Relu | Activation::Relu6)) {
        for v in out.iter_mut() {
            *v = other.apply(*v);
        }
    }
}

/// Output rows `y..y + R` of one channel: pairs of vectors, then one vector, then a last one ending at
/// the row's end (overlapping the one before; same values).
///
/// # Safety
///
/// AVX-512F; the bounds [`depthwise`] checks.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn band<const R: usize, const K: usize>(
    plane: &[f32],
    pitch: usize,
    w: &[f32],
    b: f32,
    activation: Option<Activation>,
    out: &mut [f32],
    y: usize,
    ow: usize,
) {
    let mut ox = 0;
    while ox + 2 * LANES <= ow {
        // SAFETY: the caller's bounds; `ox + 32 ≤ ow`.
        unsafe { vectors::<R, 2, K>(plane, pitch, w, b, activation, out, y, ox, ow) };
        ox += 2 * LANES;
    }
    if ox < ow {
        let last = if ox + LANES <= ow { ox } else { ow - LANES };
        // SAFETY: as above; `last + 16 ≤ ow`.
        unsafe { vectors::<R, 1, K>(plane, pitch, w, b, activation, out, y, last, ow) };
        if last + LANES < ow {
            // SAFETY: as above.
            unsafe { vectors::<R, 1, K>(plane, pitch, w, b, activation, out, y, ow - LANES, ow) };
        }
    }
}

/// `V` vectors of 16 pixels from column `ox` of output rows `y..y + R`: each input row the band
/// reaches is read once per column shift and added into every output row it is a kernel row of.
///
/// # Safety
///
/// AVX-512F; the bounds [`depthwise`] checks.
#[target_feature(enable = "avx512f")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn vectors<const R: usize, const V: usize, const K: usize>(
    plane: &[f32],
    pitch: usize,
    w: &[f32],
    b: f32,
    activation: Option<Activation>,
    out: &mut [f32],
    y: usize,
    ox: usize,
    ow: usize,
) {
    let bias = _mm512_set1_ps(b);
    let mut sum = [[bias; V]; R];
    let src = plane.as_ptr();
    for r in 0..R + K - 1 {
        for kx in 0..K {
            let mut v = [_mm512_setzero_ps(); V];
            for (j, v) in v.iter_mut().enumerate() {
                // SAFETY: the caller's bounds.
                *v = unsafe { _mm512_loadu_ps(src.add((y + r) * pitch + kx + ox + j * LANES)) };
            }
            // Every output row `o` of the band that input row `y + r` is kernel row `r − o` of (a
            // loop over all `o` with constant indices, so the sums stay in registers).
            for (o, sum) in sum.iter_mut().enumerate() {
                let ky = r.wrapping_sub(o);
                if ky < K {
                    let wt = _mm512_set1_ps(w[ky * K + kx]);
                    for j in 0..V {
                        sum[j] = _mm512_fmadd_ps(wt, v[j], sum[j]);
                    }
                }
            }
        }
    }
    let dst = out.as_mut_ptr();
    for (o, s) in sum.iter().enumerate() {
        for (j, &v) in s.iter().enumerate() {
            // SAFETY: the caller's bounds.
            unsafe { _mm512_storeu_ps(dst.add((y + o) * ow + ox + j * LANES), relu_in_registers(v, activation)) };
        }
    }
}

#[cfg(test)]
mod tests {
    use convscope_graph::Padding;

    use super::*;
    use crate::kernels::direct::tests::reference;

    /// (channels, kernel, padding, [h, w])
    type Case = (usize, [usize; 2], Padding, [usize; 2]);

    /// 3×3 and 5×5 kernels, "same" and asymmetric padding, heights that are and are not a multiple of
    /// the 4-row band, widths that are and are not a multiple of 16 or 32, every activation.
    #[test]
    #[cfg_attr(not(host_avx512), ignore = "not run: no AVX-512 on this machine")]
    fn depthwise_chw_matches_the_definition() {
        assert!(std::is_x86_feature_detected!("avx512f"), "built on a machine with AVX-512, run on one without");
        let cases: &[Case] = &[
            (3, [3, 3], Padding::uniform(1), [12, 64]),
            (2, [3, 3], Padding::uniform(1), [7, 17]),
            (4, [5, 5], Padding::uniform(2), [9, 40]),
            (2, [3, 3], Padding { top: 0, bottom: 1, left: 0, right: 1 }, [10, 33]),
            (2, [5, 5], Padding { top: 1, bottom: 3, left: 2, right: 2 }, [6, 20]),
        ];
        let activations = [None, Some(Activation::Relu), Some(Activation::Relu6), Some(Activation::Silu)];
        for (case, &(ch, kernel, padding, [h, w])) in cases.iter().enumerate() {
            let c = Conv2d { kernel, padding, groups: ch, ..Conv2d::new(ch, ch, 1, 1) };
            let input = Shape::map(ch, h, w);
            let oh = h + padding.top + padding.bottom - kernel[0] + 1;
            let ow = w + padding.left + padding.right - kernel[1] + 1;
            let output = Shape::map(ch, oh, ow);
            assert!(handles(&c, output), "case {case}");
            let value = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 997) as f32 / 498.5 - 1.0;
            let x: Vec<f32> = (0..ch * h * w).map(|i| value(i, case)).collect();
            let weight: Vec<f32> = (0..ch * kernel[0] * kernel[1]).map(|i| value(i, case + 50)).collect();
            let bias: Vec<f32> = (0..ch).map(|i| value(i, case + 99)).collect();
            let sums = reference(&c, input, output, &weight, &bias, &x);
            for activation in activations {
                let want: Vec<f32> = sums.iter().map(|&v| activation.map_or(v, |a| a.apply(v))).collect();
                // Every channel, then the last ones alone (a thread's part).
                for channels in [0..ch, ch / 2..ch] {
                    let plane = oh * ow;
                    let mut got = vec![f32::NAN; channels.len() * plane];
                    let mut scratch = vec![f32::NAN; 5];
                    depthwise(
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
