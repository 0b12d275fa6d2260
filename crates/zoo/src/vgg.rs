//! # VGG-16
//!
//! Simonyan, Zisserman. "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015,
//! arXiv:1409.1556 (configuration D). Structure and names: `torchvision.models.vgg16` (0.29).
//!
//! Deviations: torchvision's `AdaptiveAvgPool2d((7, 7))` before the classifier is represented by the
//! classifier requiring a 7×7 map: at 224² (the only resolution the fully connected head accepts without
//! resampling) it is the identity. Other resolutions are refused with a clear error.

use convscope_graph::{Activation, BuildError, Conv2d, Graph, GraphBuilder, Pool, Shape};

use crate::common::Result;
use crate::registry::{ModelEntry, NETWORK, Published, Variant};

/// Configuration D: output channels of each 3×3 conv, 0 for a 2×2 max pool.
const CONFIG_D: [usize; 18] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "vgg16",
        title: "VGG-16",
        family: "VGG (classic)",
        paper: "Simonyan & Zisserman 2015, arXiv:1409.1556",
        reference: "torchvision.models.vgg16",
        published: Some(Published {
            resolution: 224,
            params: Some(138e6),
            params_without_bn: false,
            macs: Some(15.5e9),
            top1: Some(71.6),
            source: "Simonyan & Zisserman 2015, Table 2 (138M params); torchvision model docs (15.47 \"GFLOPS\", i.e. MACs; 71.59 top-1)",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new("vgg16");
    let mut x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let mut channels = 3;
    let mut stage = 1;
    let mut stage_start = 0;
    for (i, &c) in CONFIG_D.iter().enumerate() {
        if c == 0 {
            let first = stage_start;
            x = b.block("stage", format!("conv{stage}"), |b| {
                let mut y = x;
                for (j, &c) in CONFIG_D.iter().enumerate().take(i).skip(first) {
                    // Each conv occupies two indices (conv, ReLU); pools one.
                    let index = index_of(j);
                    y = b.conv(&format!("features.{index}"), y, Conv2d::new(channels, c, 3, 1).bias(true))?;
                    y = b.act(&format!("features.{}", index + 1), y, Activation::Relu)?;
                    channels = c;
                }
                b.pool(&format!("features.{}", index_of(i)), y, Pool::max(2, 2, 0))
            })?;
            stage += 1;
            stage_start = i + 1;
        }
    }
    let pooled = b.shape(x);
    if (pooled.h, pooled.w) != (7, 7) {
        return Err(BuildError::Invalid {
            node: "avgpool".to_owned(),
            message: format!("VGG-16's classifier expects a 7×7 map (224² input), got {pooled}"),
        });
    }
    b.block("classifier", "classifier", |b| {
        let x = b.flatten("flatten", x)?;
        let x = b.linear("classifier.0", x, 4096, true)?;
        let x = b.act("classifier.1", x, Activation::Relu)?;
        let x = b.dropout("classifier.2", x, 0.5)?;
        let x = b.linear("classifier.3", x, 4096, true)?;
        let x = b.act("classifier.4", x, Activation::Relu)?;
        let x = b.dropout("classifier.5", x, 0.5)?;
        b.linear("classifier.6", x, variant.num_classes, true)
    })?;
    b.finish()
}

/// Index in torchvision's `features` of configuration entry `j`: convs take two slots (conv, ReLU).
fn index_of(j: usize) -> usize {
    CONFIG_D.iter().take(j).map(|&c| if c == 0 { 1 } else { 2 }).sum()
}
