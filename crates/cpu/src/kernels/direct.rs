//! Depthwise and grouped convolutions, computed directly (no GEMM, not one GEMM per group).
//!
//! Each input plane is copied once into zero-padded *phase planes*: with stride `s`, phase `(a, b)` holds
//! the padded pixels at rows `≡ a` and columns `≡ b (mod s)`. Then every tap `(ky, kx)` of every output
//! pixel reads the same phase plane at a fixed offset from the output's own flat index, so the whole
//! output plane (laid out with the phase planes' row pitch; the few extra columns are computed and
//! dropped) is one long run of `BLOCK`-wide multiply-adds with the taps unrolled over a block of
//! outputs held in registers: one store per block, not one per tap. This stays fast for 7×7 maps,
//! where a row-by-row kernel runs out of width to vectorize, and it needs no channel interleaving.
//! The valid columns are copied out, then bias and activation applied to the plane while it is in cache.
//!
//! Compiled for AVX-512 and AVX2+FMA too and chosen at run time; the same code is simd128 on the web.

#![allow(clippy::indexing_slicing)]

use convscope_graph::{Activation, Conv2d, Shape};

/// Outputs computed per block: one AVX-512 register, two AVX2 ones, four simd128 ones.
const BLOCK: usize = 16;
/// Outputs per block of [`accumulate_wide`]: eight AVX-512 registers.
const WIDE: usize = 8 * BLOCK;

/// Where everything lives in the scratch buffer, for one call.
pub(super) struct Layout {
    /// Row pitch of the phase planes and of the flat output (`⌈padded width / stride⌉`).
    pub(super) pitch: usize,
    /// Length of the flat output, a multiple of `BLOCK`.
    pub(super) flat: usize,
    /// Length of one phase plane (with slack, so every block's reads stay inside it).
    pub(super) plane: usize,
    pub(super) phases: usize,
    /// For each tap, where its reads start: phase plane start + offset.
    pub(super) taps: Vec<usize>,
}

impl Layout {
    pub(super) fn new(c: &Conv2d, input: Shape, output: Shape) -> Self {
        let [kh, kw] = c.kernel;
        let [sh, sw] = c.stride;
        let [dh, dw] = c.dilation;
        let (ph, pw) = (input.h + c.padding.top + c.padding.bottom, input.w + c.padding.left + c.padding.right);
        let pitch = pw.div_ceil(sw);
        let rows = ph.div_ceil(sh);
        let flat = (output.h * pitch).div_ceil(BLOCK) * BLOCK;
        let offset = |ky: usize, kx: usize| (ky * dh / sh) * pitch + kx * dw / sw;
        let reach = offset(kh - 1, kw - 1);
        let plane = (rows * pitch).max(flat + reach);
        let taps = (0..kh)
            .flat_map(|ky| (0..kw).map(move |kx| (ky, kx)))
            .map(|(ky, kx)| ((ky * dh % sh) * sw + kx * dw % sw) * plane + offset(ky, kx))
            .collect();
        Self { pitch, flat, plane, phases: sh * sw, taps }
    }
}

