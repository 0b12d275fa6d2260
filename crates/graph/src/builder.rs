//! Building a graph node by node, with shape inference and structured errors at every step.

use std::collections::HashSet;

use crate::{Activation, Block, BlockId, BuildError, Conv2d, Graph, Node, NodeId, Op, Padding, Pool, Shape};

/// Builds a [`Graph`]: every method checks its inputs, infers the output shape and returns the new node,
/// or a [`BuildError`] naming the node — never a panic.
#[derive(Debug)]
pub struct GraphBuilder {
    name: String,
    nodes: Vec<Node>,
    blocks: Vec<Block>,
    current_block: Option<BlockId>,
    names: HashSet<String>,
}

type Result<T> = std::result::Result<T, BuildError>;

impl GraphBuilder {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), nodes: Vec::new(), blocks: Vec::new(), current_block: None, names: HashSet::new() }
    }

    /// Start a graph that rewrites `graph` (the conv-swap lab): it keeps `graph`'s blocks; nodes are
    /// added with [`GraphBuilder::copy`] (as they were) or built anew inside [`GraphBuilder::within`].
    pub fn rewriting(graph: &Graph, name: impl Into<String>) -> Self {
        Self { blocks: graph.blocks.clone(), ..Self::new(name) }
    }

    /// Add the next nodes to `block` (a block of the graph being rewritten).
    pub fn within(&mut self, block: Option<BlockId>) {
        self.current_block = block;
    }

    /// A copy of `node` reading `inputs` (nodes of this builder), in its own block: for rewrites that
    /// keep every shape. The inputs' shapes must be the ones `node` read (`expected`).
    pub fn copy(&mut self, node: &Node, inputs: Vec<NodeId>, expected: &[Shape]) -> Result<NodeId> {
        for (id, want) in inputs.iter().zip(expected) {
            let got = self.input_shape(&node.name, *id)?;
            if got != *want {
                return Err(BuildError::Invalid {
                    node: node.name.clone(),
                    message: format!("the rewrite feeds it {got} where it read {want}"),
                });
            }
        }
        self.current_block = node.block;
        self.push(&node.name, node.op.clone(), inputs, node.output)
    }

    /// The output shape of a node already added.
    pub fn shape(&self, id: NodeId) -> Shape {
        self.nodes.get(id.0).map_or(Shape::map(0, 0, 0), |node| node.output)
    }

    /// Run `body` with every node it adds labelled as part of a block `kind` named `name`, nested in the
    /// current block.
    pub fn block<T>(
        &mut self,
        kind: impl Into<String>,
        name: impl Into<String>,
        body: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let parent = self.current_block;
        let depth = parent.and_then(|id| self.blocks.get(id.0)).map_or(0, |b| b.depth + 1);
        self.blocks.push(Block { kind: kind.into(), name: name.into(), parent, depth });
        self.current_block = Some(BlockId(self.blocks.len() - 1));
        let result = body(self);
        self.current_block = parent;
        result
    }

    /// The network input. Must be the first node.
    pub fn input(&mut self, shape: Shape) -> Result<NodeId> {
        if shape.c == 0 || shape.h == 0 || shape.w == 0 {
            return Err(BuildError::ZeroSize { node: "input".to_owned(), what: "input shape" });
        }
        if shape.checked_numel().is_none() {
            return Err(BuildError::Overflow { node: "input".to_owned(), what: "input elements" });
        }
        self.push("input", Op::Input, vec![], shape)
    }

    pub fn conv(&mut self, name: &str, x: NodeId, conv: Conv2d) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        let node = || name.to_owned();
        if conv.in_channels == 0 || conv.out_channels == 0 || conv.groups == 0 {
            return Err(BuildError::ZeroSize { node: node(), what: "channels and groups" });
        }
        if conv.kernel.contains(&0) || conv.stride.contains(&0) || conv.dilation.contains(&0) {
            return Err(BuildError::ZeroSize { node: node(), what: "kernel, stride and dilation" });
        }
        if input.vector || input.c != conv.in_channels {
            return Err(BuildError::Invalid {
                node: node(),
                message: format!("expects {} input channels, got {input}", conv.in_channels),
            });
        }
        for (what, channels) in [("input", conv.in_channels), ("output", conv.out_channels)] {
            if channels % conv.groups != 0 {
                return Err(BuildError::NotDivisible { node: node(), what, channels, groups: conv.groups });
            }
        }
        let [h, w] = window_output(name, input, conv.kernel, conv.stride, conv.padding, conv.dilation, false)?;
        let output = Shape::map(conv.out_channels, h, w);
        if output.checked_numel().is_none() || conv.weight_count() > u64::from(u32::MAX) * 16 {
            return Err(BuildError::Overflow { node: node(), what: "convolution output or weights" });
        }
        self.push(name, Op::Conv2d(conv), vec![x], output)
    }

    /// Batch normalization with PyTorch's default eps (1e-5).
    pub fn bn(&mut self, name: &str, x: NodeId) -> Result<NodeId> {
        self.bn_eps(name, x, 1e-5)
    }

    pub fn bn_eps(&mut self, name: &str, x: NodeId, eps: f32) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        self.push(name, Op::BatchNorm { eps }, vec![x], input)
    }

    pub fn act(&mut self, name: &str, x: NodeId, activation: Activation) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        self.push(name, Op::Activation(activation), vec![x], input)
    }

    /// `conv → bn → activation` named `names = [conv, bn, act]` (activation skipped when `None`).
    pub fn conv_bn_act(
        &mut self,
        names: [&str; 3],
        x: NodeId,
        conv: Conv2d,
        activation: Option<Activation>,
    ) -> Result<NodeId> {
        let [conv_name, bn_name, act_name] = names;
        let y = self.conv(conv_name, x, conv)?;
        let y = self.bn(bn_name, y)?;
        match activation {
            Some(activation) => self.act(act_name, y, activation),
            None => Ok(y),
        }
    }

    /// `a + b` for equal shapes, or `b` of shape `[c, 1, 1]` broadcast over `a` (G-Ghost's merge).
    pub fn add(&mut self, name: &str, a: NodeId, b: NodeId) -> Result<NodeId> {
        let (lhs, rhs) = (self.input_shape(name, a)?, self.input_shape(name, b)?);
        if lhs != rhs && !broadcasts(rhs, lhs) {
            return Err(BuildError::ShapeMismatch { node: name.to_owned(), op: "Add", lhs, rhs });
        }
        self.push(name, Op::Add, vec![a, b], lhs)
    }

    /// `x * gate`, where `gate` is `[c, 1, 1]` (broadcast) or the same shape as `x`.
    pub fn mul(&mut self, name: &str, x: NodeId, gate: NodeId) -> Result<NodeId> {
        let (lhs, rhs) = (self.input_shape(name, x)?, self.input_shape(name, gate)?);
        if lhs != rhs && !broadcasts(rhs, lhs) {
            return Err(BuildError::ShapeMismatch { node: name.to_owned(), op: "Mul", lhs, rhs });
        }
        self.push(name, Op::Mul, vec![x, gate], lhs)
    }

    pub fn concat(&mut self, name: &str, inputs: &[NodeId]) -> Result<NodeId> {
        let Some((&first, rest)) = inputs.split_first() else {
            return Err(BuildError::Invalid { node: name.to_owned(), message: "Concat of nothing".to_owned() });
        };
        let first_shape = self.input_shape(name, first)?;
        let mut channels = first_shape.c;
        for &id in rest {
            let shape = self.input_shape(name, id)?;
            if (shape.h, shape.w, shape.vector) != (first_shape.h, first_shape.w, first_shape.vector) {
                return Err(BuildError::ShapeMismatch {
                    node: name.to_owned(),
                    op: "Concat",
                    lhs: first_shape,
                    rhs: shape,
                });
            }
            channels = channels
                .checked_add(shape.c)
                .ok_or(BuildError::Overflow { node: name.to_owned(), what: "concatenated channels" })?;
        }
        let output = Shape { c: channels, ..first_shape };
        self.push(name, Op::Concat, inputs.to_vec(), output)
    }

    pub fn slice(&mut self, name: &str, x: NodeId, start: usize, end: usize) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        if start >= end || end > input.c {
            return Err(BuildError::Invalid {
                node: name.to_owned(),
                message: format!("channel slice {start}..{end} outside 0..{}", input.c),
            });
        }
        self.push(name, Op::ChannelSlice { start, end }, vec![x], Shape { c: end - start, ..input })
    }

    pub fn shuffle(&mut self, name: &str, x: NodeId, groups: usize) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        if groups == 0 {
            return Err(BuildError::ZeroSize { node: name.to_owned(), what: "shuffle groups" });
        }
        if input.c % groups != 0 {
            return Err(BuildError::NotDivisible {
                node: name.to_owned(),
                what: "shuffled",
                channels: input.c,
                groups,
            });
        }
        self.push(name, Op::ChannelShuffle { groups }, vec![x], input)
    }

    pub fn pool(&mut self, name: &str, x: NodeId, pool: Pool) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        if pool.kernel.contains(&0) || pool.stride.contains(&0) {
            return Err(BuildError::ZeroSize { node: name.to_owned(), what: "pool kernel and stride" });
        }
        let [h, w] = window_output(name, input, pool.kernel, pool.stride, pool.padding, [1, 1], pool.ceil_mode)?;
        self.push(name, Op::Pool(pool), vec![x], Shape::map(input.c, h, w))
    }

    pub fn global_avg_pool(&mut self, name: &str, x: NodeId) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        self.push(name, Op::GlobalAvgPool, vec![x], Shape::map(input.c, 1, 1))
    }

    pub fn flatten(&mut self, name: &str, x: NodeId) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        let features = input.checked_numel().ok_or(BuildError::Overflow { node: name.to_owned(), what: "features" })?;
        self.push(name, Op::Flatten, vec![x], Shape::vector(features))
    }

    pub fn linear(&mut self, name: &str, x: NodeId, out_features: usize, bias: bool) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        if !input.vector {
            return Err(BuildError::Invalid {
                node: name.to_owned(),
                message: format!("Linear needs a vector, got {input} (Flatten first)"),
            });
        }
        if out_features == 0 {
            return Err(BuildError::ZeroSize { node: name.to_owned(), what: "out_features" });
        }
        let op = Op::Linear { in_features: input.c, out_features, bias };
        self.push(name, op, vec![x], Shape::vector(out_features))
    }

    pub fn dropout(&mut self, name: &str, x: NodeId, p: f32) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        self.push(name, Op::Dropout { p }, vec![x], input)
    }

    pub fn softmax(&mut self, name: &str, x: NodeId) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        self.push(name, Op::Softmax, vec![x], input)
    }

    /// Select `channels` of the input's channels (features, for a vector) by learned index.
    pub fn gather(&mut self, name: &str, x: NodeId, channels: usize) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        if channels == 0 {
            return Err(BuildError::ZeroSize { node: name.to_owned(), what: "gathered channels" });
        }
        self.push(name, Op::ChannelGather { channels }, vec![x], Shape { c: channels, ..input })
    }

    /// MicroNet's dynamic Shift-Max on `x` with `coefficients` (a vector of `2 · branches · c` values).
    #[allow(clippy::too_many_arguments)]
    pub fn dynamic_shift_max(
        &mut self,
        name: &str,
        x: NodeId,
        coefficients: NodeId,
        groups: usize,
        branches: usize,
        scale: f32,
        init: ([f32; 2], [f32; 2]),
    ) -> Result<NodeId> {
        let (input, coeffs) = (self.input_shape(name, x)?, self.input_shape(name, coefficients)?);
        if groups == 0 || !(1..=2).contains(&branches) {
            return Err(BuildError::Invalid {
                node: name.to_owned(),
                message: format!("{groups} groups, {branches} branches"),
            });
        }
        if input.vector || input.c % groups != 0 {
            return Err(BuildError::NotDivisible {
                node: name.to_owned(),
                what: "shift-max",
                channels: input.c,
                groups,
            });
        }
        if !coeffs.vector || coeffs.c != 2 * branches * input.c {
            return Err(BuildError::Invalid {
                node: name.to_owned(),
                message: format!("needs {} coefficients for {input}, got {coeffs}", 2 * branches * input.c),
            });
        }
        let (init_a, init_b) = init;
        let op = Op::DynamicShiftMax { groups, branches, scale, init_a, init_b };
        self.push(name, op, vec![x, coefficients], input)
    }

    /// ChannelNet's channel-wise convolution: `out` filters of length `kernel` along the channels.
    pub fn channel_conv(
        &mut self,
        name: &str,
        x: NodeId,
        out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        let node = || name.to_owned();
        if out == 0 || kernel == 0 || stride == 0 {
            return Err(BuildError::ZeroSize { node: node(), what: "filters, kernel and stride" });
        }
        if input.vector {
            return Err(BuildError::Invalid { node: node(), message: format!("needs a feature map, got {input}") });
        }
        let padded = input.c.checked_add(2 * padding).ok_or(BuildError::Overflow { node: node(), what: "padding" })?;
        if kernel > padded {
            return Err(BuildError::Invalid {
                node: node(),
                message: format!("channel kernel {kernel} is longer than the {padded} padded channels"),
            });
        }
        let depth = (padded - kernel) / stride + 1;
        let channels = depth.checked_mul(out).ok_or(BuildError::Overflow { node: node(), what: "output channels" })?;
        let output = Shape { c: channels, ..input };
        if output.checked_numel().is_none() {
            return Err(BuildError::Overflow { node: node(), what: "channel-wise convolution output" });
        }
        self.push(name, Op::ChannelConv { out, kernel, stride, padding }, vec![x], output)
    }

    /// Local response normalization over `size` channels (PyTorch's `nn.LocalResponseNorm`).
    pub fn lrn(&mut self, name: &str, x: NodeId, size: usize, alpha: f32, beta: f32, k: f32) -> Result<NodeId> {
        let input = self.input_shape(name, x)?;
        if size == 0 {
            return Err(BuildError::ZeroSize { node: name.to_owned(), what: "LRN size" });
        }
        self.push(name, Op::LocalResponseNorm { size, alpha, beta, k }, vec![x], input)
    }

    pub fn finish(self) -> Result<Graph> {
        if !matches!(self.nodes.first().map(|n| &n.op), Some(Op::Input)) {
            return Err(BuildError::NoInput);
        }
        Ok(Graph { name: self.name, nodes: self.nodes, blocks: self.blocks })
    }

    fn input_shape(&self, name: &str, id: NodeId) -> Result<Shape> {
        self.nodes
            .get(id.0)
            .map(|node| node.output)
            .ok_or(BuildError::UnknownInput { node: name.to_owned(), input: id.0 })
    }

    fn push(&mut self, name: &str, op: Op, inputs: Vec<NodeId>, output: Shape) -> Result<NodeId> {
        if self.nodes.is_empty() != matches!(op, Op::Input) {
            return Err(match op {
                Op::Input => BuildError::Invalid { node: name.to_owned(), message: "a second input".to_owned() },
                _ => BuildError::NoInput,
            });
        }
        if output.c == 0 || output.h == 0 || output.w == 0 {
            return Err(BuildError::ZeroSize { node: name.to_owned(), what: "output shape" });
        }
        if !self.names.insert(name.to_owned()) {
            return Err(BuildError::DuplicateName { node: name.to_owned() });
        }
        self.nodes.push(Node { name: name.to_owned(), op, inputs, output, block: self.current_block });
        Ok(NodeId(self.nodes.len() - 1))
    }
}

