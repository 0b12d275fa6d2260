//! The channels-last depthwise kernel of `depthwise_hwc.rs` written with AVX-512 intrinsics, chosen at run
//! time where the CPU has AVX-512F.
//!
//! Same loop nest as the portable kernel — per output row, blocks of 64, 32, then 16 channels, four
//! pixels at a time with their 16, 8 or 4 sums in registers, one load of each tap's weight vectors for the
//! four pixels — with two differences the autovectorizer could not be brought to:
//!
//! - pixel groups touching the padding stay groups: a tap outside the row reads a block of zeros (a
//!   pointer select). The portable kernel goes one pixel at a time there, 4 sums in flight, and on Lite0's
//!   7² and 14² maps most pixels are near an edge; written the same way in portable code, LLVM kept the
//!   sums in memory and stored every one after each multiply-add (1.3–1.6× slower).
//! - the last group of a row ends at the row's end and recomputes a few pixels of the one before (same
//!   values, written twice), instead of finishing one pixel at a time.
//!
//! Taps are multiply-adds with the input as memory operand, so a group of four pixels of 64 channels is
//! 4 weight loads and 16 fused load-multiply-adds per tap.
//!
//! Also here: the 16×16 tile of the CHW ↔ HWC transposes in registers (16 loads, four rounds of
//! shuffles, 16 stores), 2–3× the portable tile loop on Lite0's maps.

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks
#![allow(clippy::indexing_slicing)]

use std::arch::x86_64::{
    __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

use convscope_graph::Activation;

use super::depthwise_hwc::{Geometry, LANES};

/// What a tap in the padding reads: one channel block (up to four vectors) of zeros.
static ZEROS: [f32; 4 * LANES] = [0.0; 4 * LANES];

/// Output rows `rows` into `out` (those rows only, HWC), like the portable kernel.
///
/// # Safety
///
/// The CPU has AVX-512F, and the lengths were checked as `depthwise_hwc` checks them: `x` holds the whole
/// input map, `weight` `kh·kw·c` values, `bias` `c`, `out` the rows asked for, `rows.end ≤ output.h`,
/// channels a multiple of 16, input and output channels equal.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn rows_of(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    activation: Option<Activation>,
    out: &mut [f32],
    rows: std::ops::Range<usize>,
) {
    let (ch, ow) = (g.input.c, g.output.w);
    if ow == 0 {
        return;
    }
    let first = rows.start;
    for oy in rows {
        let out_row = &mut out[(oy - first) * ow * ch..(oy - first + 1) * ow * ch];
        let row = Row { oy, kernel_rows: g.kernel_rows(oy) };
        // SAFETY: the caller's contract; `out_row` is this output row.
        unsafe {
            // Rows narrower than a group of pixels (1×1 to 3×3 maps) go one pixel at a time.
            if ow >= 4 {
                channel_blocks::<4>(g, x, weight, bias, activation, out_row, &row);
            } else {
                channel_blocks::<1>(g, x, weight, bias, activation, out_row, &row);
            }
        }
    }
}

