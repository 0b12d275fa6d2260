//! # IGCV1: interleaved group convolutions
//!
//! Zhang, Qi, Xiao, Wang. "Interleaved Group Convolutions for Deep Neural Networks", ICCV 2017,
//! arXiv:1707.02725. Structure and names: the official MXNet code (hellozting/InterleavedGroupConvolutions
//! `network/resnet_igc_imgnet_d18.py` @757550f) with the channel plans of the released ImageNet symbols
//! (`models/IGC-L4M32_ImageNet/…-symbol.json`, `IGC-L16M16`, `IGC-L100M2` @2871fdb/@4860f5e).
//!
//! A ResNet-18 layout (stem 7×7/2 + 3×3/2 max pool, four stages of two residual blocks, global average
//! pool, fully connected layer with bias) in which every 3×3 convolution is an IGC block: a *primary*
//! 3×3 group convolution with L partitions, `Reorder` (a channel shuffle with L groups), a *secondary*
//! 1×1 group convolution with M partitions of L channels, `Reorder` back (shuffle with M groups), BN.
//! Shortcuts are identities or 1×1 projections grouped by L. MXNet names the layers `g<stage>_b<block>_…`.
//!
//! The released networks double the width per stage by doubling M (L4M32, L16M16: stem = stage-1 width)
//! or by doubling L (L100M2: stem = L). Deviation: the README's parameter counts for L4M32 (11.205M) and
//! L16M16 (11.329M) cannot be reproduced from the released symbols, which give 12.25M and 13.53M; their
//! MACs agree within 3% (see `tests/published_numbers.rs`).

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Pool, Shape};

use crate::common::Result;
use crate::registry::{ModelEntry, NETWORK, Published, Variant, table_row};

/// A released network: its stem width, the width of each stage and each stage's primary partitions L.
struct Plan {
    id: &'static str,
    title: &'static str,
    stem: usize,
    widths: [usize; 4],
    primary: [usize; 4],
    published: Published,
}

const SOURCE: &str = "hellozting/InterleavedGroupConvolutions README.md (ImageNet, ResNet-18 depth)";

const PLANS: [Plan; 3] = [
    Plan {
        id: "igcv1_l4m32",
        title: "IGC-L4M32+Ident.",
        stem: 128,
        widths: [128, 256, 512, 1024],
        primary: [4, 4, 4, 4],
        published: Published {
            resolution: 224,
            params: Some(11.205e6),
            params_without_bn: false,
            macs: Some(1.9e9),
            top1: Some(69.23),
            source: SOURCE,
        },
    },
    Plan {
        id: "igcv1_l16m16",
        title: "IGC-L16M16+Ident.",
        stem: 256,
        widths: [256, 512, 1024, 2048],
        primary: [16, 16, 16, 16],
        published: Published {
            resolution: 224,
            params: Some(11.329e6),
            params_without_bn: false,
            macs: Some(2.2e9),
            top1: Some(70.6),
            source: SOURCE,
        },
    },
    Plan {
        id: "igcv1_l100m2",
        title: "IGC-L100M2+Ident.",
        stem: 100,
        widths: [200, 400, 800, 1600],
        primary: [100, 200, 400, 800],
        published: Published {
            resolution: 224,
            params: Some(8.61e6),
            params_without_bn: false,
            macs: Some(1.3e9),
            top1: Some(73.05),
            source: SOURCE,
        },
    },
];

pub fn models() -> Vec<ModelEntry> {
    PLANS
        .iter()
        .enumerate()
        .map(|(row, plan)| ModelEntry {
            id: plan.id,
            title: plan.title,
            family: "IGCV1",
            paper: "Zhang et al. 2017, arXiv:1707.02725",
            reference: "hellozting/InterleavedGroupConvolutions MXNet (official), released ImageNet symbols",
            published: Some(plan.published),
            builder: build,
            row,
            ..NETWORK
        })
        .collect()
}

/// MXNet's BN eps in the official code.
const BN_EPS: f32 = 2e-5;

fn build(variant: &Variant, row: usize) -> Result<Graph> {
    let plan = table_row(&PLANS, row, "IGCV1")?;
    let mut b = GraphBuilder::new(plan.id);
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut x = b.block("stem", "g0", |b| {
        let x = b.conv("g0_conv", x, Conv2d::new(3, plan.stem, 7, 2))?;
        let x = b.bn_eps("g0_bn", x, BN_EPS)?;
        let x = b.act("g0_relu", x, Activation::Relu)?;
        b.pool("g0_pool", x, Pool::max(3, 2, 1))
    })?;
    let mut inp = plan.stem;
    for (stage, (&out, &primary)) in plan.widths.iter().zip(&plan.primary).enumerate() {
        let name = format!("g{}", stage + 1);
        x = b.block("stage", &name, |b| {
            let mut x = x;
            for block in 0..2 {
                let stride = if block == 0 && stage > 0 { 2 } else { 1 };
                x = fusion(b, &format!("{name}_b{}", block + 1), x, inp, out, stride, primary)?;
                inp = out;
            }
            Ok(x)
        })?;
    }
    b.block("classifier", "fc_score", |b| {
        let x = b.global_avg_pool("global_pool", x)?;
        let x = b.flatten("flatten", x)?;
        b.linear("fc_score", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// The official `get_fusion`: shortcut (identity or grouped 1×1 projection) plus two IGC layers, ReLU.
pub(crate) fn fusion(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    out: usize,
    stride: usize,
    primary: usize,
) -> Result<NodeId> {
    b.block("IGCBlock", p, |b| {
        let shortcut = if inp == out && stride == 1 {
            x
        } else {
            let y = b.conv(&format!("{p}_proj_conv"), x, Conv2d::new(inp, out, 1, stride).groups(primary))?;
            b.bn_eps(&format!("{p}_proj_bn"), y, BN_EPS)?
        };
        let y = igc(b, &format!("{p}_conv1"), x, inp, out, stride, primary, true)?;
        let y = igc(b, &format!("{p}_conv2"), y, out, out, 1, primary, false)?;
        let y = b.add(&format!("{p}_plus"), shortcut, y)?;
        b.act(&format!("{p}_relu"), y, Activation::Relu)
    })
}

/// The official `get_igc`: primary 3×3 group conv (L groups), reorder, secondary 1×1 group conv
/// (out / L groups of L channels), reorder back, BN, optional ReLU.
#[allow(clippy::too_many_arguments)]
fn igc(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    out: usize,
    stride: usize,
    primary: usize,
    relu: bool,
) -> Result<NodeId> {
    let secondary = out / primary.max(1);
    let y = b.conv(&format!("{p}_conv1"), x, Conv2d::new(inp, out, 3, stride).groups(primary))?;
    let y = b.shuffle(&format!("{p}_reorder1"), y, primary)?;
    let y = b.conv(&format!("{p}_conv2"), y, Conv2d::new(out, out, 1, 1).groups(secondary))?;
    let y = b.shuffle(&format!("{p}_reorder2"), y, secondary)?;
    let y = b.bn_eps(&format!("{p}_bn"), y, BN_EPS)?;
    if relu { b.act(&format!("{p}_relu"), y, Activation::Relu) } else { Ok(y) }
}
