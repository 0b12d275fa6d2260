//! # MicroNet M0–M3
//!
//! Li, Chen, Dai, Chen, Yuan, Liu, Zhang, Wang, Vasconcelos. "MicroNet: Improving Image Recognition with
//! Extremely Low FLOPs", ICCV 2021, arXiv:2108.05894. Structure and names: the official
//! liyunsheng13/micronet `backbone/micronet.py` + `activation.py` (@44790b0) with the configurations and
//! flags of its `script/eval_micronet_m*.sh` (DYMicroBlock, spatial-separable stem, grouped pointwise convs,
//! shuffles, dynamic Shift-Max with reduction 8 and scale 2).
//!
//! Micro-factorized convolutions: k×1 and 1×k depthwise convs instead of k×k, grouped 1×1 convs with
//! shuffles between them; dynamic Shift-Max: each channel mixed with a shifted neighbour by coefficients a
//! tiny MLP computes from the globally pooled input, the larger of two such mixtures kept.
//! Deviations: none known against the official code. Its README's MACs count the dynamic activations
//! too, as the paper says.

use convscope_graph::{Activation, BuildError, Conv2d, Graph, GraphBuilder, NodeId, Padding, Shape};

use crate::common::{Result, make_divisible};
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// One row of `microconfig.py`: stride, repeats, output channels, kernel, expansions `(c1, c2)`,
/// channels-per-group `(g1, g2)`, the output 1×1's `(hidden, groups, shuffle groups)`, which of the three
/// activations are dynamic `(y1, y2, y3)` (0: static ReLU6 or none, 1: one branch, 2: two branches and
/// ReLU-like), and the reduction multiplier `r`.
type Row = [usize; 15];

const M0: [Row; 7] = [
    [2, 1, 8, 3, 2, 2, 0, 4, 8, 2, 2, 2, 0, 1, 1],
    [2, 1, 12, 3, 2, 2, 0, 8, 12, 4, 4, 2, 2, 1, 1],
    [2, 1, 16, 5, 2, 2, 0, 12, 16, 4, 4, 2, 2, 1, 1],
    [1, 1, 32, 5, 1, 4, 4, 4, 32, 4, 4, 2, 2, 1, 1],
    [2, 1, 64, 5, 1, 4, 8, 8, 64, 8, 8, 2, 2, 1, 1],
    [1, 1, 96, 3, 1, 4, 8, 8, 96, 8, 8, 2, 2, 1, 2],
    [1, 1, 384, 3, 1, 4, 12, 12, 0, 0, 0, 2, 2, 1, 2],
];
const M1: [Row; 7] = [
    [2, 1, 8, 3, 2, 2, 0, 6, 8, 2, 2, 2, 0, 1, 1],
    [2, 1, 16, 3, 2, 2, 0, 8, 16, 4, 4, 2, 2, 1, 1],
    [2, 1, 16, 5, 2, 2, 0, 16, 16, 4, 4, 2, 2, 1, 1],
    [1, 1, 32, 5, 1, 6, 4, 4, 32, 4, 4, 2, 2, 1, 1],
    [2, 1, 64, 5, 1, 6, 8, 8, 64, 8, 8, 2, 2, 1, 1],
    [1, 1, 96, 3, 1, 6, 8, 8, 96, 8, 8, 2, 2, 1, 2],
    [1, 1, 576, 3, 1, 6, 12, 12, 0, 0, 0, 2, 2, 1, 2],
];
const M2: [Row; 9] = [
    [2, 1, 12, 3, 2, 2, 0, 8, 12, 4, 4, 2, 0, 1, 1],
    [2, 1, 16, 3, 2, 2, 0, 12, 16, 4, 4, 2, 2, 1, 1],
    [1, 1, 24, 3, 2, 2, 0, 16, 24, 4, 4, 2, 2, 1, 1],
    [2, 1, 32, 5, 1, 6, 6, 6, 32, 4, 4, 2, 2, 1, 1],
    [1, 1, 32, 5, 1, 6, 8, 8, 32, 4, 4, 2, 2, 1, 2],
    [1, 1, 64, 5, 1, 6, 8, 8, 64, 8, 8, 2, 2, 1, 2],
    [2, 1, 96, 5, 1, 6, 8, 8, 96, 8, 8, 2, 2, 1, 2],
    [1, 1, 128, 3, 1, 6, 12, 12, 128, 8, 8, 2, 2, 1, 2],
    [1, 1, 768, 3, 1, 6, 16, 16, 0, 0, 0, 2, 2, 1, 2],
];
const M3: [Row; 12] = [
    [2, 1, 16, 3, 2, 2, 0, 12, 16, 4, 4, 0, 2, 0, 1],
    [2, 1, 24, 3, 2, 2, 0, 16, 24, 4, 4, 0, 2, 0, 1],
    [1, 1, 24, 3, 2, 2, 0, 24, 24, 4, 4, 0, 2, 0, 1],
    [2, 1, 32, 5, 1, 6, 6, 6, 32, 4, 4, 0, 2, 0, 1],
    [1, 1, 32, 5, 1, 6, 8, 8, 32, 4, 4, 0, 2, 0, 2],
    [1, 1, 64, 5, 1, 6, 8, 8, 48, 8, 8, 0, 2, 0, 2],
    [1, 1, 80, 5, 1, 6, 8, 8, 80, 8, 8, 0, 2, 0, 2],
    [1, 1, 80, 5, 1, 6, 10, 10, 80, 8, 8, 0, 2, 0, 2],
    [2, 1, 120, 5, 1, 6, 10, 10, 120, 10, 10, 0, 2, 0, 2],
    [1, 1, 120, 5, 1, 6, 12, 12, 120, 10, 10, 0, 2, 0, 2],
    [1, 1, 144, 3, 1, 6, 12, 12, 144, 12, 12, 0, 2, 0, 2],
    [1, 1, 864, 3, 1, 6, 12, 12, 0, 0, 0, 0, 2, 0, 2],
];

