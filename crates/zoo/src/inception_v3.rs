//! # Inception V3
//!
//! Szegedy et al. "Rethinking the Inception Architecture for Computer Vision", CVPR 2016,
//! arXiv:1512.00567. Structure and names: `torchvision.models.inception_v3(aux_logits=False)` (0.29) —
//! the inference network without the auxiliary classifier; input 299².
//!
//! Deviations: none known against torchvision (BN after every convolution, eps 0.001).

use convscope_graph::{Conv2d, Graph, GraphBuilder, NodeId, Padding, Pool, Shape};

use crate::common::{Result, basic_conv, pool_flatten};
use crate::registry::{InputSpec, ModelEntry, NETWORK, Published, Variant, imagenet};

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "inception_v3",
        title: "Inception V3",
        family: "Inception (classic)",
        paper: "Szegedy et al. 2016, arXiv:1512.00567",
        reference: "torchvision.models.inception_v3(aux_logits=False)",
        default: imagenet(1.0, 299),
        input: InputSpec { resolution: 299, resize: 342, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
        published: Some(Published {
            resolution: 299,
            params: Some(23.8e6),
            params_without_bn: false,
            macs: Some(5.71e9),
            top1: Some(77.3),
            source: "torchvision model docs (inception_v3: 27.2M params incl. aux, 5.71 GFLOPS, 77.29%); \
                     23.8M without the auxiliary classifier (Xception paper Table 3: 23.6M)",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

/// A `kh×kw` convolution with stride `s` and PyTorch padding `(ph, pw)`.
fn c(inp: usize, out: usize, kh: usize, kw: usize, s: usize, ph: usize, pw: usize) -> Conv2d {
    Conv2d::new(inp, out, 1, s).kernel(kh, kw).padding(Padding::symmetric(ph, pw))
}

fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new("inception_v3");
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let x = b.block("stem", "stem", |b| {
        let x = basic_conv(b, "Conv2d_1a_3x3", x, c(3, 32, 3, 3, 2, 0, 0))?;
        let x = basic_conv(b, "Conv2d_2a_3x3", x, c(32, 32, 3, 3, 1, 0, 0))?;
        let x = basic_conv(b, "Conv2d_2b_3x3", x, c(32, 64, 3, 3, 1, 1, 1))?;
        let x = b.pool("maxpool1", x, Pool::max(3, 2, 0))?;
        let x = basic_conv(b, "Conv2d_3b_1x1", x, c(64, 80, 1, 1, 1, 0, 0))?;
        let x = basic_conv(b, "Conv2d_4a_3x3", x, c(80, 192, 3, 3, 1, 0, 0))?;
        b.pool("maxpool2", x, Pool::max(3, 2, 0))
    })?;
    let x = inception_a(&mut b, "Mixed_5b", x, 192, 32)?;
    let x = inception_a(&mut b, "Mixed_5c", x, 256, 64)?;
    let x = inception_a(&mut b, "Mixed_5d", x, 288, 64)?;
    let x = inception_b(&mut b, "Mixed_6a", x, 288)?;
    let x = inception_c(&mut b, "Mixed_6b", x, 128)?;
    let x = inception_c(&mut b, "Mixed_6c", x, 160)?;
    let x = inception_c(&mut b, "Mixed_6d", x, 160)?;
    let x = inception_c(&mut b, "Mixed_6e", x, 192)?;
    let x = inception_d(&mut b, "Mixed_7a", x)?;
    let x = inception_e(&mut b, "Mixed_7b", x, 1280)?;
    let x = inception_e(&mut b, "Mixed_7c", x, 2048)?;
    b.block("classifier", "fc", |b| {
        let x = pool_flatten(b, x, "avgpool")?;
        let x = b.dropout("dropout", x, 0.5)?;
        b.linear("fc", x, variant.num_classes, true)
    })?;
    b.finish()
}

fn inception_a(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize, pool_features: usize) -> Result<NodeId> {
    b.block("InceptionA", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let b1 = basic_conv(b, &n("branch1x1"), x, c(inp, 64, 1, 1, 1, 0, 0))?;
        let b5 = basic_conv(b, &n("branch5x5_1"), x, c(inp, 48, 1, 1, 1, 0, 0))?;
        let b5 = basic_conv(b, &n("branch5x5_2"), b5, c(48, 64, 5, 5, 1, 2, 2))?;
        let b3 = basic_conv(b, &n("branch3x3dbl_1"), x, c(inp, 64, 1, 1, 1, 0, 0))?;
        let b3 = basic_conv(b, &n("branch3x3dbl_2"), b3, c(64, 96, 3, 3, 1, 1, 1))?;
        let b3 = basic_conv(b, &n("branch3x3dbl_3"), b3, c(96, 96, 3, 3, 1, 1, 1))?;
        let bp = b.pool(&n("avg_pool"), x, Pool::avg(3, 1, 1))?;
        let bp = basic_conv(b, &n("branch_pool"), bp, c(inp, pool_features, 1, 1, 1, 0, 0))?;
        b.concat(&n("cat"), &[b1, b5, b3, bp])
    })
}

fn inception_b(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize) -> Result<NodeId> {
    b.block("InceptionB", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let b3 = basic_conv(b, &n("branch3x3"), x, c(inp, 384, 3, 3, 2, 0, 0))?;
        let bd = basic_conv(b, &n("branch3x3dbl_1"), x, c(inp, 64, 1, 1, 1, 0, 0))?;
        let bd = basic_conv(b, &n("branch3x3dbl_2"), bd, c(64, 96, 3, 3, 1, 1, 1))?;
        let bd = basic_conv(b, &n("branch3x3dbl_3"), bd, c(96, 96, 3, 3, 2, 0, 0))?;
        let bp = b.pool(&n("max_pool"), x, Pool::max(3, 2, 0))?;
        b.concat(&n("cat"), &[b3, bd, bp])
    })
}

