//! # ChannelNet (v1)
//!
//! Gao, Wang, Ji. "ChannelNets: Compact and Efficient Convolutional Neural Networks via Channel-Wise
//! Convolutions", NeurIPS 2018, arXiv:1809.01330. Official code: HongyangGao/ChannelNets (TensorFlow,
//! `model.py` + `utils/ops.py` @0e8bcdd). Layers and names: pytorchcv 0.0.74 `channelnet.py`, a port of
//! the official ops (bias-free depthwise 3×3 without BN or activation, then 1×1 + BN + ReLU6; dropout
//! with keep rate 0.9999; channel-wise convolutions of length 4g with stride g), chained as the official
//! `model.py` chains them.
//!
//! A MobileNet-like chain — 3×3/2 stem (32), depthwise separable blocks 64, 128/2, 128, 256/2, 256,
//! 512/2 — then the paper's group module (GM: depthwise separable blocks with 2-group pointwise convs,
//! summed with the block before) and two group channel-wise modules (GCWM: a channel-wise conv that gives
//! each group a mix of all channels, then a GM), then 1024/2, 1024, global pool, fully connected.
//!
//! Deviations: pytorchcv's own `channelnet()` concatenates the two blocks' outputs in stages 1–3
//! ("cat"), which no version of the official `model.py` does, and has 3.88M parameters; the official
//! chain (pytorchcv's classes with merge "seq" there) has 3.70M, the README's 3.7M. Kept from pytorchcv:
//! no residual around each depthwise block inside a GM (the official `single_block` adds one; no
//! parameters), the stem without activation. The README's 407M FLOPs are 15% below the 468.5M
//! multiply-accumulates counted here (`tests/published_numbers.rs`).

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::Result;
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// Dropout rate of every ChannelNet conv (official keep rate 0.9999).
const DROPOUT: f32 = 1e-4;
/// Groups of the group modules and the channel-wise convolutions.
const GROUPS: usize = 2;
/// Depthwise separable blocks per group module.
const MULTI_BLOCKS: usize = 2;

#[derive(Clone, Copy, PartialEq)]
enum Block {
    Conv3x3,
    DepthwiseSeparable,
    /// Group module: `MULTI_BLOCKS` depthwise separable blocks with `GROUPS`-group pointwise convs.
    Group,
    /// Group channel-wise module: channel-wise conv, then a group module.
    ChannelWiseGroup,
}
use Block::{ChannelWiseGroup as Gcw, Conv3x3, DepthwiseSeparable as Dws, Group};

#[derive(Clone, Copy, PartialEq)]
enum Merge {
    Add,
    Sequence,
}

type Unit = (usize, [(usize, Block); 2], Merge);

