//! # EfficientNet B0–B7
//!
//! Tan, Le. "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019,
//! arXiv:1905.11946. Structure and names: `torchvision.models.efficientnet_b0` … `_b7` (0.29).
//!
//! Compound scaling: depth d = α^φ, width w = β^φ, resolution r = γ^φ with α = 1.2, β = 1.1, γ = 1.15; the
//! released models round these to the (width, depth, resolution) table below (paper Table 2 footnote and
//! the official `efficientnet_params`). Channels are rounded with `make_divisible(c · w, 8)` and stage
//! repeats with `ceil(n · d)`, as in torchvision.
//!
//! Deviations: none known against torchvision at the paper's resolutions. (torchvision's B2 weights are
//! evaluated at 288²; the zoo uses the paper's 260².) Table 2's FLOPs for B4, B5 and B7 are 2–5% below the
//! exact conv+linear count of this architecture (B4: 4.2B printed, 4.39 G counted); the paper's counter
//! is not published.

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::{Result, make_divisible, squeeze_excite, tv_conv_bn_act, tv_conv_bn_act_eps};
use crate::registry::{InputSpec, ModelEntry, NETWORK, Published, Variant, imagenet};

/// MBConv stages of B0 — the paper's Table 1: `(expansion, kernel, stride, input, output, repeats)`.
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
];

