//! # GoogLeNet (Inception V1)
//!
//! Szegedy et al. "Going Deeper with Convolutions", CVPR 2015, arXiv:1409.4842. Structure and names:
//! `torchvision.models.googlenet(aux_logits=False)` (0.29) — the inference network, without the two
//! auxiliary classifiers used in training.
//!
//! Deviations from the paper, all torchvision's: BN after every convolution (BasicConv2d), and the
//! "5×5" branch uses a 3×3 kernel (pytorch/vision#906). The paper's 6.8M parameters / 1.5G multiply-adds
//! describe the original; torchvision's version has 6.6M / 1.5G.

use convscope_graph::{Conv2d, Graph, GraphBuilder, NodeId, Pool, Shape};

use crate::common::{Result, basic_conv, pool_flatten};
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// `(name, 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool projection)` — the paper's Table 1, with a
/// max pool (ceil mode) before the entries marked by `None`.
const INCEPTIONS: [Option<(&str, [usize; 6])>; 11] = [
    Some(("inception3a", [64, 96, 128, 16, 32, 32])),
    Some(("inception3b", [128, 128, 192, 32, 96, 64])),
    None,
    Some(("inception4a", [192, 96, 208, 16, 48, 64])),
    Some(("inception4b", [160, 112, 224, 24, 64, 64])),
    Some(("inception4c", [128, 128, 256, 24, 64, 64])),
    Some(("inception4d", [112, 144, 288, 32, 64, 64])),
    Some(("inception4e", [256, 160, 320, 32, 128, 128])),
    None,
    Some(("inception5a", [256, 160, 320, 32, 128, 128])),
    Some(("inception5b", [384, 192, 384, 48, 128, 128])),
];

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "googlenet",
        title: "GoogLeNet (Inception V1)",
        family: "Inception (classic)",
        paper: "Szegedy et al. 2015, arXiv:1409.4842",
        reference: "torchvision.models.googlenet(aux_logits=False)",
        published: Some(Published {
            resolution: 224,
            params: Some(6.8e6),
            params_without_bn: true,
            macs: Some(1.55e9),
            top1: Some(69.8),
            source: "MobileNetV1 paper Table 8 (GoogleNet: 1550M mult-adds, 6.8M params, 69.8%)",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new("googlenet");
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let x = b.block("stem", "conv1", |b| {
        let x = basic_conv(b, "conv1", x, Conv2d::new(3, 64, 7, 2))?;
        let x = b.pool("maxpool1", x, Pool::max(3, 2, 0).ceil_mode(true))?;
        let x = basic_conv(b, "conv2", x, Conv2d::new(64, 64, 1, 1))?;
        let x = basic_conv(b, "conv3", x, Conv2d::new(64, 192, 3, 1))?;
        b.pool("maxpool2", x, Pool::max(3, 2, 0).ceil_mode(true))
    })?;
    let mut x = x;
    let mut channels = 192;
    let mut pool_index = 3;
    for row in INCEPTIONS {
        match row {
            Some((name, widths)) => {
                x = inception(&mut b, name, x, channels, widths)?;
                channels = widths[0] + widths[2] + widths[4] + widths[5];
            }
            None => {
                let pool = if pool_index == 3 { Pool::max(3, 2, 0) } else { Pool::max(2, 2, 0) };
                x = b.pool(&format!("maxpool{pool_index}"), x, pool.ceil_mode(true))?;
                pool_index += 1;
            }
        }
    }
    b.block("classifier", "fc", |b| {
        let x = pool_flatten(b, x, "avgpool")?;
        let x = b.dropout("dropout", x, 0.2)?;
        b.linear("fc", x, variant.num_classes, true)
    })?;
    b.finish()
}

fn inception(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize, widths: [usize; 6]) -> Result<NodeId> {
    let [c1, c3r, c3, c5r, c5, proj] = widths;
    b.block("Inception", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let b1 = basic_conv(b, &n("branch1"), x, Conv2d::new(inp, c1, 1, 1))?;
        let b2 = basic_conv(b, &n("branch2.0"), x, Conv2d::new(inp, c3r, 1, 1))?;
        let b2 = basic_conv(b, &n("branch2.1"), b2, Conv2d::new(c3r, c3, 3, 1))?;
        let b3 = basic_conv(b, &n("branch3.0"), x, Conv2d::new(inp, c5r, 1, 1))?;
        let b3 = basic_conv(b, &n("branch3.1"), b3, Conv2d::new(c5r, c5, 3, 1))?;
        let b4 = b.pool(&n("branch4.0"), x, Pool::max(3, 1, 1).ceil_mode(true))?;
        let b4 = basic_conv(b, &n("branch4.1"), b4, Conv2d::new(inp, proj, 1, 1))?;
        b.concat(&n("cat"), &[b1, b2, b3, b4])
    })
}
