//! # ShuffleNet (V1)
//!
//! Zhang, Zhou, Lin, Sun. "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile
//! Devices", CVPR 2018, arXiv:1707.01083. Structure and names: the official
//! megvii-model/ShuffleNet-Series `ShuffleNetV1` (network.py @d8e4db1): `first_conv`, `maxpool`,
//! `features.N.{branch_main_1,branch_main_2}`, a 3×3 average-pool shortcut concatenated in the strided
//! units, `classifier.0` (no bias).
//!
//! Groups g ∈ {1, 2, 3, 4, 8} with the paper's Table 1 widths (stage 2: 144, 200, 240, 272, 384 channels),
//! scaled by s. The official tables exist for g = 3 and g = 8 only; their rule — stage channels rounded to
//! a multiple of 4g, stem 12 / 24 / 48 for s ≤ 0.5 / ≤ 1.5 / above, raised until the strided unit's
//! branch divides by g — reproduces both tables and is applied to the other groups too.
//! Deviation from the paper kept from the official code: its channel shuffle views channels as
//! `[C / g, g]` and transposes, i.e. a shuffle with C / g groups in this IR's convention.

use convscope_graph::{Activation, BuildError, Conv2d, Graph, GraphBuilder, NodeId, Pool, Shape};

use crate::common::Result;
use crate::registry::{ModelEntry, NETWORK, Published, Variant, imagenet};

/// Stage repeats (stage 2–4) — the paper's Table 1.
const REPEATS: [usize; 3] = [4, 8, 4];

