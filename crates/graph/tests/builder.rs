//! Shape inference and builder errors. Expected shapes come from PyTorch 2.15 (`nn.Conv2d`, `nn.MaxPool2d`,
//! `nn.AvgPool2d` on zero tensors of the stated size).

// Test helpers fail by panicking, like the tests themselves.
#![allow(clippy::expect_used)]

use convscope_graph::{Activation, BuildError, Conv2d, GraphBuilder, Padding, Pool, Shape};

fn builder_with_input(c: usize, h: usize, w: usize) -> (GraphBuilder, convscope_graph::NodeId) {
    let mut b = GraphBuilder::new("test");
    let x = b.input(Shape::map(c, h, w)).expect("valid input");
    (b, x)
}

#[test]
fn convolution_shapes_follow_pytorch() {
    let (mut b, x) = builder_with_input(1, 224, 224);
    // nn.Conv2d(1, 1, 7, 2, 3) on 224² → 112².
    let y = b.conv("c1", x, Conv2d::new(1, 8, 7, 2)).expect("conv");
    assert_eq!(b.shape(y), Shape::map(8, 112, 112));

    let (mut b, x) = builder_with_input(1, 17, 17);
    // nn.Conv2d(1, 1, 3, 2, 1, dilation=2) on 17² → 8².
    let conv = Conv2d { dilation: [2, 2], ..Conv2d::new(1, 1, 3, 2) };
    let y = b.conv("c", x, conv).expect("conv");
    assert_eq!(b.shape(y), Shape::map(1, 8, 8));

    let (mut b, x) = builder_with_input(1, 5, 7);
    // nn.Conv2d(1, 1, (1, 5), 1, (0, 2)) keeps 5×7.
    let conv = Conv2d::new(1, 1, 1, 1).kernel(1, 5).padding(Padding::symmetric(0, 2));
    let y = b.conv("c", x, conv).expect("conv");
    assert_eq!(b.shape(y), Shape::map(1, 5, 7));
}

#[test]
fn pooling_shapes_follow_pytorch_including_ceil_mode() {
    for (size, pool, expected) in [
        (109, Pool::max(3, 2, 0).ceil_mode(true), 54), // MaxPool2d(3, 2, ceil_mode=True)
        (55, Pool::max(3, 2, 0).ceil_mode(true), 27),
        (8, Pool::avg(3, 2, 1).ceil_mode(true), 5), // AvgPool2d(3, 2, 1, ceil_mode=True)
        (7, Pool::max(2, 2, 0).ceil_mode(true), 4),
        (7, Pool::max(2, 2, 0), 3),
    ] {
        let (mut b, x) = builder_with_input(2, size, size);
        let y = b.pool("p", x, pool).expect("pool");
        assert_eq!(b.shape(y), Shape::map(2, expected, expected), "{pool:?} on {size}²");
    }
}

#[test]
fn tf_same_padding_puts_the_odd_pixel_bottom_right() {
    // TensorFlow's SAME: out = ceil(in / stride), pad_total = (out − 1)·s + k − in.
    assert_eq!(Padding::tf_same([224, 224], [3, 3], [2, 2], [1, 1]), Padding { top: 0, bottom: 1, left: 0, right: 1 });
    assert_eq!(Padding::tf_same([225, 225], [3, 3], [2, 2], [1, 1]), Padding::uniform(1));
    assert_eq!(Padding::tf_same([14, 14], [5, 5], [1, 1], [1, 1]), Padding::uniform(2));
    let (mut b, x) = builder_with_input(3, 224, 224);
    let conv = Conv2d::new(3, 8, 3, 2).padding(Padding::tf_same([224, 224], [3, 3], [2, 2], [1, 1]));
    let y = b.conv("c", x, conv).expect("conv");
    assert_eq!(b.shape(y), Shape::map(8, 112, 112));
}

