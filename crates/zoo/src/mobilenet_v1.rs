//! # MobileNet (V1)
//!
//! Howard et al. "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
//! arXiv:1704.04861. Structure and names: timm `mobilenetv1_100` (timm 1.0): `conv_stem`/`bn1`, then
//! `blocks.S.I` depthwise-separable blocks (`conv_dw`, `bn1`, `conv_pw`, `bn2`, BN followed by ReLU).
//!
//! Width α scales every layer (rounded to multiples of 8 as timm does); resolution ρ is the input side.
//! Deviations: none known against timm; the paper's 4.2M/569M are reproduced (4,231,976 params with BN).

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, Shape};

use crate::common::{Result, make_divisible, pool_flatten};
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// `(repeats, first stride, output channels)` per stage — the paper's Table 1.
const STAGES: [(usize, usize, usize); 5] = [(1, 1, 64), (2, 2, 128), (2, 2, 256), (6, 2, 512), (2, 2, 1024)];

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "mobilenet_v1",
        title: "MobileNet V1",
        family: "MobileNet V1",
        paper: "Howard et al. 2017, arXiv:1704.04861",
        reference: "timm mobilenetv1_100",
        width: true,
        published: Some(Published {
            resolution: 224,
            params: Some(4.2e6),
            params_without_bn: false,
            macs: Some(569e6),
            top1: Some(70.6),
            source: "Howard et al. 2017, Table 6",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

pub fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new(format!("mobilenet_v1 ×{}", variant.width));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut channels = make_divisible(32.0 * variant.width, 8);
    let mut x = b.block("stem", "conv_stem", |b| {
        b.conv_bn_act(["conv_stem", "bn1", "bn1.act"], x, Conv2d::new(3, channels, 3, 2), Some(Activation::Relu))
    })?;
    for (stage, &(repeats, stride, c)) in STAGES.iter().enumerate() {
        let out = make_divisible(c as f64 * variant.width, 8);
        x = b.block("stage", format!("blocks.{stage}"), |b| {
            let mut x = x;
            for i in 0..repeats {
                let p = format!("blocks.{stage}.{i}");
                let s = if i == 0 { stride } else { 1 };
                x = b.block("DepthwiseSeparable", &p, |b| {
                    let dw = Conv2d::new(channels, channels, 3, s).depthwise();
                    let names = [format!("{p}.conv_dw"), format!("{p}.bn1"), format!("{p}.bn1.act")];
                    let y = b.conv_bn_act([&names[0], &names[1], &names[2]], x, dw, Some(Activation::Relu))?;
                    let names = [format!("{p}.conv_pw"), format!("{p}.bn2"), format!("{p}.bn2.act")];
                    b.conv_bn_act(
                        [&names[0], &names[1], &names[2]],
                        y,
                        Conv2d::new(channels, out, 1, 1),
                        Some(Activation::Relu),
                    )
                })?;
                channels = out;
            }
            Ok(x)
        })?;
    }
    b.block("classifier", "classifier", |b| {
        let x = pool_flatten(b, x, "global_pool")?;
        b.linear("classifier", x, variant.num_classes, true)
    })?;
    b.finish()
}
