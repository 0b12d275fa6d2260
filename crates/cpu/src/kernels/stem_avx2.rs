//! The row loop of `stem.rs` in AVX2+FMA intrinsics, for CPUs without AVX-512: blocks of 4 output
//! channels, 3 vectors of 8 pixels (12 sums of the 16 registers, 3 input vectors and a broadcast
//! weight beside them: 7 loads for 12 multiply-adds).

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use std::arch::x86_64::{
    _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

use super::depthwise_hwc_avx2::relu_in_registers;
use super::stem::Row;

/// Output channels summed together.
const CHANNELS: usize = 4;
/// Pixels in a vector.
const LANES: usize = 8;

/// One output row of 4 output channels: triples of vectors, then single vectors, the last ending at the
/// row's end (overlapping the one before; same values).
///
/// # Safety
///
/// AVX2 and FMA; the bounds `stem.rs` checks, for blocks of 4 channels and rows at least 8 wide.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn row(r: &Row, out: &mut [f32]) {
    let ow = r.ow;
    let mut ox = 0;
    while ox + 3 * LANES <= ow {
        // SAFETY: the caller's bounds; `ox + 24 ≤ ow`.
        unsafe { vectors::<3>(r, out, ox) };
        ox += 3 * LANES;
    }
    while ox < ow {
        let at = if ox + LANES <= ow { ox } else { ow - LANES };
        // SAFETY: as above; `at + 8 ≤ ow` (`ow ≥ 8`).
        unsafe { vectors::<1>(r, out, at) };
        ox = at + LANES;
    }
}

/// `V` vectors of 8 pixels from column `ox` of the row for 4 output channels.
///
/// # Safety
///
/// AVX2 and FMA; every `planes[read + flat_row + ox ..][..8·V]` and `out[o·plane + out_row + ox ..][..8·V]`
/// in bounds.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn vectors<const V: usize>(r: &Row, out: &mut [f32], ox: usize) {
    let (at, to) = (r.flat_row + ox, r.out_row + ox);
    let mut sum = [[_mm256_setzero_ps(); V]; CHANNELS];
    let src = r.planes.as_ptr();
    for (k, &read) in r.reads.iter().enumerate() {
        let mut v = [_mm256_setzero_ps(); V];
        for (j, v) in v.iter_mut().enumerate() {
            // SAFETY: the caller's bounds.
            *v = unsafe { _mm256_loadu_ps(src.add(read + at + j * LANES)) };
        }
        let wr = &r.w[k * CHANNELS..(k + 1) * CHANNELS];
        for (o, s) in sum.iter_mut().enumerate() {
            let wt = _mm256_set1_ps(wr[o]);
            for j in 0..V {
                s[j] = _mm256_fmadd_ps(wt, v[j], s[j]);
            }
        }
    }
    let dst = out.as_mut_ptr();
    for (o, s) in sum.iter().enumerate() {
        let bias = _mm256_set1_ps(r.bias[o]);
        for (j, &v) in s.iter().enumerate() {
            let v = relu_in_registers(_mm256_add_ps(v, bias), r.activation);
            // SAFETY: the caller's bounds.
            unsafe { _mm256_storeu_ps(dst.add(o * r.plane + to + j * LANES), v) };
        }
    }
}
