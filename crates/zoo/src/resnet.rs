//! # ResNet-18 / ResNet-50, and AdderNet ResNet-18 / ResNet-50
//!
//! He, Zhang, Ren, Sun. "Deep Residual Learning for Image Recognition", CVPR 2016, arXiv:1512.03385.
//! Structure and names: `torchvision.models.resnet18` / `resnet50` (0.29; stride on the 3×3 conv,
//! "ResNet v1.5"). The shared `relu` module runs several times per block; its calls are named `relu`,
//! `relu:1`, `relu:2`.
//!
//! Chen et al. "AdderNet: Do We Really Need Multiplications in Deep Learning?", CVPR 2020,
//! arXiv:1912.13200, official huawei-noah/AdderNet `resnet50.py`: every convolution inside the residual
//! stages (and their downsample projections) is an adder convolution, −Σ|x − w|; the stem stays a
//! multiplying conv, and the classifier is a 1×1 conv (`fc`, with bias) followed by `bn2`. The official
//! repository publishes only ResNet-50; AdderNet ResNet-18 applies the same rule to ResNet-18's layout.
//! (Its adder weights are stored as `<layer>.adder`, not `<layer>.weight`.)
//!
//! Deviations: the paper's 3.8 GFLOPs for ResNet-50 are MACs of v1 (stride on the first 1×1); v1.5 has
//! 4.09 G MACs.

use convscope_graph::{Activation, Arithmetic, Conv2d, Graph, GraphBuilder, NodeId, Pool, Shape};

use crate::common::{Result, pool_flatten};
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// One ResNet: block kind, blocks per stage, and whether it is the AdderNet version.
struct Config {
    name: &'static str,
    bottleneck: bool,
    layers: [usize; 4],
    adder: bool,
}

const RESNET18: Config = Config { name: "resnet18", bottleneck: false, layers: [2, 2, 2, 2], adder: false };
const RESNET50: Config = Config { name: "resnet50", bottleneck: true, layers: [3, 4, 6, 3], adder: false };
const ADDER18: Config = Config { name: "addernet_resnet18", bottleneck: false, layers: [2, 2, 2, 2], adder: true };
const ADDER50: Config = Config { name: "addernet_resnet50", bottleneck: true, layers: [3, 4, 6, 3], adder: true };

pub fn models() -> Vec<ModelEntry> {
    let entry = |id, title, family, paper, reference, builder: fn(&Variant, usize) -> Result<Graph>, published| {
        ModelEntry { id, title, family, paper, reference, published: Some(published), builder, ..NETWORK }
    };
    const RESNET_PAPER: &str = "He et al. 2016, arXiv:1512.03385";
    const ADDER_PAPER: &str = "Chen et al. 2020, arXiv:1912.13200";
    vec![
        entry(
            "resnet18",
            "ResNet-18",
            "ResNet (classic)",
            RESNET_PAPER,
            "torchvision.models.resnet18",
            |v, _| build(v, &RESNET18),
            Published {
                resolution: 224,
                params: Some(11.69e6),
                params_without_bn: false,
                macs: Some(1.8e9),
                top1: Some(69.8),
                source: "He et al. 2016, Table 1 (1.8 GFLOPs); torchvision IMAGENET1K_V1 (11.69M params, 69.76%)",
            },
        ),
        entry(
            "resnet50",
            "ResNet-50",
            "ResNet (classic)",
            RESNET_PAPER,
            "torchvision.models.resnet50",
            |v, _| build(v, &RESNET50),
            Published {
                resolution: 224,
                params: Some(25.6e6),
                params_without_bn: false,
                macs: Some(3.8e9),
                top1: Some(76.1),
                source: "He et al. 2016, Table 1 (3.8 GFLOPs, v1); top-1: torchvision IMAGENET1K_V1",
            },
        ),
        entry(
            "addernet_resnet18",
            "AdderNet ResNet-18",
            "AdderNet",
            ADDER_PAPER,
            "huawei-noah/AdderNet (resnet50.py's rule on ResNet-18)",
            |v, _| build(v, &ADDER18),
            Published {
                resolution: 224,
                params: Some(11.69e6),
                params_without_bn: false,
                macs: None,
                top1: Some(67.0),
                source: "huawei-noah/AdderNet README (ResNet-18 ANN: 67.0% top-1); params as the CNN it replaces",
            },
        ),
        entry(
            "addernet_resnet50",
            "AdderNet ResNet-50",
            "AdderNet",
            ADDER_PAPER,
            "huawei-noah/AdderNet resnet50.py",
            |v, _| build(v, &ADDER50),
            Published {
                resolution: 224,
                params: Some(25.56e6),
                params_without_bn: false,
                macs: None,
                top1: Some(74.9),
                source: "huawei-noah/AdderNet README (ResNet-50 ANN: 74.9% top-1, 25.56M params)",
            },
        ),
    ]
}