/// `(id, width, depth, resolution, dropout, published params, MACs, top-1)` — paper Table 2.
type Row = (&'static str, f64, f64, usize, f32, f64, f64, f64);
const VARIANTS: [Row; 8] = [
    ("efficientnet_b0", 1.0, 1.0, 224, 0.2, 5.3e6, 0.39e9, 77.1),
    ("efficientnet_b1", 1.0, 1.1, 240, 0.2, 7.8e6, 0.70e9, 79.1),
    ("efficientnet_b2", 1.1, 1.2, 260, 0.3, 9.2e6, 1.0e9, 80.1),
    ("efficientnet_b3", 1.2, 1.4, 300, 0.3, 12e6, 1.8e9, 81.6),
    ("efficientnet_b4", 1.4, 1.8, 380, 0.4, 19e6, 4.2e9, 82.9),
    ("efficientnet_b5", 1.6, 2.2, 456, 0.4, 30e6, 9.9e9, 83.6),
    ("efficientnet_b6", 1.8, 2.6, 528, 0.5, 43e6, 19e9, 84.0),
    ("efficientnet_b7", 2.0, 3.1, 600, 0.5, 66e6, 37e9, 84.3),
];

const TITLES: [&str; 8] = [
    "EfficientNet-B0",
    "EfficientNet-B1",
    "EfficientNet-B2",
    "EfficientNet-B3",
    "EfficientNet-B4",
    "EfficientNet-B5",
    "EfficientNet-B6",
    "EfficientNet-B7",
];

pub fn models() -> Vec<ModelEntry> {
    VARIANTS
        .iter()
        .zip(TITLES)
        .enumerate()
        .map(|(row, (&(id, width, _, resolution, _, params, macs, top1), title))| ModelEntry {
            id,
            title,
            family: "EfficientNet",
            paper: "Tan & Le 2019, arXiv:1905.11946",
            reference: "torchvision.models.efficientnet_b*",
            default: imagenet(width, resolution),
            width: true,
            expansion: Some(6),
            compound: true,
            input: InputSpec::imagenet(resolution, resolution * 8 / 7),
            published: Some(Published {
                resolution,
                params: Some(params),
                params_without_bn: false,
                macs: Some(macs),
                top1: Some(top1),
                source: "Tan & Le 2019, Table 2",
            }),
            builder: |v, row| build(v, crate::registry::table_row(&VARIANTS, row, "efficientnet")?),
            row,
            ..NETWORK
        })
        .collect()
}

/// The compound-scaling constants of Tan & Le 2019, Eq. 3 (found by grid search at φ = 1 under
/// α · β² · γ² ≈ 2): depth α, width β, resolution γ.
pub const ALPHA: f64 = 1.2;
pub const BETA: f64 = 1.1;
pub const GAMMA: f64 = 1.15;

/// EfficientNet compound scaling from B0: `(width β^φ, depth α^φ, resolution round(224 · γ^φ))`.
/// The released B1–B7 round these by hand (the table above); φ gives the unrounded family, whose MACs
/// grow by about (α · β² · γ²)^φ ≈ 2^φ.
pub fn compound_scaling(phi: f64) -> (f64, f64, usize) {
    (BETA.powf(phi), ALPHA.powf(phi), (224.0 * GAMMA.powf(phi)).round() as usize)
}

/// `variant.width` is the model's total width coefficient (B4: 1.4); depth is `variant.depth` or the row's.
fn build(variant: &Variant, row: &Row) -> Result<Graph> {
    let &(id, _, row_depth, _, dropout, ..) = row;
    let depth = variant.depth.unwrap_or(row_depth);
    if !(depth.is_finite() && depth > 0.0 && depth <= 16.0) {
        return Err(convscope_graph::BuildError::Invalid {
            node: id.to_owned(),
            message: format!("depth coefficient {depth} outside (0, 16]"),
        });
    }
    let width = variant.width;
    let adjust = |c: usize| make_divisible(c as f64 * width, 8);
    let mut b = GraphBuilder::new(format!("{id} (width {width}, depth {depth})"));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let stem = adjust(32);
    let mut x = b.block("stem", "features.0", |b| {
        tv_conv_bn_act(b, "features.0", x, Conv2d::new(3, stem, 3, 2), Some(Activation::Silu))
    })?;
    let mut channels = stem;
    for (s, &(expand, kernel, stride, _, out, repeats)) in STAGES.iter().enumerate() {
        let out = adjust(out);
        let repeats = (repeats as f64 * depth).ceil() as usize;
        let stage = format!("features.{}", s + 1);
        x = b.block("stage", &stage, |b| {
            let mut x = x;
            for i in 0..repeats {
                let stride = if i == 0 { stride } else { 1 };
                let expand = if expand == 1 { 1 } else { variant.expansion.unwrap_or(expand) };
                x = mbconv(b, &format!("{stage}.{i}"), x, channels, out, expand, kernel, stride, 1e-5)?;
                channels = out;
            }
            Ok(x)
        })?;
    }
    let head = 4 * channels;
    let index = STAGES.len() + 1;
    let x = b.block("head", format!("features.{index}"), |b| {
        tv_conv_bn_act(b, &format!("features.{index}"), x, Conv2d::new(channels, head, 1, 1), Some(Activation::Silu))
    })?;
    b.block("classifier", "classifier", |b| {
        let x = crate::common::pool_flatten(b, x, "avgpool")?;
        let x = b.dropout("classifier.0", x, dropout)?;
        b.linear("classifier.1", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// torchvision's `MBConv`: 1×1 expansion (if any), k×k depthwise, SE (squeeze = input / 4, SiLU inside,
/// sigmoid gate), 1×1 projection, residual (stochastic depth is the identity at inference).
#[allow(clippy::too_many_arguments)]
pub(crate) fn mbconv(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    input: usize,
    out: usize,
    expand: usize,
    kernel: usize,
    stride: usize,
    bn_eps: f32,
) -> Result<NodeId> {
    let expanded = make_divisible((input * expand) as f64, 8);
    b.block("MBConv", p, |b| {
        let mut y = x;
        let mut layer = 0;
        if expanded != input {
            y = tv_conv_bn_act_eps(
                b,
                &format!("{p}.block.0"),
                y,
                Conv2d::new(input, expanded, 1, 1),
                Some(Activation::Silu),
                bn_eps,
            )?;
            layer += 1;
        }
        let dw = Conv2d::new(expanded, expanded, kernel, stride).depthwise();
        y = tv_conv_bn_act_eps(b, &format!("{p}.block.{layer}"), y, dw, Some(Activation::Silu), bn_eps)?;
        let se = format!("{p}.block.{}", layer + 1);
        let names = [format!("{se}.fc1"), format!("{se}.fc2")];
        let squeeze = (input / 4).max(1);
        y = squeeze_excite(b, &se, [&names[0], &names[1]], y, squeeze, Activation::Silu, Activation::Sigmoid)?;
        y = tv_conv_bn_act_eps(
            b,
            &format!("{p}.block.{}", layer + 2),
            y,
            Conv2d::new(expanded, out, 1, 1),
            None,
            bn_eps,
        )?;
        if stride == 1 && input == out { b.add(&format!("{p}.add"), x, y) } else { Ok(y) }
    })
}

#[cfg(test)]
mod tests {
    use convscope_graph::GraphCost;

    use super::*;

    #[test]
    fn phi_zero_is_b0() {
        assert_eq!(compound_scaling(0.0), (1.0, 1.0, 224));
        let b0 = build(&imagenet(1.0, 224), &VARIANTS[0]).expect("b0");
        let scaled = build(&Variant { depth: Some(1.0), ..imagenet(1.0, 224) }, &VARIANTS[0]).expect("φ = 0");
        assert_eq!(GraphCost::of(&b0).total, GraphCost::of(&scaled).total);
    }

    #[test]
    fn compound_scaling_follows_equation_3() {
        // Tan & Le 2019, Eq. 3: depth α^φ, width β^φ, resolution γ^φ with α · β² · γ² ≈ 2 (FLOPs ≈ 2^φ).
        assert!((ALPHA * BETA * BETA * GAMMA * GAMMA / 2.0 - 1.0).abs() < 0.05);
        let (width, depth, resolution) = compound_scaling(2.0);
        assert!((width - 1.21).abs() < 1e-12 && (depth - 1.44).abs() < 1e-12);
        assert_eq!(resolution, 296); // 224 · 1.15² = 296.24
        // The scaled networks themselves are checked layer by layer against torchvision in
        // tests/reference/efficientnet_b0@<width>@d<depth>.json.
    }

    #[test]
    fn a_bad_depth_is_refused() {
        let variant = Variant { depth: Some(0.0), ..imagenet(1.0, 224) };
        assert!(build(&variant, &VARIANTS[0]).is_err());
    }
}
