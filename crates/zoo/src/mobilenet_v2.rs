//! # MobileNetV2
//!
//! Sandler, Howard, Zhu, Zhmoginov, Chen. "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
//! CVPR 2018, arXiv:1801.04381. Structure and names: `torchvision.models.mobilenet_v2` (0.29).
//!
//! Deviations: none known. The paper's 3.4M parameters leave out BN's affine weights
//! (torchvision: 3,504,872 with them).

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::{Result, make_divisible, tv_conv_bn_act};
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// `(expansion t, output channels c, repeats n, first stride s)` — the paper's Table 2.
const STAGES: [(usize, usize, usize, usize); 7] =
    [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "mobilenet_v2",
        title: "MobileNetV2",
        family: "MobileNet V2",
        paper: "Sandler et al. 2018, arXiv:1801.04381",
        reference: "torchvision.models.mobilenet_v2",
        width: true,
        expansion: Some(6),
        published: Some(Published {
            resolution: 224,
            params: Some(3.47e6),
            params_without_bn: true,
            macs: Some(300e6),
            top1: Some(71.8),
            source: "tensorflow/models research/mobilenet README (MobileNetV2 1.0/224: 300M MACs, 3.47M params without BN affine; the paper's Table 4 rounds to 3.4M)",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

pub fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new(format!("mobilenet_v2 ×{}", variant.width));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut channels = make_divisible(32.0 * variant.width, 8);
    let last_channels = make_divisible(1280.0 * variant.width.max(1.0), 8);

    let mut x = b.block("stem", "features.0", |b| {
        tv_conv_bn_act(b, "features.0", x, Conv2d::new(3, channels, 3, 2), Some(Activation::Relu6))
    })?;
    let mut index = 1;
    for (stage, &(t, c, n, s)) in STAGES.iter().enumerate() {
        let out = make_divisible(c as f64 * variant.width, 8);
        x = b.block("stage", format!("stage {}", stage + 1), |b| {
            let mut x = x;
            for i in 0..n {
                let stride = if i == 0 { s } else { 1 };
                // The expansion knob replaces the paper's t = 6 (the first stage keeps t = 1).
                let t = if t == 1 { 1 } else { variant.expansion.unwrap_or(t) };
                x = inverted_residual(b, &format!("features.{index}"), x, channels, out, stride, t)?;
                channels = out;
                index += 1;
            }
            Ok(x)
        })?;
    }
    let x = b.block("head", format!("features.{index}"), |b| {
        let conv = Conv2d::new(channels, last_channels, 1, 1);
        tv_conv_bn_act(b, &format!("features.{index}"), x, conv, Some(Activation::Relu6))
    })?;
    b.block("classifier", "classifier", |b| {
        let x = crate::common::pool_flatten(b, x, "avgpool")?;
        let x = b.dropout("classifier.0", x, 0.2)?;
        b.linear("classifier.1", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// torchvision's `InvertedResidual`: optional 1×1 expansion, 3×3 depthwise, 1×1 linear projection, and a
/// residual when the shape is kept.
pub(crate) fn inverted_residual(
    b: &mut GraphBuilder,
    prefix: &str,
    x: NodeId,
    inp: usize,
    oup: usize,
    stride: usize,
    expand: usize,
) -> Result<NodeId> {
    let hidden = inp * expand;
    b.block("InvertedResidual", prefix, |b| {
        let mut y = x;
        let mut layer = 0;
        if expand != 1 {
            y = tv_conv_bn_act(
                b,
                &format!("{prefix}.conv.0"),
                y,
                Conv2d::new(inp, hidden, 1, 1),
                Some(Activation::Relu6),
            )?;
            layer += 1;
        }
        let dw = Conv2d::new(hidden, hidden, 3, stride).depthwise();
        y = tv_conv_bn_act(b, &format!("{prefix}.conv.{layer}"), y, dw, Some(Activation::Relu6))?;
        y = b.conv(&format!("{prefix}.conv.{}", layer + 1), y, Conv2d::new(hidden, oup, 1, 1))?;
        y = b.bn(&format!("{prefix}.conv.{}", layer + 2), y)?;
        if stride == 1 && inp == oup { b.add(&format!("{prefix}.add"), x, y) } else { Ok(y) }
    })
}