/// The output row being computed and its kernel rows inside the image.
struct Row {
    oy: usize,
    kernel_rows: std::ops::Range<usize>,
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn channel_blocks<const P: usize>(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    activation: Option<Activation>,
    out_row: &mut [f32],
    row: &Row,
) {
    for (cb, vectors) in g.channel_blocks() {
        // SAFETY: `cb + 16·vectors ≤ ch` for every block; the rest is the caller's contract.
        unsafe {
            match vectors {
                4 => channel_block::<4, P>(g, x, weight, bias, activation, out_row, row, cb),
                2 => channel_block::<2, P>(g, x, weight, bias, activation, out_row, row, cb),
                _ => channel_block::<1, P>(g, x, weight, bias, activation, out_row, row, cb),
            }
        }
    }
}

/// Channels `cb..cb + 16·V` of output row `row.oy`, `P` pixels at a time.
#[target_feature(enable = "avx512f")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn channel_block<const V: usize, const P: usize>(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    activation: Option<Activation>,
    out_row: &mut [f32],
    row: &Row,
    cb: usize,
) {
    let ch = g.input.c;
    let (iw, kw, sw, left) = (g.input.w, g.kernel[1], g.stride[1], g.left);
    let ow = g.output.w;
    let (xp, wp) = (x.as_ptr(), weight.as_ptr());
    let mut b = [_mm512_setzero_ps(); V];
    for (v, b) in b.iter_mut().enumerate() {
        // SAFETY: cb + v·16 + 16 ≤ ch ≤ bias.len().
        *b = unsafe { _mm512_loadu_ps(bias.as_ptr().add(cb + v * LANES)) };
    }
    let std::ops::Range { start: inside_from, end: inside_to } = g.inside_columns();
    let last = ow - P;
    let mut ox = 0;
    loop {
        let mut sums = [b; P];
        let inside = ox >= inside_from && ox + P <= inside_to;
        for ky in row.kernel_rows.clone() {
            let r = row.oy * g.stride[0] + ky - g.top;
            // SAFETY (all pointer arithmetic and loads below): r < ih (the kernel-row range), every column
            // read is < iw (inside groups by `inside_from..inside_to`, edge groups by the test), channel
            // offsets cb + v·16 + 16 ≤ ch; weights at (ky·kw + kx)·ch + cb + v·16 with ky < kh, kx < kw;
            // ZEROS holds 4·16 values.
            unsafe {
                let input_row = xp.add(r * iw * ch + cb);
                let taps = wp.add(ky * kw * ch + cb);
                if inside {
                    // Every tap of every pixel inside the row: one base, fixed offsets.
                    let base = input_row.add((ox * sw - left) * ch);
                    for kx in 0..kw {
                        let w = weights::<V>(taps.add(kx * ch));
                        for (j, pixel) in sums.iter_mut().enumerate() {
                            madd(pixel, &w, base.add((j * sw + kx) * ch));
                        }
                    }
                } else {
                    for kx in 0..kw {
                        let w = weights::<V>(taps.add(kx * ch));
                        for (j, pixel) in sums.iter_mut().enumerate() {
                            // Column in the padded row; inside the image when left ≤ it < iw + left.
                            let column = (ox + j) * sw + kx;
                            let src = if column >= left && column < iw + left {
                                input_row.add((column - left) * ch)
                            } else {
                                ZEROS.as_ptr()
                            };
                            madd(pixel, &w, src);
                        }
                    }
                }
            }
        }
        for (j, pixel) in sums.iter().enumerate() {
            let dst = &mut out_row[(ox + j) * ch + cb..(ox + j) * ch + cb + V * LANES];
            for (d, &s) in dst.chunks_exact_mut(LANES).zip(pixel) {
                // SAFETY: `d` holds 16 values.
                unsafe { _mm512_storeu_ps(d.as_mut_ptr(), relu_in_registers(s, activation)) };
            }
            if let Some(
                a @ (Activation::HardSigmoid | Activation::HardSwish | Activation::Sigmoid | Activation::Silu),
            ) = activation
            {
                dst.iter_mut().for_each(|v| *v = a.apply(*v));
            }
        }
        if ox == last {
            break;
        }
        ox = (ox + P).min(last);
    }
}

/// Output rows `rows` of a 3×3, stride-1, padding-1 depthwise convolution ("same" size), like
/// [`rows_of`] but with the loop nest turned for this shape: per 16-channel block, the 9 taps' weight
/// vectors stay in registers for the whole row, and 8 output pixels are summed at a time, each of the
/// 10 input vectors of a kernel row loaded once and multiplied into the (up to) 3 output pixels it is a
/// tap of — 30 loads for 72 multiply-adds, where [`rows_of`] loads an input vector per multiply-add and
/// the weights once per tap per group. Measured with the `depthwise` bench (`hwc`): see
/// `depthwise_hwc.rs` `SAME_3X3_MIN_WIDTH`, which says where it is used.
///
/// # Safety
///
/// As [`rows_of`], and: a 3×3 kernel, stride 1, padding 1 on the top and left, output as wide as the
/// input and at least 8 wide, activation none, ReLU or ReLU6.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn rows_same_3x3(
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
    let (xp, wp) = (x.as_ptr(), weight.as_ptr());
    let zero = _mm512_setzero_ps();
    let first = rows.start;
    for oy in rows {
        let kernel_rows = g.kernel_rows(oy);
        let out_row = &mut out[(oy - first) * ow * ch..(oy - first + 1) * ow * ch];
        for cb in (0..ch).step_by(LANES) {
            let mut w = [[zero; 3]; 3];
            for (ky, w) in w.iter_mut().enumerate() {
                for (kx, w) in w.iter_mut().enumerate() {
                    // SAFETY: tap (ky, kx) < 9, cb + 16 ≤ ch: inside the taps-major weights.
                    *w = unsafe { _mm512_loadu_ps(wp.add((ky * 3 + kx) * ch + cb)) };
                }
            }
            // SAFETY: cb + 16 ≤ ch ≤ bias.len().
            let b = unsafe { _mm512_loadu_ps(bias.as_ptr().add(cb)) };
            let last = ow - P;
            let mut ox = 0;
            loop {
                let mut sums = [b; P];
                for ky in kernel_rows.clone() {
                    let r = oy + ky - 1;
                    // SAFETY: r < ih (the kernel-row range); columns ox − 1 + t are read only when inside
                    // 0..iw, else ZEROS (16 values); cb + 16 ≤ ch.
                    unsafe {
                        let input_row = xp.add(r * iw * ch + cb);
                        for t in 0..P + 2 {
                            let column = ox + t;
                            let src = if column >= 1 && column <= iw {
                                input_row.add((column - 1) * ch)
                            } else {
                                ZEROS.as_ptr()
                            };
                            let v = _mm512_loadu_ps(src);
                            for kx in 0..3 {
                                // Input column ox − 1 + t is tap kx of output pixel ox + t − kx.
                                if t >= kx && t - kx < P {
                                    sums[t - kx] = _mm512_fmadd_ps(w[ky][kx], v, sums[t - kx]);
                                }
                            }
                        }
                    }
                }
                for (j, &s) in sums.iter().enumerate() {
                    let at = (ox + j) * ch + cb;
                    let dst = &mut out_row[at..at + LANES];
                    // SAFETY: `dst` holds 16 values.
                    unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), relu_in_registers(s, activation)) };
                }
                if ox == last {
                    break;
                }
                ox = (ox + P).min(last);
            }
        }
    }
}

