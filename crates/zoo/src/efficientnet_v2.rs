//! # EfficientNetV2-S
//!
//! Tan, Le. "EfficientNetV2: Smaller Models and Faster Training", ICML 2021, arXiv:2104.00298.
//! Structure and names: `torchvision.models.efficientnet_v2_s` (0.29): Fused-MBConv in the early stages
//! (one k×k conv instead of 1×1 expansion + depthwise), MBConv with SE later; BN eps 0.001; 384² input.
//!
//! Deviations: none known against torchvision.

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::{Result, tv_conv_bn_act_eps};

/// torchvision builds these models with `partial(nn.BatchNorm2d, eps=0.001)`.
const BN_EPS: f32 = 1e-3;
use crate::registry::{InputSpec, ModelEntry, NETWORK, Published, Variant, imagenet};

/// `(fused, expansion, kernel, stride, input, output, repeats)` — the paper's Table 4.
const STAGES: [(bool, usize, usize, usize, usize, usize, usize); 6] = [
    (true, 1, 3, 1, 24, 24, 2),
    (true, 4, 3, 2, 24, 48, 4),
    (true, 4, 3, 2, 48, 64, 4),
    (false, 4, 3, 2, 64, 128, 6),
    (false, 6, 3, 1, 128, 160, 9),
    (false, 6, 3, 2, 160, 256, 15),
];

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "efficientnet_v2_s",
        title: "EfficientNetV2-S",
        family: "EfficientNet",
        paper: "Tan & Le 2021, arXiv:2104.00298",
        reference: "torchvision.models.efficientnet_v2_s",
        default: imagenet(1.0, 384),
        input: InputSpec { resolution: 384, resize: 384, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
        published: Some(Published {
            resolution: 384,
            params: Some(21.5e6),
            params_without_bn: false,
            macs: Some(8.4e9),
            top1: Some(83.9),
            source: "google/automl efficientnetv2 README (EfficientNetV2-S: 21.5M params, 8.4B FLOPs, 83.9%)",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new("efficientnet_v2_s");
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut x = b.block("stem", "features.0", |b| {
        let y = b.conv("features.0.0", x, Conv2d::new(3, 24, 3, 2))?;
        let y = b.bn_eps("features.0.1", y, 1e-3)?;
        b.act("features.0.2", y, Activation::Silu)
    })?;
    let mut channels = 24;
    for (s, &(fused, expand, kernel, stride, _, out, repeats)) in STAGES.iter().enumerate() {
        let stage = format!("features.{}", s + 1);
        x = b.block("stage", &stage, |b| {
            let mut x = x;
            for i in 0..repeats {
                let p = format!("{stage}.{i}");
                let s = if i == 0 { stride } else { 1 };
                x = if fused {
                    fused_mbconv(b, &p, x, channels, out, expand, kernel, s)?
                } else {
                    crate::efficientnet::mbconv(b, &p, x, channels, out, expand, kernel, s, BN_EPS)?
                };
                channels = out;
            }
            Ok(x)
        })?;
    }
    let index = STAGES.len() + 1;
    let x = b.block("head", format!("features.{index}"), |b| {
        tv_conv_bn_act_eps(
            b,
            &format!("features.{index}"),
            x,
            Conv2d::new(channels, 1280, 1, 1),
            Some(Activation::Silu),
            BN_EPS,
        )
    })?;
    b.block("classifier", "classifier", |b| {
        let x = crate::common::pool_flatten(b, x, "avgpool")?;
        let x = b.dropout("classifier.0", x, 0.2)?;
        b.linear("classifier.1", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// torchvision's `FusedMBConv`: a k×k conv to `input · expansion` channels (SiLU), then a 1×1 projection;
/// with expansion 1, just the k×k conv to the output. Residual when the shape is kept.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fused_mbconv(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    input: usize,
    out: usize,
    expand: usize,
    kernel: usize,
    stride: usize,
) -> Result<NodeId> {
    let expanded = crate::common::make_divisible((input * expand) as f64, 8);
    b.block("FusedMBConv", p, |b| {
        let y = if expanded == input {
            tv_conv_bn_act_eps(
                b,
                &format!("{p}.block.0"),
                x,
                Conv2d::new(input, out, kernel, stride),
                Some(Activation::Silu),
                BN_EPS,
            )?
        } else {
            let y = tv_conv_bn_act_eps(
                b,
                &format!("{p}.block.0"),
                x,
                Conv2d::new(input, expanded, kernel, stride),
                Some(Activation::Silu),
                BN_EPS,
            )?;
            tv_conv_bn_act_eps(b, &format!("{p}.block.1"), y, Conv2d::new(expanded, out, 1, 1), None, BN_EPS)?
        };
        if stride == 1 && input == out { b.add(&format!("{p}.add"), x, y) } else { Ok(y) }
    })
}
