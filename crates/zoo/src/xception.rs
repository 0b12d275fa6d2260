//! # Xception
//!
//! Chollet. "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017, arXiv:1610.02357.
//! Structure and names: timm `legacy_xception` (timm 1.0; Cadene's port of the Keras model): entry flow
//! `block1`–`block3`, middle flow `block4`–`block11`, exit flow `block12`, `conv3`, `conv4`; 299² input.
//!
//! Deviations: none known against timm. The paper's 22,855,952 parameters are reproduced exactly.

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Padding, Pool, Shape};

use crate::common::{Result, pool_flatten};
use crate::registry::{InputSpec, ModelEntry, NETWORK, Published, Variant, imagenet};

/// `(name, input, output, separable convs, stride, start with ReLU, grow first)` — the paper's Figure 5.
type Row = (&'static str, usize, usize, usize, usize, bool, bool);
const BLOCKS: [Row; 12] = [
    ("block1", 64, 128, 2, 2, false, true),
    ("block2", 128, 256, 2, 2, true, true),
    ("block3", 256, 728, 2, 2, true, true),
    ("block4", 728, 728, 3, 1, true, true),
    ("block5", 728, 728, 3, 1, true, true),
    ("block6", 728, 728, 3, 1, true, true),
    ("block7", 728, 728, 3, 1, true, true),
    ("block8", 728, 728, 3, 1, true, true),
    ("block9", 728, 728, 3, 1, true, true),
    ("block10", 728, 728, 3, 1, true, true),
    ("block11", 728, 728, 3, 1, true, true),
    ("block12", 728, 1024, 2, 2, true, false),
];

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "xception",
        title: "Xception",
        family: "Xception (classic)",
        paper: "Chollet 2017, arXiv:1610.02357",
        reference: "timm legacy_xception",
        default: imagenet(1.0, 299),
        input: InputSpec { resolution: 299, resize: 333, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
        published: Some(Published {
            resolution: 299,
            params: Some(22_855_952.0),
            params_without_bn: false,
            macs: Some(8.4e9),
            top1: Some(79.0),
            source: "Chollet 2017 (22,855,952 params, 79.0%); 8.4B FLOPs from EfficientNet paper Table 2",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

/// Depthwise 3×3 (`conv1`) then pointwise 1×1 (`pointwise`), as timm's `SeparableConv2d`.
fn separable(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize, out: usize) -> Result<NodeId> {
    let y = b.conv(&format!("{p}.conv1"), x, Conv2d::new(inp, inp, 3, 1).depthwise())?;
    b.conv(&format!("{p}.pointwise"), y, Conv2d::new(inp, out, 1, 1))
}

fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new("xception");
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut x = b.block("entry flow stem", "conv1", |b| {
        let x = b.conv_bn_act(
            ["conv1", "bn1", "act1"],
            x,
            Conv2d::new(3, 32, 3, 2).padding(Padding::default()),
            Some(Activation::Relu),
        )?;
        b.conv_bn_act(
            ["conv2", "bn2", "act2"],
            x,
            Conv2d::new(32, 64, 3, 1).padding(Padding::default()),
            Some(Activation::Relu),
        )
    })?;
    for &(name, inp, out, reps, stride, start_with_relu, grow_first) in &BLOCKS {
        x = b.block("XceptionBlock", name, |b| {
            let mut y = x;
            // timm's `rep` Sequential: [ReLU, SeparableConv2d, BatchNorm2d] per conv, the first ReLU dropped
            // when the block does not start with one, then a 3×3 max pool when strided.
            let mut index = 0;
            for i in 0..reps {
                let (c_in, c_out) = if grow_first {
                    (if i == 0 { inp } else { out }, out)
                } else {
                    (inp, if i + 1 < reps { inp } else { out })
                };
                if i > 0 || start_with_relu {
                    y = b.act(&format!("{name}.rep.{index}"), y, Activation::Relu)?;
                    index += 1;
                }
                y = separable(b, &format!("{name}.rep.{index}"), y, c_in, c_out)?;
                y = b.bn(&format!("{name}.rep.{}", index + 1), y)?;
                index += 2;
            }
            if stride != 1 {
                y = b.pool(&format!("{name}.rep.{index}"), y, Pool::max(3, stride, 1))?;
            }
            let skip = if out != inp || stride != 1 {
                let s = b.conv(&format!("{name}.skip"), x, Conv2d::new(inp, out, 1, stride))?;
                b.bn(&format!("{name}.skipbn"), s)?
            } else {
                x
            };
            b.add(&format!("{name}.add"), y, skip)
        })?;
    }
    let x = b.block("exit flow", "conv3", |b| {
        let x = separable(b, "conv3", x, 1024, 1536)?;
        let x = b.bn("bn3", x)?;
        let x = b.act("act3", x, Activation::Relu)?;
        let x = separable(b, "conv4", x, 1536, 2048)?;
        let x = b.bn("bn4", x)?;
        b.act("act4", x, Activation::Relu)
    })?;
    b.block("classifier", "fc", |b| {
        let x = pool_flatten(b, x, "global_pool")?;
        b.linear("fc", x, variant.num_classes, true)
    })?;
    b.finish()
}