#[test]
fn structural_ops_infer_shapes() {
    let (mut b, x) = builder_with_input(8, 4, 4);
    let left = b.slice("l", x, 0, 4).expect("slice");
    let right = b.slice("r", x, 4, 8).expect("slice");
    let cat = b.concat("cat", &[left, right, x]).expect("concat");
    assert_eq!(b.shape(cat), Shape::map(16, 4, 4));
    let shuffled = b.shuffle("s", cat, 4).expect("shuffle");
    let gap = b.global_avg_pool("gap", shuffled).expect("gap");
    assert_eq!(b.shape(gap), Shape::map(16, 1, 1));
    let gated = b.mul("gate", shuffled, gap).expect("broadcast mul");
    let shifted = b.add("merge", gated, gap).expect("broadcast add");
    assert_eq!(b.shape(shifted), Shape::map(16, 4, 4));
    assert!(b.add("backwards", gap, gated).is_err(), "only the second input broadcasts");
    assert_eq!(b.shape(gated), Shape::map(16, 4, 4));
    let flat = b.flatten("flat", shifted).expect("flatten");
    assert_eq!(b.shape(flat), Shape::vector(256));
    // CondenseNet's index layer keeps (here) half of the features, chosen by learned indices.
    let kept = b.gather("index", flat, 128).expect("gather");
    assert_eq!(b.shape(kept), Shape::vector(128));
    let fc = b.linear("fc", kept, 10, true).expect("linear");
    let sm = b.softmax("softmax", fc).expect("softmax");
    assert_eq!(b.shape(sm), Shape::vector(10));
    assert_eq!(b.finish().expect("graph").nodes.len(), 12);
}

#[test]
fn blocks_nest_and_label_nodes() {
    let (mut b, x) = builder_with_input(4, 8, 8);
    let y = b
        .block("stage", "stage1", |b| {
            b.block("Block", "layer1.0", |b| {
                let y = b.conv_bn_act(
                    ["layer1.0.conv", "layer1.0.bn", "layer1.0.act"],
                    x,
                    Conv2d::new(4, 4, 3, 1),
                    Some(Activation::Relu),
                )?;
                b.add("layer1.0.add", x, y)
            })
        })
        .expect("block");
    let graph = b.finish().expect("graph");
    let node = graph.node(y).expect("node");
    let path: Vec<&str> =
        graph.block_path(node.block).iter().map(|&id| graph.block(id).expect("block").name.as_str()).collect();
    assert_eq!(path, ["stage1", "layer1.0"]);
    assert_eq!(graph.block(convscope_graph::BlockId(1)).map(|b| b.depth), Some(1));
    assert!(graph.node(convscope_graph::NodeId(0)).is_some_and(|input| input.block.is_none()));
}

#[test]
fn builder_errors_are_structured_and_name_the_node() {
    let (mut b, x) = builder_with_input(6, 8, 8);
    assert_eq!(
        b.conv("g", x, Conv2d::new(6, 8, 3, 1).groups(4)),
        Err(BuildError::NotDivisible { node: "g".into(), what: "input", channels: 6, groups: 4 })
    );
    assert_eq!(
        b.conv("g2", x, Conv2d::new(6, 10, 3, 1).groups(3)),
        Err(BuildError::NotDivisible { node: "g2".into(), what: "output", channels: 10, groups: 3 })
    );
    assert!(matches!(b.conv("wrong_in", x, Conv2d::new(5, 8, 3, 1)), Err(BuildError::Invalid { .. })));
    assert_eq!(
        b.conv("big", x, Conv2d::new(6, 8, 11, 1).padding(Padding::uniform(1))),
        Err(BuildError::KernelTooLarge { node: "big".into(), kernel_h: 11, kernel_w: 11, padded_h: 10, padded_w: 10 })
    );
    assert_eq!(
        b.conv("zero", x, Conv2d::new(6, 0, 3, 1)),
        Err(BuildError::ZeroSize { node: "zero".into(), what: "channels and groups" })
    );
    assert!(matches!(b.conv("s0", x, Conv2d::new(6, 6, 3, 0)), Err(BuildError::ZeroSize { .. })));

    let y = b.conv("c", x, Conv2d::new(6, 6, 3, 2)).expect("conv");
    assert_eq!(
        b.add("res", x, y),
        Err(BuildError::ShapeMismatch {
            node: "res".into(),
            op: "Add",
            lhs: Shape::map(6, 8, 8),
            rhs: Shape::map(6, 4, 4)
        })
    );
    assert!(matches!(b.shuffle("sh", x, 4), Err(BuildError::NotDivisible { .. })));
    assert!(matches!(b.slice("sl", x, 4, 7), Err(BuildError::Invalid { .. })));
    assert!(matches!(b.linear("fc", x, 10, true), Err(BuildError::Invalid { .. })));
    assert!(matches!(b.gather("none", x, 0), Err(BuildError::ZeroSize { .. })));
    assert_eq!(b.conv("c", x, Conv2d::new(6, 6, 1, 1)), Err(BuildError::DuplicateName { node: "c".into() }));
    assert!(matches!(b.add("ghost", x, convscope_graph::NodeId(99)), Err(BuildError::UnknownInput { input: 99, .. })));
}

