//! # GhostNet
//!
//! Han, Wang, Tian, Guo, Xu, Xu. "GhostNet: More Features from Cheap Operations", CVPR 2020,
//! arXiv:1911.11907. Structure and names: timm `ghostnet_050` / `ghostnet_100` / `ghostnet_130` (timm 1.0),
//! which follows the official huawei-noah implementation.
//!
//! A Ghost module makes `ceil(out / s)` intrinsic maps with a 1×1 conv and the rest with cheap d×d
//! depthwise convs, concatenates and trims to `out` (the released models: s = 2, d = 3; the Ghost knobs
//! change both, which no longer matches a released checkpoint).
//! Deviations: none known against timm.

use convscope_graph::{Activation, BuildError, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::{Result, make_divisible, squeeze_excite};
use crate::registry::{ModelEntry, NETWORK, Published, Variant, imagenet};

/// `(kernel, expansion channels, output channels, SE ratio > 0, stride)` — one row of the paper's Table 1.
type Row = (usize, usize, usize, bool, usize);

/// The stages of `blocks.0` … `blocks.8`.
const STAGES: [&[Row]; 9] = [
    &[(3, 16, 16, false, 1)],
    &[(3, 48, 24, false, 2)],
    &[(3, 72, 24, false, 1)],
    &[(5, 72, 40, true, 2)],
    &[(5, 120, 40, true, 1)],
    &[(3, 240, 80, false, 2)],
    &[
        (3, 200, 80, false, 1),
        (3, 184, 80, false, 1),
        (3, 184, 80, false, 1),
        (3, 480, 112, true, 1),
        (3, 672, 112, true, 1),
    ],
    &[(5, 672, 160, true, 2)],
    &[(5, 960, 160, false, 1), (5, 960, 160, true, 1), (5, 960, 160, false, 1), (5, 960, 160, true, 1)],
];

/// Ghost ratio s and cheap-operation kernel d of the released models (`Variant::ghost` overrides them).
pub(crate) const DEFAULT_GHOST: [usize; 2] = [2, 3];

pub fn models() -> Vec<ModelEntry> {
    let entry = |id, title, width, params, macs, top1| ModelEntry {
        id,
        title,
        family: "GhostNet",
        paper: "Han et al. 2020, arXiv:1911.11907",
        reference: "timm ghostnet_050 / ghostnet_100 / ghostnet_130",
        default: imagenet(width, 224),
        width: true,
        ghost: Some(crate::ghostnet::DEFAULT_GHOST),
        published: Some(Published {
            resolution: 224,
            params: Some(params),
            params_without_bn: false,
            macs: Some(macs),
            top1: Some(top1),
            source: "Han et al. 2020, Table 7",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    };
    vec![
        entry("ghostnet_050", "GhostNet 0.5×", 0.5, 2.6e6, 42e6, 66.2),
        entry("ghostnet_100", "GhostNet 1.0×", 1.0, 5.2e6, 141e6, 73.9),
        entry("ghostnet_130", "GhostNet 1.3×", 1.3, 7.3e6, 226e6, 75.7),
    ]
}

fn build(variant: &Variant) -> Result<Graph> {
    let width = variant.width;
    let ghost = variant.ghost.unwrap_or(DEFAULT_GHOST);
    let mut b = GraphBuilder::new(format!("ghostnet ×{width}"));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let stem = make_divisible(16.0 * width, 4);
    let mut x = b.block("stem", "conv_stem", |b| {
        b.conv_bn_act(["conv_stem", "bn1", "act1"], x, Conv2d::new(3, stem, 3, 2), Some(Activation::Relu))
    })?;
    let mut channels = stem;
    let mut last_exp = 16;
    for (s, rows) in STAGES.iter().enumerate() {
        let stage = format!("blocks.{s}");
        x = b.block("stage", &stage, |b| {
            let mut x = x;
            for (i, &(k, exp, c, se, stride)) in rows.iter().enumerate() {
                let out = make_divisible(c as f64 * width, 4);
                let mid = make_divisible(exp as f64 * width, 4);
                x = bottleneck(b, &format!("{stage}.{i}"), x, channels, mid, out, k, stride, se, ghost)?;
                channels = out;
                last_exp = exp;
            }
            Ok(x)
        })?;
    }
    let head = make_divisible(last_exp as f64 * width, 4);
    let s = STAGES.len();
    let x = b.block("stage", format!("blocks.{s}"), |b| {
        let p = format!("blocks.{s}.0");
        let names = [format!("{p}.conv"), format!("{p}.bn1"), format!("{p}.bn1.act")];
        b.conv_bn_act([&names[0], &names[1], &names[2]], x, Conv2d::new(channels, head, 1, 1), Some(Activation::Relu))
    })?;
    b.block("classifier", "classifier", |b| {
        let x = b.global_avg_pool("global_pool", x)?;
        let x = b.conv("conv_head", x, Conv2d::new(head, 1280, 1, 1).bias(true))?;
        let x = b.act("act2", x, Activation::Relu)?;
        let x = b.flatten("flatten", x)?;
        let x = b.dropout("dropout", x, 0.2)?;
        b.linear("classifier", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// timm's `GhostModule`: primary 1×1 conv to `ceil(out / s)` maps, cheap depthwise d×d conv for the
/// others, concat, trim to `out`.
pub(crate) fn ghost_module(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    out: usize,
    relu: bool,
    [ratio, kernel]: [usize; 2],
) -> Result<NodeId> {
    if ratio < 2 || kernel == 0 || kernel.is_multiple_of(2) {
        return Err(BuildError::Invalid {
            node: p.to_owned(),
            message: format!(
                "a Ghost module needs a ratio s ≥ 2 and an odd cheap kernel d, got s = {ratio}, d = {kernel}"
            ),
        });
    }
    let init = out.div_ceil(ratio);
    let new = init * (ratio - 1);
    let act = relu.then_some(Activation::Relu);
    b.block("GhostModule", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let primary = b.conv_bn_act(
            [&n("primary_conv.0"), &n("primary_conv.1"), &n("primary_conv.2")],
            x,
            Conv2d::new(inp, init, 1, 1),
            act,
        )?;
        let cheap_conv = Conv2d::new(init, new, kernel, 1).groups(init);
        let cheap = b.conv_bn_act(
            [&n("cheap_operation.0"), &n("cheap_operation.1"), &n("cheap_operation.2")],
            primary,
            cheap_conv,
            act,
        )?;
        let y = b.concat(&n("cat"), &[primary, cheap])?;
        if init + new == out { Ok(y) } else { b.slice(&n("trim"), y, 0, out) }
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn bottleneck(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    mid: usize,
    out: usize,
    k: usize,
    stride: usize,
    se: bool,
    ghost: [usize; 2],
) -> Result<NodeId> {
    b.block("GhostBottleneck", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let mut y = ghost_module(b, &n("ghost1"), x, inp, mid, true, ghost)?;
        if stride > 1 {
            let dw = Conv2d::new(mid, mid, k, stride).depthwise();
            y = b.conv_bn_act([&n("conv_dw"), &n("bn_dw"), ""], y, dw, None)?;
        }
        if se {
            let squeeze = make_divisible(mid as f64 * 0.25, 4);
            y = squeeze_excite(
                b,
                &n("se"),
                [&n("se.conv_reduce"), &n("se.conv_expand")],
                y,
                squeeze,
                Activation::Relu,
                Activation::HardSigmoid,
            )?;
        }
        y = ghost_module(b, &n("ghost2"), y, mid, out, false, ghost)?;
        let shortcut = if inp == out && stride == 1 {
            x
        } else {
            b.block("shortcut", n("shortcut"), |b| {
                let dw = Conv2d::new(inp, inp, k, stride).depthwise();
                let s = b.conv_bn_act([&n("shortcut.0"), &n("shortcut.1"), ""], x, dw, None)?;
                b.conv_bn_act([&n("shortcut.2"), &n("shortcut.3"), ""], s, Conv2d::new(inp, out, 1, 1), None)
            })?
        };
        b.add(&n("add"), y, shortcut)
    })
}
