//! From a bound graph to steps that any engine can run: BN folded into the convolution before it, that
//! convolution's activation fused into its epilogue, weights read out of the checkpoint, and the last
//! step that reads each value. An engine lowers the convolutions to its own form ([`Plan::map_convs`]):
//! the CPU engine adds its method and layouts, the GPU engine its pipelines and buffers.

use convscope_graph::{Activation, Arithmetic, Conv2d, Graph, NodeId, Op, Pool, Shape};
use convscope_weights::bind::Bound;

use crate::EngineError;

/// A convolution with what was fused into it: weights in PyTorch layout `[out, in / groups, kh, kw]`
/// (scaled by a folded BN), a bias (the conv's own, a folded BN's, or both combined) and an activation
/// applied before the store.
#[derive(Clone, Debug, PartialEq)]
pub struct FusedConv {
    pub conv: Conv2d,
    pub input: Shape,
    pub output: Shape,
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub activation: Option<Activation>,
}

impl FusedConv {
    /// Whether this is a depthwise convolution (one group per input channel, one output per group).
    pub fn is_depthwise(&self) -> bool {
        self.conv.groups > 1 && self.conv.groups == self.conv.in_channels && self.conv.out_channels == self.conv.groups
    }
}

/// What one node does at run time. `C` is the engine's form of a convolution ([`FusedConv`] before
/// lowering).
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind<C = FusedConv> {
    Input,
    Conv(Box<C>),
    /// Computed by the step of an earlier node whose output it shares (a BN or activation fused into
    /// the convolution before it).
    Fused {
        into: NodeId,
    },
    /// A batch norm on its own: per-channel scale and shift.
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Activation(Activation),
    /// Element-wise sum or product; the second input may be `[c, 1, 1]`, broadcast over the first.
    Binary {
        multiply: bool,
    },
    Concat,
    Slice {
        start: usize,
        end: usize,
    },
    Shuffle {
        groups: usize,
    },
    Pool(Pool),
    GlobalAvgPool,
    /// Flatten and dropout: the same data under another shape.
    Alias,
    Linear {
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
    },
    Softmax,
    Lrn {
        size: usize,
        alpha: f32,
        beta: f32,
        k: f32,
    },
    Gather {
        index: Vec<usize>,
    },
    ChannelConv {
        weight: Vec<f32>,
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    ShiftMax {
        groups: usize,
        branches: usize,
        scale: f32,
        init_a: [f32; 2],
        init_b: [f32; 2],
    },
}

impl<C> StepKind<C> {
    /// The same step with its convolution lowered by `f`.
    pub fn map_conv<D>(self, f: impl FnOnce(C) -> Result<D, EngineError>) -> Result<StepKind<D>, EngineError> {
        Ok(match self {
            Self::Conv(c) => StepKind::Conv(Box::new(f(*c)?)),
            Self::Input => StepKind::Input,
            Self::Fused { into } => StepKind::Fused { into },
            Self::Affine { scale, shift } => StepKind::Affine { scale, shift },
            Self::Activation(a) => StepKind::Activation(a),
            Self::Binary { multiply } => StepKind::Binary { multiply },
            Self::Concat => StepKind::Concat,
            Self::Slice { start, end } => StepKind::Slice { start, end },
            Self::Shuffle { groups } => StepKind::Shuffle { groups },
            Self::Pool(p) => StepKind::Pool(p),
            Self::GlobalAvgPool => StepKind::GlobalAvgPool,
            Self::Alias => StepKind::Alias,
            Self::Linear { weight, bias } => StepKind::Linear { weight, bias },
            Self::Softmax => StepKind::Softmax,
            Self::Lrn { size, alpha, beta, k } => StepKind::Lrn { size, alpha, beta, k },
            Self::Gather { index } => StepKind::Gather { index },
            Self::ChannelConv { weight, filters, kernel, stride, padding } => {
                StepKind::ChannelConv { weight, filters, kernel, stride, padding }
            }
            Self::ShiftMax { groups, branches, scale, init_a, init_b } => {
                StepKind::ShiftMax { groups, branches, scale, init_a, init_b }
            }
        })
    }

    /// Whether the step computes nothing of its own (the input, a fused node).
    pub fn is_free(&self) -> bool {
        matches!(self, Self::Input | Self::Fused { .. })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step<C = FusedConv> {
    pub node: NodeId,
    pub inputs: Vec<NodeId>,
    pub output: Shape,
    pub kind: StepKind<C>,
    /// Nodes fused into this step, whose outputs are this step's output.
    pub absorbs: Vec<NodeId>,
}

/// A graph made runnable with its weights: one step per node, in the graph's order.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan<C = FusedConv> {
    pub steps: Vec<Step<C>>,
    /// For each node, the index of the last step that reads it (its own index if none does).
    pub last_use: Vec<usize>,
    pub input: Shape,
    pub output: NodeId,
}

impl<C> Plan<C> {
    /// The plan with every convolution lowered by `f` (the engines' own forms).
    pub fn map_convs<D>(self, mut f: impl FnMut(C) -> Result<D, EngineError>) -> Result<Plan<D>, EngineError> {
        let steps = self
            .steps
            .into_iter()
            .map(|s| {
                Ok(Step {
                    node: s.node,
                    inputs: s.inputs,
                    output: s.output,
                    kind: s.kind.map_conv(&mut f)?,
                    absorbs: s.absorbs,
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(Plan { steps, last_use: self.last_use, input: self.input, output: self.output })
    }

    /// The node whose step computes `node`'s output, when `node` (a BN or activation) was fused into an
    /// earlier convolution.
    pub fn fused_into(&self, node: NodeId) -> Option<NodeId> {
        match self.steps.get(node.0).map(|s| &s.kind) {
            Some(StepKind::Fused { into }) => Some(*into),
            _ => None,
        }
    }

    /// The nodes fused into `node`'s step.
    pub fn absorbs(&self, node: NodeId) -> &[NodeId] {
        self.steps.get(node.0).map_or(&[], |s| s.absorbs.as_slice())
    }

    /// The step that computes `node`'s value: its own, or the one it was fused into.
    pub fn producer(&self, node: NodeId) -> NodeId {
        self.fused_into(node).unwrap_or(node)
    }
}

/// Per-channel `(scale, shift)` of an inference-time batch norm: `y = x · scale + shift`.
pub fn bn_affine(gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32], eps: f32) -> (Vec<f32>, Vec<f32>) {
    let scale: Vec<f32> = gamma.iter().zip(var).map(|(&g, &v)| g / (v + eps).sqrt()).collect();
    let shift = beta.iter().zip(mean).zip(&scale).map(|((&b, &m), &s)| b - m * s).collect();
    (scale, shift)
}

impl Plan {
    /// Fold, fuse and read the weights of `graph`.
    pub fn new(graph: &Graph, weights: &Bound) -> Result<Self, EngineError> {
        let n = graph.nodes.len();
        let mut consumers = vec![0usize; n];
        for node in &graph.nodes {
            for input in &node.inputs {
                if let Some(c) = consumers.get_mut(input.0) {
                    *c += 1;
                }
            }
        }
        let only_consumer = |id: usize| -> Option<usize> {
            if consumers.get(id) != Some(&1) || id + 1 == n {
                return None;
            }
            graph.nodes.iter().position(|m| m.inputs.iter().any(|i| i.0 == id))
        };
        let tensor = |node: usize, suffix: &str| -> Result<Vec<f32>, EngineError> {
            let t = weights.get(NodeId(node), suffix).ok_or_else(|| {
                EngineError::Weights(format!(
                    "{}.{suffix} is not bound",
                    graph.nodes.get(node).map_or("?", |m| m.name.as_str())
                ))
            })?;
            t.as_f32()
                .map(<[f32]>::to_vec)
                .ok_or_else(|| EngineError::Weights(format!("{suffix} is not a float tensor")))
        };
        let bn_of = |node: usize| -> Result<(Vec<f32>, Vec<f32>), EngineError> {
            let Some(Op::BatchNorm { eps }) = graph.nodes.get(node).map(|m| &m.op) else {
                return Err(EngineError::Internal("not a BN node".into()));
            };
            let (g, b, m, v) = (
                tensor(node, "weight")?,
                tensor(node, "bias")?,
                tensor(node, "running_mean")?,
                tensor(node, "running_var")?,
            );
            Ok(bn_affine(&g, &b, &m, &v, *eps))
        };

        let mut steps: Vec<Step> = Vec::with_capacity(n);
        let mut fused_into: Vec<Option<NodeId>> = vec![None; n];
        for (i, node) in graph.nodes.iter().enumerate() {
            let shapes = graph.input_shapes(node);
            let input_shape = shapes.first().copied().unwrap_or(node.output);
            let mut absorbs = Vec::new();
            let kind = if let Some(into) = fused_into.get(i).copied().flatten() {
                StepKind::Fused { into }
            } else {
                match &node.op {
                    Op::Input => StepKind::Input,
                    Op::Conv2d(conv) => {
                        // AdderNet's official parameters are `adder` and `b`.
                        let adder = conv.arithmetic == Arithmetic::Adder;
                        let mut weight = tensor(i, if adder { "adder" } else { "weight" })?;
                        let mut bias =
                            if conv.bias { Some(tensor(i, if adder { "b" } else { "bias" })?) } else { None };
                        let mut activation = None;
                        // Fold a following BN (multiplying convs only: scaling the weights would change
                        // what AdderNet's |x − w| and Mitchell's approximation compute) and its activation.
                        let foldable = conv.arithmetic == Arithmetic::Multiply;
                        let fuse = |into: &mut Vec<NodeId>, node: usize, slots: &mut Vec<Option<NodeId>>| {
                            into.push(NodeId(node));
                            if let Some(slot) = slots.get_mut(node) {
                                *slot = Some(NodeId(i));
                            }
                        };
                        if let (true, Some(bn)) = (foldable, only_consumer(i))
                            && matches!(graph.nodes.get(bn).map(|m| &m.op), Some(Op::BatchNorm { .. }))
                        {
                            let (scale, shift) = bn_of(bn)?;
                            let per_out = weight.len() / conv.out_channels.max(1);
                            for (w, &s) in weight.chunks_exact_mut(per_out.max(1)).zip(&scale) {
                                w.iter_mut().for_each(|v| *v *= s);
                            }
                            let folded: Vec<f32> = match &bias {
                                Some(b) => b.iter().zip(&scale).zip(&shift).map(|((b, s), t)| b * s + t).collect(),
                                None => shift,
                            };
                            bias = Some(folded);
                            fuse(&mut absorbs, bn, &mut fused_into);
                            if let Some(act) = only_consumer(bn)
                                && let Some(Op::Activation(a)) = graph.nodes.get(act).map(|m| &m.op)
                            {
                                activation = Some(*a);
                                fuse(&mut absorbs, act, &mut fused_into);
                            }
                        } else if let Some(act) = only_consumer(i).filter(|_| foldable)
                            && let Some(Op::Activation(a)) = graph.nodes.get(act).map(|m| &m.op)
                        {
                            activation = Some(*a);
                            fuse(&mut absorbs, act, &mut fused_into);
                        }
                        let expected = conv.weight_count() as usize;
                        if weight.len() != expected {
                            return Err(EngineError::Weights(format!(
                                "{}: {} weights, needs {expected}",
                                node.name,
                                weight.len()
                            )));
                        }
                        if let Some(b) = &bias
                            && b.len() != conv.out_channels
                        {
                            return Err(EngineError::Weights(format!(
                                "{}: {} biases, needs {}",
                                node.name,
                                b.len(),
                                conv.out_channels
                            )));
                        }
                        StepKind::Conv(Box::new(FusedConv {
                            conv: *conv,
                            input: input_shape,
                            output: node.output,
                            weight,
                            bias,
                            activation,
                        }))
                    }
                    Op::BatchNorm { .. } => {
                        let (scale, shift) = bn_of(i)?;
                        StepKind::Affine { scale, shift }
                    }
                    Op::Activation(a) => StepKind::Activation(*a),
                    Op::Add => StepKind::Binary { multiply: false },
                    Op::Mul => StepKind::Binary { multiply: true },
                    Op::Concat => StepKind::Concat,
                    Op::ChannelSlice { start, end } => StepKind::Slice { start: *start, end: *end },
                    Op::ChannelShuffle { groups } => StepKind::Shuffle { groups: *groups },
                    Op::Pool(p) => StepKind::Pool(*p),
                    Op::GlobalAvgPool => StepKind::GlobalAvgPool,
                    Op::Flatten | Op::Dropout { .. } => StepKind::Alias,
                    Op::Linear { bias, .. } => StepKind::Linear {
                        weight: tensor(i, "weight")?,
                        bias: if *bias { Some(tensor(i, "bias")?) } else { None },
                    },
                    Op::Softmax => StepKind::Softmax,
                    Op::LocalResponseNorm { size, alpha, beta, k } => {
                        StepKind::Lrn { size: *size, alpha: *alpha, beta: *beta, k: *k }
                    }
                    Op::ChannelGather { .. } => {
                        let t = weights
                            .get(NodeId(i), "index")
                            .and_then(|t| t.as_i64())
                            .ok_or_else(|| EngineError::Weights(format!("{}.index is not bound", node.name)))?;
                        let index = t
                            .iter()
                            .map(|&v| usize::try_from(v).ok().filter(|&v| v < input_shape.c))
                            .collect::<Option<Vec<usize>>>()
                            .ok_or_else(|| {
                                EngineError::Weights(format!(
                                    "{}.index holds a channel outside 0..{}",
                                    node.name, input_shape.c
                                ))
                            })?;
                        StepKind::Gather { index }
                    }
                    Op::ChannelConv { out, kernel, stride, padding } => StepKind::ChannelConv {
                        weight: tensor(i, "weight")?,
                        filters: *out,
                        kernel: *kernel,
                        stride: *stride,
                        padding: *padding,
                    },
                    Op::DynamicShiftMax { groups, branches, scale, init_a, init_b } => StepKind::ShiftMax {
                        groups: *groups,
                        branches: *branches,
                        scale: *scale,
                        init_a: *init_a,
                        init_b: *init_b,
                    },
                }
            };
            steps.push(Step { node: NodeId(i), inputs: node.inputs.clone(), output: node.output, kind, absorbs });
        }
        // A fused node's value exists once its producer ran; what reads it reads the producer's output.
        let mut last_use: Vec<usize> = (0..n).collect();
        for (i, step) in steps.iter().enumerate() {
            for input in &step.inputs {
                let source = fused_into.get(input.0).copied().flatten().unwrap_or(*input);
                for id in [input.0, source.0] {
                    if let Some(l) = last_use.get_mut(id) {
                        *l = (*l).max(i);
                    }
                }
            }
        }
        let output = NodeId(n.checked_sub(1).ok_or_else(|| EngineError::Internal("empty graph".into()))?);
        Ok(Self { steps, last_use, input: graph.input_shape(), output })
    }
}