/// Output rows `rows` of a K×K, stride-1 depthwise convolution with "same" padding (`(K − 1) / 2` on
/// every side) — used for 5×5 — like [`rows_same_3x3`] except that the K² weight vectors do not fit in
/// registers beside the 8 sums: each kernel row's K are loaded once per pixel group, then each of its
/// K + 7 input vectors once, multiplied into the (up to) K output pixels it is a tap of (for 5×5, 85
/// loads for 200 multiply-adds; [`rows_of`] loads an input vector per multiply-add). Measured with the
/// `depthwise` bench (`hwc`): see `depthwise_hwc.rs` `SAME_MIN_WIDTH`. (The 3×3 kernel written this
/// way, reloading its weights per kernel row, measured 10–15% slower than [`rows_same_3x3`].)
///
/// # Safety
///
/// As [`rows_of`], and: a K×K kernel, stride 1, padding `(K − 1) / 2` on the top and left, output as
/// wide as the input and at least 8 wide, activation none, ReLU or ReLU6.
#[target_feature(enable = "avx512f")]
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
    let zero = _mm512_setzero_ps();
    let first = rows.start;
    for oy in rows {
        let kernel_rows = g.kernel_rows(oy);
        let out_row = &mut out[(oy - first) * ow * ch..(oy - first + 1) * ow * ch];
        for cb in (0..ch).step_by(LANES) {
            // SAFETY: cb + 16 ≤ ch ≤ bias.len().
            let b = unsafe { _mm512_loadu_ps(bias.as_ptr().add(cb)) };
            let last = ow - P;
            let mut ox = 0;
            loop {
                let mut sums = [b; P];
                for ky in kernel_rows.clone() {
                    let r = oy + ky - pad;
                    // SAFETY: r < ih (the kernel-row range); tap (ky, kx) < K², cb + 16 ≤ ch: inside the
                    // taps-major weights; columns ox − pad + t are read only when inside 0..iw, else
                    // ZEROS (16 values).
                    unsafe {
                        let mut w = [zero; K];
                        for (kx, w) in w.iter_mut().enumerate() {
                            *w = _mm512_loadu_ps(wp.add((ky * K + kx) * ch + cb));
                        }
                        let input_row = xp.add(r * iw * ch + cb);
                        for t in 0..P + K - 1 {
                            let column = ox + t;
                            let src = if column >= pad && column < iw + pad {
                                input_row.add((column - pad) * ch)
                            } else {
                                ZEROS.as_ptr()
                            };
                            let v = _mm512_loadu_ps(src);
                            for kx in 0..K {
                                // Input column ox − pad + t is tap kx of output pixel ox + t − kx.
                                if t >= kx && t - kx < P {
                                    sums[t - kx] = _mm512_fmadd_ps(w[kx], v, sums[t - kx]);
                                }
                            }
                        }
                    }
                }
                for (j, &s) in sums.iter().enumerate() {
                    let at = (ox + j) * ch + cb;
                    let dst = &mut out_row[at..at + LANES];
                    // SAFETY: `dst` holds 16 values.
                    unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), relu_in_registers(s, activation)) };
                }
                if ox == last {
                    break;
                }
                ox = (ox + P).min(last);
            }
        }
    }
}

