//! # G-GhostNet (G-Ghost RegNetX)
//!
//! Han, Wang, Xu, Guo, Xu, Wu, Tian. "GhostNets on Heterogeneous Devices via Cheap Operations", IJCV 2022,
//! arXiv:2201.03297. Structure and names: the official huawei-noah/Efficient-AI-Backbones
//! `g_ghost_pytorch/g_ghost_regnet.py` (@71a0ef7).
//!
//! The G-Ghost stage (GPU-friendly Ghost, at the stage level): the stage's first block (`base`) makes all
//! `planes` channels; only `raw_planes` of them go through the stage's middle blocks (`layers`), the other
//! `cheap_planes` are "ghosts" made from the first block's output by a cheap 1×1 conv (`cheap`), mixed with
//! a global summary of every intermediate feature (`merge`: pool, 1×1, BN, ReLU, 1×1, BN, added with
//! broadcast), and the two parts are concatenated before the last block (`end`). Stages with two blocks
//! or fewer are plain RegNetX stages.
//!
//! Deviations: none known against the official code.

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::{Result, pool_flatten};
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// `(id, title, blocks per stage, widths, group width, published params, MACs, top-1)`.
type Row = (&'static str, &'static str, [usize; 4], [usize; 4], usize, f64, f64, f64);
const VARIANTS: [Row; 4] = [
    ("g_ghost_regnetx_032", "G-Ghost RegNetX-3.2GF", [2, 6, 15, 2], [96, 192, 432, 1008], 48, 10.5e6, 1.8e9, 77.8),
    ("g_ghost_regnetx_040", "G-Ghost RegNetX-4.0GF", [2, 5, 14, 2], [80, 240, 560, 1360], 40, 15.7e6, 2.2e9, 78.6),
    ("g_ghost_regnetx_080", "G-Ghost RegNetX-8.0GF", [2, 5, 15, 1], [80, 240, 720, 1920], 120, 24.6e6, 4.2e9, 79.0),
    ("g_ghost_regnetx_160", "G-Ghost RegNetX-16GF", [2, 6, 13, 1], [256, 512, 896, 2048], 128, 32.4e6, 9.0e9, 79.9),
];

/// Share of a G-Ghost stage's channels made by the cheap operations.
const CHEAP_RATIO: f64 = 0.5;

pub fn models() -> Vec<ModelEntry> {
    VARIANTS
        .iter()
        .enumerate()
        .map(|(row, &(id, title, _, _, _, params, macs, top1))| ModelEntry {
            id,
            title,
            family: "GhostNet",
            paper: "Han et al. 2022, arXiv:2201.03297",
            reference: "huawei-noah/Efficient-AI-Backbones g_ghost_pytorch/g_ghost_regnet.py (official)",
            published: Some(Published {
                resolution: 224,
                params: Some(params),
                params_without_bn: false,
                macs: Some(macs),
                top1: Some(top1),
                source: "huawei-noah/Efficient-AI-Backbones g_ghost_pytorch/readme.md",
            }),
            builder: |v, row| build(v, crate::registry::table_row(&VARIANTS, row, "g_ghostnet")?),
            row,
            ..NETWORK
        })
        .collect()
}

