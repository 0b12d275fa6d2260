//! Cost from shapes only: parameters, MACs, FLOPs under a chosen convention, memory traffic, activation
//! memory, and the additions / multiplications / shifts of the convolution arithmetic.
//!
//! Conventions (the papers disagree, so the caller picks):
//! - **MACs** count the multiply-accumulates of convolutions and linear layers only — what MobileNet,
//!   ShuffleNet, EfficientNet and GhostNet call "FLOPs" or "Mult-Adds".
//! - **FLOPs** are `flops_per_mac × MACs` plus, where [`FlopConvention`] says so, the element-wise work of
//!   batch norm, activations, additions/multiplications and pooling.
//! - **Memory traffic** is ShuffleNet V2's "MAC": bytes read and written (inputs + outputs + weights, f32).
//!   Views (`Flatten`, `Dropout`, the input) move nothing.

use std::ops::{Add, AddAssign};

use crate::{Activation, Arithmetic, BlockId, Graph, Node, Op, PoolKind};

/// Bytes per element: activations and weights are f32.
const BYTES: u64 = 4;

/// The cost of one node, or the sum over several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Learnable parameters, BN affine (weight + bias) included: `sum(p.numel() for p in parameters())`.
    pub params: u64,
    /// The BN affine part of `params`.
    pub bn_params: u64,
    /// Multiply-accumulates of convolutions and linear layers.
    pub macs: u64,
    /// Element-wise operations of batch norm (scale and shift: 2 per element).
    pub bn_ops: u64,
    /// Element-wise operations of activations ([`Activation::ops_per_element`]).
    pub activation_ops: u64,
    /// Element-wise additions, multiplications and softmax work.
    pub elementwise_ops: u64,
    /// Comparisons (max) or additions and the division (average) of pooling.
    pub pool_ops: u64,
    /// Additions in convolutions and linear layers (accumulation; AdderNet's subtraction too).
    pub adds: u64,
    /// Multiplications in convolutions and linear layers (0 for AdderNet and Mitchell).
    pub muls: u64,
    /// Bit shifts (Mitchell's log and antilog).
    pub shifts: u64,
    /// Bytes of inputs read.
    pub input_bytes: u64,
    /// Bytes of output written: the activation memory this node holds.
    pub output_bytes: u64,
    /// Bytes of parameters read.
    pub weight_bytes: u64,
}

impl Cost {
    /// Parameters without the BN affine weights (TensorFlow's convention, e.g. MobileNetV2's 3.47M).
    pub fn params_without_bn(&self) -> u64 {
        self.params - self.bn_params
    }

    /// FLOPs under `convention`.
    pub fn flops(&self, convention: &FlopConvention) -> u64 {
        let mut flops = convention.flops_per_mac * self.macs;
        if convention.count_bn && !convention.bn_folded {
            flops += self.bn_ops;
        }
        if convention.count_activations {
            flops += self.activation_ops;
        }
        if convention.count_elementwise {
            flops += self.elementwise_ops;
        }
        if convention.count_pool {
            flops += self.pool_ops;
        }
        flops
    }

    /// ShuffleNet V2's memory access cost: bytes read and written.
    pub fn memory_traffic(&self) -> u64 {
        self.input_bytes + self.output_bytes + self.weight_bytes
    }
}

impl Add for Cost {
    type Output = Self;

    fn add(self, rhs: Self) -> Self {
        Self {
            params: self.params + rhs.params,
            bn_params: self.bn_params + rhs.bn_params,
            macs: self.macs + rhs.macs,
            bn_ops: self.bn_ops + rhs.bn_ops,
            activation_ops: self.activation_ops + rhs.activation_ops,
            elementwise_ops: self.elementwise_ops + rhs.elementwise_ops,
            pool_ops: self.pool_ops + rhs.pool_ops,
            adds: self.adds + rhs.adds,
            muls: self.muls + rhs.muls,
            shifts: self.shifts + rhs.shifts,
            input_bytes: self.input_bytes + rhs.input_bytes,
            output_bytes: self.output_bytes + rhs.output_bytes,
            weight_bytes: self.weight_bytes + rhs.weight_bytes,
        }
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl std::iter::Sum for Cost {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), Add::add)
    }
}

