//! The row loops of `depthwise_chw.rs` in AVX2+FMA intrinsics, for CPUs without AVX-512: bands of up to
//! 4 output rows × 2 vectors of 8 pixels (8 sums, 2 input vectors and a broadcast weight of the 16
//! registers).

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use std::arch::x86_64::{_mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps};

use super::depthwise_chw::Band;
use super::depthwise_hwc_avx2::relu_in_registers;

/// Pixels in a vector.
const LANES: usize = 8;

/// The `n` output rows (at most 4) of `b` with a `k × k` kernel (3 or 5), into `out`.
///
/// # Safety
///
/// AVX2 and FMA; the bounds `depthwise_chw.rs` checks.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn band(b: &Band, k: usize, n: usize, out: &mut [f32]) {
    // SAFETY: the caller's bounds.
    unsafe {
        match (k, n) {
            (3, 4) => rows::<4, 3>(b, out),
            (3, 3) => rows::<3, 3>(b, out),
            (3, 2) => rows::<2, 3>(b, out),
            (3, _) => rows::<1, 3>(b, out),
            (_, 4) => rows::<4, 5>(b, out),
            (_, 3) => rows::<3, 5>(b, out),
            (_, 2) => rows::<2, 5>(b, out),
            (_, _) => rows::<1, 5>(b, out),
        }
    }
}

/// Output rows `y..y + R` of one channel: pairs of vectors, then one vector, then a last one ending at
/// the row's end (overlapping the one before; same values).
///
/// # Safety
///
/// As [`band`].
#[target_feature(enable = "avx2,fma")]
unsafe fn rows<const R: usize, const K: usize>(b: &Band, out: &mut [f32]) {
    let ow = b.ow;
    let mut ox = 0;
    while ox + 2 * LANES <= ow {
        // SAFETY: the caller's bounds; `ox + 2·lanes ≤ ow`.
        unsafe { vectors::<R, 2, K>(b, out, ox) };
        ox += 2 * LANES;
    }
    if ox < ow {
        let last = if ox + LANES <= ow { ox } else { ow - LANES };
        // SAFETY: as above; `last + lanes ≤ ow`.
        unsafe { vectors::<R, 1, K>(b, out, last) };
        if last + LANES < ow {
            // SAFETY: as above.
            unsafe { vectors::<R, 1, K>(b, out, ow - LANES) };
        }
    }
}

/// `V` vectors from column `ox` of output rows `y..y + R`: each input row the band reaches is read once
/// per column shift and added into every output row it is a kernel row of.
///
/// # Safety
///
/// As [`band`].
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn vectors<const R: usize, const V: usize, const K: usize>(b: &Band, out: &mut [f32], ox: usize) {
    let bias = _mm256_set1_ps(b.bias);
    let mut sum = [[bias; V]; R];
    let (src, y, pitch, w) = (b.plane.as_ptr(), b.y, b.pitch, b.w);
    for r in 0..R + K - 1 {
        for kx in 0..K {
            let mut v = [_mm256_setzero_ps(); V];
            for (j, v) in v.iter_mut().enumerate() {
                // SAFETY: the caller's bounds.
                *v = unsafe { _mm256_loadu_ps(src.add((y + r) * pitch + kx + ox + j * LANES)) };
            }
            // Every output row `o` of the band that input row `y + r` is kernel row `r − o` of (a
            // loop over all `o` with constant indices, so the sums stay in registers).
            for (o, sum) in sum.iter_mut().enumerate() {
                let ky = r.wrapping_sub(o);
                if ky < K {
                    let wt = _mm256_set1_ps(w[ky * K + kx]);
                    for j in 0..V {
                        sum[j] = _mm256_fmadd_ps(wt, v[j], sum[j]);
                    }
                }
            }
        }
    }
    let dst = out.as_mut_ptr();
    let first = (y - b.first) * b.ow + ox;
    for (o, s) in sum.iter().enumerate() {
        for (j, &v) in s.iter().enumerate() {
            // SAFETY: the caller's bounds.
            unsafe { _mm256_storeu_ps(dst.add(first + o * b.ow + j * LANES), relu_in_registers(v, b.activation)) };
        }
    }
}
