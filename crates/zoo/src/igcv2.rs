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
//! implementation was released; the networks of the paper's tables (IGCV2*-C) are not in the zoo yet
//! because their per-layer widths are only in the paper's text.

use convscope_graph::{Activation, BuildError, Conv2d, GraphBuilder, NodeId};

use crate::common::Result;

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

#[cfg(test)]
mod tests {
    use convscope_graph::{GraphCost, Shape};

    use super::*;

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
