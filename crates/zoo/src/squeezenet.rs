//! # SqueezeNet 1.0 and 1.1
//!
//! Iandola et al. "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
//! arXiv:1602.07360 (1.0); v1.1 from forresti/SqueezeNet. Structure and names:
//! `torchvision.models.squeezenet1_0` / `squeezenet1_1` (0.29).
//!
//! Deviations: torchvision's input is 224² (the paper's 227²), which changes MACs but not parameters.
//! The paper's "1.72 GFLOPs" (v1.0) and "0.72 GFLOPs" (v1.1) are 2 × MACs at 227².

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Pool, Shape};

use crate::common::Result;
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// A layer of `features`: a ceil-mode 3×3/2 max pool or a Fire module `(squeeze, expand1x1, expand3x3)`.
#[derive(Clone, Copy)]
enum Layer {
    Pool,
    Fire(usize, usize, usize),
}
use Layer::{Fire, Pool as P};

const V1_0: [Layer; 10] = [
    Fire(16, 64, 64),
    Fire(16, 64, 64),
    Fire(32, 128, 128),
    P,
    Fire(32, 128, 128),
    Fire(48, 192, 192),
    Fire(48, 192, 192),
    Fire(64, 256, 256),
    P,
    Fire(64, 256, 256),
];
const V1_1: [Layer; 10] = [
    Fire(16, 64, 64),
    Fire(16, 64, 64),
    P,
    Fire(32, 128, 128),
    Fire(32, 128, 128),
    P,
    Fire(48, 192, 192),
    Fire(48, 192, 192),
    Fire(64, 256, 256),
    Fire(64, 256, 256),
];

pub fn models() -> Vec<ModelEntry> {
    let entry = |id, title, builder, published| ModelEntry {
        id,
        title,
        family: "SqueezeNet",
        paper: "Iandola et al. 2016, arXiv:1602.07360",
        reference: "torchvision.models.squeezenet1_0 / squeezenet1_1",
        published: Some(published),
        builder,
        ..NETWORK
    };
    vec![
        entry(
            "squeezenet1_0",
            "SqueezeNet 1.0",
            (|v, _| build_1_0(v)) as fn(&Variant, usize) -> Result<Graph>,
            Published {
                resolution: 227,
                params: Some(1.25e6),
                params_without_bn: false,
                macs: Some(0.86e9), // "1.72 GFLOPs" counted as 2 × MACs.
                top1: Some(57.5),
                source: "Iandola et al. 2016, Tables 1–2; forresti/SqueezeNet README (1.72 GFLOPs)",
            },
        ),
        entry(
            "squeezenet1_1",
            "SqueezeNet 1.1",
            |v, _| build_1_1(v),
            Published {
                resolution: 227,
                params: None,
                params_without_bn: false,
                macs: Some(0.36e9), // "0.72 GFLOPs" counted as 2 × MACs.
                top1: None,
                source: "forresti/SqueezeNet SqueezeNet_v1.1/README.md (0.72 GFLOPs)",
            },
        ),
    ]
}

fn build_1_0(variant: &Variant) -> Result<Graph> {
    build(variant, "squeezenet1_0", Conv2d::new(3, 96, 7, 2).padding(Default::default()), &V1_0)
}

fn build_1_1(variant: &Variant) -> Result<Graph> {
    build(variant, "squeezenet1_1", Conv2d::new(3, 64, 3, 2).padding(Default::default()), &V1_1)
}

fn build(variant: &Variant, name: &str, stem: Conv2d, layers: &[Layer]) -> Result<Graph> {
    let mut b = GraphBuilder::new(name);
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut channels = stem.out_channels;
    let mut x = b.block("stem", "features.0", |b| {
        let x = b.conv("features.0", x, stem.bias(true))?;
        let x = b.act("features.1", x, Activation::Relu)?;
        b.pool("features.2", x, Pool::max(3, 2, 0).ceil_mode(true))
    })?;
    for (i, layer) in layers.iter().enumerate() {
        let p = format!("features.{}", i + 3);
        x = match *layer {
            P => b.pool(&p, x, Pool::max(3, 2, 0).ceil_mode(true))?,
            Fire(s, e1, e3) => {
                let y = fire(&mut b, &p, x, channels, s, e1, e3)?;
                channels = e1 + e3;
                y
            }
        };
    }
    b.block("classifier", "classifier", |b| {
        let x = b.dropout("classifier.0", x, 0.5)?;
        let x = b.conv("classifier.1", x, Conv2d::new(channels, variant.num_classes, 1, 1).bias(true))?;
        let x = b.act("classifier.2", x, Activation::Relu)?;
        let x = b.global_avg_pool("classifier.3", x)?;
        b.flatten("flatten", x)
    })?;
    b.finish()
}

/// The Fire module: 1×1 squeeze, then parallel 1×1 and 3×3 expands, concatenated.
pub(crate) fn fire(
    b: &mut GraphBuilder,
    p: &str,
    x: NodeId,
    inp: usize,
    s: usize,
    e1: usize,
    e3: usize,
) -> Result<NodeId> {
    b.block("Fire", p, |b| {
        let sq = b.conv(&format!("{p}.squeeze"), x, Conv2d::new(inp, s, 1, 1).bias(true))?;
        let sq = b.act(&format!("{p}.squeeze_activation"), sq, Activation::Relu)?;
        let a = b.conv(&format!("{p}.expand1x1"), sq, Conv2d::new(s, e1, 1, 1).bias(true))?;
        let a = b.act(&format!("{p}.expand1x1_activation"), a, Activation::Relu)?;
        let c = b.conv(&format!("{p}.expand3x3"), sq, Conv2d::new(s, e3, 3, 1).bias(true))?;
        let c = b.act(&format!("{p}.expand3x3_activation"), c, Activation::Relu)?;
        b.concat(&format!("{p}.cat"), &[a, c])
    })
}
