//! From a bound graph to steps: weights in the layout their kernel wants, BN folded into the
//! convolution before it, and that convolution's activation fused into its epilogue.

use convscope_graph::{Arithmetic, Graph, NodeId, Op, Pool, Shape};
use convscope_weights::bind::Bound;

use crate::EngineError;
use crate::kernels::conv::ConvStep;
use crate::kernels::elementwise::bn_affine;

/// What one node does at run time.
#[derive(Clone, Debug)]
pub enum StepKind {
    Input,
    Conv(Box<ConvStep>),
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
    Activation(convscope_graph::Activation),
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

#[derive(Clone, Debug)]
pub struct Step {
    pub node: NodeId,
    pub inputs: Vec<NodeId>,
    pub output: Shape,
    pub kind: StepKind,
    /// Nodes fused into this step, whose outputs are this step's output.
    pub absorbs: Vec<NodeId>,
}

/// A graph made runnable with its weights.
#[derive(Clone, Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// For each node, the index of the last step that reads it (its own index if none does).
    pub last_use: Vec<usize>,
    pub input: Shape,
    pub output: NodeId,
    /// Per node, whether its value is held channels-last (HWC) during a run (`layout.rs`); captured
    /// values are handed out CHW.
    pub channels_last: Vec<bool>,
}

impl Plan {
    /// The plan the engine runs: inverted-residual trunks channels-last where that pays (`layout.rs`),
    /// natively. Not on the web: in Chromium the trunks made EfficientNet-Lite0 slower (67–74 ms against
    /// 53–59 ms all CHW; V8 gives wasm 16 vector registers and the HWC kernel's sums spill), and with
    /// one channel block per pixel no faster (49–59 ms).
    pub fn new(graph: &Graph, weights: &Bound) -> Result<Self, EngineError> {
        Self::with_layouts(graph, weights, !cfg!(target_arch = "wasm32"))
    }

    /// `channels_last: false` keeps every value CHW: the reference the channels-last chains are
    /// tested against.
    pub fn with_layouts(graph: &Graph, weights: &Bound, channels_last: bool) -> Result<Self, EngineError> {
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
                            absorbs.push(NodeId(bn));
                            if let Some(slot) = fused_into.get_mut(bn) {
                                *slot = Some(NodeId(i));
                            }
                            if let Some(act) = only_consumer(bn)
                                && let Some(Op::Activation(a)) = graph.nodes.get(act).map(|m| &m.op)
                            {
                                activation = Some(*a);
                                absorbs.push(NodeId(act));
                                if let Some(slot) = fused_into.get_mut(act) {
                                    *slot = Some(NodeId(i));
                                }
                            }
                        } else if let Some(act) = only_consumer(i).filter(|_| foldable)
                            && let Some(Op::Activation(a)) = graph.nodes.get(act).map(|m| &m.op)
                        {
                            activation = Some(*a);
                            absorbs.push(NodeId(act));
                            if let Some(slot) = fused_into.get_mut(act) {
                                *slot = Some(NodeId(i));
                            }
                        }
                        let expected = conv.weight_count() as usize;
                        if weight.len() != expected {
                            return Err(EngineError::Weights(format!(
                                "{}: {} weights, needs {expected}",
                                node.name,
                                weight.len()
                            )));
                        }
                        let method = ConvStep::method_for(conv);
                        StepKind::Conv(Box::new(ConvStep {
                            conv: *conv,
                            input: input_shape,
                            output: node.output,
                            weight,
                            bias,
                            activation,
                            method,
                            input_hwc: false,
                            output_hwc: false,
                            weight_column_major: false,
                            weight_panels: false,
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
        let channels_last = if channels_last { crate::layout::choose(&mut steps, output) } else { vec![false; n] };
        Ok(Self { steps, last_use, input: graph.input_shape(), output, channels_last })
    }
}
