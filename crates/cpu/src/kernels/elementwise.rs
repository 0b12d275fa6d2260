//! Element-wise work: activations, residual sums, gating products, batch norm.

#![allow(clippy::indexing_slicing)]

use convscope_graph::Activation;

/// Apply `act` in place. ReLU and ReLU6 get their own loops so they vectorize.
pub fn activate(x: &mut [f32], act: Activation) {
    match act {
        Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Relu6 => x.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
        other => x.iter_mut().for_each(|v| *v = other.apply(*v)),
    }
}

/// `x = act(x + bias)` in place: the epilogue of a convolution's output plane (or part of one).
/// Compiled for AVX-512 and AVX2 too (the default x86-64 target would run it four lanes wide).
#[allow(unsafe_code)] // the feature-detection dispatch that multiversion generates
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma"))]
pub fn bias_activate(x: &mut [f32], bias: f32, act: Option<Activation>) {
    match act {
        None if bias == 0.0 => {}
        None => x.iter_mut().for_each(|v| *v += bias),
        Some(Activation::Relu) => x.iter_mut().for_each(|v| *v = (*v + bias).max(0.0)),
        Some(Activation::Relu6) => x.iter_mut().for_each(|v| *v = (*v + bias).clamp(0.0, 6.0)),
        Some(other) => x.iter_mut().for_each(|v| *v = other.apply(*v + bias)),
    }
}

/// `a + b` or `a · b`, where `b` has `a`'s length or one value per channel (`[c, 1, 1]`).
pub fn binary(a: &[f32], b: &[f32], out: &mut [f32], channels: usize, multiply: bool) {
    let op = |x: f32, y: f32| if multiply { x * y } else { x + y };
    if b.len() == a.len() {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = op(x, y);
        }
    } else {
        let plane = a.len() / channels.max(1);
        for ((o_plane, a_plane), &y) in out.chunks_exact_mut(plane.max(1)).zip(a.chunks_exact(plane.max(1))).zip(b) {
            for (o, &x) in o_plane.iter_mut().zip(a_plane) {
                *o = op(x, y);
            }
        }
    }
}

/// Inference batch norm as a per-channel affine map: `scale = γ / √(var + eps)`, `shift = β − mean · scale`.
pub fn affine(x: &[f32], out: &mut [f32], scale: &[f32], shift: &[f32]) {
    let plane = x.len() / scale.len().max(1);
    for (((o, xi), &s), &t) in
        out.chunks_exact_mut(plane.max(1)).zip(x.chunks_exact(plane.max(1))).zip(scale).zip(shift)
    {
        for (o, &v) in o.iter_mut().zip(xi) {
            *o = v * s + t;
        }
    }
}

/// `x = act(x + bias)` in place on a channels-last map: `x` is pixels of `bias.len()` channels each.
#[allow(unsafe_code)] // the feature-detection dispatch that multiversion generates
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma"))]
pub fn bias_activate_channels_last(x: &mut [f32], bias: &[f32], act: Option<Activation>) {
    for pixel in x.chunks_exact_mut(bias.len().max(1)) {
        match act {
            None => pixel.iter_mut().zip(bias).for_each(|(v, b)| *v += b),
            Some(Activation::Relu) => pixel.iter_mut().zip(bias).for_each(|(v, b)| *v = (*v + b).max(0.0)),
            Some(Activation::Relu6) => pixel.iter_mut().zip(bias).for_each(|(v, b)| *v = (*v + b).clamp(0.0, 6.0)),
            Some(other) => pixel.iter_mut().zip(bias).for_each(|(v, b)| *v = other.apply(*v + b)),
        }
    }
}
