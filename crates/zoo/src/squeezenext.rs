//! # SqueezeNext
//!
//! Gholami et al. "SqueezeNext: Hardware-Aware Neural Network Design", CVPR-W 2018, arXiv:1803.10615.
//! Structure: the official Caffe prototxts (amirgholami/SqueezeNext `1.0-SqNxt-23/train_val.prototxt`,
//! `1.0-SqNxt-23v5/…` @917399d): a 7×7/2 stem (64 × width, no padding at 227²), a 3×3/2 ceil-mode max
//! pool, four stages of SqNxt blocks (6-6-8-1 blocks for "23", 2-4-14-1 for "23v5"; 32-64-128-256 ×
//! width channels), a 1×1 conv to 128 × width, global average pool and a bias-free fully connected layer.
//! Every convolution is bias-free and followed by BatchNorm + Scale (BN with affine) and ReLU; the
//! residual sum is followed by ReLU too.
//!
//! The SqNxt block: 1×1 down to C/r, 1×1 to C/2r, 3×1 and 1×3 (or 1×3 then 3×1: the prototxt alternates
//! from block to block) back to C/r, 1×1 out; r = 1 for a strided block, 4 where the block narrows
//! (stage 1's first), else 2. A 1×1 projection shortcut where the shape changes.
//!
//! Names: pytorchcv 0.0.74's `squeezenext.py` module paths (`features.init_block.conv.conv`,
//! `features.stageN.unitM.convK.conv/bn`, `identity_conv`, `features.final_block`, `output`), so its
//! checkpoints can bind. Deviations of pytorchcv from the official model that convscope does *not* copy:
//! conv and classifier biases, a padded stem at 224², and a fixed 1×3-then-3×1 order.

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Padding, Pool, Shape};

use crate::common::Result;
use crate::registry::{InputSpec, ModelEntry, NETWORK, Published, Variant, imagenet, table_row};

/// A SqueezeNext depth: blocks per stage.
struct Depth {
    id: &'static str,
    title: &'static str,
    blocks: [usize; 4],
    published: Published,
}

const DEPTHS: [Depth; 2] = [
    Depth {
        id: "squeezenext_23",
        title: "SqueezeNext-23",
        blocks: [6, 6, 8, 1],
        published: Published {
            resolution: 227,
            params: Some(0.72e6),
            params_without_bn: false,
            macs: None,
            top1: Some(59.05),
            source: "Gholami et al. 2018, Tables 2–3 (1.0-SqNxt-23: 0.72M params, 59.05% top-1)",
        },
    },
    Depth {
        id: "squeezenext_23v5",
        title: "SqueezeNext-23v5",
        blocks: [2, 4, 14, 1],
        published: Published {
            resolution: 227,
            params: None,
            params_without_bn: false,
            macs: None,
            top1: Some(59.24),
            source: "Gholami et al. 2018, Table 3 (1.0-SqNxt-23v5: 59.24% top-1)",
        },
    },
];

const STAGE_CHANNELS: [usize; 4] = [32, 64, 128, 256];

pub fn models() -> Vec<ModelEntry> {
    DEPTHS
        .iter()
        .enumerate()
        .map(|(row, depth)| ModelEntry {
            id: depth.id,
            title: depth.title,
            family: "SqueezeNext",
            paper: "Gholami et al. 2018, arXiv:1803.10615",
            reference: "amirgholami/SqueezeNext Caffe prototxt (official); names from pytorchcv squeezenext.py",
            default: imagenet(1.0, 227),
            width: true,
            // The official Caffe data layer: 227² crops of 256² images; ImageNet mean and std here because
            // convscope feeds RGB in [0, 1] (the prototxt subtracts BGR means 104/117/123 from 0–255 pixels).
            input: InputSpec::imagenet(227, 256),
            published: Some(depth.published),
            builder: build,
            row,
            ..NETWORK
        })
        .collect()
}

/// pytorchcv's width rule: `int(channels × width)`.
fn scaled(channels: usize, width: f64) -> usize {
    (channels as f64 * width) as usize
}