/// Whether `small` (`[c, 1, 1]`) broadcasts over the feature map `big` (`[c, h, w]`).
fn broadcasts(small: Shape, big: Shape) -> bool {
    small.c == big.c && small.h == 1 && small.w == 1 && !small.vector && !big.vector
}

/// Output `[h, w]` of a sliding window, PyTorch's rule: ⌊(size + pads − dil·(k − 1) − 1) / s⌋ + 1, or
/// with `ceil_mode` the ceiling, minus one if the last window would start in the right padding.
fn window_output(
    name: &str,
    input: Shape,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: Padding,
    dilation: [usize; 2],
    ceil_mode: bool,
) -> Result<[usize; 2]> {
    if input.vector {
        return Err(BuildError::Invalid {
            node: name.to_owned(),
            message: format!("needs a feature map, got {input}"),
        });
    }
    let overflow = || BuildError::Overflow { node: name.to_owned(), what: "window arithmetic" };
    let axis =
        |size: usize, k: usize, s: usize, before: usize, after: usize, d: usize| -> Result<(usize, usize, usize)> {
            let padded = size.checked_add(before).and_then(|v| v.checked_add(after)).ok_or_else(overflow)?;
            let span =
                k.checked_sub(1).and_then(|v| v.checked_mul(d)).and_then(|v| v.checked_add(1)).ok_or_else(overflow)?;
            if span > padded {
                return Ok((0, span, padded));
            }
            let room = padded - span;
            let mut out = if ceil_mode { room.div_ceil(s) + 1 } else { room / s + 1 };
            if ceil_mode && (out - 1) * s >= size + before {
                out -= 1;
            }
            Ok((out, span, padded))
        };
    let (h, span_h, padded_h) = axis(input.h, kernel[0], stride[0], padding.top, padding.bottom, dilation[0])?;
    let (w, span_w, padded_w) = axis(input.w, kernel[1], stride[1], padding.left, padding.right, dilation[1])?;
    if h == 0 || w == 0 {
        return Err(BuildError::KernelTooLarge {
            node: name.to_owned(),
            kernel_h: span_h,
            kernel_w: span_w,
            padded_h,
            padded_w,
        });
    }
    Ok([h, w])
}