/// A depthwise or grouped convolution of CHW `x` into `out`, with `bias` and `activation` applied.
#[allow(unsafe_code)] // the feature-detection dispatch that multiversion generates
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma"))]
pub fn direct(
    c: &Conv2d,
    input: Shape,
    output: Shape,
    weight: &[f32],
    bias: Option<&[f32]>,
    activation: Option<Activation>,
    x: &[f32],
    out: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    // A multiply-add is one instruction where FMA exists; elsewhere (wasm, baseline x86-64) `mul_add`
    // would be a library call, so it is a multiply and an add.
    let fused = multiversion::target::target_cfg_f!(target_feature = "fma");
    let layout = Layout::new(c, input, output);
    let Layout { pitch, flat, plane, phases, ref taps } = layout;
    let (ih, iw) = (input.h, input.w);
    let (oh, ow) = (output.h, output.w);
    let (per_group_in, per_group_out) = (c.in_channels / c.groups, c.out_channels / c.groups);
    let kernel_taps = taps.len();

    scratch.clear();
    scratch.resize(phases * plane + per_group_out * flat, 0.0);
    let (planes, accs) = scratch.split_at_mut(phases * plane);
    for g in 0..c.groups {
        for icg in 0..per_group_in {
            // Scatter the input plane into the phase planes; the padding cells are never written, so
            // they stay zero from one channel to the next.
            let ic = g * per_group_in + icg;
            scatter(&x[ic * ih * iw..(ic + 1) * ih * iw], &layout, c, iw, planes);
            for ocg in 0..per_group_out {
                let oc = g * per_group_out + ocg;
                let w = &weight[(oc * per_group_in + icg) * kernel_taps..(oc * per_group_in + icg + 1) * kernel_taps];
                let acc = &mut accs[ocg * flat..(ocg + 1) * flat];
                // Four registers' worth of outputs at a time (independent multiply-add chains hide the
                // FMA latency), then one block for the rest; a small plane is one block.
                let add = icg > 0;
                if flat <= 8 * BLOCK {
                    accumulate_up_to_128(acc, planes, taps, w, 0, flat, add, fused);
                } else {
                    // On large planes, 3×3 and 5×5 kernels with their tap count known at compile time:
                    // the tap loop unrolls, its weights and read positions stay in registers (32×112²
                    // 3×3: 158 → 127 µs; on 14² planes the longer remainder made it 5–10% slower).
                    let wide = match kernel_taps {
                        9 if flat >= 4 * WIDE => accumulate_wide::<9>(acc, planes, taps, w, flat, add, fused),
                        25 if flat >= 4 * WIDE => accumulate_wide::<25>(acc, planes, taps, w, flat, add, fused),
                        _ => {
                            let wide = flat / (4 * BLOCK) * (4 * BLOCK);
                            for i in (0..wide).step_by(4 * BLOCK) {
                                accumulate::<{ 4 * BLOCK }>(acc, planes, taps, w, i, add, fused);
                            }
                            wide
                        }
                    };
                    accumulate_up_to_128(acc, planes, taps, w, wide, flat - wide, add, fused);
                }
            }
        }
        // Copy the valid columns out, with bias and activation.
        for ocg in 0..per_group_out {
            let oc = g * per_group_out + ocg;
            let acc = &accs[ocg * flat..(ocg + 1) * flat];
            let b = bias.map_or(0.0, |b| b[oc]);
            let out_plane = &mut out[oc * oh * ow..(oc + 1) * oh * ow];
            for (y, out_row) in out_plane.chunks_exact_mut(ow).enumerate() {
                out_row.copy_from_slice(&acc[y * pitch..y * pitch + ow]);
            }
            super::elementwise::bias_activate(out_plane, b, activation);
        }
    }
}

/// Copy one input plane `x` (`iw` wide) into its zero-padded phase planes `planes` (laid out by
/// `layout`); the cells in the padding are not written.
#[inline(always)]
pub(super) fn scatter(x: &[f32], layout: &Layout, c: &Conv2d, iw: usize, planes: &mut [f32]) {
    scatter_rows(x, layout, c, iw, planes, 0..x.len() / iw.max(1));
}

/// [`scatter`] of input rows `rows` only (each to where the whole plane's scatter puts it).
#[inline(always)]
pub(super) fn scatter_rows(
    x: &[f32],
    layout: &Layout,
    c: &Conv2d,
    iw: usize,
    planes: &mut [f32],
    rows: std::ops::Range<usize>,
) {
    let Layout { pitch, plane, .. } = *layout;
    let [sh, sw] = c.stride;
    let (top, left) = (c.padding.top, c.padding.left);
    for (y, row) in x.chunks_exact(iw).enumerate().skip(rows.start).take(rows.len()) {
        let r = y + top;
        let row_start = (r % sh) * sw * plane + (r / sh) * pitch;
        if sw == 1 {
            planes[row_start + left..row_start + left + iw].copy_from_slice(row);
        } else if sw == 2 {
            // Even and odd input columns go to the two column phases (a vectorizable deinterleave).
            let (first, second) = (row_start + (left % 2) * plane + left / 2, (left + 1) % 2);
            let second = row_start + second * plane + left.div_ceil(2);
            let pairs = iw / 2;
            let (lo, hi) = planes.split_at_mut(first.max(second));
            let (a, b) = if first < second {
                (&mut lo[first..first + pairs + iw % 2], &mut hi[..pairs])
            } else {
                (&mut hi[..pairs + iw % 2], &mut lo[second..second + pairs])
            };
            for ((pair, da), db) in row.chunks_exact(2).zip(a.iter_mut()).zip(b.iter_mut()) {
                *da = pair[0];
                *db = pair[1];
            }
            if iw % 2 == 1 {
                a[pairs] = row[iw - 1];
            }
        } else {
            for b in 0..sw {
                // Input columns whose padded column is ≡ b (mod sw).
                let first = (b + sw - left % sw) % sw;
                let start = row_start + b * plane + (first + left) / sw;
                for (d, &v) in planes[start..].iter_mut().zip(row.iter().skip(first).step_by(sw)) {
                    *d = v;
                }
            }
        }
    }
}