/// Which work counts as FLOPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlopConvention {
    /// 2 when a multiply and an add are two FLOPs (SqueezeNet's "1.72 GFLOPs"), 1 when FLOPs mean MACs.
    pub flops_per_mac: u64,
    pub count_bn: bool,
    /// BN folded into the preceding convolution costs nothing at inference.
    pub bn_folded: bool,
    pub count_activations: bool,
    /// Additions, multiplications (SE gating) and softmax.
    pub count_elementwise: bool,
    pub count_pool: bool,
}

impl FlopConvention {
    /// Multiply and add counted apart, convolutions and linear layers only.
    pub const TWO_PER_MAC: Self = Self {
        flops_per_mac: 2,
        count_bn: false,
        bn_folded: true,
        count_activations: false,
        count_elementwise: false,
        count_pool: false,
    };

    /// FLOPs = MACs, the convention of most lightweight-CNN papers.
    pub const MACS: Self = Self { flops_per_mac: 1, ..Self::TWO_PER_MAC };

    /// Everything counted: 2 per MAC plus BN, activations, element-wise work and pooling.
    pub const ALL: Self = Self {
        flops_per_mac: 2,
        count_bn: true,
        bn_folded: false,
        count_activations: true,
        count_elementwise: true,
        count_pool: true,
    };
}

impl Default for FlopConvention {
    fn default() -> Self {
        Self::TWO_PER_MAC
    }
}

/// The cost of one node, from its op and the shapes of its inputs and output.
pub fn node_cost(graph: &Graph, node: &Node) -> Cost {
    let inputs = graph.input_shapes(node);
    let out = node.output;
    let out_numel = out.numel();
    let input_bytes = inputs.iter().map(|s| s.numel() * BYTES).sum::<u64>();
    let moves = Cost { input_bytes, output_bytes: out_numel * BYTES, ..Cost::default() };
    let with_weights = |params: u64| Cost { params, weight_bytes: params * BYTES, ..moves };

    // Exhaustive on purpose: an op without a cost rule does not compile.
    match &node.op {
        Op::Input | Op::Flatten | Op::Dropout { .. } => Cost::default(),
        Op::Conv2d(conv) => {
            let per_output =
                (conv.in_channels / conv.groups.max(1)) as u64 * conv.kernel[0] as u64 * conv.kernel[1] as u64;
            let macs = out_numel * per_output;
            let params = conv.weight_count() + if conv.bias { conv.out_channels as u64 } else { 0 };
            let (adds, muls, shifts) = arithmetic_counts(conv.arithmetic, macs);
            Cost { macs, adds, muls, shifts, ..with_weights(params) }
        }
        // Every output element is a `kernel`-long dot product along the channels.
        Op::ChannelConv { out, kernel, .. } => {
            let macs = out_numel * *kernel as u64;
            Cost { macs, adds: macs, muls: macs, ..with_weights(*out as u64 * *kernel as u64) }
        }
        Op::Linear { in_features, out_features, bias } => {
            let macs = *in_features as u64 * *out_features as u64;
            let params = macs + if *bias { *out_features as u64 } else { 0 };
            Cost { macs, adds: macs, muls: macs, ..with_weights(params) }
        }
        Op::BatchNorm { .. } => {
            let params = 2 * out.c as u64;
            Cost { bn_params: params, bn_ops: 2 * out_numel, ..with_weights(params) }
        }
        Op::Activation(activation) => Cost { activation_ops: activation_ops(*activation, out_numel), ..moves },
        Op::Add | Op::Mul => Cost { elementwise_ops: out_numel, ..moves },
        // exp, sum, divide per element.
        Op::Softmax => Cost { elementwise_ops: 3 * out_numel, ..moves },
        // Per element: `size` squares and additions for the window sum, then scale, add k, power, divide.
        Op::LocalResponseNorm { size, .. } => Cost { elementwise_ops: (2 * *size as u64 + 4) * out_numel, ..moves },
        // Per output element and branch: two products and an addition; the branches meet in a max.
        Op::DynamicShiftMax { branches, .. } => {
            let per_element = 3 * *branches as u64 + (*branches as u64).saturating_sub(1);
            Cost { elementwise_ops: per_element * out_numel, ..moves }
        }
        Op::Concat | Op::ChannelSlice { .. } | Op::ChannelShuffle { .. } | Op::ChannelGather { .. } => moves,
        Op::Pool(pool) => {
            let window = pool.kernel[0] as u64 * pool.kernel[1] as u64;
            let per_output = match pool.kind {
                PoolKind::Max => window - 1,
                PoolKind::Avg { .. } => window,
            };
            Cost { pool_ops: out_numel * per_output, ..moves }
        }
        Op::GlobalAvgPool => {
            let input_numel = inputs.first().map_or(0, |s| s.numel());
            Cost { pool_ops: input_numel, ..moves }
        }
    }
}