#[test]
fn sizes_that_overflow_are_refused() {
    let mut b = GraphBuilder::new("huge");
    assert!(matches!(b.input(Shape::map(usize::MAX, 2, 2)), Err(BuildError::Overflow { .. })));
    assert!(matches!(b.input(Shape::map(3, 0, 224)), Err(BuildError::ZeroSize { .. })));
    let x = b.input(Shape::map(1, 1 << 20, 1 << 20)).expect("large but representable");
    let err = b.conv("wide", x, Conv2d::new(1, usize::MAX / 2, 1, 1));
    assert!(matches!(err, Err(BuildError::Overflow { .. })), "{err:?}");
}

#[test]
fn a_graph_needs_an_input_first() {
    let b = GraphBuilder::new("empty");
    assert_eq!(b.finish(), Err(BuildError::NoInput));
}

#[test]
fn dynamic_shift_max_checks_its_coefficients() {
    let (mut b, x) = builder_with_input(8, 4, 4);
    let pooled = b.global_avg_pool("pool", x).expect("pool");
    let flat = b.flatten("flat", pooled).expect("flatten");
    // Two branches need a₁ b₁ a₂ b₂ per channel: 4 · 8 = 32 coefficients.
    let coefficients = b.linear("fc", flat, 32, true).expect("linear");
    let y = b.dynamic_shift_max("shift_max", x, coefficients, 2, 2, 4.0, ([1.0, 1.0], [0.0, 0.0])).expect("shift-max");
    assert_eq!(b.shape(y), Shape::map(8, 4, 4));
    assert!(matches!(
        b.dynamic_shift_max("one", x, coefficients, 2, 1, 4.0, ([1.0, 0.0], [0.0, 0.0])),
        Err(BuildError::Invalid { .. })
    ));
    assert!(matches!(
        b.dynamic_shift_max("g3", x, coefficients, 3, 2, 4.0, ([1.0, 1.0], [0.0, 0.0])),
        Err(BuildError::NotDivisible { .. })
    ));
}

#[test]
fn channel_wise_conv_keeps_the_channel_count_with_the_channelnet_settings() {
    // pytorchcv ChannelwiseConv2d(groups = 2): Conv3d(1 → 2, kernel 8, stride 2, padding 3) over 512
    // channels gives depth (512 + 6 − 8) / 2 + 1 = 256 per filter, 2 · 256 = 512 channels.
    let (mut b, x) = builder_with_input(512, 7, 7);
    let y = b.channel_conv("cw", x, 2, 8, 2, 3).expect("channel conv");
    assert_eq!(b.shape(y), Shape::map(512, 7, 7));
    let graph = {
        let (mut b, x) = builder_with_input(512, 7, 7);
        b.channel_conv("cw", x, 2, 8, 2, 3).expect("channel conv");
        b.finish().expect("graph")
    };
    let cost = convscope_graph::GraphCost::of(&graph);
    // Weights [2, 1, 8, 1, 1]; one 8-long dot product per output element.
    assert_eq!(cost.total.params, 16);
    assert_eq!(cost.total.macs, 512 * 7 * 7 * 8);
    assert!(matches!(b.channel_conv("long", x, 2, 600, 1, 0), Err(BuildError::Invalid { .. })));
    assert!(matches!(b.channel_conv("zero", x, 0, 8, 2, 3), Err(BuildError::ZeroSize { .. })));
}
