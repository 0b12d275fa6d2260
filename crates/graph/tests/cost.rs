//! The cost rules on small graphs whose counts can be checked by hand.

use convscope_graph::{Activation, Arithmetic, Conv2d, FlopConvention, GraphBuilder, GraphCost, Pool, Shape};

#[test]
fn depthwise_separable_costs_by_hand() {
    // A 3×3 depthwise conv on 32×56×56 then a 1×1 conv to 64: the MobileNet paper's example block.
    let mut b = GraphBuilder::new("dws");
    let x = b.input(Shape::map(32, 56, 56)).expect("input");
    let dw = b
        .conv_bn_act(["dw", "dw_bn", "dw_relu"], x, Conv2d::new(32, 32, 3, 1).depthwise(), Some(Activation::Relu))
        .expect("dw");
    b.conv_bn_act(["pw", "pw_bn", "pw_relu"], dw, Conv2d::new(32, 64, 1, 1), Some(Activation::Relu)).expect("pw");
    let graph = b.finish().expect("graph");
    let cost = GraphCost::of(&graph);
    let spatial = 56 * 56;
    // Depthwise: 32 · 9 weights, 32 · 9 · 56² MACs. Pointwise: 64 · 32 weights, 64 · 32 · 56² MACs.
    assert_eq!(cost.total.macs, 32 * 9 * spatial + 64 * 32 * spatial);
    assert_eq!(cost.total.params, 32 * 9 + 64 * 32 + 2 * 32 + 2 * 64);
    assert_eq!(cost.total.bn_params, 2 * 32 + 2 * 64);
    assert_eq!(cost.total.params_without_bn(), 32 * 9 + 64 * 32);
    // The paper's ratio: (1/N + 1/k²) of a dense 3×3 conv's MACs.
    let dense = 64 * 32 * 9 * spatial;
    let ratio = (32 * 9 * spatial + 64 * 32 * spatial) as f64 / dense as f64;
    assert!((ratio - (1.0 / 64.0 + 1.0 / 9.0)).abs() < 1e-12);
}

#[test]
fn flop_conventions_switch_what_counts() {
    let mut b = GraphBuilder::new("conv-bn-relu-pool");
    let x = b.input(Shape::map(3, 8, 8)).expect("input");
    let y =
        b.conv_bn_act(["c", "bn", "relu"], x, Conv2d::new(3, 4, 3, 1).bias(true), Some(Activation::Relu)).expect("cba");
    b.pool("pool", y, Pool::max(2, 2, 0)).expect("pool");
    let cost = GraphCost::of(&b.finish().expect("graph")).total;
    let macs = 4 * 8 * 8 * 3 * 9;
    assert_eq!(cost.macs, macs);
    assert_eq!(cost.flops(&FlopConvention::MACS), macs);
    assert_eq!(cost.flops(&FlopConvention::TWO_PER_MAC), 2 * macs);
    let bn = 2 * 4 * 64; // scale and shift per element
    let relu = 4 * 64;
    let pool = 4 * 16 * 3; // 3 comparisons per 2×2 window
    assert_eq!(cost.flops(&FlopConvention::ALL), 2 * macs + bn + relu + pool);
    let folded = FlopConvention { bn_folded: true, ..FlopConvention::ALL };
    assert_eq!(cost.flops(&folded), 2 * macs + relu + pool);
}

#[test]
fn memory_traffic_counts_reads_writes_and_weights() {
    // ShuffleNet V2's guideline G1 example: a 1×1 conv c1 → c2 on h×w reads h·w·c1, writes h·w·c2 and
    // reads c1·c2 weights (f32: 4 bytes each).
    let mut b = GraphBuilder::new("pw");
    let x = b.input(Shape::map(16, 10, 10)).expect("input");
    b.conv("pw", x, Conv2d::new(16, 32, 1, 1)).expect("conv");
    let graph = b.finish().expect("graph");
    let cost = GraphCost::of(&graph);
    assert_eq!(cost.total.memory_traffic(), 4 * (100 * 16 + 100 * 32 + 16 * 32));
    assert_eq!(cost.per_node.first().map(|c| c.memory_traffic()), Some(0), "the input moves nothing");
    assert_eq!(cost.peak_activation_bytes, 4 * (100 * 16 + 100 * 32));
}

#[test]
fn adder_and_mitchell_arithmetic_count_additions_and_shifts() {
    for (arithmetic, adds, muls, shifts) in
        [(Arithmetic::Multiply, 1, 1, 0), (Arithmetic::Adder, 2, 0, 0), (Arithmetic::Mitchell, 2, 0, 2)]
    {
        let mut b = GraphBuilder::new("conv");
        let x = b.input(Shape::map(8, 6, 6)).expect("input");
        b.conv("c", x, Conv2d::new(8, 8, 3, 1).arithmetic(arithmetic)).expect("conv");
        let cost = GraphCost::of(&b.finish().expect("graph")).total;
        let macs = 8 * 36 * 8 * 9;
        assert_eq!(cost.macs, macs, "{arithmetic:?}: MACs are the same work whatever the arithmetic");
        assert_eq!((cost.adds, cost.muls, cost.shifts), (adds * macs, muls * macs, shifts * macs), "{arithmetic:?}");
    }
}

#[test]
fn block_totals_include_nested_blocks() {
    let mut b = GraphBuilder::new("nested");
    let x = b.input(Shape::map(4, 4, 4)).expect("input");
    b.block("stage", "s", |b| {
        let y = b.conv("a", x, Conv2d::new(4, 4, 1, 1))?;
        b.block("block", "s.0", |b| b.conv("b", y, Conv2d::new(4, 4, 1, 1)))
    })
    .expect("blocks");
    let graph = b.finish().expect("graph");
    let cost = GraphCost::of(&graph);
    let stage = cost.block_total(&graph, convscope_graph::BlockId(0));
    let inner = cost.block_total(&graph, convscope_graph::BlockId(1));
    assert_eq!(stage.params, 32);
    assert_eq!(inner.params, 16);
    assert_eq!(stage, cost.total);
}
