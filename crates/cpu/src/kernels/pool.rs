//! Max and average pooling with per-side padding and ceil mode, as PyTorch computes them.

#![allow(clippy::indexing_slicing)]

use convscope_graph::{Pool, PoolKind, Shape};

pub fn pool(x: &[f32], input: Shape, output: Shape, p: &Pool, out: &mut [f32]) {
    let (ih, iw, oh, ow) = (input.h, input.w, output.h, output.w);
    let [kh, kw] = p.kernel;
    let [sh, sw] = p.stride;
    let (top, left) = (p.padding.top as isize, p.padding.left as isize);
    for c in 0..input.c {
        let plane = &x[c * ih * iw..(c + 1) * ih * iw];
        let out_plane = &mut out[c * oh * ow..(c + 1) * oh * ow];
        for oy in 0..oh {
            // PyTorch: the window starts at oy·s − pad and, for the average divisor, is clipped to the
            // padded extent (not to the ceil-mode overhang beyond it).
            let y0 = (oy * sh) as isize - top;
            let y1 = (y0 + kh as isize).min(ih as isize + p.padding.bottom as isize);
            for ox in 0..ow {
                let x0 = (ox * sw) as isize - left;
                let x1 = (x0 + kw as isize).min(iw as isize + p.padding.right as isize);
                let padded_count = ((y1 - y0) * (x1 - x0)).max(1) as f32;
                let (ya, yb) = (y0.max(0) as usize, y1.min(ih as isize).max(0) as usize);
                let (xa, xb) = (x0.max(0) as usize, x1.min(iw as isize).max(0) as usize);
                let value = match p.kind {
                    PoolKind::Max => {
                        let mut m = f32::NEG_INFINITY;
                        for yy in ya..yb {
                            for &v in &plane[yy * iw + xa..yy * iw + xb] {
                                m = m.max(v);
                            }
                        }
                        m
                    }
                    PoolKind::Avg { count_include_pad } => {
                        let mut s = 0.0f32;
                        for yy in ya..yb {
                            s += plane[yy * iw + xa..yy * iw + xb].iter().sum::<f32>();
                        }
                        let valid = ((yb - ya) * (xb - xa)).max(1) as f32;
                        s / if count_include_pad { padded_count } else { valid }
                    }
                };
                out_plane[oy * ow + ox] = value;
            }
        }
    }
}

pub fn global_avg(x: &[f32], channels: usize, out: &mut [f32]) {
    let plane = x.len() / channels.max(1);
    for (o, p) in out.iter_mut().zip(x.chunks_exact(plane.max(1))) {
        *o = p.iter().sum::<f32>() / plane as f32;
    }
}

/// [`global_avg`] of a channels-last map: `x` is pixels of `channels` values each.
pub fn global_avg_channels_last(x: &[f32], channels: usize, out: &mut [f32]) {
    let pixels = x.len() / channels.max(1);
    out.fill(0.0);
    for pixel in x.chunks_exact(channels.max(1)) {
        for (o, &v) in out.iter_mut().zip(pixel) {
            *o += v;
        }
    }
    out.iter_mut().for_each(|o| *o /= pixels.max(1) as f32);
}
