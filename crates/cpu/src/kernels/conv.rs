//! Convolutions in CHW layout: pointwise (one GEMM), dense k×k (im2col + GEMM), depthwise and grouped
//! (the direct kernel of `direct.rs`), and the two non-multiplying arithmetics, AdderNet (−Σ|x − w|)
//! and Mitchell's logarithmic product.
//!
//! Shapes and weight lengths are validated when the plan is made (`Plan::new`); the loops index
//! within those validated bounds.

#![allow(clippy::indexing_slicing)]

use convscope_graph::{Activation, Arithmetic, Conv2d, Shape};

use super::depthwise_hwc::{Kernel, depthwise_hwc, to_chw, to_hwc};
use super::direct::direct;
use super::elementwise::bias_activate_channels_last;
use super::gemm::{Strides, sgemm_strided};
use crate::EngineError;

/// Multiply-accumulates from which a convolution is split over threads (native builds).
const PARALLEL_MACS: usize = 1 << 21;

/// How many parts a GEMM's output splits into over `threads`, cut along a dimension of `split` (the
/// other has `other`). The GEMM crate sums over k in blocks of 512 when both of its dimensions are at
/// most 64 and in cache-sized blocks otherwise (gemm-common 0.19, `gemm_basic_generic`: 960 inputs are
/// summed as 512 + 448 in one case, 480 + 480 in the other), so a split crossing that line would round
/// differently from one thread. Parts keep more than 64 along the split when the whole does and the
/// other dimension is at most 64 (MobileNetV2's 960→160 over 5×5 at 160²: three parts of 54 channels
/// differed from one thread in the last bits).
fn gemm_parts(threads: usize, split: usize, other: usize) -> usize {
    let parts = threads.clamp(1, split.max(1));
    if other <= 64 && split > 64 { parts.min(split / 65).max(1) } else { parts }
}

/// Run `f(part index, chunk)` on consecutive `chunk`-sized pieces of `out` (the last may be shorter),
/// on rayon's pool when there is more than one part (native builds; the web is single-threaded).
pub(crate) fn for_each_part<T: Send, F>(out: &mut [T], chunk: usize, parts: usize, f: F) -> Result<(), EngineError>
where
    F: Fn(usize, &mut [T]) -> Result<(), EngineError> + Sync,
{
    let chunk = chunk.max(1);
    #[cfg(not(target_arch = "wasm32"))]
    if parts > 1 {
        use rayon::prelude::*;
        return out.par_chunks_mut(chunk).enumerate().try_for_each(|(i, c)| f(i, c));
    }
    let _ = parts;
    out.chunks_mut(chunk).enumerate().try_for_each(|(i, c)| f(i, c))
}

/// Run `f(channels, their output planes, scratch)` over the `channels` output channels of a CHW
/// output (`plane` values each), in one piece or, natively, split over threads in multiples of `unit`
/// channels when the work (`macs`) is worth it; one thread keeps the engine's scratch.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
fn by_channels<F>(
    out: &mut [f32],
    plane: usize,
    channels: usize,
    unit: usize,
    threads: usize,
    macs: usize,
    scratch: &mut Vec<f32>,
    f: F,
) -> Result<(), EngineError>
where
    F: Fn(std::ops::Range<usize>, &mut [f32], &mut Vec<f32>) + Sync,
{
    let units = channels / unit.max(1);
    let parts = if macs >= PARALLEL_MACS { threads.clamp(1, units.max(1)) } else { 1 };
    if parts <= 1 {
        f(0..channels, out, scratch);
        return Ok(());
    }
    let per_part = units.div_ceil(parts) * unit;
    for_each_part(out, per_part * plane, parts, |part, chunk| {
        let first = part * per_part;
        f(first..first + chunk.len() / plane.max(1), chunk, &mut Vec::new());
        Ok(())
    })
}