/// Output channels of stage 2 at 1× for each number of groups — the paper's Table 1.
fn stage2_channels(groups: usize) -> Option<usize> {
    match groups {
        1 => Some(144),
        2 => Some(200),
        3 => Some(240),
        4 => Some(272),
        8 => Some(384),
        _ => None,
    }
}

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "shufflenet_v1",
        title: "ShuffleNet V1",
        family: "ShuffleNet V1",
        paper: "Zhang et al. 2018, arXiv:1707.01083",
        reference: "megvii-model/ShuffleNet-Series ShuffleNetV1 (official)",
        default: Variant { groups: Some(3), ..imagenet(1.0, 224) },
        width: true,
        groups: &[1, 2, 3, 4, 8],
        published: Some(Published {
            resolution: 224,
            params: Some(1.9e6),
            params_without_bn: false,
            macs: Some(138e6),
            top1: Some(67.8),
            source: "megvii-model/ShuffleNet-Series ShuffleNetV1 README (1.0x, g = 3: 138M FLOPs, 1.9M params, 32.2% error)",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

/// `value` rounded to the nearest multiple of `multiple` (at least one multiple).
fn round_to(value: f64, multiple: usize) -> usize {
    ((value / multiple as f64).round() as usize).max(1) * multiple
}

fn build(variant: &Variant) -> Result<Graph> {
    let groups = variant.groups.unwrap_or(3);
    let width = variant.width;
    let Some(base) = stage2_channels(groups) else {
        return Err(BuildError::Invalid {
            node: "features".to_owned(),
            message: format!("ShuffleNet V1 is defined for 1, 2, 3, 4 or 8 groups, not {groups}"),
        });
    };
    let stages: Vec<usize> = (0..3).map(|i| round_to(base as f64 * width * (1 << i) as f64, 4 * groups)).collect();
    let stage2 = stages.first().copied().unwrap_or(base);
    let mut stem = if width <= 0.5 {
        12
    } else if width <= 1.5 {
        24
    } else {
        48
    };
    while stem < stage2 && (stage2 - stem) % groups != 0 {
        stem += 4;
    }

    let mut b = GraphBuilder::new(format!("shufflenet_v1 g{groups} ×{width}"));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut x = b.block("stem", "first_conv", |b| {
        let x = b.conv_bn_act(
            ["first_conv.0", "first_conv.1", "first_conv.2"],
            x,
            Conv2d::new(3, stem, 3, 2),
            Some(Activation::Relu),
        )?;
        b.pool("maxpool", x, Pool::max(3, 2, 1))
    })?;
    let mut inp = stem;
    let mut index = 0;
    for (stage, (&repeats, &out)) in REPEATS.iter().zip(&stages).enumerate() {
        x = b.block("stage", format!("stage{}", stage + 2), |b| {
            let mut x = x;
            for i in 0..repeats {
                let first_group = stage == 0 && i == 0;
                x = unit(
                    b,
                    &format!("features.{index}"),
                    x,
                    inp,
                    out,
                    groups,
                    first_group,
                    if i == 0 { 2 } else { 1 },
                )?;
                inp = out;
                index += 1;
            }
            Ok(x)
        })?;
    }
    b.block("classifier", "classifier", |b| {
        let x = crate::common::pool_flatten(b, x, "globalpool")?;
        b.linear("classifier.0", x, variant.num_classes, false)
    })?;
    b.finish()
}

/// The official `ShuffleV1Block`: grouped 1×1 (plain for the very first unit), shuffle, 3×3 depthwise,
/// grouped 1×1; residual add (stride 1) or concatenation with a 3×3 average-pooled input (stride 2).
#[allow(clippy::too_many_arguments)]
pub(crate) fn unit(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    oup: usize,
    groups: usize,
    first_group: bool,
    stride: usize,
) -> Result<NodeId> {
    let mid = oup / 4;
    // A strided unit concatenates its input with the branch: the branch makes the rest of the channels.
    let outputs = if stride == 2 {
        oup.checked_sub(inp).filter(|&o| o > 0).ok_or_else(|| convscope_graph::BuildError::Invalid {
            node: p.to_owned(),
            message: format!("a strided unit needs more output channels ({oup}) than input channels ({inp})"),
        })?
    } else {
        oup
    };
    b.block("ShuffleUnit", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let pw = Conv2d::new(inp, mid, 1, 1).groups(if first_group { 1 } else { groups });
        let y = b.conv_bn_act(
            [&n("branch_main_1.0"), &n("branch_main_1.1"), &n("branch_main_1.2")],
            x,
            pw,
            Some(Activation::Relu),
        )?;
        let y = b.conv(&n("branch_main_1.3"), y, Conv2d::new(mid, mid, 3, stride).depthwise())?;
        let mut y = b.bn(&n("branch_main_1.4"), y)?;
        if groups > 1 {
            y = b.shuffle(&n("channel_shuffle"), y, mid / groups)?;
        }
        let y = b.conv(&n("branch_main_2.0"), y, Conv2d::new(mid, outputs, 1, 1).groups(groups))?;
        let y = b.bn(&n("branch_main_2.1"), y)?;
        if stride == 1 {
            let y = b.add(&n("add"), y, x)?;
            b.act(&n("relu"), y, Activation::Relu)
        } else {
            let proj = b.pool(&n("branch_proj"), x, Pool::avg(3, 2, 1))?;
            let y = b.act(&n("relu"), y, Activation::Relu)?;
            b.concat(&n("cat"), &[proj, y])
        }
    })
}

#[cfg(test)]
mod tests {
    use convscope_graph::GraphCost;

    use super::*;

    #[test]
    fn paper_table_1_complexity_for_every_group_count() {
        // Zhang et al. 2018, Table 1: MFLOPs (multiply-adds) of ShuffleNet 1× at 224² for g = 1, 2, 3, 4, 8.
        for (groups, paper_macs) in [(1, 143e6), (2, 140e6), (3, 137e6), (4, 133e6), (8, 137e6)] {
            let variant = Variant { groups: Some(groups), ..imagenet(1.0, 224) };
            let graph = build(&variant).expect("builds");
            let macs = GraphCost::of(&graph).total.macs as f64;
            assert!((macs / paper_macs - 1.0).abs() < 0.02, "g{groups}: {macs} vs the paper's {paper_macs}");
        }
    }

    #[test]
    fn unsupported_groups_are_refused() {
        let variant = Variant { groups: Some(5), ..imagenet(1.0, 224) };
        assert!(matches!(build(&variant), Err(BuildError::Invalid { .. })));
    }

    /// Found by `cargo xtask fuzz graph_variants`: at a tiny width stage 2 (4 channels for g = 1, 12 for
    /// g = 3) is not wider than the 12-channel stem, so its strided unit would have to make zero or fewer
    /// channels beside the pooled input; refused, never an underflow.
    #[test]
    fn a_strided_unit_not_wider_than_its_input_is_refused() {
        for groups in [1, 3] {
            let variant = Variant { groups: Some(groups), ..imagenet(0.01, 224) };
            match build(&variant) {
                Err(BuildError::Invalid { node, message }) => {
                    assert_eq!(node, "features.0");
                    assert!(message.contains("more output channels"), "{message}");
                }
                other => panic!("g{groups} at width 0.01: {other:?}"),
            }
        }
    }
}