/// ReLU and ReLU6 applied in registers (the AVX-512 kernels' epilogue); any other activation is left to
/// the caller, which applies it after storing.
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) fn relu_in_registers(v: __m512, activation: Option<Activation>) -> __m512 {
    match activation {
        Some(Activation::Relu) => _mm512_max_ps(v, _mm512_setzero_ps()),
        Some(Activation::Relu6) => _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(6.0)),
        _ => v,
    }
}

/// A tap's `V` weight vectors from `at`.
///
/// # Safety
///
/// `at` is valid for `V·16` reads.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn weights<const V: usize>(at: *const f32) -> [__m512; V] {
    let mut w = [_mm512_setzero_ps(); V];
    for (v, w) in w.iter_mut().enumerate() {
        // SAFETY: the caller's contract.
        *w = unsafe { _mm512_loadu_ps(at.add(v * LANES)) };
    }
    w
}

/// `sum += w · src`, `V` vectors.
///
/// # Safety
///
/// `src` is valid for `V·16` reads.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn madd<const V: usize>(sums: &mut [__m512; V], w: &[__m512; V], src: *const f32) {
    for (v, sum) in sums.iter_mut().enumerate() {
        // SAFETY: the caller's contract.
        *sum = _mm512_fmadd_ps(w[v], unsafe { _mm512_loadu_ps(src.add(v * LANES)) }, *sum);
    }
}

/// `out[j·rows + i] = x[i·cols + j]` for the 16×16 tile at row `i0`, column `j0`: 16 row loads, four
/// rounds of register shuffles, 16 row stores.
///
/// # Safety
///
/// The CPU has AVX-512F; rows `i0..i0 + 16` and columns `j0..j0 + 16` are inside `x` (`rows × cols`), and
/// `out` holds `cols × rows` values.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn transpose_tile(x: &[f32], rows: usize, cols: usize, out: &mut [f32], i0: usize, j0: usize) {
    use std::arch::x86_64::{
        __m512d, _mm512_castpd_ps, _mm512_castps_pd, _mm512_shuffle_f32x4, _mm512_unpackhi_pd, _mm512_unpackhi_ps,
        _mm512_unpacklo_pd, _mm512_unpacklo_ps,
    };
    debug_assert!(i0 + 16 <= rows && j0 + 16 <= cols && x.len() >= rows * cols && out.len() >= rows * cols);
    let mut r = [_mm512_setzero_ps(); 16];
    for (i, r) in r.iter_mut().enumerate() {
        // SAFETY: row i0 + i, columns j0..j0 + 16 are inside `x` (the caller's contract).
        *r = unsafe { _mm512_loadu_ps(x.as_ptr().add((i0 + i) * cols + j0)) };
    }
    // Pairs of rows interleaved by 32-bit lanes, then by 64-bit pairs, then 128-bit quarters twice.
    let mut t = [_mm512_setzero_ps(); 16];
    for k in 0..8 {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    let pd = |v: __m512| _mm512_castps_pd(v);
    let ps = |v: __m512d| _mm512_castpd_ps(v);
    for q in 0..4 {
        let b = 4 * q;
        r[b] = ps(_mm512_unpacklo_pd(pd(t[b]), pd(t[b + 2])));
        r[b + 1] = ps(_mm512_unpackhi_pd(pd(t[b]), pd(t[b + 2])));
        r[b + 2] = ps(_mm512_unpacklo_pd(pd(t[b + 1]), pd(t[b + 3])));
        r[b + 3] = ps(_mm512_unpackhi_pd(pd(t[b + 1]), pd(t[b + 3])));
    }
    for h in 0..2 {
        let b = 8 * h;
        for k in 0..4 {
            t[b + k] = _mm512_shuffle_f32x4::<0x88>(r[b + k], r[b + k + 4]);
            t[b + k + 4] = _mm512_shuffle_f32x4::<0xdd>(r[b + k], r[b + k + 4]);
        }
    }
    for k in 0..8 {
        r[k] = _mm512_shuffle_f32x4::<0x88>(t[k], t[k + 8]);
        r[k + 8] = _mm512_shuffle_f32x4::<0xdd>(t[k], t[k + 8]);
    }
    for (j, r) in r.iter().enumerate() {
        // SAFETY: output row j0 + j, columns i0..i0 + 16 are inside `out` (the caller's contract).
        unsafe { _mm512_storeu_ps(out.as_mut_ptr().add((j0 + j) * rows + i0), *r) };
    }
}
