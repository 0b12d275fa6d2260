//! # IGCV2: interleaved structured sparse convolutions (block)
//!
//! Xie, Wang, Zhang, Lai, Hong, Qi. "IGCV2: Interleaved Structured Sparse Convolutional Neural
//! Networks", CVPR 2018, arXiv:1804.06202. A dense convolution `W` is replaced by a product of
//! structured sparse kernels with permutations between them, `y = P_L W_L … P_2 W_2 P_1 W_1 x`: `W_1` a
//! channel-wise (depthwise) 3×3 convolution, `W_2 … W_L` group 1×1 convolutions whose groups hold `K_l`
//! channels each. The *complementary condition* `∏ K_l = C` gives every output exactly one path from
//! every input; the *balance condition* makes the 1×1 kernels equally sparse.
//!
//! This file holds the block with L = 3 (the paper's IGCV2 block shape: depthwise 3×3, two group 1×1
//! convolutions): `K_2 · K_3 = C` with `K_2` the divisor of C nearest below √C, permutations that are
//! channel shuffles, BN after the depthwise and after the last 1×1, ReLU at the end. No reference
//! implementation was released.
//!
//! `igcv2_mobilenet` is a RECONSTRUCTION, not the paper's network: the IGCV2 ImageNet networks are
//! "MobileNet V1-shaped with no shortcuts", but their per-layer widths and `K_l` are in no reachable
//! source (`../shared/reference/compconv-igcv2.md`). Here MobileNet V1's layout (stem, 13 blocks,
//! classifier) with every depthwise-separable block made an IGCV2 block: depthwise 3×3 (with the block's
//! stride), a group 1×1 `C_in → C_out` in g groups (the divisor of both nearest √C_in), a shuffle, a group 1×1
//! `C_out → C_out` whose groups take one channel of every first group (`∏ K = C_in`: one path from every
//! input to every output), and the shuffle back. Its width multiplier is set so that the total lands on
//! the published IGCV2-1.0 (564M multiply-adds, as ShuffleNet V2's comparison table lists it); the view
//! compares 0.5× and 0.25× of that width with IGCV2-0.5 and -0.25 (156M and 46M).

use convscope_graph::{Activation, BuildError, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::{Result, make_divisible, pool_flatten};
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// `K_2`, the channels per group of the first 1×1 convolution: the largest divisor of `channels` that is
/// at most √channels, so that `K_2 · K_3 = channels` with `K_2 ≤ K_3` as close as the divisors allow.
pub(crate) fn balanced_branch(channels: usize) -> usize {
    (1..=channels).take_while(|k| k * k <= channels).filter(|k| channels.is_multiple_of(*k)).last().unwrap_or(1)
}

/// The IGCV2 block on `channels` channels (input = output).
pub(crate) fn block(b: &mut GraphBuilder, p: &str, x: NodeId, channels: usize) -> Result<NodeId> {
    if channels < 4 {
        return Err(BuildError::Invalid {
            node: p.to_owned(),
            message: format!("an IGCV2 block needs at least 4 channels to interleave, got {channels}"),
        });
    }
    let k2 = balanced_branch(channels);
    let k3 = channels / k2;
    b.block("IGCV2Block", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let y = b.conv(&n("conv_dw"), x, Conv2d::new(channels, channels, 3, 1).depthwise())?;
        let y = b.bn(&n("bn1"), y)?;
        // W_2: groups of K_2 channels; P_2 gathers one channel of every group into each next group.
        let y = b.conv(&n("gconv1"), y, Conv2d::new(channels, channels, 1, 1).groups(channels / k2))?;
        let y = b.shuffle(&n("permute1"), y, channels / k2)?;
        // W_3: groups of K_3 channels; P_3 puts the channels back in W_2's order.
        let y = b.conv(&n("gconv2"), y, Conv2d::new(channels, channels, 1, 1).groups(channels / k3))?;
        let y = b.shuffle(&n("permute2"), y, channels / k3)?;
        let y = b.bn(&n("bn2"), y)?;
        b.act(&n("relu"), y, Activation::Relu)
    })
}

/// MobileNet V1's `(repeats, first stride, output channels)` per stage (Howard et al. 2017, Table 1).
const STAGES: [(usize, usize, usize); 5] = [(1, 1, 64), (2, 2, 128), (2, 2, 256), (6, 2, 512), (2, 2, 1024)];

/// The width multiplier at which the reconstruction's total is the published IGCV2-1.0's 564M MACs.
pub const WIDTH_FOR_IGCV2_1_0: f64 = 3.45;

/// The published IGCV2 networks: `(name, MACs, top-1)` (ShuffleNet V2's Table 8: 29.3%, 34.5%, 45.1%
/// top-1 error).
pub const PUBLISHED: [(&str, f64, f64); 3] =
    [("IGCV2-1.0", 564e6, 70.7), ("IGCV2-0.5", 156e6, 65.5), ("IGCV2-0.25", 46e6, 54.9)];

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "igcv2_mobilenet",
        title: "IGCV2 (MobileNet V1 layout, reconstruction)",
        family: "IGCV",
        paper: "Xie et al. 2018, arXiv:1804.06202",
        reference: "RECONSTRUCTION (no reference code; per-layer widths unpublished): MobileNet V1's layout with IGCV2 blocks, width set to land on IGCV2-1.0's 564M MACs",
        default: crate::registry::imagenet(WIDTH_FOR_IGCV2_1_0, 224),
        width: true,
        published: Some(Published {
            resolution: 224,
            params: None,
            params_without_bn: false,
            macs: Some(PUBLISHED[0].1),
            top1: Some(PUBLISHED[0].2),
            source: "IGCV2-1.0 as ShuffleNet V2 (Ma et al. 2018), Table 8 re-tabulates it",
        }),
        builder: |v, _| network(v),
        ..NETWORK
    }]
}

