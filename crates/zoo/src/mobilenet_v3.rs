//! # MobileNetV3 (Large and Small)
//!
//! Howard et al. "Searching for MobileNetV3", ICCV 2019, arXiv:1905.02244. Structure and names:
//! `torchvision.models.mobilenet_v3_large` / `mobilenet_v3_small` (0.29).
//!
//! Deviations: none known against torchvision. The paper's Table 3 gives 219M/5.4M (Large) and 56M/2.5M
//! (Small); torchvision counts 216.6M MACs for Large because its SE squeeze width rounds to 8.

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, NodeId, Shape};

use crate::common::{Result, make_divisible, squeeze_excite, tv_conv_bn_act_eps};

/// torchvision builds these models with `partial(nn.BatchNorm2d, eps=0.001)`.
const BN_EPS: f32 = 1e-3;
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

use Activation::{HardSwish as HS, Relu as RE};

/// One bottleneck row of the paper's Tables 1 and 2.
pub(crate) struct Bneck {
    input: usize,
    kernel: usize,
    expanded: usize,
    out: usize,
    se: bool,
    act: Activation,
    stride: usize,
}

pub(crate) const fn bneck(
    input: usize,
    kernel: usize,
    expanded: usize,
    out: usize,
    se: bool,
    act: Activation,
    stride: usize,
) -> Bneck {
    Bneck { input, kernel, expanded, out, se, act, stride }
}

const LARGE: [Bneck; 15] = [
    bneck(16, 3, 16, 16, false, RE, 1),
    bneck(16, 3, 64, 24, false, RE, 2),
    bneck(24, 3, 72, 24, false, RE, 1),
    bneck(24, 5, 72, 40, true, RE, 2),
    bneck(40, 5, 120, 40, true, RE, 1),
    bneck(40, 5, 120, 40, true, RE, 1),
    bneck(40, 3, 240, 80, false, HS, 2),
    bneck(80, 3, 200, 80, false, HS, 1),
    bneck(80, 3, 184, 80, false, HS, 1),
    bneck(80, 3, 184, 80, false, HS, 1),
    bneck(80, 3, 480, 112, true, HS, 1),
    bneck(112, 3, 672, 112, true, HS, 1),
    bneck(112, 5, 672, 160, true, HS, 2),
    bneck(160, 5, 960, 160, true, HS, 1),
    bneck(160, 5, 960, 160, true, HS, 1),
];

const SMALL: [Bneck; 11] = [
    bneck(16, 3, 16, 16, true, RE, 2),
    bneck(16, 3, 72, 24, false, RE, 2),
    bneck(24, 3, 88, 24, false, RE, 1),
    bneck(24, 5, 96, 40, true, HS, 2),
    bneck(40, 5, 240, 40, true, HS, 1),
    bneck(40, 5, 240, 40, true, HS, 1),
    bneck(40, 5, 120, 48, true, HS, 1),
    bneck(48, 5, 144, 48, true, HS, 1),
    bneck(48, 5, 288, 96, true, HS, 2),
    bneck(96, 5, 576, 96, true, HS, 1),
    bneck(96, 5, 576, 96, true, HS, 1),
];

pub fn models() -> Vec<ModelEntry> {
    let entry = |id, title, builder: fn(&Variant, usize) -> Result<Graph>, params, macs, top1| ModelEntry {
        id,
        title,
        family: "MobileNet V3",
        paper: "Howard et al. 2019, arXiv:1905.02244",
        reference: "torchvision.models.mobilenet_v3_large / mobilenet_v3_small",
        width: true,
        published: Some(Published {
            resolution: 224,
            params: Some(params),
            params_without_bn: false,
            macs: Some(macs),
            top1: Some(top1),
            source: "Howard et al. 2019, Table 3 (final version)",
        }),
        builder,
        ..NETWORK
    };
    vec![
        entry("mobilenet_v3_large", "MobileNetV3-Large", |v, _| build_large(v), 5.4e6, 219e6, 75.2),
        entry("mobilenet_v3_small", "MobileNetV3-Small", |v, _| build_small(v), 2.5e6, 56e6, 67.4),
    ]
}

