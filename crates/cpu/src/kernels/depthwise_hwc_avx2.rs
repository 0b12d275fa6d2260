//! The "same" 3×3 and 5×5 channels-last depthwise layers in AVX2+FMA intrinsics, for CPUs without
//! AVX-512 (most laptops); every other depthwise shape runs the portable kernel's AVX2 form
//! (`depthwise_hwc.rs`).
//!
//! The loop nest of `depthwise_hwc_avx512.rs` `rows_same`, on 8-channel vectors: per 8-channel block and
//! kernel row, the K weight vectors are loaded once per group of 8 output pixels, then each of the
//! row's K + 7 input vectors once, multiplied into the (up to) K output pixels it is a tap of (3×3: 30
//! loads for 72 multiply-adds, against a load per multiply-add in the portable kernel). 8 sums, K
//! weights and one input vector fit AVX2's 16 registers for K ≤ 5 (the AVX-512 3×3 kernel keeps all 9
//! weights for the whole row, which 16 registers cannot hold beside 8 sums).

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use std::arch::x86_64::{
    __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_ps, _mm256_setzero_ps,
    _mm256_storeu_ps,
};

use convscope_graph::Activation;

use super::depthwise_hwc::Geometry;

/// Channels in a vector.
const LANES: usize = 8;

/// What a tap in the padding reads: one vector of zeros.
static ZEROS: [f32; LANES] = [0.0; LANES];

/// Output rows `rows` of a K×K, stride-1 depthwise convolution with "same" padding (`(K − 1) / 2` on
/// every side) into `out` (those rows only, HWC), 8 output pixels at a time per 8-channel block; the last
/// group of a row ends at the row's end and recomputes a few pixels of the one before (same values).
///
/// # Safety
///
/// The CPU has AVX2 and FMA, and the lengths were checked as `depthwise_hwc` checks them: `x` holds the
/// whole input map, `weight` `K²·c` values (taps-major), `bias` `c`, `out` the rows asked for,
/// `rows.end ≤ output.h`, channels a multiple of 8, input and output channels equal; and: a K×K kernel,
/// stride 1, padding `(K − 1) / 2` on the top and left, output as wide as the input and at least 8 wide,
/// activation none, ReLU or ReLU6.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn rows_same<const K: usize>(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    activation: Option<Activation>,
    out: &mut [f32],
    rows: std::ops::Range<usize>,
) {
    const P: usize = 8;
    let (ch, iw, ow) = (g.input.c, g.input.w, g.output.w);
    let pad = (K - 1) / 2;
    let (xp, wp) = (x.as_ptr(), weight.as_ptr());
    let zero = _mm256_setzero_ps();
    let first = rows.start;
    for oy in rows {
        let kernel_rows = g.kernel_rows(oy);
        let out_row = &mut out[(oy - first) * ow * ch..(oy - first + 1) * ow * ch];
        for cb in (0..ch).step_by(LANES) {
            // SAFETY: cb + 8 ≤ ch ≤ bias.len().
            let b = unsafe { _mm256_loadu_ps(bias.as_ptr().add(cb)) };
            let last = ow - P;
            let mut ox = 0;
            loop {
                let mut sums = [b; P];
                for ky in kernel_rows.clone() {
                    let r = oy + ky - pad;
                    // SAFETY: r < ih (the kernel-row range); tap (ky, kx) < K², cb + 8 ≤ ch: inside the
                    // taps-major weights; columns ox − pad + t are read only when inside 0..iw, else
                    // ZEROS (8 values).
                    unsafe {
                        let mut w = [zero; K];
                        for (kx, w) in w.iter_mut().enumerate() {
                            *w = _mm256_loadu_ps(wp.add((ky * K + kx) * ch + cb));
                        }
                        let input_row = xp.add(r * iw * ch + cb);
                        for t in 0..P + K - 1 {
                            let column = ox + t;
                            let src = if column >= pad && column < iw + pad {
                                input_row.add((column - pad) * ch)
                            } else {
                                ZEROS.as_ptr()
                            };
                            let v = _mm256_loadu_ps(src);
                            for kx in 0..K {
                                // Input column ox − pad + t is tap kx of output pixel ox + t − kx.
                                if t >= kx && t - kx < P {
                                    sums[t - kx] = _mm256_fmadd_ps(w[kx], v, sums[t - kx]);
                                }
                            }
                        }
                    }
                }
                for (j, &s) in sums.iter().enumerate() {
                    let at = (ox + j) * ch + cb;
                    let dst = &mut out_row[at..at + LANES];
                    // SAFETY: `dst` holds 8 values.
                    unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), relu_in_registers(s, activation)) };
                }
                if ox == last {
                    break;
                }
                ox = (ox + P).min(last);
            }
        }
    }
}

/// ReLU and ReLU6 applied in registers (the AVX2 kernels' epilogue); any other activation is left to the
/// caller.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) fn relu_in_registers(v: __m256, activation: Option<Activation>) -> __m256 {
    match activation {
        Some(Activation::Relu) => _mm256_max_ps(v, _mm256_setzero_ps()),
        Some(Activation::Relu6) => _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(6.0)),
        _ => v,
    }
}
