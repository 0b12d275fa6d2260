//! # ResNet-50 (bottleneck)
//!
//! He, Zhang, Ren, Sun. "Deep Residual Learning for Image Recognition", CVPR 2016, arXiv:1512.03385.
//! Structure and names: `torchvision.models.resnet50` (0.29; stride on the 3×3 conv, "ResNet v1.5").
//!
//! Deviations: none known against torchvision. The paper's 3.8 GFLOPs are MACs of v1 (stride on the first
//! 1×1); v1.5 has 4.09 G MACs. The shared `relu` module runs three times per block; its calls are named
//! `relu`, `relu:1`, `relu:2`.

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Pool, Shape};

use crate::common::{Result, pool_flatten};
use crate::registry::{InputSpec, ModelEntry, Published, Variant, imagenet};

/// Bottleneck blocks per stage (layer1..layer4) — the paper's Table 1, 50-layer column.
const LAYERS: [usize; 4] = [3, 4, 6, 3];
const EXPANSION: usize = 4;

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "resnet50",
        title: "ResNet-50",
        family: "ResNet (classic)",
        paper: "He et al. 2016, arXiv:1512.03385",
        reference: "torchvision.models.resnet50",
        default: imagenet(1.0, 224),
        width: false,
        groups: &[],
        input: InputSpec::imagenet(224, 256),
        published: Some(Published {
            resolution: 224,
            params: Some(25.6e6),
            params_without_bn: false,
            macs: Some(3.8e9),
            top1: Some(76.1),
            source: "He et al. 2016, Table 1 (3.8 GFLOPs, v1); top-1: torchvision IMAGENET1K_V1",
        }),
        builder: build,
    }]
}

fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new("resnet50");
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut x = b.block("stem", "conv1", |b| {
        let conv = Conv2d::new(3, 64, 7, 2);
        let x = b.conv_bn_act(["conv1", "bn1", "relu"], x, conv, Some(Activation::Relu))?;
        b.pool("maxpool", x, Pool::max(3, 2, 1))
    })?;
    let mut inplanes = 64;
    for (stage, &blocks) in LAYERS.iter().enumerate() {
        let planes = 64 << stage;
        let name = format!("layer{}", stage + 1);
        x = b.block("stage", &name, |b| {
            let mut x = x;
            for i in 0..blocks {
                let stride = if i == 0 && stage > 0 { 2 } else { 1 };
                x = bottleneck(b, &format!("{name}.{i}"), x, inplanes, planes, stride)?;
                inplanes = planes * EXPANSION;
            }
            Ok(x)
        })?;
    }
    b.block("classifier", "fc", |b| {
        let x = pool_flatten(b, x, "avgpool")?;
        b.linear("fc", x, variant.num_classes, true)
    })?;
    b.finish()
}

fn bottleneck(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inplanes: usize,
    planes: usize,
    stride: usize,
) -> Result<NodeId> {
    let out = planes * EXPANSION;
    b.block("Bottleneck", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let y = b.conv_bn_act(
            [&n("conv1"), &n("bn1"), &n("relu")],
            x,
            Conv2d::new(inplanes, planes, 1, 1),
            Some(Activation::Relu),
        )?;
        let y = b.conv_bn_act(
            [&n("conv2"), &n("bn2"), &n("relu:1")],
            y,
            Conv2d::new(planes, planes, 3, stride),
            Some(Activation::Relu),
        )?;
        let y = b.conv_bn_act([&n("conv3"), &n("bn3"), ""], y, Conv2d::new(planes, out, 1, 1), None)?;
        let shortcut = if stride != 1 || inplanes != out {
            let conv = Conv2d::new(inplanes, out, 1, stride);
            b.conv_bn_act([&n("downsample.0"), &n("downsample.1"), ""], x, conv, None)?
        } else {
            x
        };
        let y = b.add(&n("add"), y, shortcut)?;
        b.act(&n("relu:2"), y, Activation::Relu)
    })
}