fn build_large(variant: &Variant) -> Result<Graph> {
    build(variant, "mobilenet_v3_large", &LARGE, 1280)
}

fn build_small(variant: &Variant) -> Result<Graph> {
    build(variant, "mobilenet_v3_small", &SMALL, 1024)
}

fn build(variant: &Variant, name: &str, rows: &[Bneck], last: usize) -> Result<Graph> {
    let adjust = |c: usize| make_divisible(c as f64 * variant.width, 8);
    let mut b = GraphBuilder::new(format!("{name} ×{}", variant.width));
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let stem = adjust(rows.first().map_or(16, |r| r.input));
    let mut x = b.block("stem", "features.0", |b| {
        tv_conv_bn_act_eps(b, "features.0", x, Conv2d::new(3, stem, 3, 2), Some(HS), BN_EPS)
    })?;
    for (i, row) in rows.iter().enumerate() {
        let prefix = format!("features.{}", i + 1);
        x = bottleneck(&mut b, &prefix, x, row, &adjust)?;
    }
    let index = rows.len() + 1;
    let last_in = adjust(rows.last().map_or(16, |r| r.out));
    let last_conv = 6 * last_in;
    let x = b.block("head", format!("features.{index}"), |b| {
        tv_conv_bn_act_eps(b, &format!("features.{index}"), x, Conv2d::new(last_in, last_conv, 1, 1), Some(HS), BN_EPS)
    })?;
    let hidden = adjust(last);
    b.block("classifier", "classifier", |b| {
        let x = crate::common::pool_flatten(b, x, "avgpool")?;
        let x = b.linear("classifier.0", x, hidden, true)?;
        let x = b.act("classifier.1", x, HS)?;
        let x = b.dropout("classifier.2", x, 0.2)?;
        b.linear("classifier.3", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// torchvision's MobileNetV3 `InvertedResidual`: `block.0` expansion (if any), depthwise, SE (ReLU inside,
/// hard-sigmoid gate, squeeze = make_divisible(expanded / 4, 8)), linear projection, residual.
pub(crate) fn bottleneck(
    b: &mut GraphBuilder,
    prefix: &str,
    x: NodeId,
    row: &Bneck,
    adjust: &dyn Fn(usize) -> usize,
) -> Result<NodeId> {
    let (input, expanded, out) = (adjust(row.input), adjust(row.expanded), adjust(row.out));
    b.block("InvertedResidual", prefix, |b| {
        let mut y = x;
        let mut layer = 0;
        if expanded != input {
            let p = format!("{prefix}.block.{layer}");
            y = tv_conv_bn_act_eps(b, &p, y, Conv2d::new(input, expanded, 1, 1), Some(row.act), BN_EPS)?;
            layer += 1;
        }
        let p = format!("{prefix}.block.{layer}");
        let dw = Conv2d::new(expanded, expanded, row.kernel, row.stride).depthwise();
        y = tv_conv_bn_act_eps(b, &p, y, dw, Some(row.act), BN_EPS)?;
        layer += 1;
        if row.se {
            let p = format!("{prefix}.block.{layer}");
            let squeeze = make_divisible((expanded / 4) as f64, 8); // torchvision: `expanded // 4` first
            let names = [format!("{p}.fc1"), format!("{p}.fc2")];
            y = squeeze_excite(b, &p, [&names[0], &names[1]], y, squeeze, Activation::Relu, Activation::HardSigmoid)?;
            layer += 1;
        }
        let p = format!("{prefix}.block.{layer}");
        y = tv_conv_bn_act_eps(b, &p, y, Conv2d::new(expanded, out, 1, 1), None, BN_EPS)?;
        if row.stride == 1 && input == out { b.add(&format!("{prefix}.add"), x, y) } else { Ok(y) }
    })
}
