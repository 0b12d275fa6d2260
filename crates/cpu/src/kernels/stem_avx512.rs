//! The row loop of `stem.rs` in AVX-512 intrinsics: blocks of 8 output channels, 2 vectors of 16
//! pixels (16 sums of the 32 registers).

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use std::arch::x86_64::{
    _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use super::depthwise_hwc_avx512::relu_in_registers;
use super::stem::Row;

/// Output channels summed together (their 2 × 8 sums fill half the 32 vector registers).
const CHANNELS: usize = 8;
/// Pixels in a vector.
const LANES: usize = 16;

/// One output row of 8 output channels: pairs of vectors, then one vector, then a last vector ending
/// at the row's end (overlapping the one before; same values).
///
/// # Safety
///
/// AVX-512F; the bounds `stem.rs` checks, for blocks of 8 channels and rows at least 16 wide.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn row(r: &Row, out: &mut [f32]) {
    let ow = r.ow;
    let mut ox = 0;
    while ox + 2 * LANES <= ow {
        // SAFETY: the caller's bounds; `ox + 32 ≤ ow`.
        unsafe { vectors::<2>(r, out, ox) };
        ox += 2 * LANES;
    }
    if ox < ow {
        let last = if ox + LANES <= ow { ox } else { ow - LANES };
        // SAFETY: as above; `last + 16 ≤ ow` (`ow ≥ 16`).
        unsafe { vectors::<1>(r, out, last) };
        if last + LANES < ow {
            // SAFETY: as above.
            unsafe { vectors::<1>(r, out, ow - LANES) };
        }
    }
}

/// `V` vectors of 16 pixels from column `ox` of the row for 8 output channels.
///
/// # Safety
///
/// AVX-512F; every `planes[read + flat_row + ox ..][..16·V]` and `out[o·plane + out_row + ox ..][..16·V]`
/// in bounds.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn vectors<const V: usize>(r: &Row, out: &mut [f32], ox: usize) {
    let (at, to) = (r.flat_row + ox, r.out_row + ox);
    let mut sum = [[_mm512_setzero_ps(); V]; CHANNELS];
    let src = r.planes.as_ptr();
    for (k, &read) in r.reads.iter().enumerate() {
        let mut v = [_mm512_setzero_ps(); V];
        for (j, v) in v.iter_mut().enumerate() {
            // SAFETY: the caller's bounds.
            *v = unsafe { _mm512_loadu_ps(src.add(read + at + j * LANES)) };
        }
        let wr = &r.w[k * CHANNELS..(k + 1) * CHANNELS];
        for (o, s) in sum.iter_mut().enumerate() {
            let wt = _mm512_set1_ps(wr[o]);
            for j in 0..V {
                s[j] = _mm512_fmadd_ps(wt, v[j], s[j]);
            }
        }
    }
    let dst = out.as_mut_ptr();
    for (o, s) in sum.iter().enumerate() {
        let bias = _mm512_set1_ps(r.bias[o]);
        for (j, &v) in s.iter().enumerate() {
            let v = relu_in_registers(_mm512_add_ps(v, bias), r.activation);
            // SAFETY: the caller's bounds.
            unsafe { _mm512_storeu_ps(dst.add(o * r.plane + to + j * LANES), v) };
        }
    }
}
