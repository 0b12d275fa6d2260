//! # Stand-alone blocks
//!
//! The building blocks of the seed networks, each alone on an input of `[in, r, r]` with chosen in/out
//! channels, so a user can set one beside a plain 3×3 convolution (`block_conv3x3`) and see what it saves.
//! Every block is built by the very function its network uses (so names and counts are the network's,
//! verified there against the reference implementation), under the prefix `block`.
//!
//! Blocks that cannot keep the shape (a strided ShuffleNet unit) choose stride 2 when `in ≠ out`, as the
//! networks do, and the G-Ghost stage always halves the map, as every RegNet stage does; impossible channel choices (e.g. not divisible by the groups) come back as build errors.

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::Result;
use crate::registry::{InputSpec, ModelEntry, NETWORK, Variant, imagenet};

/// Channels in and out, and the input side, that every block starts with: a mid-network layer.
const DEFAULT_CHANNELS: [usize; 2] = [240, 240];
const DEFAULT_RESOLUTION: usize = 28;

type Builder = fn(&mut GraphBuilder, NodeId, usize, usize, &Variant) -> Result<NodeId>;

/// Blocks whose expansion ratio t is a knob, with the value their network uses.
const EXPANDING: [(&str, usize); 5] = [
    ("block_inverted_residual", 6),
    ("block_mobilenet_v3", 4),
    ("block_mbconv", 6),
    ("block_fused_mbconv", 4),
    ("block_ghost_bottleneck", 3),
];

/// `(id, title, what it is, builder)`.
const BLOCKS: [(&str, &str, &str, Builder); 16] = [
    ("block_conv3x3", "Plain 3×3 conv", "vanilla 3×3 convolution + BN + ReLU: the baseline", conv3x3),
    ("block_fire", "Fire (SqueezeNet)", "1×1 squeeze to out/8, then 1×1 and 3×3 expands of out/2 each", fire),
    (
        "block_sqnxt",
        "SqNxt block (SqueezeNext)",
        "1×1 to in/2, 1×1 to in/4, 3×1 and 1×3 back to in/2, 1×1 out, residual",
        sqnxt,
    ),
    (
        "block_depthwise_separable",
        "Depthwise separable (MobileNet)",
        "3×3 depthwise + 1×1 pointwise",
        depthwise_separable,
    ),
    (
        "block_igc",
        "IGC block (IGCV1, L = 4)",
        "two interleaved group convs: 3×3 with 4 primary groups, shuffle, 1×1 with out/4 secondary groups, shuffle back; residual",
        igc,
    ),
    (
        "block_igcv2",
        "IGCV2 block (L = 3)",
        "3×3 depthwise, then two interleaved group 1×1 convs with K2·K3 = C channels per branch (in = out)",
        igcv2,
    ),
    (
        "block_channel_wise",
        "Group channel-wise module (ChannelNet)",
        "channel-wise conv (2 filters of length 8 along the channels), then 2 depthwise separable blocks with 2-group 1×1 convs (in = out)",
        channel_wise,
    ),
    (
        "block_inverted_residual",
        "Inverted residual (MobileNetV2)",
        "1×1 expand ×6, 3×3 depthwise, linear 1×1",
        inverted_residual,
    ),
    (
        "block_mobilenet_v3",
        "V3 block with SE and h-swish",
        "1×1 expand ×4, 5×5 depthwise, SE, linear 1×1, h-swish",
        mobilenet_v3,
    ),
    (
        "block_shufflenet_unit",
        "ShuffleNet unit (g = 3)",
        "grouped 1×1, shuffle, 3×3 depthwise, grouped 1×1",
        shufflenet_unit,
    ),
    (
        "block_shufflenet_v2_unit",
        "ShuffleNet V2 unit",
        "channel split, 1×1, 3×3 depthwise, 1×1, concat, shuffle",
        shufflenet_v2_unit,
    ),
    ("block_mbconv", "MBConv (EfficientNet)", "1×1 expand ×6, 3×3 depthwise, SE, linear 1×1", mbconv),
    ("block_fused_mbconv", "Fused-MBConv (EfficientNetV2)", "3×3 expand ×4 in one conv, linear 1×1", fused_mbconv),
    (
        "block_ghost_module",
        "Ghost module (s = 2, d = 3)",
        "1×1 conv to out/2 intrinsic maps, 3×3 depthwise ghosts",
        ghost_module,
    ),
    (
        "block_ghost_bottleneck",
        "Ghost bottleneck",
        "Ghost module ×3 expansion, Ghost module back, residual",
        ghost_bottleneck,
    ),
    (
        "block_g_ghost_stage",
        "G-Ghost stage (4 blocks, stride 2)",
        "RegNetX stage whose middle blocks see only part of the channels; the rest are cheap ghosts of the first block",
        g_ghost_stage,
    ),
];

