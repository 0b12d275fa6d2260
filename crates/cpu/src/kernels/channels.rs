//! Channel bookkeeping and the ops that mix channels without a GEMM: concat, slice, shuffle, gather,
//! ChannelNet's channel-wise convolution, MicroNet's dynamic Shift-Max, local response normalization.

#![allow(clippy::indexing_slicing)]

/// ShuffleNet's shuffle: view `[groups, c / groups]`, transpose, flatten. Output channel
/// `j · groups + g` is input channel `g · (c / groups) + j`.
pub fn shuffle(x: &[f32], channels: usize, groups: usize, out: &mut [f32]) {
    let plane = x.len() / channels.max(1);
    let per = channels / groups.max(1);
    for g in 0..groups {
        for j in 0..per {
            let src = (g * per + j) * plane;
            let dst = (j * groups + g) * plane;
            out[dst..dst + plane].copy_from_slice(&x[src..src + plane]);
        }
    }
}

/// `out` channel i = input channel `index[i]` (validated to be in range at plan time).
pub fn gather(x: &[f32], plane: usize, index: &[usize], out: &mut [f32]) {
    for (o, &i) in out.chunks_exact_mut(plane.max(1)).zip(index) {
        o.copy_from_slice(&x[i * plane..(i + 1) * plane]);
    }
}

/// Channel-wise convolution: filter f of length k slides over channels with `stride`, zero padding
/// `pad` at both ends; output channel `f · depth + d` = Σ_j w[f][j] · x[d · stride + j − pad].
#[allow(clippy::too_many_arguments)]
pub fn channel_conv(
    x: &[f32],
    channels: usize,
    plane: usize,
    w: &[f32],
    filters: usize,
    k: usize,
    stride: usize,
    pad: usize,
    out: &mut [f32],
) {
    let depth = (channels + 2 * pad - k) / stride + 1;
    for f in 0..filters {
        for d in 0..depth {
            let o = &mut out[(f * depth + d) * plane..(f * depth + d + 1) * plane];
            o.fill(0.0);
            for j in 0..k {
                let ic = (d * stride + j) as isize - pad as isize;
                if ic < 0 || ic >= channels as isize {
                    continue;
                }
                let wv = w[f * k + j];
                for (o, &v) in o.iter_mut().zip(&x[ic as usize * plane..(ic as usize + 1) * plane]) {
                    *o += wv * v;
                }
            }
        }
    }
}

/// MicroNet's dynamic Shift-Max (official `DYShiftMax`): `x̃` is `x` with groups rotated by one and
/// channels rotated by one within each group; coefficients `v` (after h-sigmoid) become
/// `(v − 0.5) · scale`, split into `a₁ b₁ [a₂ b₂]` of `c` values each, plus `init_a` / `init_b`.
#[allow(clippy::too_many_arguments)]
pub fn shift_max(
    x: &[f32],
    channels: usize,
    groups: usize,
    coefficients: &[f32],
    branches: usize,
    scale: f32,
    init_a: [f32; 2],
    init_b: [f32; 2],
    out: &mut [f32],
) {
    let plane = x.len() / channels.max(1);
    let per = channels / groups.max(1);
    let coef = |part: usize, c: usize| (coefficients[part * channels + c] - 0.5) * scale;
    for c in 0..channels {
        let (g, i) = (c / per, c % per);
        let src = ((g + 1) % groups) * per + (i + 1) % per;
        let (a1, b1) = (coef(0, c) + init_a[0], coef(1, c) + init_b[0]);
        let xs = &x[c * plane..(c + 1) * plane];
        let xt = &x[src * plane..(src + 1) * plane];
        let o = &mut out[c * plane..(c + 1) * plane];
        if branches == 2 {
            let (a2, b2) = (coef(2, c) + init_a[1], coef(3, c) + init_b[1]);
            for ((o, &v), &t) in o.iter_mut().zip(xs).zip(xt) {
                *o = (v * a1 + t * b1).max(v * a2 + t * b2);
            }
        } else {
            for ((o, &v), &t) in o.iter_mut().zip(xs).zip(xt) {
                *o = v * a1 + t * b1;
            }
        }
    }
}

/// PyTorch's `LocalResponseNorm`: `x / (k + alpha · mean of x² over channels [c − size/2, c + (size−1)/2])^beta`
/// (the mean divides by `size`, zeros outside the channel range).
#[allow(clippy::too_many_arguments)]
pub fn lrn(x: &[f32], channels: usize, size: usize, alpha: f32, beta: f32, k: f32, out: &mut [f32]) {
    let plane = x.len() / channels.max(1);
    for c in 0..channels {
        let lo = c.saturating_sub(size / 2);
        let hi = (c + (size - 1) / 2).min(channels - 1);
        for p in 0..plane {
            let mut sum = 0.0f32;
            for cc in lo..=hi {
                let v = x[cc * plane + p];
                sum += v * v;
            }
            out[c * plane + p] = x[c * plane + p] / (k + alpha * sum / size as f32).powf(beta);
        }
    }
}

pub fn softmax(x: &[f32], out: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - max).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
}

/// `y = W x + b` with `W` row-major `[out, in]`, its outputs split over `threads` when `W` is large.
pub fn linear(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    threads: usize,
) -> Result<(), crate::EngineError> {
    // A matrix–vector product posed as the row vector `xᵀ Wᵀ`: that is the shape the GEMM crate sends
    // to its vector kernel (one dot product per contiguous row of `W`). Posed as `W x` it copied all of
    // `W` into register-block panels first (Lite0's 5 MB classifier: 1.6% of a run's profile in the
    // copy). It is memory-bound: reading `W` is the cost, so threads take disjoint ranges of outputs
    // (rows of `W`) once `W` is a megabyte or more; each output is the same dot product either way.
    let (m, k) = (out.len(), x.len());
    use super::gemm::{Strides, sgemm_strided};
    let parts = if w.len() >= 1 << 18 { threads.clamp(1, m.max(1)) } else { 1 };
    let rows = m.div_ceil(parts).max(1);
    super::conv::for_each_part(out, rows, parts, |part, out| {
        let (j0, n) = (part * rows, out.len());
        let w = w.get(j0 * k..(j0 + n) * k).unwrap_or_default();
        sgemm_strided(
            1,
            k,
            n,
            x,
            Strides::row_major(k),
            w,
            Strides::column_major(k),
            out,
            Strides::row_major(n),
            false,
        )?;
        if let Some(bias) = bias {
            out.iter_mut().zip(bias.get(j0..).unwrap_or_default()).for_each(|(o, b)| *o += b);
        }
        Ok(())
    })
}
