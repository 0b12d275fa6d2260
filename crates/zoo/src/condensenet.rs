//! # CondenseNet-74 (G = C = 4 and G = C = 8), inference form
//!
//! Huang, Liu, van der Maaten, Weinberger. "CondenseNet: An Efficient DenseNet using Learned Group
//! Convolutions", CVPR 2018, arXiv:1711.09224. Structure and names: the official ShichenLiu/CondenseNet
//! `models/condensenet_converted.py` + `layers.py` — the network after condensation, as it runs at test
//! time: each dense layer's learned group convolution has become an index layer (`conv_1`, selecting and
//! reordering the input channels the training kept), BN, ReLU, a G-group 1×1 conv and a channel shuffle;
//! then BN, ReLU and a G-group 3×3 conv (`conv_2`). Transitions are 2×2 average pools; the classifier keeps
//! half of the features through another index layer (`classifier`, then `classifier.linear`).
//! ImageNet configuration from the official README: stages 4-6-8-10-8, growth 8-16-32-64-128,
//! bottleneck 4.
//!
//! Deviations: the README's 529M / 274M FLOPs come from the repository's `measure_model`, which adds ReLU
//! and pooling operations to the conv+linear multiply-adds (516.6M / 261.5M).

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Pool, Shape};

use crate::common::Result;
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

const STAGES: [usize; 5] = [4, 6, 8, 10, 8];
const GROWTH: [usize; 5] = [8, 16, 32, 64, 128];
const BOTTLENECK: usize = 4;

pub fn models() -> Vec<ModelEntry> {
    let entry = |id, title, builder: fn(&Variant, usize) -> Result<Graph>, params, macs, top1| ModelEntry {
        id,
        title,
        family: "CondenseNet",
        paper: "Huang et al. 2018, arXiv:1711.09224",
        reference: "ShichenLiu/CondenseNet condensenet_converted.py (official, inference form)",
        published: Some(Published {
            resolution: 224,
            params: Some(params),
            params_without_bn: false,
            macs: Some(macs),
            top1: Some(top1),
            source: "ShichenLiu/CondenseNet README (ImageNet: G=C=4 529M FLOPs, 4.8M params, 26.2% error; \
                     G=C=8 274M, 2.9M, 29.0%)",
        }),
        builder,
        ..NETWORK
    };
    vec![
        entry("condensenet_74_c4", "CondenseNet-74 (G=C=4)", |v, _| build(v, 4), 4.8e6, 529e6, 73.8),
        entry("condensenet_74_c8", "CondenseNet-74 (G=C=8)", |v, _| build(v, 8), 2.9e6, 274e6, 71.0),
    ]
}

fn build(variant: &Variant, groups: usize) -> Result<Graph> {
    let mut b = GraphBuilder::new(format!("condensenet_74 G=C={groups}"));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut channels = 2 * GROWTH[0];
    let mut x =
        b.block("stem", "features.init_conv", |b| b.conv("features.init_conv", x, Conv2d::new(3, channels, 3, 2)))?;
    for (i, (&layers, &growth)) in STAGES.iter().zip(&GROWTH).enumerate() {
        let block = format!("features.denseblock_{}", i + 1);
        x = b.block("DenseBlock", &block, |b| {
            let mut x = x;
            for j in 0..layers {
                x = dense_layer(b, &format!("{block}.denselayer_{}", j + 1), x, channels, growth, groups)?;
                channels += growth;
            }
            Ok(x)
        })?;
        if i + 1 < STAGES.len() {
            let name = format!("features.transition_{}", i + 1);
            x = b.block("Transition", &name, |b| b.pool(&format!("{name}.pool"), x, Pool::avg(2, 2, 0)))?;
        }
    }
    b.block("classifier", "classifier", |b| {
        let y = b.bn("features.norm_last", x)?;
        let y = b.act("features.relu_last", y, Activation::Relu)?;
        let y = b.global_avg_pool("features.pool_last", y)?;
        let y = b.flatten("flatten", y)?;
        let y = b.gather("classifier", y, channels / 2)?;
        b.linear("classifier.linear", y, variant.num_classes, true)
    })?;
    b.finish()
}

/// A condensed dense layer: index layer, BN, ReLU, G-group 1×1 conv to 4k, shuffle; BN, ReLU, G-group 3×3
/// conv to k; the k new maps are concatenated to the input.
fn dense_layer(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize, growth: usize, groups: usize) -> Result<NodeId> {
    let mid = BOTTLENECK * growth;
    b.block("DenseLayer", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let y = b.gather(&n("conv_1"), x, inp)?;
        let y = b.bn(&n("conv_1.norm"), y)?;
        let y = b.act(&n("conv_1.relu"), y, Activation::Relu)?;
        let y = b.conv(&n("conv_1.conv"), y, Conv2d::new(inp, mid, 1, 1).groups(groups))?;
        let y = b.shuffle(&n("conv_1.shuffle"), y, groups)?;
        let y = b.bn(&n("conv_2.norm"), y)?;
        let y = b.act(&n("conv_2.relu"), y, Activation::Relu)?;
        let y = b.conv(&n("conv_2.conv"), y, Conv2d::new(mid, growth, 3, 1).groups(groups))?;
        b.concat(&n("cat"), &[x, y])
    })
}

#[cfg(test)]
mod tests {
    use convscope_graph::{FlopConvention, GraphCost};

    use super::*;
    use crate::registry::imagenet;

    #[test]
    fn the_readme_flops_are_macs_plus_relu_and_pooling() {
        // The repository's utils.measure_model counts conv and linear multiply-adds, one op per ReLU
        // element and kernel-size ops per pooled output: the README's 529M (G=C=4) and 274M (G=C=8).
        let convention =
            FlopConvention { flops_per_mac: 1, count_activations: true, count_pool: true, ..FlopConvention::MACS };
        for (groups, readme) in [(4, 529e6), (8, 274e6)] {
            let graph = build(&imagenet(1.0, 224), groups).expect("builds");
            let flops = GraphCost::of(&graph).total.flops(&convention) as f64;
            assert!((flops / readme - 1.0).abs() < 0.02, "G=C={groups}: {flops} vs README {readme}");
        }
    }
}
