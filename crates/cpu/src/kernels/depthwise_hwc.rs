//! Depthwise convolution on channels-last (HWC) maps, vectorized across channels.
//!
//! In HWC the 16 channels of one pixel are one vector, so a tap of a depthwise kernel is one
//! multiply-add of an input vector by that tap's 16 weights, with nothing to transpose or gather. Each
//! output row is computed in blocks of up to 64 channels, four pixels at a time, so 16 independent sums
//! stay in registers while every tap's weight vectors are loaded once for the four pixels. Taps in the
//! padding are skipped (kernel rows per output row, kernel columns per pixel near the edges); inside,
//! loads are unchecked against bounds the entry point checked. The plan runs inverted-residual trunks
//! in HWC (`layout.rs`; the pointwise GEMMs read and write HWC through their strides), so no map is
//! transposed on the way; [`to_hwc`] and [`to_chw`] serve small maps and captured maps.
//!
//! Where the CPU has AVX-512F the same loop nest runs as intrinsics (`depthwise_hwc_avx512.rs`, which
//! also keeps pixel groups whole at the edges); this portable kernel is compiled for AVX-512 and AVX2+FMA
//! too and chosen at run time, and is the simd128 kernel on the web. Where the CPU has AVX2 but not
//! AVX-512, 3×3 and 5×5 layers of stride 1 or 2 run `depthwise_hwc_avx2.rs` instead.

#![allow(clippy::indexing_slicing)]

use convscope_graph::{Activation, Conv2d, Shape};

use crate::EngineError;

/// Channels a vector holds: one AVX-512 register, two AVX2 ones, four simd128 ones.
pub const LANES: usize = 16;

/// Whether [`depthwise_hwc`] computes `c`: a depthwise convolution (one input channel per group, no
/// channel multiplier), no dilation, channels a multiple of [`LANES`]; any kernel size and stride.
pub fn supports(c: &Conv2d) -> bool {
    c.groups > 1
        && c.groups == c.in_channels
        && c.in_channels == c.out_channels
        && c.in_channels.is_multiple_of(LANES)
        && c.dilation == [1, 1]
        && c.kernel[0] > 0
        && c.kernel[1] > 0
}

/// PyTorch's depthwise weights `[c, 1, kh, kw]` as `[kh·kw, c]`: one row of channel weights per tap.
pub fn taps_major(weight: &[f32], channels: usize, taps: usize) -> Vec<f32> {
    let mut t = vec![0.0; weight.len()];
    for (ch, w) in weight.chunks_exact(taps).enumerate().take(channels) {
        for (tap, &v) in w.iter().enumerate() {
            t[tap * channels + ch] = v;
        }
    }
    t
}

/// Which form of the kernel [`depthwise_hwc`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// The AVX-512 kernel (`depthwise_hwc_avx512.rs`) where the CPU has AVX-512F, else [`Kernel::Avx2`].
    Fastest,
    /// What a CPU without AVX-512 runs: 3×3 and 5×5 layers of stride 1 or 2 at least 14 wide on the AVX2
    /// kernel (`depthwise_hwc_avx2.rs`) where the CPU has AVX2 and FMA, everything else on the portable one;
    /// tested and benchmarked on AVX-512 CPUs too.
    Avx2,
    /// The portable kernel whatever the CPU: the web build's kernel, tested and benchmarked natively.
    Portable,
}