/// The IGCV2 block `inp → out` with stride `stride` (see the module docs).
fn network_block(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize, out: usize, stride: usize) -> Result<NodeId> {
    // The first group convolution's groups must divide both sides: the common divisor nearest √C_in
    // (balance: K_2 = C_in / groups close to groups, the second convolution's group size).
    let common = (1..=inp.min(out)).filter(|g| inp.is_multiple_of(*g) && out.is_multiple_of(*g));
    let root = (inp as f64).sqrt();
    let groups = common.min_by(|a, b| (*a as f64 - root).abs().total_cmp(&(*b as f64 - root).abs())).unwrap_or(1);
    b.block("IGCV2Block", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let y = b.conv(&n("conv_dw"), x, Conv2d::new(inp, inp, 3, stride).depthwise())?;
        let y = b.bn(&n("bn1"), y)?;
        let y = b.conv(&n("gconv1"), y, Conv2d::new(inp, out, 1, 1).groups(groups))?;
        let y = b.shuffle(&n("permute1"), y, groups)?;
        let y = b.conv(&n("gconv2"), y, Conv2d::new(out, out, 1, 1).groups(out / groups))?;
        let y = b.shuffle(&n("permute2"), y, out / groups)?;
        let y = b.bn(&n("bn2"), y)?;
        b.act(&n("relu"), y, Activation::Relu)
    })
}

fn network(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new(format!("igcv2_mobilenet ×{}", variant.width));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut channels = make_divisible(32.0 * variant.width, 8);
    let mut x = b.block("stem", "conv_stem", |b| {
        b.conv_bn_act(["conv_stem", "bn1", "bn1.act"], x, Conv2d::new(3, channels, 3, 2), Some(Activation::Relu))
    })?;
    for (stage, &(repeats, stride, c)) in STAGES.iter().enumerate() {
        let out = make_divisible(c as f64 * variant.width, 8);
        x = b.block("stage", format!("blocks.{stage}"), |b| {
            let mut x = x;
            for i in 0..repeats {
                x = network_block(
                    b,
                    &format!("blocks.{stage}.{i}"),
                    x,
                    channels,
                    out,
                    if i == 0 { stride } else { 1 },
                )?;
                channels = out;
            }
            Ok(x)
        })?;
    }
    b.block("classifier", "classifier", |b| {
        let x = pool_flatten(b, x, "global_pool")?;
        b.linear("classifier", x, variant.num_classes, true)
    })?;
    b.finish()
}

#[cfg(test)]
mod tests {
    use convscope_graph::{GraphCost, Shape};

    use super::*;

    #[test]
    fn the_reconstruction_meets_the_published_totals() {
        // The width is fitted to IGCV2-1.0 (564M: 568M at ×3.45); half and a quarter of it against
        // IGCV2-0.5 and -0.25 (ShuffleNet V2, Table 8): 214M against 156M and 84M against 46M — the
        // published smaller networks are not plain width multiples of the full one, so those two are
        // reported, not required to match.
        let macs = |w: f64| {
            let graph = network(&Variant { width: w, ..crate::registry::imagenet(w, 224) }).expect("builds");
            GraphCost::of(&graph).total.macs as f64
        };
        let full = macs(WIDTH_FOR_IGCV2_1_0);
        assert!((full / PUBLISHED[0].1 - 1.0).abs() < 0.02, "{full:e}");
        for (k, w) in [(1, 0.5), (2, 0.25)] {
            let m = macs(WIDTH_FOR_IGCV2_1_0 * w);
            eprintln!("{}: {m:e} against {:e}", PUBLISHED[k].0, PUBLISHED[k].1);
            assert!(m / PUBLISHED[k].1 > 0.5 && m / PUBLISHED[k].1 < 2.0);
        }
        // Every output of a block has exactly one path from every input (∏ K = C_in).
        let graph = network(&crate::registry::imagenet(WIDTH_FOR_IGCV2_1_0, 224)).expect("builds");
        assert!(graph.nodes.iter().any(|n| n.name == "blocks.3.5.gconv2"));
    }

    #[test]
    fn branches_satisfy_the_complementary_condition() {
        for channels in [16, 64, 240, 256, 1000] {
            let k2 = balanced_branch(channels);
            assert_eq!(channels % k2, 0);
            assert!(k2 * k2 <= channels && k2 <= channels / k2, "{channels}: K2 = {k2}");
        }
        assert_eq!(balanced_branch(64), 8);
        assert_eq!(balanced_branch(240), 15);
    }

    #[test]
    fn the_two_sparse_kernels_cost_k2_plus_k3_per_channel_instead_of_c() {
        // Xie et al. 2018, Sec. 3: the product of two group 1×1 kernels has C·(K2 + K3) weights where the
        // dense 1×1 kernel has C·C; with K2 = K3 = 8 on 64 channels that is 1024 instead of 4096.
        let mut b = GraphBuilder::new("igcv2");
        let x = b.input(Shape::map(64, 8, 8)).expect("input");
        block(&mut b, "block", x, 64).expect("block");
        let graph = b.finish().expect("graph");
        let cost = GraphCost::of(&graph).total;
        let depthwise = 64 * 9;
        let bn = 2 * 2 * 64;
        assert_eq!(cost.params, (depthwise + 64 * (8 + 8) + bn) as u64);
        assert!(matches!(
            {
                let mut b = GraphBuilder::new("tiny");
                let x = b.input(Shape::map(2, 8, 8)).expect("input");
                block(&mut b, "block", x, 2)
            },
            Err(BuildError::Invalid { .. })
        ));
    }
}