/// How a convolution is computed, chosen once at plan time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// 1×1, stride 1, no padding, one group: the input planes are already the GEMM's right operand.
    Pointwise,
    /// Dense k×k: im2col then one GEMM.
    Im2col,
    /// Depthwise or grouped: direct shifted-row accumulation, no GEMM per group.
    Direct,
    /// Depthwise on a channels-last input (`depthwise_hwc.rs`), weights `[kh·kw, c]`. Chosen by the
    /// plan when the convolution before it can write HWC (`layout.rs`).
    DepthwiseHwc,
    /// AdderNet: im2col, then −Σ|x − w| per output.
    Adder,
    /// Mitchell: im2col, then Σ mitchell(w, x).
    Mitchell,
}

/// A convolution ready to run: weights in PyTorch layout `[out, in / groups, kh, kw]` (unless the plan
/// re-laid them for an HWC form: taps-major for `DepthwiseHwc`, column-major with `weight_column_major`),
/// a bias (the conv's own or a folded BN's) and an activation fused into the epilogue.
#[derive(Clone, Debug)]
pub struct ConvStep {
    pub conv: Conv2d,
    pub input: Shape,
    pub output: Shape,
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub activation: Option<Activation>,
    pub method: Method,
    /// The input map is channels-last (HWC): only pointwise and `DepthwiseHwc` convolutions read HWC.
    pub input_hwc: bool,
    /// The output is written channels-last: pointwise, im2col and `DepthwiseHwc` convolutions can.
    pub output_hwc: bool,
    /// `weight` is stored column-major, `[in·kh·kw, out]` (GEMMs writing HWC, see `layout.rs`).
    pub weight_column_major: bool,
    /// `weight` is stored in 48-channel panels (`pointwise_hwc::to_panels`; pointwise
    /// convolutions writing HWC over 7² maps, see `layout.rs`).
    pub weight_panels: bool,
}

impl ConvStep {
    pub fn method_for(conv: &Conv2d) -> Method {
        match conv.arithmetic {
            Arithmetic::Adder => Method::Adder,
            Arithmetic::Mitchell => Method::Mitchell,
            Arithmetic::Multiply if conv.groups > 1 => Method::Direct,
            Arithmetic::Multiply
                if conv.kernel == [1, 1]
                    && conv.stride == [1, 1]
                    && conv.padding == convscope_graph::Padding::default() =>
            {
                Method::Pointwise
            }
            Arithmetic::Multiply => Method::Im2col,
        }
    }