/// Output rows `rows` of a depthwise convolution (see [`supports`]) of HWC `x` into `out` (those rows
/// only, HWC), with `bias` and `activation` applied. `weight` is [`taps_major`].
#[allow(clippy::too_many_arguments)]
pub fn depthwise_hwc(
    kernel: Kernel,
    c: &Conv2d,
    input: Shape,
    output: Shape,
    weight: &[f32],
    bias: &[f32],
    activation: Option<Activation>,
    x: &[f32],
    out: &mut [f32],
    rows: std::ops::Range<usize>,
) -> Result<(), EngineError> {
    let g = checked(c, input, output, weight, bias, x, out, &rows)?;
    #[cfg(target_arch = "x86_64")]
    {
        let k = g.kernel[0];
        let same = (k == 3 || k == 5)
            && g.kernel == [k, k]
            && g.stride == [1, 1]
            && (g.top, g.left) == ((k - 1) / 2, (k - 1) / 2)
            && g.output.w == g.input.w
            && g.output.w >= SAME_MIN_WIDTH
            && matches!(activation, None | Some(Activation::Relu | Activation::Relu6));
        if kernel == Kernel::Fastest && std::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is there, and `checked` checked the lengths the kernels rely on; the "same"
            // kernel's shape conditions were just tested.
            #[allow(unsafe_code)]
            unsafe {
                match (same, k) {
                    (true, 3) => super::depthwise_hwc_avx512::rows_same_3x3(&g, x, weight, bias, activation, out, rows),
                    (true, _) => {
                        super::depthwise_hwc_avx512::rows_same::<5>(&g, x, weight, bias, activation, out, rows)
                    }
                    _ => super::depthwise_hwc_avx512::rows_of(&g, x, weight, bias, activation, out, rows),
                }
            };
            return Ok(());
        }
        let square = (k == 3 || k == 5)
            && g.kernel == [k, k]
            && g.stride[0] == g.stride[1]
            && g.stride[0] <= 2
            && g.output.w >= SAME_MIN_WIDTH
            && matches!(activation, None | Some(Activation::Relu | Activation::Relu6));
        if kernel != Kernel::Portable && square && super::pointwise_hwc::Isa::Avx2.available() {
            // SAFETY: AVX2 and FMA are there, `checked` checked the lengths, channels are a multiple of
            // 16 (`supports`), and the kernel's shape conditions were just tested.
            #[allow(unsafe_code)]
            unsafe {
                use super::depthwise_hwc_avx2::rows as avx2;
                match (k, g.stride[0]) {
                    (3, 1) => avx2::<3, 1>(&g, x, weight, bias, activation, out, rows),
                    (3, _) => avx2::<3, 2>(&g, x, weight, bias, activation, out, rows),
                    (_, 1) => avx2::<5, 1>(&g, x, weight, bias, activation, out, rows),
                    _ => avx2::<5, 2>(&g, x, weight, bias, activation, out, rows),
                }
            };
            return Ok(());
        }
    }
    let _ = kernel;
    portable(&g, x, weight, bias, activation, out, rows);
    Ok(())
}

/// 3×3 and 5×5 "same" depthwise layers at least this wide take the AVX-512 `rows_same_3x3` and
/// `rows_same::<5>` (which need 8). Measured with the `depthwise` bench (`hwc`, against `rows_of`):
/// 144×56² 3×3 119 → 75 µs, 192×28² 37 → 29, 480×14² 26 → 18, 576×14² 32 → 21, 384×14² 21 → 16;
/// 240×28² 5×5 92 → 71, 480×14² 52 → 37, 672×14² 72 → 54; on 7² maps equal or 3% slower (1152×7²,
/// 960×7²), so they keep `rows_of`. Over a run: Lite0 4–5% faster, MobileNetV2 ~4.5% (interleaved).
/// The AVX2 kernel (`depthwise_hwc_avx2.rs` `rows`) takes 3×3 and 5×5 layers of stride 1 or 2 from the
/// same output width.
#[cfg(target_arch = "x86_64")]
const SAME_MIN_WIDTH: usize = 14;

/// The geometry of a call whose buffers hold what the unchecked loads of both kernels rely on.
#[allow(clippy::too_many_arguments)]
fn checked(
    c: &Conv2d,
    input: Shape,
    output: Shape,
    weight: &[f32],
    bias: &[f32],
    x: &[f32],
    out: &[f32],
    rows: &std::ops::Range<usize>,
) -> Result<Geometry, EngineError> {
    let ch = input.c;
    let [kh, kw] = c.kernel;
    if !(supports(c)
        && x.len() >= ch * input.h * input.w
        && weight.len() >= kh * kw * ch
        && bias.len() >= ch
        && output.c == ch
        && rows.end <= output.h
        && out.len() >= rows.len() * output.w * ch)
    {
        return Err(EngineError::Internal(format!("depthwise_hwc: {c:?} on {input} → {output}, rows {rows:?}")));
    }
    Ok(Geometry { input, output, kernel: c.kernel, stride: c.stride, top: c.padding.top, left: c.padding.left })
}