fn build(variant: &Variant, row: usize) -> Result<Graph> {
    let depth = table_row(&DEPTHS, row, "SqueezeNext")?;
    let width = variant.width;
    let mut b = GraphBuilder::new(format!("{} ×{width}", depth.id));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let stem = scaled(64, width);
    let mut x = b.block("stem", "features.init_block", |b| {
        let x =
            conv_bn_relu(b, "features.init_block.conv", x, Conv2d::new(3, stem, 7, 2).padding(Padding::uniform(0)))?;
        b.pool("features.init_block.pool", x, Pool::max(3, 2, 0).ceil_mode(true))
    })?;
    let mut inp = stem;
    let mut index = 0;
    for (stage, (&blocks, &channels)) in depth.blocks.iter().zip(&STAGE_CHANNELS).enumerate() {
        let out = scaled(channels, width);
        let name = format!("features.stage{}", stage + 1);
        x = b.block("stage", &name, |b| {
            let mut x = x;
            for i in 0..blocks {
                let stride = if i == 0 && stage > 0 { 2 } else { 1 };
                // The prototxt alternates the order of the separable pair from block to block.
                let vertical_first = index % 2 == 0;
                x = sqnxt_block(b, &format!("{name}.unit{}", i + 1), x, inp, out, stride, vertical_first)?;
                inp = out;
                index += 1;
            }
            Ok(x)
        })?;
    }
    let last = scaled(128, width);
    let x = b.block("head", "features.final_block", |b| {
        conv_bn_relu(b, "features.final_block", x, Conv2d::new(inp, last, 1, 1))
    })?;
    b.block("classifier", "output", |b| {
        let x = crate::common::pool_flatten(b, x, "features.final_pool")?;
        b.linear("output", x, variant.num_classes, false)
    })?;
    b.finish()
}

/// pytorchcv's `ConvBlock` (`prefix.conv`, `prefix.bn`, `prefix.activ`) with the official bias-free conv.
fn conv_bn_relu(b: &mut GraphBuilder, prefix: &str, x: NodeId, conv: Conv2d) -> Result<NodeId> {
    b.conv_bn_act(
        [&format!("{prefix}.conv"), &format!("{prefix}.bn"), &format!("{prefix}.activ")],
        x,
        conv,
        Some(Activation::Relu),
    )
}

/// The SqNxt block (Gholami et al. Fig. 4) from `inp` to `out` channels; `vertical_first` puts the 3×1
/// before the 1×3.
pub(crate) fn sqnxt_block(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    out: usize,
    stride: usize,
    vertical_first: bool,
) -> Result<NodeId> {
    let (reduction, project) = if stride == 2 {
        (1, true)
    } else if inp > out {
        (4, true)
    } else {
        (2, inp != out)
    };
    let mid = inp / reduction;
    let narrow = inp / (2 * reduction);
    b.block("SqNxtBlock", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let shortcut = if project {
            let y = b.conv(&n("identity_conv.conv"), x, Conv2d::new(inp, out, 1, stride))?;
            let y = b.bn(&n("identity_conv.bn"), y)?;
            b.act(&n("identity_conv.activ"), y, Activation::Relu)?
        } else {
            x
        };
        let y = conv_bn_relu(b, &n("conv1"), x, Conv2d::new(inp, mid, 1, stride))?;
        let y = conv_bn_relu(b, &n("conv2"), y, Conv2d::new(mid, narrow, 1, 1))?;
        let vertical = |c_in| Conv2d::new(c_in, mid, 1, 1).kernel(3, 1).padding(Padding::symmetric(1, 0));
        let horizontal = |c_in| Conv2d::new(c_in, mid, 1, 1).kernel(1, 3).padding(Padding::symmetric(0, 1));
        let (first, second) =
            if vertical_first { (vertical(narrow), horizontal(mid)) } else { (horizontal(narrow), vertical(mid)) };
        let y = conv_bn_relu(b, &n("conv3"), y, first)?;
        let y = conv_bn_relu(b, &n("conv4"), y, second)?;
        let y = conv_bn_relu(b, &n("conv5"), y, Conv2d::new(mid, out, 1, 1))?;
        let y = b.add(&n("add"), y, shortcut)?;
        b.act(&n("activ"), y, Activation::Relu)
    })
}

#[cfg(test)]
mod tests {
    use convscope_graph::GraphCost;

    use super::*;

    #[test]
    fn the_blocks_count_matches_the_prototxt() {
        // 1.0-SqNxt-23/train_val.prototxt: Convolution1 … Convolution111 (5 per block, 4 projections,
        // stem and final conv) and one InnerProduct.
        let graph = build(&imagenet(1.0, 227), 0).expect("builds");
        let convs = graph.nodes.iter().filter(|n| matches!(n.op, convscope_graph::Op::Conv2d(_))).count();
        assert_eq!(convs, 111);
        assert!(GraphCost::of(&graph).total.params > 0);
    }
}