fn inception_c(b: &mut GraphBuilder, p: &str, x: NodeId, c7: usize) -> Result<NodeId> {
    let inp = 768;
    b.block("InceptionC", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let b1 = basic_conv(b, &n("branch1x1"), x, c(inp, 192, 1, 1, 1, 0, 0))?;
        let b7 = basic_conv(b, &n("branch7x7_1"), x, c(inp, c7, 1, 1, 1, 0, 0))?;
        let b7 = basic_conv(b, &n("branch7x7_2"), b7, c(c7, c7, 1, 7, 1, 0, 3))?;
        let b7 = basic_conv(b, &n("branch7x7_3"), b7, c(c7, 192, 7, 1, 1, 3, 0))?;
        let bd = basic_conv(b, &n("branch7x7dbl_1"), x, c(inp, c7, 1, 1, 1, 0, 0))?;
        let bd = basic_conv(b, &n("branch7x7dbl_2"), bd, c(c7, c7, 7, 1, 1, 3, 0))?;
        let bd = basic_conv(b, &n("branch7x7dbl_3"), bd, c(c7, c7, 1, 7, 1, 0, 3))?;
        let bd = basic_conv(b, &n("branch7x7dbl_4"), bd, c(c7, c7, 7, 1, 1, 3, 0))?;
        let bd = basic_conv(b, &n("branch7x7dbl_5"), bd, c(c7, 192, 1, 7, 1, 0, 3))?;
        let bp = b.pool(&n("avg_pool"), x, Pool::avg(3, 1, 1))?;
        let bp = basic_conv(b, &n("branch_pool"), bp, c(inp, 192, 1, 1, 1, 0, 0))?;
        b.concat(&n("cat"), &[b1, b7, bd, bp])
    })
}

fn inception_d(b: &mut GraphBuilder, p: &str, x: NodeId) -> Result<NodeId> {
    let inp = 768;
    b.block("InceptionD", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let b3 = basic_conv(b, &n("branch3x3_1"), x, c(inp, 192, 1, 1, 1, 0, 0))?;
        let b3 = basic_conv(b, &n("branch3x3_2"), b3, c(192, 320, 3, 3, 2, 0, 0))?;
        let b7 = basic_conv(b, &n("branch7x7x3_1"), x, c(inp, 192, 1, 1, 1, 0, 0))?;
        let b7 = basic_conv(b, &n("branch7x7x3_2"), b7, c(192, 192, 1, 7, 1, 0, 3))?;
        let b7 = basic_conv(b, &n("branch7x7x3_3"), b7, c(192, 192, 7, 1, 1, 3, 0))?;
        let b7 = basic_conv(b, &n("branch7x7x3_4"), b7, c(192, 192, 3, 3, 2, 0, 0))?;
        let bp = b.pool(&n("max_pool"), x, Pool::max(3, 2, 0))?;
        b.concat(&n("cat"), &[b3, b7, bp])
    })
}

fn inception_e(b: &mut GraphBuilder, p: &str, x: NodeId, inp: usize) -> Result<NodeId> {
    b.block("InceptionE", p, |b| {
        let n = |s: &str| format!("{p}.{s}");
        let b1 = basic_conv(b, &n("branch1x1"), x, c(inp, 320, 1, 1, 1, 0, 0))?;
        let b3 = basic_conv(b, &n("branch3x3_1"), x, c(inp, 384, 1, 1, 1, 0, 0))?;
        let b3a = basic_conv(b, &n("branch3x3_2a"), b3, c(384, 384, 1, 3, 1, 0, 1))?;
        let b3b = basic_conv(b, &n("branch3x3_2b"), b3, c(384, 384, 3, 1, 1, 1, 0))?;
        let b3 = b.concat(&n("branch3x3_cat"), &[b3a, b3b])?;
        let bd = basic_conv(b, &n("branch3x3dbl_1"), x, c(inp, 448, 1, 1, 1, 0, 0))?;
        let bd = basic_conv(b, &n("branch3x3dbl_2"), bd, c(448, 384, 3, 3, 1, 1, 1))?;
        let bda = basic_conv(b, &n("branch3x3dbl_3a"), bd, c(384, 384, 1, 3, 1, 0, 1))?;
        let bdb = basic_conv(b, &n("branch3x3dbl_3b"), bd, c(384, 384, 3, 1, 1, 1, 0))?;
        let bd = b.concat(&n("branch3x3dbl_cat"), &[bda, bdb])?;
        let bp = b.pool(&n("avg_pool"), x, Pool::avg(3, 1, 1))?;
        let bp = basic_conv(b, &n("branch_pool"), bp, c(inp, 192, 1, 1, 1, 0, 0))?;
        b.concat(&n("cat"), &[b1, b3, bd, bp])
    })
}
