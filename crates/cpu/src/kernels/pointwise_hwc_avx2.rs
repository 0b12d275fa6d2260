//! The register tiles of `pointwise_hwc.rs` in AVX2+FMA intrinsics, for CPUs without AVX-512 (most
//! laptops): 8 output channels a vector; 2 vectors × 6 pixels, 3 × 4 or 1 × 12 keep 12 sums, the weight
//! vectors and a broadcast input in the 16 registers. The last vector of a block is masked
//! (`vmaskmovps`) only when the output channels end inside it.

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks

use std::arch::x86_64::{
    __m256i, _MM_HINT_T0, _mm_prefetch, _mm256_cmpgt_epi32, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps, _mm256_storeu_ps,
};
use std::mem::MaybeUninit;

use super::depthwise_hwc_avx2::relu_in_registers;
use super::pointwise_hwc::Operands;

/// Output channels in a vector.
const LANES: usize = 8;

/// Pixels `pixels` of output channels `o0 .. o0 + 8·V` (fewer if `m` ends first), in groups of `P`
/// pixels; a last group shorter than `P` ends at the tile's end, overlapping the one before (same
/// values), or, if the whole map is narrower than `P`, goes pixel by pixel. Returns the channels it
/// covered, `8·V`.
///
/// # Safety
///
/// AVX2 and FMA; `pixels.end ≤ n` and `o0 < m` for the sizes `pointwise_hwc.rs` checked `x`, `w` and
/// `out` against; `b` holds `m` rounded up to whole panels.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tile<const V: usize, const P: usize>(
    g: &Operands,
    out: &mut [MaybeUninit<f32>],
    pixels: std::ops::Range<usize>,
    o0: usize,
) -> usize {
    let lanes = (g.m - o0).min(V * LANES) - (V - 1) * LANES;
    // SAFETY (all calls below): the caller's bounds; each group's pixels end at or before `pixels.end`.
    unsafe {
        if lanes == LANES {
            groups::<V, P, false>(g, out, pixels, o0, _mm256_set1_epi32(-1));
        } else {
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            groups::<V, P, true>(g, out, pixels, o0, mask);
        }
    }
    V * LANES
}

/// [`tile`]'s loop over pixel groups, the last vector masked by `mask` if `MASKED`.
///
/// # Safety
///
/// As [`tile`]; `mask` keeps only lanes below `m`.
#[target_feature(enable = "avx2,fma")]
unsafe fn groups<const V: usize, const P: usize, const MASKED: bool>(
    g: &Operands,
    out: &mut [MaybeUninit<f32>],
    pixels: std::ops::Range<usize>,
    o0: usize,
    mask: __m256i,
) {
    let prefetch = g.next_panel(o0, V * LANES);
    let count = pixels.len().div_ceil(P).max(1);
    let mut p = pixels.start;
    let mut j = 0;
    while p + P <= pixels.end {
        // SAFETY: the caller's bounds; `p + P ≤ pixels.end`.
        unsafe { group::<V, P, MASKED>(g, out, p, o0, mask, prefetch, j, count) };
        p += P;
        j += 1;
    }
    if p < pixels.end {
        if pixels.end >= P {
            // SAFETY: as above; `pixels.end − P ≥ 0`.
            unsafe { group::<V, P, MASKED>(g, out, pixels.end - P, o0, mask, prefetch, j, count) };
        } else {
            for p in p..pixels.end {
                // SAFETY: as above, one pixel.
                unsafe { group::<V, 1, MASKED>(g, out, p, o0, mask, None, 0, 1) };
            }
        }
    }
}

/// `P` pixels from `p` of `V` vectors of output channels from `o0`, the last vector's lanes `mask` if
/// `MASKED`: summed over all `k` inputs in registers, biased, activated, stored.
///
/// # Safety
///
/// As [`tile`], with `p + P ≤ n`.
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn group<const V: usize, const P: usize, const MASKED: bool>(
    g: &Operands,
    out: &mut [MaybeUninit<f32>],
    p: usize,
    o0: usize,
    mask: __m256i,
    prefetch: Option<*const f32>,
    phase: usize,
    every: usize,
) {
    let mut bias = [_mm256_setzero_ps(); V];
    for (v, b) in bias.iter_mut().enumerate() {
        // SAFETY: `b` is padded to whole panels past `o0 + 8v`.
        *b = unsafe { _mm256_loadu_ps(g.b.as_ptr().add(o0 + v * LANES)) };
    }
    let mut sum = [bias; P];
    // Weights `(o0 + 8v + lane, i)` at `base + i·row + 8v`.
    let (base, row_stride) = match g.panel {
        0 => (o0, g.m),
        panel => (o0 / panel * panel * g.k + o0 % panel, panel),
    };
    let (xp, wp) = (g.x.as_ptr(), g.w.as_ptr());
    // Rows `phase`, `phase + every`, … of the next panel (`Operands::next_panel`).
    let (ahead, mut countdown) = match prefetch {
        Some(at) => (at, phase),
        None => (wp, usize::MAX),
    };
    for i in 0..g.k {
        if countdown == 0 {
            // SAFETY: row `i` of the next panel is inside `w`; prefetching is only a hint.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(ahead.add(i * row_stride).cast()) };
            countdown = every;
        }
        countdown = countdown.wrapping_sub(1);
        let mut wv = [_mm256_setzero_ps(); V];
        for (v, wv) in wv.iter_mut().enumerate() {
            // SAFETY: weights `(o0 + 8v .. , i)` are at `i·m + o0 + 8v` (column-major, `m·k` long) or
            // `o0/16·16·k + i·16 + o0 % 16 + 8v` (16-channel panels, 16·k each), inside `w` for every lane the
            // mask keeps (the last vector's lanes past `m` are masked off).
            let at = unsafe { wp.add(base + i * row_stride + v * LANES) };
            *wv = if MASKED && v + 1 == V {
                unsafe { _mm256_maskload_ps(at, mask) }
            } else {
                unsafe { _mm256_loadu_ps(at) }
            };
        }
        let row = i * g.rs + p * g.cs;
        for (j, s) in sum.iter_mut().enumerate() {
            // SAFETY: input `(i, p + j)` with `p + j < n` is inside `x` (checked by `pointwise_hwc.rs`).
            let xv = _mm256_set1_ps(unsafe { *xp.add(row + j * g.cs) });
            for (s, &w) in s.iter_mut().zip(&wv) {
                *s = _mm256_fmadd_ps(w, xv, *s);
            }
        }
    }
    let dst = out.as_mut_ptr().cast::<f32>();
    for (j, s) in sum.iter().enumerate() {
        for (v, &s) in s.iter().enumerate() {
            // SAFETY: the output `(p + j, o0 + 8v ..)` is inside `out` for every lane the mask keeps.
            unsafe {
                let r = relu_in_registers(s, g.activation);
                let at = dst.add((p + j) * g.m + o0 + v * LANES);
                if MASKED && v + 1 == V {
                    _mm256_maskstore_ps(at, mask, r);
                } else {
                    _mm256_storeu_ps(at, r);
                }
            }
        }
    }
}