/// The portable kernel, compiled for AVX-512 and AVX2+FMA too and chosen at run time (x86-64 CPUs without
/// AVX-512F use its AVX2 form); simd128 on the web.
#[allow(unsafe_code)] // the feature-detection dispatch that multiversion generates
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma"))]
fn portable(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    activation: Option<Activation>,
    out: &mut [f32],
    rows: std::ops::Range<usize>,
) {
    // A multiply-add is one instruction where FMA exists; elsewhere (wasm, baseline x86-64) `mul_add`
    // would be a library call, so it is a multiply and an add.
    let fused = multiversion::target::target_cfg_f!(target_feature = "fma");
    rows_of(g, x, weight, bias, activation, out, rows, fused);
}

/// Output rows `rows`, in blocks of 64 channels, then 32, then 16, four pixels at a time (each block's
/// sums in registers: 16, 8 or 4 vectors). Measured on Lite0's layers: four pixels of 64 channels beat
/// two by 5–15%; eight pixels of 32 or 16 channels made LLVM vectorize across pixels with gathers,
/// 2–18× slower. These loops rely on the autovectorizer keeping `[f32; 16]` lanes as vectors: the
/// `depthwise` bench is the check after a toolchain update.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rows_of(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    activation: Option<Activation>,
    out: &mut [f32],
    rows: std::ops::Range<usize>,
    fused: bool,
) {
    let (ch, ow) = (g.input.c, g.output.w);
    let first = rows.start;
    for oy in rows {
        let out_row = &mut out[(oy - first) * ow * ch..(oy - first + 1) * ow * ch];
        let kernel_rows = g.kernel_rows(oy);
        for (cb, vectors) in g.channel_blocks() {
            let r = kernel_rows.clone();
            match vectors {
                4 => channel_block::<4, 4>(g, x, weight, bias, activation, out_row, oy, cb, r, fused),
                2 => channel_block::<2, 4>(g, x, weight, bias, activation, out_row, oy, cb, r, fused),
                _ => channel_block::<1, 4>(g, x, weight, bias, activation, out_row, oy, cb, r, fused),
            }
        }
    }
}

pub(super) struct Geometry {
    pub(super) input: Shape,
    pub(super) output: Shape,
    pub(super) kernel: [usize; 2],
    pub(super) stride: [usize; 2],
    pub(super) top: usize,
    pub(super) left: usize,
}

impl Geometry {
    /// The kernel rows of output row `oy` inside the image: 0 ≤ oy·sh + ky − top < ih.
    pub(super) fn kernel_rows(&self, oy: usize) -> std::ops::Range<usize> {
        let (kh, y0) = (self.kernel[0], oy * self.stride[0]);
        let ky0 = self.top.saturating_sub(y0).min(kh);
        let ky1 = (self.input.h + self.top).saturating_sub(y0).clamp(ky0, kh);
        ky0..ky1
    }

    /// The output columns whose every tap is inside the row: ox·sw ≥ left and ox·sw + kw − 1 − left < iw.
    pub(super) fn inside_columns(&self) -> std::ops::Range<usize> {
        let (iw, kw, sw, left, ow) = (self.input.w, self.kernel[1], self.stride[1], self.left, self.output.w);
        let from = left.div_ceil(sw).min(ow);
        let to = if iw + left >= kw { ((iw + left - kw) / sw + 1).clamp(from, ow) } else { from };
        from..to
    }

    /// The channel blocks of a row: `(first channel, vectors)`, 4 vectors (64 channels) at a time, then
    /// 2, then 1 (channels are a multiple of 16, see [`supports`]).
    pub(super) fn channel_blocks(&self) -> impl Iterator<Item = (usize, usize)> {
        let ch = self.input.c;
        let wide = ch / (4 * LANES) * 4 * LANES;
        let rest = ch - wide;
        (0..wide).step_by(4 * LANES).map(|cb| (cb, 4)).chain(
            [(rest >= 2 * LANES).then_some((wide, 2)), (rest % (2 * LANES) >= LANES).then_some((ch - LANES, 1))]
                .into_iter()
                .flatten(),
        )
    }
}

type Vector = [f32; LANES];

