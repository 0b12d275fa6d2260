//! # ShuffleNet V2
//!
//! Ma, Zhang, Zheng, Sun. "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
//! ECCV 2018, arXiv:1807.11164. Structure and names: `torchvision.models.shufflenet_v2_x*` (0.29).
//!
//! Deviations: none known against torchvision. Its 0.5× model has 1.37M parameters and 40.5M MACs
//! (paper: 1.4M, 41M).

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::Result;
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// Stage repeats (stage2..stage4) — the paper's Table 5.
const REPEATS: [usize; 3] = [4, 8, 4];

/// `(id, title, output channels of conv1, stage2..4 and conv5, published params, MACs, top-1)`.
type Row = (&'static str, &'static str, [usize; 5], f64, f64, f64);
const VARIANTS: [Row; 4] = [
    ("shufflenet_v2_x0_5", "ShuffleNet V2 0.5×", [24, 48, 96, 192, 1024], 1.4e6, 41e6, 61.1),
    ("shufflenet_v2_x1_0", "ShuffleNet V2 1.0×", [24, 116, 232, 464, 1024], 2.3e6, 146e6, 69.4),
    ("shufflenet_v2_x1_5", "ShuffleNet V2 1.5×", [24, 176, 352, 704, 1024], 3.5e6, 299e6, 72.6),
    ("shufflenet_v2_x2_0", "ShuffleNet V2 2.0×", [24, 244, 488, 976, 2048], 7.4e6, 591e6, 75.0),
];

pub fn models() -> Vec<ModelEntry> {
    VARIANTS
        .iter()
        .enumerate()
        .map(|(row, &(id, title, _, params, macs, top1))| ModelEntry {
            id,
            title,
            family: "ShuffleNet V2",
            paper: "Ma et al. 2018, arXiv:1807.11164",
            reference: "torchvision.models.shufflenet_v2_x*",
            published: Some(Published {
                resolution: 224,
                params: Some(params),
                params_without_bn: false,
                macs: Some(macs),
                top1: Some(top1),
                source: "Ma et al. 2018, Table 5 / megvii-model ShuffleNet-Series README",
            }),
            builder: |v, row| build(v, &crate::registry::table_row(&VARIANTS, row, "shufflenet_v2")?.2),
            row,
            ..NETWORK
        })
        .collect()
}

fn build(variant: &Variant, channels: &[usize; 5]) -> Result<Graph> {
    let [c1, c2, c3, c4, c5] = *channels;
    let mut b = GraphBuilder::new(format!("shufflenet_v2 {channels:?}"));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let x = b.block("stem", "conv1", |b| {
        let x =
            b.conv_bn_act(["conv1.0", "conv1.1", "conv1.2"], x, Conv2d::new(3, c1, 3, 2), Some(Activation::Relu))?;
        b.pool("maxpool", x, convscope_graph::Pool::max(3, 2, 1))
    })?;
    let mut x = x;
    let mut inp = c1;
    for (stage, (&repeats, out)) in REPEATS.iter().zip([c2, c3, c4]).enumerate() {
        let name = format!("stage{}", stage + 2);
        x = b.block("stage", &name, |b| {
            let mut x = x;
            for i in 0..repeats {
                x = unit(b, &format!("{name}.{i}"), x, inp, out, if i == 0 { 2 } else { 1 })?;
                inp = out;
            }
            Ok(x)
        })?;
    }
    let x = b.block("head", "conv5", |b| {
        b.conv_bn_act(["conv5.0", "conv5.1", "conv5.2"], x, Conv2d::new(inp, c5, 1, 1), Some(Activation::Relu))
    })?;
    b.block("classifier", "fc", |b| {
        let x = crate::common::pool_flatten(b, x, "mean")?;
        b.linear("fc", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// torchvision's ShuffleNet V2 `InvertedResidual`: split (stride 1) or two branches (stride 2), concat,
/// channel shuffle with 2 groups.
pub(crate) fn unit(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize, oup: usize, stride: usize) -> Result<NodeId> {
    let half = oup / 2;
    b.block("ShuffleV2Unit", p, |b| {
        let (left, right_in, right_c) = if stride == 1 {
            let left = b.slice(&format!("{p}.chunk0"), x, 0, inp / 2)?;
            let right = b.slice(&format!("{p}.chunk1"), x, inp / 2, inp)?;
            (left, right, inp / 2)
        } else {
            let left = b.block("branch1", format!("{p}.branch1"), |b| {
                let dw = Conv2d::new(inp, inp, 3, stride).depthwise();
                let y = b.conv_bn_act([&format!("{p}.branch1.0"), &format!("{p}.branch1.1"), ""], x, dw, None)?;
                let names = [format!("{p}.branch1.2"), format!("{p}.branch1.3"), format!("{p}.branch1.4")];
                b.conv_bn_act(
                    [&names[0], &names[1], &names[2]],
                    y,
                    Conv2d::new(inp, half, 1, 1),
                    Some(Activation::Relu),
                )
            })?;
            (left, x, inp)
        };
        let right = b.block("branch2", format!("{p}.branch2"), |b| {
            let n = |i: usize| format!("{p}.branch2.{i}");
            let y = b.conv_bn_act(
                [&n(0), &n(1), &n(2)],
                right_in,
                Conv2d::new(right_c, half, 1, 1),
                Some(Activation::Relu),
            )?;
            let y = b.conv_bn_act([&n(3), &n(4), ""], y, Conv2d::new(half, half, 3, stride).depthwise(), None)?;
            b.conv_bn_act([&n(5), &n(6), &n(7)], y, Conv2d::new(half, half, 1, 1), Some(Activation::Relu))
        })?;
        let y = b.concat(&format!("{p}.cat"), &[left, right])?;
        b.shuffle(&format!("{p}.shuffle"), y, 2)
    })
}