/// [`accumulate`] over the first `flat / WIDE · WIDE` outputs (returned) in blocks of `WIDE` — eight
/// registers of independent sums, enough to hide the multiply-add latency with 9 taps — for a kernel of
/// `T` taps.
#[inline(always)]
fn accumulate_wide<const T: usize>(
    acc: &mut [f32],
    planes: &[f32],
    taps: &[usize],
    w: &[f32],
    flat: usize,
    add: bool,
    fused: bool,
) -> usize {
    let wide = flat / WIDE * WIDE;
    let w: [f32; T] = std::array::from_fn(|t| w[t]);
    let sources: [&[f32]; T] = std::array::from_fn(|t| &planes[taps[t]..taps[t] + wide]);
    for (block, out) in acc[..wide].chunks_exact_mut(WIDE).enumerate() {
        let mut sum = [0.0f32; WIDE];
        if add {
            sum.copy_from_slice(out);
        }
        let at = block * WIDE;
        for t in 0..T {
            madd(&mut sum, w[t], &sources[t][at..at + WIDE], fused);
        }
        out.copy_from_slice(&sum);
    }
    wide
}

/// [`accumulate`] over `len` outputs from `i` (`len` a multiple of `BLOCK`, at most 128) as one block.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn accumulate_up_to_128(
    acc: &mut [f32],
    planes: &[f32],
    taps: &[usize],
    w: &[f32],
    i: usize,
    len: usize,
    add: bool,
    fused: bool,
) {
    match len / BLOCK {
        0 => {}
        1 => accumulate::<BLOCK>(acc, planes, taps, w, i, add, fused),
        2 => accumulate::<{ 2 * BLOCK }>(acc, planes, taps, w, i, add, fused),
        3 => accumulate::<{ 3 * BLOCK }>(acc, planes, taps, w, i, add, fused),
        4 => accumulate::<{ 4 * BLOCK }>(acc, planes, taps, w, i, add, fused),
        5 => accumulate::<{ 5 * BLOCK }>(acc, planes, taps, w, i, add, fused),
        6 => accumulate::<{ 6 * BLOCK }>(acc, planes, taps, w, i, add, fused),
        7 => accumulate::<{ 7 * BLOCK }>(acc, planes, taps, w, i, add, fused),
        _ => accumulate::<{ 8 * BLOCK }>(acc, planes, taps, w, i, add, fused),
    }
}

/// `acc[i..i + N] (+)= Σ_t w[t] · planes[taps[t] + i..][..N]`, the sums held in registers. Blocks of
/// fewer than four registers keep two partial sums (even and odd taps), so a 5×5 kernel is two chains of
/// 13 dependent multiply-adds rather than one of 25.
#[inline(always)]
fn accumulate<const N: usize>(
    acc: &mut [f32],
    planes: &[f32],
    taps: &[usize],
    w: &[f32],
    i: usize,
    add: bool,
    fused: bool,
) {
    let mut sum = [0.0f32; N];
    if add {
        sum.copy_from_slice(&acc[i..i + N]);
    }
    if N < 4 * BLOCK {
        let mut odd = [0.0f32; N];
        // `w` has one weight per tap.
        let even = taps.len() / 2 * 2;
        for k in (0..even).step_by(2) {
            madd(&mut sum, w[k], &planes[taps[k] + i..], fused);
            madd(&mut odd, w[k + 1], &planes[taps[k + 1] + i..], fused);
        }
        if even < taps.len() {
            madd(&mut sum, w[even], &planes[taps[even] + i..], fused);
        }
        for j in 0..N {
            sum[j] += odd[j];
        }
    } else {
        for (&start, &wt) in taps.iter().zip(w) {
            madd(&mut sum, wt, &planes[start + i..], fused);
        }
    }
    acc[i..i + N].copy_from_slice(&sum);
}