/// Channels `cb..cb + V·LANES` of every pixel of output row `oy`: per pixel, `V` sums in registers, and
/// per tap inside the image `V` input vectors times `V` weight vectors (a channel block's weights, 6.4 KB for
/// 5×5 and 64 channels, stay in L1 along the row).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn channel_block<const V: usize, const P: usize>(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    activation: Option<Activation>,
    out_row: &mut [f32],
    oy: usize,
    cb: usize,
    kernel_rows: std::ops::Range<usize>,
    fused: bool,
) {
    let ch = g.input.c;
    let (iw, kw, sw) = (g.input.w, g.kernel[1], g.stride[1]);
    let b: [Vector; V] = std::array::from_fn(|v| load(bias, cb + v * LANES));
    let (ow, left) = (g.output.w, g.left);
    let std::ops::Range { start: inside_from, end: inside_to } = g.inside_columns();
    let mut ox = 0;
    while ox < ow {
        if ox >= inside_from && ox + P <= inside_to {
            let mut sums = [b; P];
            // P pixels at once: each weight vector is loaded once for all of them.
            for ky in kernel_rows.clone() {
                let r = oy * g.stride[0] + ky - g.top;
                let row = (r * iw + ox * sw - left) * ch + cb;
                let taps = ky * kw * ch + cb;
                for kx in 0..kw {
                    let w: [Vector; V] = std::array::from_fn(|v| load(weight, taps + kx * ch + v * LANES));
                    for (j, pixel) in sums.iter_mut().enumerate() {
                        let at = row + (j * sw + kx) * ch;
                        for (v, sum) in pixel.iter_mut().enumerate() {
                            madd(sum, &w[v], &load(x, at + v * LANES), fused);
                        }
                    }
                }
            }
            for (j, pixel) in sums.iter_mut().enumerate() {
                store(pixel, &mut out_row[(ox + j) * ch + cb..], activation);
            }
            ox += P;
            continue;
        }
        let mut sums = b;
        // Kernel columns inside the row: 0 ≤ ox·sw + kx − left < iw.
        let x0 = ox * sw;
        let kx0 = left.saturating_sub(x0).min(kw);
        let kx1 = (iw + left).saturating_sub(x0).clamp(kx0, kw);
        for ky in kernel_rows.clone() {
            let r = oy * g.stride[0] + ky - g.top;
            let row = (r * iw + x0 + kx0 - left) * ch + cb;
            let taps = (ky * kw + kx0) * ch + cb;
            for k in 0..kx1 - kx0 {
                let (at, w_at) = (row + k * ch, taps + k * ch);
                for (v, sum) in sums.iter_mut().enumerate() {
                    madd(sum, &load(weight, w_at + v * LANES), &load(x, at + v * LANES), fused);
                }
            }
        }
        store(&mut sums, &mut out_row[ox * ch + cb..], activation);
        ox += 1;
    }
}

/// Write `V` vectors of sums to the front of `dst`, activated.
#[inline(always)]
fn store<const V: usize>(sums: &mut [Vector; V], dst: &mut [f32], activation: Option<Activation>) {
    for (d, s) in dst[..V * LANES].chunks_exact_mut(LANES).zip(sums.iter_mut()) {
        match activation {
            None => {}
            Some(Activation::Relu) => s.iter_mut().for_each(|v| *v = v.max(0.0)),
            Some(Activation::Relu6) => s.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
            Some(a) => s.iter_mut().for_each(|v| *v = a.apply(*v)),
        }
        d.copy_from_slice(s);
    }
}

/// `src[at..at + LANES]` as a vector, unchecked.
#[inline(always)]
fn load(src: &[f32], at: usize) -> Vector {
    debug_assert!(at + LANES <= src.len());
    // SAFETY: every call reads within the lengths `depthwise_hwc` checked on entry: inputs at
    // ((r·iw + ix)·ch + cb + v·LANES) with r < ih, ix < iw (the kernel row and column ranges keep taps
    // inside the image) and cb + V·LANES ≤ ch; weights at ((ky·kw + kx)·ch + cb + v·LANES) with
    // ky < kh, kx < kw; biases at cb + v·LANES < ch.
    #[allow(unsafe_code)]
    unsafe {
        std::ptr::read_unaligned(src.as_ptr().add(at).cast::<Vector>())
    }
}

/// `sum += w · src`, lane by lane. Inlined into the multiversioned kernel (a closure would not be, and
/// would then be compiled without FMA).
#[inline(always)]
fn madd(sum: &mut Vector, w: &Vector, src: &Vector, fused: bool) {
    for j in 0..LANES {
        sum[j] = if fused { w[j].mul_add(src[j], sum[j]) } else { sum[j] + w[j] * src[j] };
    }
}

/// CHW → HWC.
pub fn to_hwc(x: &[f32], shape: Shape, out: &mut [f32]) {
    transpose(x, shape.c, shape.h * shape.w, out);
}

