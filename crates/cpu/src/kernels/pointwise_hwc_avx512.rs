//! The register tiles of `pointwise_hwc.rs` in AVX-512 intrinsics: 16 output channels a vector, up to
//! 4 vectors × 6 pixels (24 sums of the 32 registers).

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks

use std::arch::x86_64::{
    __mmask16, _MM_HINT_T0, _mm_prefetch, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};
use std::mem::MaybeUninit;

use super::depthwise_hwc_avx512::relu_in_registers;
use super::pointwise_hwc::Operands;

/// Output channels in a vector.
const LANES: usize = 16;

/// Pixels `pixels` of output channels `o0 .. o0 + 16·V` (fewer if `m` ends first), in groups of `P`
/// pixels; a last group shorter than `P` ends at the tile's end, overlapping the one before (same
/// values), or, if the whole map is narrower than `P`, goes pixel by pixel.
///
/// # Safety
///
/// AVX-512F; `pixels.end ≤ n` and `o0 < m` for the sizes `pointwise_hwc.rs` checked `x`, `w` and `out`
/// against; `b` holds `m` rounded up to whole vectors. Returns the channels it covered, `16·V`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn tile<const V: usize, const P: usize>(
    g: &Operands,
    out: &mut [MaybeUninit<f32>],
    pixels: std::ops::Range<usize>,
    o0: usize,
) -> usize {
    let lanes = (g.m - o0).min(V * LANES) - (V - 1) * LANES;
    let mask: __mmask16 = if lanes >= LANES { 0xffff } else { (1u16 << lanes) - 1 };
    let prefetch = g.next_panel(o0, V * LANES);
    let count = pixels.len().div_ceil(P).max(1);
    let mut p = pixels.start;
    let mut j = 0;
    while p + P <= pixels.end {
        // SAFETY: the caller's bounds; `p + P ≤ pixels.end`.
        unsafe { group::<V, P>(g, out, p, o0, mask, prefetch, j, count) };
        p += P;
        j += 1;
    }
    if p < pixels.end {
        if pixels.end >= P {
            // SAFETY: as above; `pixels.end − P ≥ 0`.
            unsafe { group::<V, P>(g, out, pixels.end - P, o0, mask, prefetch, j, count) };
        } else {
            for p in p..pixels.end {
                // SAFETY: as above, one pixel.
                unsafe { group::<V, 1>(g, out, p, o0, mask, None, 0, 1) };
            }
        }
    }
    V * LANES
}

/// `P` pixels from `p` of `V` vectors of output channels from `o0`, the last vector's lanes `mask`:
/// summed over all `k` inputs in registers, biased, activated, stored.
///
/// # Safety
///
/// As [`tile`], with `p + P ≤ n`.
#[target_feature(enable = "avx512f")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn group<const V: usize, const P: usize>(
    g: &Operands,
    out: &mut [MaybeUninit<f32>],
    p: usize,
    o0: usize,
    mask: __mmask16,
    prefetch: Option<*const f32>,
    phase: usize,
    every: usize,
) {
    // The sums start from the bias: one load per vector instead of an add per sum (the kernel bench on a
    // Zen 4: 1–4% faster on Lite0's shapes).
    let mut bias = [_mm512_setzero_ps(); V];
    for (v, b) in bias.iter_mut().enumerate() {
        // SAFETY: `b` is padded to whole vectors past `o0 + 16v`.
        *b = unsafe { _mm512_loadu_ps(g.b.as_ptr().add(o0 + v * LANES)) };
    }
    let mut sum = [bias; P];
    // Weights `(o0 + 16v + lane, i)` at `base + i·row + 16v`.
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
            for v in 0..V {
                // SAFETY: row `i` of the next panel, `16·V` values, is inside `w`; prefetching is only
                // a hint.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(ahead.add(i * row_stride + v * LANES).cast()) };
            }
            countdown = every;
        }
        countdown = countdown.wrapping_sub(1);
        let mut wv = [_mm512_setzero_ps(); V];
        for (v, wv) in wv.iter_mut().enumerate() {
            // SAFETY: weights `(o0 + 16v .. , i)` are at `i·m + o0 + 16v` (column-major, `m·k` long)
            // or `o0/48·48·k + i·48 + o0 % 48 + 16v` (48-channel panels, 48·k each), inside `w` for every unmasked
            // lane: the last vector's lanes past `m` are masked off.
            let at = unsafe { wp.add(base + i * row_stride + v * LANES) };
            *wv = if v + 1 == V { unsafe { _mm512_maskz_loadu_ps(mask, at) } } else { unsafe { _mm512_loadu_ps(at) } };
        }
        let row = i * g.rs + p * g.cs;
        for (j, s) in sum.iter_mut().enumerate() {
            // SAFETY: input `(i, p + j)` with `p + j < n` is inside `x` (checked by `pointwise`).
            let xv = _mm512_set1_ps(unsafe { *xp.add(row + j * g.cs) });
            for (s, &w) in s.iter_mut().zip(&wv) {
                *s = _mm512_fmadd_ps(w, xv, *s);
            }
        }
    }
    let dst = out.as_mut_ptr().cast::<f32>();
    for (j, s) in sum.iter().enumerate() {
        for (v, &s) in s.iter().enumerate() {
            // SAFETY: the output `(p + j, o0 + 16v ..)` is inside `out` for every unmasked lane.
            unsafe {
                let r = relu_in_registers(s, g.activation);
                let at = dst.add((p + j) * g.m + o0 + v * LANES);
                if v + 1 == V {
                    _mm512_mask_storeu_ps(at, mask, r);
                } else {
                    _mm512_storeu_ps(at, r);
                }
            }
        }
    }
}