fn build(variant: &Variant, config: &Config) -> Result<Graph> {
    let mut b = GraphBuilder::new(config.name);
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut x = b.block("stem", "conv1", |b| {
        let x = b.conv_bn_act(["conv1", "bn1", "relu"], x, Conv2d::new(3, 64, 7, 2), Some(Activation::Relu))?;
        b.pool("maxpool", x, Pool::max(3, 2, 1))
    })?;
    let arithmetic = if config.adder { Arithmetic::Adder } else { Arithmetic::Multiply };
    let expansion = if config.bottleneck { 4 } else { 1 };
    let mut inplanes = 64;
    for (stage, &blocks) in config.layers.iter().enumerate() {
        let planes = 64 << stage;
        let name = format!("layer{}", stage + 1);
        x = b.block("stage", &name, |b| {
            let mut x = x;
            for i in 0..blocks {
                let stride = if i == 0 && stage > 0 { 2 } else { 1 };
                let p = format!("{name}.{i}");
                x = if config.bottleneck {
                    bottleneck(b, &p, x, inplanes, planes, stride, arithmetic)?
                } else {
                    basic_block(b, &p, x, inplanes, planes, stride, arithmetic)?
                };
                inplanes = planes * expansion;
            }
            Ok(x)
        })?;
    }
    b.block("classifier", "fc", |b| {
        if config.adder {
            // AdderNet's head: a 1×1 conv with bias as the classifier, then BN over the class scores.
            let x = b.global_avg_pool("avgpool", x)?;
            let x = b.conv("fc", x, Conv2d::new(inplanes, variant.num_classes, 1, 1).bias(true))?;
            let x = b.bn("bn2", x)?;
            b.flatten("flatten", x)
        } else {
            let x = pool_flatten(b, x, "avgpool")?;
            b.linear("fc", x, variant.num_classes, true)
        }
    })?;
    b.finish()
}

/// The projection shortcut (`downsample.0` conv, `downsample.1` BN) when the shape changes, else `x`.
fn shortcut(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inplanes: usize,
    out: usize,
    stride: usize,
    arithmetic: Arithmetic,
) -> Result<NodeId> {
    if stride == 1 && inplanes == out {
        return Ok(x);
    }
    let conv = Conv2d::new(inplanes, out, 1, stride).arithmetic(arithmetic);
    b.conv_bn_act([&format!("{p}.downsample.0"), &format!("{p}.downsample.1"), ""], x, conv, None)
}

fn bottleneck(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inplanes: usize,
    planes: usize,
    stride: usize,
    arithmetic: Arithmetic,
) -> Result<NodeId> {
    let out = planes * 4;
    b.block("Bottleneck", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let c = |inp, out, k, s| Conv2d::new(inp, out, k, s).arithmetic(arithmetic);
        let y =
            b.conv_bn_act([&n("conv1"), &n("bn1"), &n("relu")], x, c(inplanes, planes, 1, 1), Some(Activation::Relu))?;
        let y = b.conv_bn_act(
            [&n("conv2"), &n("bn2"), &n("relu:1")],
            y,
            c(planes, planes, 3, stride),
            Some(Activation::Relu),
        )?;
        let y = b.conv_bn_act([&n("conv3"), &n("bn3"), ""], y, c(planes, out, 1, 1), None)?;
        let s = shortcut(b, p, x, inplanes, out, stride, arithmetic)?;
        let y = b.add(&n("add"), y, s)?;
        b.act(&n("relu:2"), y, Activation::Relu)
    })
}

fn basic_block(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inplanes: usize,
    planes: usize,
    stride: usize,
    arithmetic: Arithmetic,
) -> Result<NodeId> {
    b.block("BasicBlock", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let c = |inp, out, s| Conv2d::new(inp, out, 3, s).arithmetic(arithmetic);
        let y = b.conv_bn_act(
            [&n("conv1"), &n("bn1"), &n("relu")],
            x,
            c(inplanes, planes, stride),
            Some(Activation::Relu),
        )?;
        let y = b.conv_bn_act([&n("conv2"), &n("bn2"), ""], y, c(planes, planes, 1), None)?;
        let s = shortcut(b, p, x, inplanes, planes, stride, arithmetic)?;
        let y = b.add(&n("add"), y, s)?;
        b.act(&n("relu:1"), y, Activation::Relu)
    })
}

#[cfg(test)]
mod tests {
    use convscope_graph::GraphCost;

    use super::*;
    use crate::registry::imagenet;

    #[test]
    fn addernet_multiplies_only_in_the_stem_and_the_classifier() {
        let graph = build(&imagenet(1.0, 224), &ADDER50).expect("builds");
        let total = GraphCost::of(&graph).total;
        // Stem: 64 · 112² · 3 · 7² = 118,013,952 MACs; classifier 1×1 conv: 2048 · 1000 = 2,048,000.
        let multiplying = 118_013_952 + 2_048_000;
        assert_eq!(total.muls, multiplying);
        // Every other MAC is an adder step: a subtraction and an accumulation.
        assert_eq!(total.adds, multiplying + 2 * (total.macs - multiplying));
    }
}