/// `sum += wt · src[..N]`. Inlined into the multiversioned kernel (a closure would not be, and would
/// then be compiled without FMA: `mul_add` would become a library call).
#[inline(always)]
fn madd<const N: usize>(sum: &mut [f32; N], wt: f32, src: &[f32], fused: bool) {
    let src = &src[..N];
    for j in 0..N {
        sum[j] = if fused { wt.mul_add(src[j], sum[j]) } else { sum[j] + wt * src[j] };
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use convscope_graph::{Padding, Shape};

    use super::*;

    /// The textbook definition: every output pixel sums its window, skipping taps in the padding.
    pub(crate) fn reference(
        c: &Conv2d,
        input: Shape,
        output: Shape,
        weight: &[f32],
        bias: &[f32],
        x: &[f32],
    ) -> Vec<f32> {
        let (pgi, pgo) = (c.in_channels / c.groups, c.out_channels / c.groups);
        let [kh, kw] = c.kernel;
        let mut out = vec![0.0f32; output.c * output.h * output.w];
        for oc in 0..output.c {
            for oy in 0..output.h {
                for ox in 0..output.w {
                    let mut sum = f64::from(bias[oc]);
                    for icg in 0..pgi {
                        let ic = oc / pgo * pgi + icg;
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * c.stride[0] + ky * c.dilation[0]) as isize - c.padding.top as isize;
                                let ix = (ox * c.stride[1] + kx * c.dilation[1]) as isize - c.padding.left as isize;
                                if iy < 0 || ix < 0 || iy >= input.h as isize || ix >= input.w as isize {
                                    continue;
                                }
                                let v = x[(ic * input.h + iy as usize) * input.w + ix as usize];
                                let wt = weight[((oc * pgi + icg) * kh + ky) * kw + kx];
                                sum += f64::from(v) * f64::from(wt);
                            }
                        }
                    }
                    out[(oc * output.h + oy) * output.w + ox] = sum as f32;
                }
            }
        }
        out
    }

    /// Strides 1–3 (different per axis too), dilation, asymmetric padding, odd sizes, depthwise with
    /// and without a channel multiplier, and grouped convolutions with several input channels a group.
    /// (in, out, groups, kernel, stride, dilation, padding, [h, w])
    type Case = (usize, usize, usize, [usize; 2], [usize; 2], [usize; 2], Padding, [usize; 2]);

    #[test]
    fn direct_matches_the_definition() {
        let cases: &[Case] = &[
            (8, 8, 8, [3, 3], [1, 1], [1, 1], Padding::uniform(1), [7, 7]),
            (5, 5, 5, [3, 3], [2, 2], [1, 1], Padding::uniform(1), [9, 11]),
            (4, 4, 4, [5, 5], [2, 2], [1, 1], Padding { top: 1, bottom: 2, left: 1, right: 2 }, [14, 14]),
            (4, 4, 4, [5, 5], [2, 2], [1, 1], Padding { top: 2, bottom: 2, left: 2, right: 2 }, [13, 10]),
            (3, 6, 3, [3, 3], [1, 1], [2, 2], Padding::uniform(2), [10, 9]),
            (6, 6, 6, [3, 1], [1, 1], [1, 1], Padding::symmetric(1, 0), [8, 5]),
            (4, 4, 4, [3, 3], [3, 3], [1, 1], Padding::uniform(1), [17, 16]),
            (4, 4, 4, [3, 3], [2, 1], [1, 1], Padding::uniform(1), [12, 7]),
            (12, 6, 3, [3, 3], [2, 2], [1, 1], Padding::uniform(1), [10, 10]),
            (12, 24, 4, [1, 1], [1, 1], [1, 1], Padding::uniform(0), [9, 9]),
            (2, 2, 2, [3, 3], [1, 1], [1, 1], Padding::uniform(1), [40, 33]),
            // Planes of 512 outputs and more take `accumulate_wide` (3×3 and 5×5, one and two inputs a group).
            (3, 3, 3, [5, 5], [1, 1], [1, 1], Padding::uniform(2), [30, 26]),
            (4, 4, 2, [3, 3], [1, 1], [1, 1], Padding::uniform(1), [24, 24]),
        ];
        for (case, &(ci, co, groups, kernel, stride, dilation, padding, [h, w])) in cases.iter().enumerate() {
            let c = Conv2d { kernel, stride, dilation, padding, groups, ..Conv2d::new(ci, co, 1, 1) };
            let input = Shape::map(ci, h, w);
            let oh = (h + padding.top + padding.bottom - (kernel[0] - 1) * dilation[0] - 1) / stride[0] + 1;
            let ow = (w + padding.left + padding.right - (kernel[1] - 1) * dilation[1] - 1) / stride[1] + 1;
            let output = Shape::map(co, oh, ow);
            let value = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 997) as f32 / 498.5 - 1.0;
            let x: Vec<f32> = (0..ci * h * w).map(|i| value(i, case)).collect();
            let weight: Vec<f32> = (0..co * ci / groups * kernel[0] * kernel[1]).map(|i| value(i, case + 50)).collect();
            let bias: Vec<f32> = (0..co).map(|i| value(i, case + 99)).collect();
            let want = reference(&c, input, output, &weight, &bias, &x);
            let mut got = vec![f32::NAN; want.len()];
            let mut scratch = vec![f32::NAN; 3];
            direct(&c, input, output, &weight, Some(&bias), None, &x, &mut got, &mut scratch);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "case {case}, output {i}: {g} vs {w}");
            }
        }
    }
}