/// `(stage, [(out channels, block); 2], merge)` per unit — pytorchcv `get_channelnet` with the official
/// sequence in stages 1–3.
const UNITS: [Unit; 6] = [
    (1, [(32, Conv3x3), (64, Dws)], Merge::Sequence),
    (2, [(128, Dws), (128, Dws)], Merge::Sequence),
    (3, [(256, Dws), (256, Dws)], Merge::Sequence),
    (4, [(512, Dws), (512, Group)], Merge::Add),
    (4, [(512, Gcw), (512, Gcw)], Merge::Add),
    (5, [(1024, Dws), (1024, Dws)], Merge::Sequence),
];

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "channelnet_v1",
        title: "ChannelNet-v1",
        family: "ChannelNet",
        paper: "Gao et al. 2018, arXiv:1809.01330",
        reference: "HongyangGao/ChannelNets model.py (official TensorFlow), layers of pytorchcv channelnet.py",
        published: Some(Published {
            resolution: 224,
            params: Some(3.7e6),
            params_without_bn: false,
            macs: Some(407e6),
            top1: Some(70.5),
            source: "HongyangGao/ChannelNets README.md (ChannelNet-v1: 70.5%, 3.7m params, 407m FLOPs)",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new("channelnet_v1");
    let mut x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut inp = 3;
    let mut unit_in_stage = 0;
    let mut last_stage = 0;
    for &(stage, blocks, merge) in &UNITS {
        unit_in_stage = if stage == last_stage { unit_in_stage + 1 } else { 1 };
        last_stage = stage;
        let p = format!("features.stage{stage}.unit{unit_in_stage}");
        (x, inp) = b.block("stage", &p, |b| {
            let mut outputs: Vec<NodeId> = Vec::new();
            let mut y = x;
            let mut c = inp;
            for (i, &(out, block)) in blocks.iter().enumerate() {
                let stride = if i == 0 && unit_in_stage == 1 { 2 } else { 1 };
                let q = format!("{p}.blocks.block{}", i + 1);
                y = match block {
                    Conv3x3 => channet_conv(b, &q, y, Conv2d::new(c, out, 3, stride), false)?,
                    Dws => dws(b, &q, y, c, out, stride, 1)?,
                    Group => group_module(b, &q, y, c)?,
                    Gcw => channel_wise_module(b, &q, y, c)?,
                };
                c = out;
                outputs.push(y);
            }
            match merge {
                Merge::Sequence => Ok((y, c)),
                Merge::Add => {
                    let mut sum = y;
                    for (i, &earlier) in outputs.iter().rev().skip(1).enumerate() {
                        sum = b.add(&format!("{p}.add{}", i + 1), sum, earlier)?;
                    }
                    Ok((sum, c))
                }
            }
        })?;
    }
    b.block("classifier", "output", |b| {
        let x = crate::common::pool_flatten(b, x, "features.final_pool")?;
        b.linear("output", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// pytorchcv `ChannetConv`: conv, dropout, BN, optional ReLU6 (`prefix.conv`, `.dropout`, `.bn`, `.activ`).
fn channet_conv(b: &mut GraphBuilder, p: &str, x: NodeId, conv: Conv2d, activate: bool) -> Result<NodeId> {
    let y = b.conv(&format!("{p}.conv"), x, conv)?;
    let y = b.dropout(&format!("{p}.dropout"), y, DROPOUT)?;
    let y = b.bn(&format!("{p}.bn"), y)?;
    if activate { b.act(&format!("{p}.activ"), y, Activation::Relu6) } else { Ok(y) }
}

/// pytorchcv `ChannetDwsConvBlock`: a bare depthwise 3×3 (no BN, no activation), then a `groups`-group
/// pointwise `ChannetConv` with ReLU6.
fn dws(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    out: usize,
    stride: usize,
    groups: usize,
) -> Result<NodeId> {
    b.block("DwsConvBlock", p, |b| {
        let y = b.conv(&format!("{p}.dw_conv"), x, Conv2d::new(inp, inp, 3, stride).depthwise())?;
        channet_conv(b, &format!("{p}.pw_conv"), y, Conv2d::new(inp, out, 1, 1).groups(groups), true)
    })
}

/// pytorchcv `SimpleGroupBlock`: `MULTI_BLOCKS` depthwise separable blocks with grouped pointwise convs.
fn group_module(b: &mut GraphBuilder, p: &str, x: NodeId, channels: usize) -> Result<NodeId> {
    b.block("GroupModule", p, |b| {
        let mut y = x;
        for i in 0..MULTI_BLOCKS {
            y = dws(b, &format!("{p}.blocks.block{}", i + 1), y, channels, channels, 1, GROUPS)?;
        }
        Ok(y)
    })
}

/// pytorchcv `ConvGroupBlock`: the group channel-wise module (GCWM), a channel-wise conv then a GM.
pub(crate) fn channel_wise_module(b: &mut GraphBuilder, p: &str, x: NodeId, channels: usize) -> Result<NodeId> {
    if !channels.is_multiple_of(GROUPS) {
        return Err(convscope_graph::BuildError::NotDivisible {
            node: p.to_owned(),
            what: "channel-wise",
            channels,
            groups: GROUPS,
        });
    }
    b.block("GCWM", p, |b| {
        let mixed = channel_wise(b, &format!("{p}.conv"), x)?;
        group_module(b, &format!("{p}.block"), mixed, channels)
    })
}

/// pytorchcv `ChannelwiseConv2d(groups)`: a channel-wise conv with `groups` filters of length 4·groups and
/// stride `groups`, zero padding 2·groups − 1, so each filter yields c / groups channels; then dropout.
fn channel_wise(b: &mut GraphBuilder, p: &str, x: NodeId) -> Result<NodeId> {
    b.block("ChannelWiseConv", p, |b| {
        let y = b.channel_conv(&format!("{p}.conv"), x, GROUPS, 4 * GROUPS, GROUPS, 2 * GROUPS - 1)?;
        b.dropout(&format!("{p}.dropout"), y, DROPOUT)
    })
}