/// HWC → CHW.
pub fn to_chw(x: &[f32], shape: Shape, out: &mut [f32]) {
    transpose(x, shape.h * shape.w, shape.c, out);
}

/// Side of the square tiles [`transpose`] works in.
const TILE: usize = 16;

/// `out[j·rows + i] = x[i·cols + j]` (a `rows × cols` matrix transposed; also the plan's weight re-layouts),
/// in `TILE`×`TILE` tiles: each tile read as `TILE` row pieces and
/// written as `TILE` row pieces (register shuffles in between), not one scattered store per value.
#[allow(unsafe_code)] // the feature-detection dispatch that multiversion generates
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma"))]
pub(crate) fn transpose(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    let (x, out) = (&x[..rows * cols], &mut out[..rows * cols]);
    let (full_rows, full_cols) = (rows / TILE * TILE, cols / TILE * TILE);
    #[cfg(target_arch = "x86_64")]
    let avx512 = std::is_x86_feature_detected!("avx512f");
    for i0 in (0..full_rows).step_by(TILE) {
        for j0 in (0..full_cols).step_by(TILE) {
            #[cfg(target_arch = "x86_64")]
            if avx512 {
                // SAFETY: AVX-512F is there; the tile is inside both matrices (full tiles only, and both
                // slices were cut to rows × cols above).
                #[allow(unsafe_code)]
                unsafe {
                    super::depthwise_hwc_avx512::transpose_tile(x, rows, cols, out, i0, j0)
                };
                continue;
            }
            let mut tile = [[0.0f32; TILE]; TILE];
            for (i, t) in tile.iter_mut().enumerate() {
                t.copy_from_slice(&x[(i0 + i) * cols + j0..(i0 + i) * cols + j0 + TILE]);
            }
            for j in 0..TILE {
                let dst = &mut out[(j0 + j) * rows + i0..(j0 + j) * rows + i0 + TILE];
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = tile[i][j];
                }
            }
        }
        for j in full_cols..cols {
            for i in i0..i0 + TILE {
                out[j * rows + i] = x[i * cols + j];
            }
        }
    }
    for i in full_rows..rows {
        for j in 0..cols {
            out[j * rows + i] = x[i * cols + j];
        }
    }
}

#[cfg(test)]
mod tests {
    use convscope_graph::Padding;

    use super::*;
    use crate::kernels::direct::tests::reference;

    /// Both transposes, whole tiles (AVX-512 registers where the CPU has them) and the edges.
    #[test]
    fn transposes_match_the_definition() {
        for (c, h, w) in [(16, 4, 4), (37, 5, 10), (1152, 7, 7), (48, 3, 1), (5, 1, 3)] {
            let shape = Shape::map(c, h, w);
            let x: Vec<f32> = (0..c * h * w).map(|i| i as f32).collect();
            let mut hwc = vec![f32::NAN; x.len()];
            to_hwc(&x, shape, &mut hwc);
            for ch in 0..c {
                for p in 0..h * w {
                    assert_eq!(hwc[p * c + ch], x[ch * h * w + p], "{shape}: channel {ch}, pixel {p}");
                }
            }
            let mut back = vec![f32::NAN; x.len()];
            to_chw(&hwc, shape, &mut back);
            assert_eq!(back, x, "{shape}");
        }
    }

