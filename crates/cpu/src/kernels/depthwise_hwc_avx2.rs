//! The 3×3 and 5×5 channels-last depthwise layers of stride 1 or 2 in AVX2+FMA intrinsics, for CPUs
//! without AVX-512 (most laptops); every other depthwise shape runs the portable kernel's AVX2 form
//! (`depthwise_hwc.rs`).
//!
//! The loop nest of `depthwise_hwc_avx512.rs` `rows_same`, on 8-channel vectors: per 8-channel block and
//! kernel row, the K weight vectors are loaded once per group of 8 output pixels, then each of the
//! row's 7·S + K input vectors once, multiplied into the (up to) K output pixels it is a tap of (3×3,
//! stride 1: 30 loads for 72 multiply-adds, against a load per multiply-add in the portable kernel). 8 sums, K
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

/// Output rows `rows` of a K×K, stride-S depthwise convolution with any padding into `out` (those rows
/// only, HWC), 8 output pixels at a time per 8-channel block; the last group of a row ends at the row's
/// end and recomputes a few pixels of the one before (same values). Taps in the padding read zeros.
///
/// # Safety
///
/// The CPU has AVX2 and FMA, and the lengths were checked as `depthwise_hwc` checks them: `x` holds the
/// whole input map, `weight` `K²·c` values (taps-major), `bias` `c`, `out` the rows asked for,
/// `rows.end ≤ output.h`, channels a multiple of 8, input and output channels equal, the output size
/// the geometry's; and: a K×K kernel, stride S × S, output at least 8 wide, activation none, ReLU or
/// ReLU6.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn rows<const K: usize, const S: usize>(
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
    let (top, left) = (g.top, g.left);
    let (xp, wp) = (x.as_ptr(), weight.as_ptr());
    let zero = _mm256_setzero_ps();
    let first = rows.start;
    for oy in rows {
        let kernel_rows = g.kernel_rows(oy);
        let out_row = &mut out[(oy - first) * ow * ch..(oy - first + 1) * ow * ch];
        // Pixel groups outer, channel blocks inner: a group's inputs, K rows × (7·S + K) pixels × all
        // channels (19 KB for 96 channels, 3×3, stride 2), stay in L1 for all its blocks (blocks outer
        // read the K whole rows once per block, from L2 or memory: 1.3× slower on 96 × 112², stride 2).
        let last = ow - P;
        let mut ox = 0;
        loop {
            for cb in (0..ch).step_by(LANES) {
                // SAFETY: cb + 8 ≤ ch ≤ bias.len().
                let b = unsafe { _mm256_loadu_ps(bias.as_ptr().add(cb)) };
                let mut sums = [b; P];
                for ky in kernel_rows.clone() {
                    let r = oy * S + ky - top;
                    // SAFETY: r < ih (the kernel-row range); tap (ky, kx) < K², cb + 8 ≤ ch: inside the
                    // taps-major weights; columns ox·S − left + t are read only when inside 0..iw, else
                    // ZEROS (8 values).
                    unsafe {
                        let mut w = [zero; K];
                        for (kx, w) in w.iter_mut().enumerate() {
                            *w = _mm256_loadu_ps(wp.add((ky * K + kx) * ch + cb));
                        }
                        let input_row = xp.add(r * iw * ch + cb);
                        // Input column ox·S − left + S·u + parity is tap kx = parity + S·q of output
                        // pixel ox + u − q: every bound is a constant, so the loops unroll whole.
                        for u in 0..P + (K - 1) / S {
                            for parity in 0..S {
                                let t = S * u + parity;
                                if t >= (P - 1) * S + K {
                                    continue;
                                }
                                let column = ox * S + t;
                                let src = if column >= left && column < iw + left {
                                    input_row.add((column - left) * ch)
                                } else {
                                    ZEROS.as_ptr()
                                };
                                let v = _mm256_loadu_ps(src);
                                for q in 0..K.div_ceil(S) {
                                    let kx = parity + S * q;
                                    if kx < K && u >= q && u - q < P {
                                        sums[u - q] = _mm256_fmadd_ps(w[kx], v, sums[u - q]);
                                    }
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
            }
            if ox == last {
                break;
            }
            ox = (ox + P).min(last);
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