pub fn models() -> Vec<ModelEntry> {
    BLOCKS
        .iter()
        .enumerate()
        .map(|(row, &(id, title, what, _))| ModelEntry {
            expansion: EXPANDING.iter().find(|(block, _)| *block == id).map(|&(_, t)| t),
            ghost: id.starts_with("block_ghost").then_some(crate::ghostnet::DEFAULT_GHOST),
            id,
            title,
            family: "Blocks",
            paper: what,
            reference: "the block function of its network in this zoo",
            default: Variant { num_classes: 0, channels: Some(DEFAULT_CHANNELS), ..imagenet(1.0, DEFAULT_RESOLUTION) },
            block: true,
            input: InputSpec::imagenet(DEFAULT_RESOLUTION, DEFAULT_RESOLUTION),
            builder: build,
            row,
            ..NETWORK
        })
        .collect()
}

fn build(variant: &Variant, index: usize) -> Result<Graph> {
    let [inp, out] = variant.channels.unwrap_or(DEFAULT_CHANNELS);
    let &(id, _, _, body) = crate::registry::table_row(&BLOCKS, index, "blocks")?;
    let mut b = GraphBuilder::new(format!("{id} {inp}→{out} @{}²", variant.resolution));
    let x = b.input(Shape::map(inp, variant.resolution, variant.resolution))?;
    body(&mut b, x, inp, out, variant)?;
    b.finish()
}

fn conv3x3(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    b.block("Conv3x3", "block", |b| {
        b.conv_bn_act(["block.conv", "block.bn", "block.relu"], x, Conv2d::new(inp, out, 3, 1), Some(Activation::Relu))
    })
}

fn fire(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    crate::squeezenet::fire(b, "block", x, inp, (out / 8).max(1), out / 2, out - out / 2)
}

fn sqnxt(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    crate::squeezenext::sqnxt_block(b, "block", x, inp, out, 1, true)
}

fn igc(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    crate::igcv1::fusion(b, "block", x, inp, out, 1, 4)
}

/// Blocks that keep their channel count refuse a different `out` with a clear message.
fn same_channels(inp: usize, out: usize, what: &str) -> Result<()> {
    if inp == out {
        Ok(())
    } else {
        Err(convscope_graph::BuildError::Invalid {
            node: "block".to_owned(),
            message: format!("{what} keeps its channel count: choose in = out (got {inp} → {out})"),
        })
    }
}

fn igcv2(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    same_channels(inp, out, "an IGCV2 block")?;
    crate::igcv2::block(b, "block", x, inp)
}

fn channel_wise(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    same_channels(inp, out, "a group channel-wise module")?;
    crate::channelnet::channel_wise_module(b, "block", x, inp)
}

fn depthwise_separable(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    b.block("DepthwiseSeparable", "block", |b| {
        let dw = Conv2d::new(inp, inp, 3, 1).depthwise();
        let y = b.conv_bn_act(["block.conv_dw", "block.bn1", "block.bn1.act"], x, dw, Some(Activation::Relu))?;
        b.conv_bn_act(
            ["block.conv_pw", "block.bn2", "block.bn2.act"],
            y,
            Conv2d::new(inp, out, 1, 1),
            Some(Activation::Relu),
        )
    })
}

fn inverted_residual(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, v: &Variant) -> Result<NodeId> {
    crate::mobilenet_v2::inverted_residual(b, "block", x, inp, out, 1, v.expansion.unwrap_or(6))
}

fn mobilenet_v3(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, v: &Variant) -> Result<NodeId> {
    let row = crate::mobilenet_v3::bneck(inp, 5, v.expansion.unwrap_or(4) * inp, out, true, Activation::HardSwish, 1);
    crate::mobilenet_v3::bottleneck(b, "block", x, &row, &|c| c)
}

fn shufflenet_unit(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    let stride = if inp == out { 1 } else { 2 };
    crate::shufflenet_v1::unit(b, "block", x, inp, out, 3, false, stride)
}

fn shufflenet_v2_unit(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    let stride = if inp == out { 1 } else { 2 };
    crate::shufflenet_v2::unit(b, "block", x, inp, out, stride)
}