fn activation_ops(activation: Activation, numel: u64) -> u64 {
    activation.ops_per_element() * numel
}

/// `(adds, muls, shifts)` of `macs` multiply-accumulates under `arithmetic`:
/// - multiply: one multiplication and one addition each;
/// - AdderNet: −|x − w| accumulated, so a subtraction and an addition, no multiplication
///   (the absolute value is a sign-bit clear and is not counted);
/// - Mitchell: log₂ of the activation (leading-one detection and a shift; weight logs are precomputed),
///   an addition of the logs, an antilog shift, and the accumulation: 2 additions and 2 shifts.
pub fn arithmetic_counts(arithmetic: Arithmetic, macs: u64) -> (u64, u64, u64) {
    match arithmetic {
        Arithmetic::Multiply => (macs, macs, 0),
        Arithmetic::Adder => (2 * macs, 0, 0),
        Arithmetic::Mitchell => (2 * macs, 0, 2 * macs),
    }
}

/// Per-node costs of a graph and their totals.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphCost {
    /// Parallel to [`Graph::nodes`].
    pub per_node: Vec<Cost>,
    pub total: Cost,
    /// Peak activation memory of a simple schedule that keeps every output until its last consumer ran.
    pub peak_activation_bytes: u64,
}

impl GraphCost {
    pub fn of(graph: &Graph) -> Self {
        let per_node: Vec<Cost> = graph.nodes.iter().map(|node| node_cost(graph, node)).collect();
        let total = per_node.iter().copied().sum();
        Self { per_node, total, peak_activation_bytes: peak_activation_bytes(graph) }
    }

    /// The sum over every node inside `block`, nested blocks included.
    pub fn block_total(&self, graph: &Graph, block: BlockId) -> Cost {
        graph
            .nodes
            .iter()
            .zip(&self.per_node)
            .filter(|(node, _)| graph.is_in_block(node, block))
            .map(|(_, cost)| *cost)
            .sum()
    }
}

/// Live bytes at the worst point when nodes run in order and each output is freed after its last use.
fn peak_activation_bytes(graph: &Graph) -> u64 {
    let n = graph.nodes.len();
    let mut last_use: Vec<usize> = (0..n).collect();
    for (i, node) in graph.nodes.iter().enumerate() {
        for input in &node.inputs {
            if let Some(slot) = last_use.get_mut(input.0) {
                *slot = (*slot).max(i);
            }
        }
    }
    let mut live = 0u64;
    let mut peak = 0u64;
    let mut frees: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &last) in last_use.iter().enumerate() {
        if let Some(list) = frees.get_mut(last) {
            list.push(i);
        }
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        live += node.output.numel() * BYTES;
        peak = peak.max(live);
        for &freed in frees.get(i).map(Vec::as_slice).unwrap_or_default() {
            live -= graph.nodes.get(freed).map_or(0, |node| node.output.numel() * BYTES);
        }
    }
    peak
}