/// The flags of one `eval_micronet_m*.sh`.
struct Config {
    rows: &'static [Row],
    stem: usize,
    stem_groups: (usize, usize),
    out: usize,
    dropout: f32,
    /// INIT_A and INIT_B of the two-branch Shift-Max.
    init_a: [f32; 2],
    init_b: [f32; 2],
}

const CONFIGS: [Config; 4] = [
    Config { rows: &M0, stem: 4, stem_groups: (2, 2), out: 640, dropout: 0.05, init_a: [1.0, 1.0], init_b: [0.0, 0.0] },
    Config { rows: &M1, stem: 6, stem_groups: (3, 2), out: 960, dropout: 0.05, init_a: [1.0, 1.0], init_b: [0.0, 0.0] },
    Config { rows: &M2, stem: 8, stem_groups: (4, 2), out: 1024, dropout: 0.1, init_a: [1.0, 1.0], init_b: [0.0, 0.0] },
    Config {
        rows: &M3,
        stem: 12,
        stem_groups: (4, 3),
        out: 1024,
        dropout: 0.1,
        init_a: [1.0, 0.5],
        init_b: [0.0, 0.5],
    },
];

/// ACT_MAX 2.0, doubled by `DYShiftMax`: coefficients are `(v − 0.5) · 4`.
const SCALE: f32 = 4.0;
/// REDUCTION 8, times the row's `r`.
const REDUCTION: usize = 8;
/// INIT_A_BLOCK3 (the one-branch Shift-Max after the output 1×1).
const INIT_BLOCK3: ([f32; 2], [f32; 2]) = ([1.0, 0.0], [0.0, 0.0]);

pub fn models() -> Vec<ModelEntry> {
    let entry = |id, title, builder: fn(&Variant, usize) -> Result<Graph>, params, macs, top1| ModelEntry {
        id,
        title,
        family: "MicroNet",
        paper: "Li et al. 2021, arXiv:2108.05894",
        reference: "liyunsheng13/micronet backbone/micronet.py (official, eval_micronet_m*.sh flags)",
        published: Some(Published {
            resolution: 224,
            params: Some(params),
            params_without_bn: false,
            macs: Some(macs),
            top1: Some(top1),
            source: "liyunsheng13/micronet README (M0 4M MAdds 1.0M params 46.6%; M1 6M 1.8M 51.4%; \
                     M2 12M 2.4M 59.4%; M3 21M 2.6M 62.5%)",
        }),
        builder,
        ..NETWORK
    };
    vec![
        entry("micronet_m0", "MicroNet-M0", |v, _| build(v, &CONFIGS[0]), 1.0e6, 4e6, 46.6),
        entry("micronet_m1", "MicroNet-M1", |v, _| build(v, &CONFIGS[1]), 1.8e6, 6e6, 51.4),
        entry("micronet_m2", "MicroNet-M2", |v, _| build(v, &CONFIGS[2]), 2.4e6, 12e6, 59.4),
        entry("micronet_m3", "MicroNet-M3", |v, _| build(v, &CONFIGS[3]), 2.6e6, 21e6, 62.5),
    ]
}

