//! # AlexNet (the original, with its two-group convolutions)
//!
//! Krizhevsky, Sutskever, Hinton. "ImageNet Classification with Deep Convolutional Neural Networks",
//! NeurIPS 2012. The network was split over two GPUs: conv2, conv4 and conv5 only see the half of their
//! input that lives on their GPU — grouped convolutions with 2 groups, the ancestor of every grouped and
//! depthwise convolution in this zoo. Structure and names: Caffe's `bvlc_alexnet` deploy.prototxt
//! (conv1 … fc8, LRN after relu1 and relu2), 227² input.
//!
//! Deviations: torchvision's `alexnet` is the later single-GPU variant (no groups, no LRN, 64/192
//! channels) and is not this model; no torchvision/timm reference exists, so the totals are tested against
//! a count of the Caffe prototxt (60,965,224 parameters, 724,406,816 MACs).

use convscope_graph::{Activation, Conv2d, Graph, GraphBuilder, Padding, Pool, Shape};

use crate::common::Result;
use crate::registry::{InputSpec, ModelEntry, NETWORK, Published, Variant, imagenet};

pub fn models() -> Vec<ModelEntry> {
    vec![ModelEntry {
        id: "alexnet",
        title: "AlexNet (2 groups)",
        family: "AlexNet (classic)",
        paper: "Krizhevsky et al. 2012, NeurIPS",
        reference: "Caffe bvlc_alexnet deploy.prototxt",
        default: imagenet(1.0, 227),
        input: InputSpec::imagenet(227, 256),
        published: Some(Published {
            resolution: 227,
            params: Some(60e6),
            params_without_bn: false,
            macs: None,
            top1: Some(59.3),
            source: "Krizhevsky et al. 2012, Section 1 (60 million parameters) and Table 2 (1 CNN: 40.7% top-1 error)",
        }),
        builder: |v, _| build(v),
        ..NETWORK
    }]
}

fn build(variant: &Variant) -> Result<Graph> {
    let mut b = GraphBuilder::new("alexnet");
    let x = b.input(Shape::map(3, variant.resolution, variant.resolution))?;
    let conv =
        |inp, out, k, s, p, groups| Conv2d::new(inp, out, k, s).padding(Padding::uniform(p)).groups(groups).bias(true);
    let lrn = |b: &mut GraphBuilder, name: &str, x| b.lrn(name, x, 5, 1e-4, 0.75, 1.0);
    let x = b.block("conv", "conv1", |b| {
        let x = b.conv("conv1", x, conv(3, 96, 11, 4, 0, 1))?;
        let x = b.act("relu1", x, Activation::Relu)?;
        let x = lrn(b, "norm1", x)?;
        b.pool("pool1", x, Pool::max(3, 2, 0).ceil_mode(true))
    })?;
    let x = b.block("conv (2 groups)", "conv2", |b| {
        let x = b.conv("conv2", x, conv(96, 256, 5, 1, 2, 2))?;
        let x = b.act("relu2", x, Activation::Relu)?;
        let x = lrn(b, "norm2", x)?;
        b.pool("pool2", x, Pool::max(3, 2, 0).ceil_mode(true))
    })?;
    let x = b.block("conv", "conv3", |b| {
        let x = b.conv("conv3", x, conv(256, 384, 3, 1, 1, 1))?;
        b.act("relu3", x, Activation::Relu)
    })?;
    let x = b.block("conv (2 groups)", "conv4", |b| {
        let x = b.conv("conv4", x, conv(384, 384, 3, 1, 1, 2))?;
        b.act("relu4", x, Activation::Relu)
    })?;
    let x = b.block("conv (2 groups)", "conv5", |b| {
        let x = b.conv("conv5", x, conv(384, 256, 3, 1, 1, 2))?;
        let x = b.act("relu5", x, Activation::Relu)?;
        b.pool("pool5", x, Pool::max(3, 2, 0).ceil_mode(true))
    })?;
    b.block("classifier", "fc6", |b| {
        let x = b.flatten("flatten", x)?;
        let x = b.linear("fc6", x, 4096, true)?;
        let x = b.act("relu6", x, Activation::Relu)?;
        let x = b.dropout("drop6", x, 0.5)?;
        let x = b.linear("fc7", x, 4096, true)?;
        let x = b.act("relu7", x, Activation::Relu)?;
        let x = b.dropout("drop7", x, 0.5)?;
        b.linear("fc8", x, variant.num_classes, true)
    })?;
    b.finish()
}

#[cfg(test)]
mod tests {
    use convscope_graph::GraphCost;

    #[test]
    fn totals_match_the_caffe_prototxt_count() {
        let graph = super::build(&crate::registry::imagenet(1.0, 227)).expect("builds");
        let total = GraphCost::of(&graph).total;
        // bvlc_alexnet deploy.prototxt, counted by layer: conv1 34,944; conv2 307,456; conv3 885,120;
        // conv4 663,936; conv5 442,624; fc6 37,752,832; fc7 16,781,312; fc8 4,097,000.
        assert_eq!(total.params, 60_965_224);
        // conv1 105,415,200 (96·55²·3·11²); conv2 223,948,800 (256·27²·48·5²); conv3 149,520,384;
        // conv4 112,140,288; conv5 74,760,192; fc6 37,748,736; fc7 16,777,216; fc8 4,096,000.
        assert_eq!(total.macs, 724_406_816);
        let pool5 = graph.find("pool5").and_then(|id| graph.node(id)).map(|n| n.output);
        assert_eq!(pool5, Some(convscope_graph::Shape::map(256, 6, 6)));
    }
}