    /// Whether [`ConvStep::run_filling`] computes this convolution: a pointwise or im2col convolution
    /// writing HWC with column-major weights, of a shape and activation the pointwise kernel takes
    /// (`pointwise_hwc.rs`), on a CPU with AVX-512 or AVX2. That kernel stores every value of its
    /// output, so the engine hands it an unzeroed buffer (zeroing the 1–5 MB maps of Lite0's first
    /// blocks cost 1.5–1.8% of a run on a Zen 4).
    pub fn fills(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let c = &self.conv;
            let k = c.in_channels * c.kernel[0] * c.kernel[1]; // groups are 1 (checked below)
            matches!(self.method, Method::Pointwise | Method::Im2col)
                && c.groups == 1
                && self.output_hwc
                && (self.weight_panels
                    || self.weight_column_major && super::pointwise_hwc::handles(k, c.out_channels, self.activation))
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// Run a convolution that [`ConvStep::fills`] into `out`, which need not be initialized: every value
    /// of it is written (short inner dimension or few channels, summed and finished in registers).
    /// Threads (native) take disjoint ranges of pixels: contiguous runs of HWC `out`.
    #[cfg(target_arch = "x86_64")]
    pub fn run_filling(
        &self,
        x: &[f32],
        out: &mut [std::mem::MaybeUninit<f32>],
        scratch: &mut Vec<f32>,
        threads: usize,
    ) -> Result<(), EngineError> {
        assert!(self.fills(), "run_filling: a convolution the pointwise kernel does not compute");
        let c = &self.conv;
        let (hw_out, m) = (self.output.h * self.output.w, c.out_channels);
        let k = c.in_channels * c.kernel[0] * c.kernel[1];
        if out.len() != hw_out * m {
            return Err(EngineError::Internal("run_filling: output size".into()));
        }
        let work = m.saturating_mul(k).saturating_mul(hw_out);
        let parts = if work >= PARALLEL_MACS { gemm_parts(threads, hw_out, m) } else { 1 };
        if self.method == Method::Im2col && parts > 1 && !self.weight_panels {
            return self.run_filling_by_rows(x, out, parts);
        }
        let (b, b_strides) = self.gemm_operand(x, scratch);
        let columns = hw_out.div_ceil(parts).max(1);
        // The panel kernel groups pixels by 7: parts of whole groups.
        let columns = if self.weight_panels { columns.next_multiple_of(7) } else { columns };
        let (bias, act) = (self.bias.as_deref(), self.activation);
        for_each_part(out, columns * m, parts, |part, chunk| {
            let (n0, n) = (part * columns, chunk.len() / m.max(1));
            let b = &b[n0 * b_strides.column..];
            let p = super::pointwise_hwc::Pointwise { m, k, n, x: b, x_strides: b_strides, bias, activation: act };
            if self.weight_panels {
                super::pointwise_hwc::pointwise_panels_uninit(&p, &self.weight, chunk);
            } else {
                super::pointwise_hwc::pointwise_uninit(&p, &self.weight, chunk);
            }
            Ok(())
        })
    }

    /// [`ConvStep::run_filling`] of an im2col convolution in `parts` bands of output rows, each thread
    /// unfolding its own band's columns (Lite0's stem, whose 1.35 MB matrix one thread unfolded while the
    /// other waited, ran 1.8× slower on two threads than on one: 502 against 275 µs).
    #[cfg(target_arch = "x86_64")]
    fn run_filling_by_rows(
        &self,
        x: &[f32],
        out: &mut [std::mem::MaybeUninit<f32>],
        parts: usize,
    ) -> Result<(), EngineError> {
        thread_local! {
            /// Each thread's unfolded band, kept between runs.
            static COLUMNS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let c = &self.conv;
        let (m, ow) = (c.out_channels, self.output.w);
        let k = c.in_channels * c.kernel[0] * c.kernel[1];
        let rows = self.output.h.div_ceil(parts).max(1);
        let (bias, act) = (self.bias.as_deref(), self.activation);
        for_each_part(out, rows * ow * m, parts, |part, chunk| {
            let n = chunk.len() / m.max(1);
            let band = part * rows..part * rows + n / ow.max(1);
            COLUMNS.with_borrow_mut(|col| {
                im2col_rows(x, self.input, c, 0..c.in_channels, band, col);
                let x_strides = Strides::row_major(n);
                let p = super::pointwise_hwc::Pointwise { m, k, n, x: col, x_strides, bias, activation: act };
                super::pointwise_hwc::pointwise_uninit(&p, &self.weight, chunk);
            });
            Ok(())
        })
    }

    /// The GEMM's right operand: the input itself for a pointwise convolution (CHW or HWC by its
    /// strides), its im2col columns in `scratch` otherwise.
    fn gemm_operand<'a>(&self, x: &'a [f32], scratch: &'a mut Vec<f32>) -> (&'a [f32], Strides) {
        let c = &self.conv;
        let hw_out = self.output.h * self.output.w;
        if self.method == Method::Pointwise {
            let k = c.in_channels;
            (x, if self.input_hwc { Strides::column_major(k) } else { Strides::row_major(hw_out) })
        } else {
            im2col(x, self.input, c, 0..c.in_channels, scratch);
            (scratch.as_slice(), Strides::row_major(hw_out))
        }
    }

    /// Run on one input (CHW, or HWC if `input_hwc`) into `out` (length `output.numel()`; HWC if
    /// `output_hwc`); `scratch` is reused between calls.
    pub fn run(&self, x: &[f32], out: &mut [f32], scratch: &mut Vec<f32>, threads: usize) -> Result<(), EngineError> {
        let c = &self.conv;
        let (hw_out, k) = (self.output.h * self.output.w, c.in_channels / c.groups * c.kernel[0] * c.kernel[1]);
        match self.method {
            #[cfg(target_arch = "x86_64")]
            Method::Im2col if !self.input_hwc && !self.output_hwc && super::stem::handles(c, self.output) => {
                // A stem (few input channels): computed directly where the CPU has AVX-512F or AVX2
                // (`stem.rs`), in blocks of 8 output channels.
                let work = c.out_channels.saturating_mul(k).saturating_mul(hw_out);
                let unit = super::stem::BLOCK;
                by_channels(out, hw_out, c.out_channels, unit, threads, work, scratch, |channels, chunk, scratch| {
                    let (input, output, bias, act) = (self.input, self.output, self.bias.as_deref(), self.activation);
                    super::stem::stem(c, input, output, &self.weight, bias, act, x, chunk, channels, scratch);
                })?;
                return Ok(());
            }
            #[cfg(target_arch = "x86_64")]
            Method::Direct if super::depthwise_chw::handles(c, self.output) => {
                // A stride-1 depthwise convolution of CHW maps, where the CPU has AVX-512F or AVX2
                // (`depthwise_chw.rs`; the `depthwise` bench's `chw-simd`: 32×112² 3×3 137 → 70 µs,
                // 144×56² 155 → 94 with AVX-512). Split over threads from a quarter of the GEMMs' work,
                // as the direct kernel is.
                let work = c.out_channels.saturating_mul(k).saturating_mul(hw_out).saturating_mul(4);
                let oh = self.output.h;
                by_channels(out, hw_out, c.out_channels, 1, threads, work, scratch, |channels, chunk, scratch| {
                    let (input, output, bias, act) = (self.input, self.output, self.bias.as_deref(), self.activation);
                    let planes = channels.zip(chunk.chunks_exact_mut(hw_out.max(1)));
                    super::depthwise_chw::depthwise(
                        c,
                        input,
                        output,
                        &self.weight,
                        bias,
                        act,
                        x,
                        planes,
                        0..oh,
                        scratch,
                    );
                })?;
                return Ok(());
            }
            Method::Pointwise | Method::Im2col => {
                #[cfg(target_arch = "x86_64")]
                if self.fills() {
                    // SAFETY: `run_filling` writes only computed values into `out`.
                    #[allow(unsafe_code)]
                    return self.run_filling(x, unsafe { super::pointwise_hwc::as_uninit(out) }, scratch, threads);
                }
                let (b, b_strides) = self.gemm_operand(x, scratch);
                let m = c.out_channels;
                let work = m.saturating_mul(k).saturating_mul(hw_out);
                if self.output_hwc {
                    // Weights column-major (see `layout.rs`), so the GEMM crate need not gather them.
                    let a_strides =
                        if self.weight_column_major { Strides::column_major(m) } else { Strides::row_major(k) };
                    // Threads (native) take disjoint ranges of pixels: contiguous runs of HWC `out`.
                    let parts = if work >= PARALLEL_MACS { gemm_parts(threads, hw_out, m) } else { 1 };
                    let columns = hw_out.div_ceil(parts).max(1);
                    let bias = self.bias.as_deref();
                    for_each_part(out, columns * m, parts, |part, chunk| {
                        let (n0, n) = (part * columns, chunk.len() / m.max(1));
                        let b = &b[n0 * b_strides.column..];
                        sgemm_strided(
                            m,
                            k,
                            n,
                            &self.weight,
                            a_strides,
                            b,
                            b_strides,
                            chunk,
                            Strides::column_major(m),
                            false,
                        )?;
                        match bias {
                            Some(bias) => bias_activate_channels_last(chunk, bias, self.activation),
                            None => crate::kernels::elementwise::bias_activate(chunk, 0.0, self.activation),
                        }
                        Ok(())
                    })?;
                    return Ok(());
                }
                // Threads (native) take disjoint ranges of output channels: contiguous planes of `out`.
                let parts = if work >= PARALLEL_MACS { gemm_parts(threads, m, hw_out) } else { 1 };
                let rows = m.div_ceil(parts).max(1);
                for_each_part(out, rows * hw_out, parts, |part, chunk| {
                    self.gemm_rows(part * rows, k, b, b_strides, chunk)
                })?;
                return Ok(());
            }
            Method::DepthwiseHwc => {
                let (input, output) = (self.input, self.output);
                let bias = self.bias.as_deref().unwrap_or_default();
                let row = output.w * output.c;
                let work = c.out_channels.saturating_mul(hw_out).saturating_mul(k);
                // Threads (native) take disjoint ranges of output rows.
                let parts = if work >= PARALLEL_MACS / 4 { threads.clamp(1, output.h.max(1)) } else { 1 };
                let rows = output.h.div_ceil(parts).max(1);
                // A CHW input (a small map, see `layout.rs`) is transposed first; a CHW output last.
                let in_len = if self.input_hwc { 0 } else { x.len() };
                let out_len = if self.output_hwc { 0 } else { out.len() };
                // Both parts are overwritten whole (the transpose, then the kernel), so the scratch is only
                // grown, never cleared (zeroing it was a wasted pass over both maps).
                if scratch.len() < in_len + out_len {
                    scratch.resize(in_len + out_len, 0.0);
                }
                let (x_hwc, out_hwc) = scratch[..in_len + out_len].split_at_mut(in_len);
                let x = if self.input_hwc {
                    x
                } else {
                    to_hwc(x, input, x_hwc);
                    &*x_hwc
                };
                let run = |dst: &mut [f32]| {
                    for_each_part(dst, rows * row, parts, |part, chunk| {
                        let r0 = part * rows;
                        let r1 = r0 + chunk.len() / row.max(1);
                        depthwise_hwc(
                            Kernel::Fastest,
                            c,
                            input,
                            output,
                            &self.weight,
                            bias,
                            self.activation,
                            x,
                            chunk,
                            r0..r1,
                        )
                    })
                };
                if self.output_hwc {
                    run(out)?;
                } else {
                    run(out_hwc)?;
                    to_chw(out_hwc, output, out);
                }
                return Ok(());
            }
            Method::Direct => {
                // Bias and activation are applied as the kernel writes its output. Threads (native) take
                // disjoint ranges of groups.
                let work = c.out_channels.saturating_mul(hw_out).saturating_mul(k);
                let parts = if work >= PARALLEL_MACS / 4 { threads.clamp(1, c.groups) } else { 1 };
                let (input, output) = (self.input, self.output);
                if parts <= 1 {
                    let bias = self.bias.as_deref();
                    direct(c, input, output, &self.weight, bias, self.activation, x, out, scratch);
                    return Ok(());
                }
                let per_part = c.groups.div_ceil(parts);
                let (pgi, pgo) = (c.in_channels / c.groups, c.out_channels / c.groups);
                let (plane_in, plane_out) = (input.h * input.w, output.h * output.w);
                let weights_per_group = pgo * pgi * c.kernel[0] * c.kernel[1];
                for_each_part(out, per_part * pgo * plane_out, parts, |part, chunk| {
                    let g0 = part * per_part;
                    let groups = chunk.len() / (pgo * plane_out).max(1);
                    let sub = Conv2d { in_channels: groups * pgi, out_channels: groups * pgo, groups, ..*c };
                    let x = &x[g0 * pgi * plane_in..(g0 + groups) * pgi * plane_in];
                    let w = &self.weight[g0 * weights_per_group..(g0 + groups) * weights_per_group];
                    let bias = self.bias.as_deref().map(|b| &b[g0 * pgo..(g0 + groups) * pgo]);
                    let (input, output) = (Shape { c: groups * pgi, ..input }, Shape { c: groups * pgo, ..output });
                    direct(&sub, input, output, w, bias, self.activation, x, chunk, &mut Vec::new());
                    Ok(())
                })?;
                return Ok(());
            }
            Method::Adder | Method::Mitchell => {
                let per_group_out = c.out_channels / c.groups;
                let per_group_in = c.in_channels / c.groups;
                for g in 0..c.groups {
                    im2col(x, self.input, c, g * per_group_in..(g + 1) * per_group_in, scratch);
                    for oc in g * per_group_out..(g + 1) * per_group_out {
                        let w = &self.weight[oc * k..(oc + 1) * k];
                        let row = &mut out[oc * hw_out..(oc + 1) * hw_out];
                        if self.method == Method::Adder {
                            row.fill(0.0);
                            for (wk, col) in w.iter().zip(scratch.chunks_exact(hw_out)) {
                                for (o, &v) in row.iter_mut().zip(col) {
                                    *o -= (v - wk).abs();
                                }
                            }
                        } else {
                            row.fill(0.0);
                            for (&wk, col) in w.iter().zip(scratch.chunks_exact(hw_out)) {
                                for (o, &v) in row.iter_mut().zip(col) {
                                    *o += mitchell(wk, v);
                                }
                            }
                        }
                    }
                }
            }
        }
        self.epilogue(out);
        Ok(())
    }

    /// Output channels `m0..` (as many as `out` holds planes) of a pointwise or im2col convolution whose
    /// GEMM right operand is `b` (`k × hw`, CHW or HWC as `b_strides` says): one product, then bias and
    /// activation per plane. (Column blocks finished while in cache were measured 2% slower natively
    /// and 40% slower on the web.)
    fn gemm_rows(
        &self,
        m0: usize,
        k: usize,
        b: &[f32],
        b_strides: Strides,
        out: &mut [f32],
    ) -> Result<(), EngineError> {
        let hw = self.output.h * self.output.w;
        let m = out.len() / hw.max(1);
        let c_strides = Strides::row_major(hw);
        sgemm_strided(
            m,
            k,
            hw,
            &self.weight[m0 * k..(m0 + m) * k],
            Strides::row_major(k),
            b,
            b_strides,
            out,
            c_strides,
            false,
        )?;
        for (oc, plane) in out.chunks_exact_mut(hw).enumerate() {
            let bias = self.bias.as_ref().map_or(0.0, |b| b[m0 + oc]);
            crate::kernels::elementwise::bias_activate(plane, bias, self.activation);
        }
        Ok(())
    }

    fn epilogue(&self, out: &mut [f32]) {
        let hw = self.output.h * self.output.w;
        if let Some(bias) = &self.bias {
            for (plane, &b) in out.chunks_exact_mut(hw).zip(bias) {
                plane.iter_mut().for_each(|v| *v += b);
            }
        }
        if let Some(act) = self.activation {
            crate::kernels::elementwise::activate(out, act);
        }
    }
}

/// Unfold input channels `channels` of `x` into `col`: row `(ic, ky, kx)`, column `(oy, ox)`, zeros where
/// the window leaves the (padded) image.
pub fn im2col(x: &[f32], input: Shape, c: &Conv2d, channels: std::ops::Range<usize>, col: &mut Vec<f32>) {
    let oh = (input.h + c.padding.top + c.padding.bottom - (c.kernel[0] - 1) * c.dilation[0] - 1) / c.stride[0] + 1;
    im2col_rows(x, input, c, channels, 0..oh, col);
}

/// [`im2col`] of output rows `rows` only: columns `(oy, ox)` for `oy` in `rows` (a thread's part).
pub fn im2col_rows(
    x: &[f32],
    input: Shape,
    c: &Conv2d,
    channels: std::ops::Range<usize>,
    rows: std::ops::Range<usize>,
    col: &mut Vec<f32>,
) {
    let (ih, iw) = (input.h, input.w);
    let [kh, kw] = c.kernel;
    let [sh, sw] = c.stride;
    let [dh, dw] = c.dilation;
    let ow = (iw + c.padding.left + c.padding.right - (kw - 1) * dw - 1) / sw + 1;
    // Written front to back, each value once: zeros where a window leaves the image (no up-front
    // zeroing of the whole buffer).
    col.clear();
    col.reserve(channels.len() * kh * kw * rows.len() * ow);
    let zeros = |col: &mut Vec<f32>, n: usize| col.resize(col.len() + n, 0.0);
    // With stride 2, each input row is first split into its even and odd columns (once per channel),
    // so every row piece below is a contiguous copy (a stem's 3×3 stride-2 im2col: ≈ 2× faster).
    let half = iw.div_ceil(2);
    let mut split = Vec::new();
    for ic in channels {
        let plane = &x[ic * ih * iw..(ic + 1) * ih * iw];
        if sw == 2 {
            split.clear();
            split.resize(ih * iw, 0.0);
            for (row, out) in plane.chunks_exact(iw).zip(split.chunks_exact_mut(iw)) {
                let (even, odd) = out.split_at_mut(half);
                for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(row.chunks_exact(2)) {
                    *e = pair[0];
                    *o = pair[1];
                }
                if iw % 2 == 1 {
                    even[half - 1] = row[iw - 1];
                }
            }
        }
        for ky in 0..kh {
            for kx in 0..kw {
                // Output columns whose tap lands inside the row: ox·sw + kx·dw − left ∈ [0, iw).
                let (shift, left) = (kx * dw, c.padding.left);
                let first = left.saturating_sub(shift).div_ceil(sw).min(ow);
                let end = (iw + left).saturating_sub(shift).div_ceil(sw).clamp(first, ow);
                for oy in rows.clone() {
                    let iy = (oy * sh + ky * dh) as isize - c.padding.top as isize;
                    if iy < 0 || iy >= ih as isize || first >= end {
                        zeros(col, ow);
                        continue;
                    }
                    let iy = iy as usize;
                    zeros(col, first);
                    let start = first * sw + shift - left;
                    let n = end - first;
                    if sw == 1 {
                        col.extend_from_slice(&plane[iy * iw + start..][..n]);
                    } else if sw == 2 {
                        // Columns start, start + 2, …: one phase of the split row.
                        let phase = if start % 2 == 0 { start / 2 } else { half + start / 2 };
                        col.extend_from_slice(&split[iy * iw + phase..][..n]);
                    } else {
                        // Every sw-th value: the first of each chunk (the last chunk may be short).
                        let in_row = &plane[iy * iw..(iy + 1) * iw];
                        col.extend(in_row[start..].chunks(sw).take(n).map(|chunk| chunk[0]));
                    }
                    zeros(col, ow - end);
                }
            }
        }
    }
}

/// Mitchell's logarithmic multiplication (Mitchell 1962): with a = 2^k₁(1 + m₁) and b = 2^k₂(1 + m₂),
/// a·b ≈ 2^(k₁+k₂)(1 + m₁ + m₂) if m₁ + m₂ < 1, else 2^(k₁+k₂+1)(m₁ + m₂). For IEEE floats this is exactly
/// adding the bit patterns of |a| and |b| and subtracting the bits of 1.0: the mantissa sum carries into
/// the exponent precisely in the second case. Zeros, subnormals and non-finite operands give 0.
pub fn mitchell(a: f32, b: f32) -> f32 {
    if !(a.is_normal() && b.is_normal()) {
        return 0.0;
    }
    let bits = a.abs().to_bits() as i64 + b.abs().to_bits() as i64 - 0x3f80_0000;
    if bits <= 0 {
        return 0.0;
    }
    let magnitude = if bits >= 0x7f80_0000 { f32::INFINITY } else { f32::from_bits(bits as u32) };
    if (a < 0.0) != (b < 0.0) { -magnitude } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mitchell's approximation from its definition: logs by leading-one position plus linear fraction.
    fn mitchell_reference(a: f64, b: f64) -> f64 {
        if a == 0.0 || b == 0.0 {
            return 0.0;
        }
        let split = |x: f64| {
            let k = x.abs().log2().floor();
            (k, x.abs() / 2f64.powf(k) - 1.0)
        };
        let ((k1, m1), (k2, m2)) = (split(a), split(b));
        let magnitude =
            if m1 + m2 < 1.0 { 2f64.powf(k1 + k2) * (1.0 + m1 + m2) } else { 2f64.powf(k1 + k2 + 1.0) * (m1 + m2) };
        magnitude * a.signum() * b.signum()
    }

    /// im2col then a plain matrix product equals the convolution's definition: strides 1–3, dilation,
    /// asymmetric padding, windows that only partly overlap the image.
    #[test]
    fn im2col_matches_the_definition() {
        use convscope_graph::Padding;
        let cases = [
            ([3, 3], [2, 2], [1, 1], Padding::uniform(1), [11, 10]),
            ([3, 3], [1, 1], [2, 2], Padding::uniform(2), [7, 9]),
            ([5, 5], [3, 2], [1, 1], Padding { top: 1, bottom: 3, left: 2, right: 0 }, [13, 12]),
            ([1, 7], [1, 1], [1, 1], Padding::symmetric(0, 3), [6, 8]),
            ([7, 7], [2, 2], [1, 1], Padding::uniform(3), [5, 5]),
        ];
        for (case, (kernel, stride, dilation, padding, [h, w])) in cases.into_iter().enumerate() {
            let (ci, co) = (3, 4);
            let c = Conv2d { kernel, stride, dilation, padding, ..Conv2d::new(ci, co, 1, 1) };
            let input = Shape::map(ci, h, w);
            let oh = (h + padding.top + padding.bottom - (kernel[0] - 1) * dilation[0] - 1) / stride[0] + 1;
            let ow = (w + padding.left + padding.right - (kernel[1] - 1) * dilation[1] - 1) / stride[1] + 1;
            let output = Shape::map(co, oh, ow);
            let x: Vec<f32> = (0..ci * h * w).map(|i| ((i * 37 + case) % 101) as f32 / 50.0 - 1.0).collect();
            let k = ci * kernel[0] * kernel[1];
            let weight: Vec<f32> = (0..co * k).map(|i| ((i * 53 + case) % 89) as f32 / 44.0 - 1.0).collect();
            let want = crate::kernels::direct::tests::reference(&c, input, output, &weight, &[0.0; 4], &x);
            let mut col = vec![f32::NAN; 5];
            im2col(&x, input, &c, 0..ci, &mut col);
            for oc in 0..co {
                for p in 0..oh * ow {
                    let got: f32 = (0..k).map(|r| weight[oc * k + r] * col[r * oh * ow + p]).sum();
                    let w = want[oc * oh * ow + p];
                    assert!((got - w).abs() <= 1e-4 * (1.0 + w.abs()), "case {case}, channel {oc}, pixel {p}");
                }
            }
        }
    }

    #[test]
    fn mitchell_bits_equal_the_definition() {
        for &(a, b) in &[(3.0f32, 5.0f32), (1.5, 1.5), (0.75, -12.25), (-0.1, -7.3), (1.0, 1.0), (1e-3, 2e3)] {
            let got = f64::from(mitchell(a, b));
            let want = mitchell_reference(f64::from(a), f64::from(b));
            assert!((got - want).abs() <= want.abs() * 1e-6, "{a}·{b}: {got} vs {want}");
        }
        // 3·5 = 15, Mitchell: 2^(1+2)(1 + 0.5 + 0.25) = 14; its worst case error is about 11.1%.
        assert_eq!(mitchell(3.0, 5.0), 14.0);
        assert_eq!(mitchell(0.0, 5.0), 0.0);
    }
}