fn build(variant: &Variant, config: &Config) -> Result<Graph> {
    let mut b = GraphBuilder::new("micronet");
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let (g1, g2) = config.stem_groups;
    if g1 * g2 != config.stem {
        return Err(BuildError::Invalid {
            node: "features.0".to_owned(),
            message: "stem groups must multiply to the stem width".to_owned(),
        });
    }
    let mut x = b.block("stem", "features.0", |b| {
        let p = "features.0.stem.0.conv";
        let y = b.conv(
            &format!("{p}.0"),
            x,
            Conv2d::new(3, g1, 1, 1).kernel(3, 1).padding(Padding::symmetric(1, 0)).strides(2, 1),
        )?;
        let y = b.bn(&format!("{p}.1"), y)?;
        let conv =
            Conv2d::new(g1, g1 * g2, 1, 1).kernel(1, 3).padding(Padding::symmetric(0, 1)).strides(1, 2).groups(g1);
        let y = b.conv(&format!("{p}.2"), y, conv)?;
        let y = b.bn(&format!("{p}.3"), y)?;
        let y = b.shuffle(&format!("{p}.4"), y, g1)?;
        b.act("features.0.stem.1", y, Activation::Relu6)
    })?;
    let mut channels = config.stem;
    let mut index = 1;
    for row in config.rows {
        let [stride, repeats, out, ..] = *row;
        for i in 0..repeats {
            let s = if i == 0 { stride } else { 1 };
            x = block(&mut b, &format!("features.{index}"), x, channels, out, s, row, config)?;
            channels = out;
            index += 1;
        }
    }
    b.block("classifier", "classifier", |b| {
        let y = b.act("avgpool.0", x, Activation::Relu6)?;
        let y = b.global_avg_pool("avgpool.1", y)?;
        let y = b.act("avgpool.2", y, Activation::HardSwish)?;
        let y = b.flatten("flatten", y)?;
        let y = swish_linear(b, "classifier.0", y, config.out)?;
        let y = b.dropout("classifier.1", y, config.dropout)?;
        swish_linear(b, "classifier.2", y, variant.num_classes)
    })?;
    b.finish()
}

/// `SwishLinear`: Linear, BatchNorm1d, h-swish.
fn swish_linear(b: &mut GraphBuilder, p: &str, x: NodeId, out: usize) -> Result<NodeId> {
    let y = b.linear(&format!("{p}.linear.0"), x, out, true)?;
    let y = b.bn(&format!("{p}.linear.1"), y)?;
    b.act(&format!("{p}.linear.2"), y, Activation::HardSwish)
}

/// A k×1 then 1×k depthwise pair (`DepthSpatialSepConv`), expanding by `e1` then `e2`.
fn depth_spatial_sep(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    (e1, e2): (usize, usize),
    k: usize,
    s: usize,
) -> Result<NodeId> {
    let (mid, out) = (inp * e1, inp * e1 * e2);
    let y = b.conv(
        &format!("{p}.conv.0"),
        x,
        Conv2d::new(inp, mid, 1, 1).kernel(k, 1).padding(Padding::symmetric(k / 2, 0)).strides(s, 1).groups(inp),
    )?;
    let y = b.bn(&format!("{p}.conv.1"), y)?;
    let conv = Conv2d::new(mid, out, 1, 1).kernel(1, k).padding(Padding::symmetric(0, k / 2)).strides(1, s).groups(mid);
    let y = b.conv(&format!("{p}.conv.2"), y, conv)?;
    b.bn(&format!("{p}.conv.3"), y)
}

/// `GroupConv`: grouped 1×1 and BN.
fn group_conv(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize, out: usize, groups: usize) -> Result<NodeId> {
    let y = b.conv(&format!("{p}.conv.0"), x, Conv2d::new(inp, out, 1, 1).groups(groups))?;
    b.bn(&format!("{p}.conv.1"), y)
}