    /// 3×3, 5×5 and 7×7, strides 1 to 3, 5×3 and 1×1 kernels; padding wider than the map, maps narrower
    /// than a pixel group, rows whose last group overlaps the one before, groups touching the padding on
    /// both sides, channels in blocks of 64, 32 and 16; ReLU6, ReLU, h-swish or nothing at the end;
    /// against the textbook definition, rows computed in two parts, by both kernels.
    #[test]
    fn depthwise_hwc_matches_the_definition() {
        // (channels, kernel, stride, padding, [h, w])
        let cases = [
            (16, [3, 3], [1, 1], Padding::uniform(1), [7, 9]),
            (32, [3, 3], [2, 2], Padding::uniform(1), [11, 10]),
            (16, [5, 5], [1, 1], Padding::uniform(2), [7, 7]),
            (48, [5, 5], [2, 2], Padding { top: 1, bottom: 2, left: 1, right: 2 }, [14, 14]),
            (16, [5, 5], [2, 2], Padding::uniform(2), [3, 2]),
            (16, [7, 7], [1, 1], Padding::uniform(3), [9, 5]),
            (32, [3, 3], [1, 1], Padding::uniform(1), [1, 1]),
            (144, [3, 3], [1, 1], Padding::uniform(1), [9, 21]),
            (80, [7, 7], [2, 2], Padding::uniform(3), [15, 22]),
            (48, [3, 3], [3, 3], Padding::uniform(1), [13, 20]),
            (32, [5, 3], [2, 1], Padding::symmetric(2, 1), [10, 17]),
            (16, [1, 1], [1, 1], Padding::uniform(0), [4, 11]),
            // 3×3 and 5×5 "same" maps at least 14 wide take `rows_same_3x3` and `rows_same::<5>` on
            // AVX-512 CPUs and `depthwise_hwc_avx2::rows` on AVX2 ones, unless the activation is
            // one they leave to the general kernels (h-swish here).
            (32, [3, 3], [1, 1], Padding::uniform(1), [6, 40]),
            (48, [3, 3], [1, 1], Padding::uniform(1), [5, 14]),
            (32, [5, 5], [1, 1], Padding::uniform(2), [6, 20]),
            (16, [5, 5], [1, 1], Padding::uniform(2), [7, 14]),
            (48, [5, 5], [1, 1], Padding::uniform(2), [9, 29]),
            // Stride 2 with TensorFlow's "same" padding (none before, one after) and PyTorch's, at least
            // 14 output columns: the AVX2 kernel on CPUs without AVX-512.
            (32, [3, 3], [2, 2], Padding { top: 0, bottom: 1, left: 0, right: 1 }, [8, 28]),
            (16, [3, 3], [2, 2], Padding::uniform(1), [9, 31]),
            (48, [5, 5], [2, 2], Padding { top: 1, bottom: 2, left: 1, right: 2 }, [6, 36]),
            (16, [5, 5], [2, 2], Padding::uniform(2), [7, 33]),
        ];
        for (case, (ch, kernel, stride, padding, [h, w])) in cases.into_iter().enumerate() {
            let c = Conv2d { kernel, stride, padding, groups: ch, ..Conv2d::new(ch, ch, 1, 1) };
            assert!(supports(&c));
            let input = Shape::map(ch, h, w);
            let oh = (h + padding.top + padding.bottom - kernel[0]) / stride[0] + 1;
            let ow = (w + padding.left + padding.right - kernel[1]) / stride[1] + 1;
            let output = Shape::map(ch, oh, ow);
            let value = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 997) as f32 / 498.5 - 1.0;
            let x: Vec<f32> = (0..ch * h * w).map(|i| value(i, case)).collect();
            let weight: Vec<f32> = (0..ch * kernel[0] * kernel[1]).map(|i| value(i, case + 50)).collect();
            let bias: Vec<f32> = (0..ch).map(|i| value(i, case + 99)).collect();
            // The activations the kernels apply in registers, one they apply after storing, and none.
            let activation =
                [Some(Activation::Relu6), Some(Activation::Relu), Some(Activation::HardSwish), None][case % 4];
            let want: Vec<f32> = reference(&c, input, output, &weight, &bias, &x)
                .iter()
                .map(|&v| activation.map_or(v, |a| a.apply(v)))
                .collect();
            let mut x_hwc = vec![f32::NAN; x.len()];
            to_hwc(&x, input, &mut x_hwc);
            let taps = taps_major(&weight, ch, kernel[0] * kernel[1]);
            let split = oh / 2;
            // The dispatching entry (AVX-512 on CPUs that have it), what CPUs without it run (the AVX2
            // kernel where it applies), and the portable kernel.
            for kernel in [Kernel::Fastest, Kernel::Avx2, Kernel::Portable] {
                let mut got_hwc = vec![f32::NAN; want.len()];
                let (top_rows, bottom_rows) = got_hwc.split_at_mut(split * ow * ch);
                depthwise_hwc(kernel, &c, input, output, &taps, &bias, activation, &x_hwc, top_rows, 0..split)
                    .expect("top rows");
                depthwise_hwc(kernel, &c, input, output, &taps, &bias, activation, &x_hwc, bottom_rows, split..oh)
                    .expect("bottom rows");
                let mut got = vec![f32::NAN; want.len()];
                to_chw(&got_hwc, output, &mut got);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{kernel:?}, case {case}, output {i}: {g} vs {w}");
                }
            }
        }
    }
}