fn build(variant: &Variant, row: &Row) -> Result<Graph> {
    let &(id, _, layers, widths, group_width, ..) = row;
    let mut b = GraphBuilder::new(id);
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut x = b.block("stem", "conv1", |b| {
        b.conv_bn_act(["conv1", "bn1", "relu"], x, Conv2d::new(3, 32, 3, 2), Some(Activation::Relu))
    })?;
    let mut inplanes = 32;
    for (i, (&blocks, &planes)) in layers.iter().zip(&widths).enumerate() {
        let name = format!("layer{}", i + 1);
        // The official code always builds layer3 as a G-Ghost stage, layers 2 and 4 when they have more
        // than two blocks, and layer1 never.
        let ghost = i == 2 || ((i == 1 || i == 3) && blocks > 2);
        x = if ghost {
            b.block("G-Ghost stage", &name, |b| ghost_stage(b, &name, x, inplanes, planes, group_width, blocks))?
        } else {
            b.block("stage", &name, |b| {
                let mut x = x;
                let mut inp = inplanes;
                for j in 0..blocks {
                    x = bottleneck(b, &format!("{name}.{j}"), x, inp, planes, if j == 0 { 2 } else { 1 }, group_width)?;
                    inp = planes;
                }
                Ok(x)
            })?
        };
        inplanes = planes;
    }
    b.block("classifier", "fc", |b| {
        let x = pool_flatten(b, x, "avgpool")?;
        let x = b.dropout("dropout", x, 0.2)?;
        b.linear("fc", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// The RegNetX bottleneck (expansion 1): 1×1, 3×3 with groups of `group_width` channels, 1×1; projection
/// shortcut when the shape changes. `shortcut_slice` replaces the projection with the official code's
/// `x[:, :raw_planes]` lambda, a no-op slice kept so the graph mirrors it.
#[allow(clippy::too_many_arguments)]
fn bottleneck_with(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    planes: usize,
    stride: usize,
    group_width: usize,
    shortcut_slice: bool,
) -> Result<NodeId> {
    b.block("Bottleneck", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let groups = planes / planes.min(group_width).max(1);
        let y = b.conv_bn_act(
            [&n("conv1"), &n("bn1"), &n("relu")],
            x,
            Conv2d::new(inp, planes, 1, 1),
            Some(Activation::Relu),
        )?;
        let y = b.conv_bn_act(
            [&n("conv2"), &n("bn2"), &n("relu:1")],
            y,
            Conv2d::new(planes, planes, 3, stride).groups(groups),
            Some(Activation::Relu),
        )?;
        let y = b.conv_bn_act([&n("conv3"), &n("bn3"), ""], y, Conv2d::new(planes, planes, 1, 1), None)?;
        let identity = if shortcut_slice {
            b.slice(&n("downsample"), x, 0, planes)?
        } else if stride != 1 || inp != planes {
            b.conv_bn_act([&n("downsample.0"), &n("downsample.1"), ""], x, Conv2d::new(inp, planes, 1, stride), None)?
        } else {
            x
        };
        let y = b.add(&n("add"), y, identity)?;
        b.act(&n("relu:2"), y, Activation::Relu)
    })
}

fn bottleneck(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    planes: usize,
    stride: usize,
    group_width: usize,
) -> Result<NodeId> {
    bottleneck_with(b, p, x, inp, planes, stride, group_width, false)
}

/// The official `Stage`: base block, `blocks − 2` raw blocks on `raw_planes` channels, cheap ghosts of the
/// rest with the merge branch, concatenation, end block.
pub(crate) fn ghost_stage(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inplanes: usize,
    planes: usize,
    group_width: usize,
    blocks: usize,
) -> Result<NodeId> {
    let n = |s: &str| format!("{p}.{s}");
    let x0 = bottleneck(b, &n("base"), x, inplanes, planes, 2, group_width)?;
    let inner_width = group_width * 3 / 4; // int(group_width * 0.75)
    let raw = ((planes as f64 * (1.0 - CHEAP_RATIO)) as usize / inner_width.max(1)) * inner_width;
    let cheap = planes - raw;

    let mut features = vec![x0];
    let mut e = b.slice(&n("raw"), x0, 0, raw)?;
    for i in 0..blocks.saturating_sub(2) {
        e = bottleneck_with(b, &n(&format!("layers.{i}")), e, raw, raw, 1, inner_width, i == 0)?;
        features.push(e);
    }
    let m = b.block("merge", n("merge"), |b| {
        let m = b.concat(&n("merge.cat"), &features)?;
        let m = b.global_avg_pool(&n("merge.0"), m)?;
        let merged = planes + raw * blocks.saturating_sub(2);
        let m = b.conv_bn_act(
            [&n("merge.1"), &n("merge.2"), &n("merge.3")],
            m,
            Conv2d::new(merged, cheap, 1, 1),
            Some(Activation::Relu),
        )?;
        b.conv_bn_act([&n("merge.4"), &n("merge.5"), ""], m, Conv2d::new(cheap, cheap, 1, 1), None)
    })?;
    let c = b.block("cheap", n("cheap"), |b| {
        let c = b.slice(&n("ghost"), x0, raw, planes)?;
        let c = b.conv_bn_act([&n("cheap.0"), &n("cheap.1"), ""], c, Conv2d::new(cheap, cheap, 1, 1), None)?;
        let c = b.add(&n("cheap_add"), c, m)?;
        b.act(&n("cheap_relu"), c, Activation::Relu)
    })?;
    let x = b.concat(&n("cat"), &[e, c])?;
    bottleneck(b, &n("end"), x, planes, planes, 1, group_width)
}