/// `DYShiftMax(c, c)` at module path `p`: pool, Linear to `squeeze`, ReLU, Linear to `2·branches·c`,
/// h-sigmoid, then the shift-max itself. `shift_groups` is the official `g` after its expansion rule.
#[allow(clippy::too_many_arguments)]
fn shift_max(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    c: usize,
    two_branches: bool,
    reduction: usize,
    shift_groups: usize,
    init: ([f32; 2], [f32; 2]),
) -> Result<NodeId> {
    let branches = if two_branches { 2 } else { 1 };
    let squeeze = make_divisible((c / reduction.max(1)) as f64, 4).max(4);
    b.block("DYShiftMax", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let y = b.global_avg_pool(&n("avg_pool"), x)?;
        let y = b.flatten(&n("flatten"), y)?;
        let y = b.linear(&n("fc.0"), y, squeeze, true)?;
        let y = b.act(&n("fc.1"), y, Activation::Relu)?;
        let y = b.linear(&n("fc.2"), y, 2 * branches * c, true)?;
        let y = b.act(&n("fc.3"), y, Activation::HardSigmoid)?;
        b.dynamic_shift_max(&n("shift_max"), x, y, shift_groups, branches, SCALE, init)
    })
}

/// The official `g` of `DYShiftMax`: the second of the groups it is given, or, with `expansion`, the
/// number of channels divided by it.
fn shift_groups(c: usize, g: usize, expansion: bool) -> usize {
    if g != 1 && expansion { c / g.max(1) } else { g }
}

#[allow(clippy::too_many_arguments)]
fn block(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    out: usize,
    stride: usize,
    row: &Row,
    config: &Config,
) -> Result<NodeId> {
    let [_, _, _, k, c1, c2, g1, g2, _c3, gg1, gg2, y1, y2, y3, r] = *row;
    let hidden = inp * c1 * c2;
    let reduction = REDUCTION * r;
    let init2 = (config.init_a, config.init_b);
    b.block("DYMicroBlock", p, |b| {
        let l = |i: usize| format!("{p}.layers.{i}");
        let mut y = x;
        if g1 == 0 {
            // Micro-factorized depthwise first (the early, thin blocks).
            y = depth_spatial_sep(b, &l(0), y, inp, (c1, c2), k, stride)?;
            y = if y2 > 0 {
                shift_max(b, &l(1), y, hidden, y2 == 2, reduction, shift_groups(hidden, g2, false), init2)?
            } else {
                b.act(&l(1), y, Activation::Relu6)?
            };
            y = b.shuffle(&l(2), y, g2)?;
            if y2 != 0 {
                y = b.shuffle(&l(3), y, hidden / 2)?;
            }
            y = group_conv(b, &l(4), y, hidden, out, gg1)?;
            if y3 > 0 {
                y = shift_max(b, &l(5), y, out, false, reduction / 2, shift_groups(out, gg2, false), INIT_BLOCK3)?;
            }
            y = b.shuffle(&l(6), y, gg2)?;
            if out.is_multiple_of(2) && y3 != 0 {
                y = b.shuffle(&l(7), y, out / 2)?;
            }
        } else if gg2 == 0 {
            // The last block: a grouped 1×1 expansion and its dynamic activation.
            y = group_conv(b, &l(0), y, inp, hidden, g1)?;
            if y3 > 0 {
                y = shift_max(b, &l(1), y, hidden, false, reduction, shift_groups(hidden, g2, false), INIT_BLOCK3)?;
            }
        } else {
            y = group_conv(b, &l(0), y, inp, hidden, g1)?;
            y = if y1 > 0 {
                shift_max(b, &l(1), y, hidden, y1 == 2, reduction, shift_groups(hidden, g2, false), init2)?
            } else {
                b.act(&l(1), y, Activation::Relu6)?
            };
            y = b.shuffle(&l(2), y, g2)?;
            y = depth_spatial_sep(b, &l(3), y, hidden, (1, 1), k, stride)?;
            y = if y2 > 0 {
                shift_max(b, &l(5), y, hidden, y2 == 2, reduction, shift_groups(hidden, g2, true), init2)?
            } else {
                b.act(&l(5), y, Activation::Relu6)?
            };
            if y1 != 0 && y2 != 0 {
                y = b.shuffle(&l(6), y, hidden / 4)?;
            } else if !(y1 == 0 && y2 == 0) {
                y = b.shuffle(&l(6), y, hidden / 2)?;
            }
            y = group_conv(b, &l(7), y, hidden, out, gg1)?;
            if y3 > 0 {
                let red = if out < hidden { reduction / 2 } else { reduction };
                y = shift_max(b, &l(8), y, out, false, red, shift_groups(out, gg2, false), INIT_BLOCK3)?;
            }
            y = b.shuffle(&l(9), y, gg2)?;
            if y3 != 0 {
                y = b.shuffle(&l(10), y, out / 2)?;
            }
        }
        if stride == 1 && inp == out { b.add(&format!("{p}.add"), y, x) } else { Ok(y) }
    })
}