fn mbconv(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, v: &Variant) -> Result<NodeId> {
    crate::efficientnet::mbconv(b, "block", x, inp, out, v.expansion.unwrap_or(6), 3, 1, 1e-5)
}

fn fused_mbconv(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, v: &Variant) -> Result<NodeId> {
    crate::efficientnet_v2::fused_mbconv(b, "block", x, inp, out, v.expansion.unwrap_or(4), 3, 1)
}

fn ghost_module(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, v: &Variant) -> Result<NodeId> {
    crate::ghostnet::ghost_module(b, "block", x, inp, out, true, v.ghost.unwrap_or(crate::ghostnet::DEFAULT_GHOST))
}

fn ghost_bottleneck(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, v: &Variant) -> Result<NodeId> {
    let ghost = v.ghost.unwrap_or(crate::ghostnet::DEFAULT_GHOST);
    crate::ghostnet::bottleneck(b, "block", x, inp, v.expansion.unwrap_or(3) * inp, out, 3, 1, false, ghost)
}

fn g_ghost_stage(b: &mut GraphBuilder, x: NodeId, inp: usize, out: usize, _: &Variant) -> Result<NodeId> {
    // Group width 48 and four blocks, as in G-Ghost RegNetX-3.2GF's second stage.
    crate::g_ghostnet::ghost_stage(b, "block", x, inp, out, 48, 4)
}

#[cfg(test)]
mod tests {
    use convscope_graph::GraphCost;

    use super::*;

    fn cost(id: &str, inp: usize, out: usize, r: usize) -> convscope_graph::Cost {
        let entry = crate::find(id).expect("registered");
        let variant = Variant { channels: Some([inp, out]), resolution: r, ..entry.default };
        GraphCost::of(&entry.build(&variant).expect("builds")).total
    }

    #[test]
    fn every_block_builds_at_its_defaults_and_keeps_the_map_size() {
        assert_eq!(models().len(), BLOCKS.len(), "every block is registered");
        for entry in models() {
            let graph = entry.build_default().unwrap_or_else(|err| panic!("{}: {err}", entry.id));
            let output = graph.output().expect("nodes").output;
            // The G-Ghost stage starts with a strided block, as every RegNet stage does.
            let side = if entry.id == "block_g_ghost_stage" { 14 } else { 28 };
            assert_eq!(output, Shape::map(240, side, side), "{}", entry.id);
        }
    }

    #[test]
    fn depthwise_separable_saves_what_the_mobilenet_paper_says() {
        // MobileNet paper, Section 3.1: a depthwise separable conv costs 1/N + 1/D_K² of a standard conv
        // (N output channels, D_K = 3); BN is not part of that count, so compare MACs.
        let (inp, out, r) = (128, 256, 14);
        let plain = cost("block_conv3x3", inp, out, r).macs as f64;
        let dws = cost("block_depthwise_separable", inp, out, r).macs as f64;
        assert!((dws / plain - (1.0 / out as f64 + 1.0 / 9.0)).abs() < 1e-12);
    }

    #[test]
    fn a_ghost_module_halves_a_pointwise_conv() {
        // GhostNet paper, Eq. 4–5: with s = 2 and d = 3, a Ghost module's 1×1 part is half the 1×1 conv it
        // replaces, plus a cheap depthwise 3×3 on the intrinsic maps: (in·out/2 + out/2·9) MACs per pixel.
        let (inp, out, r) = (64, 128, 28);
        let ghost = cost("block_ghost_module", inp, out, r);
        assert_eq!(ghost.macs, (r * r) as u64 * (inp * out / 2 + out / 2 * 9) as u64);
    }

    #[test]
    fn a_zero_expansion_is_refused_for_every_expanding_model() {
        for entry in crate::registry().into_iter().filter(|e| e.expansion.is_some()) {
            let variant = Variant { expansion: Some(0), ..entry.default };
            assert!(
                matches!(
                    entry.build(&variant),
                    Err(convscope_graph::BuildError::ZeroSize { what: "expansion ratio", .. })
                ),
                "{}",
                entry.id
            );
        }
    }

    #[test]
    fn impossible_channel_choices_are_build_errors() {
        let entry = crate::find("block_shufflenet_unit").expect("registered");
        let variant = Variant { channels: Some([240, 250]), ..entry.default };
        assert!(entry.build(&variant).is_err(), "250 − 240 channels cannot be split into 3 groups");
    }
}
