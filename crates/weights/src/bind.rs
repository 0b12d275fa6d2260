//! Binding a checkpoint to a graph by name, strict like PyTorch's `load_state_dict(strict=True)`.

use convscope_graph::{Arithmetic, Graph, NodeId, Op};

use crate::{Checkpoint, TensorData};

/// One tensor a graph node needs, under its state-dict key.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    pub node: NodeId,
    pub key: String,
    pub shape: Vec<usize>,
    pub role: Role,
}

/// What a tensor is for, which also fixes how synthetic weights are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Convolution or linear weights with this fan-in.
    Weight {
        fan_in: usize,
    },
    Bias,
    BnWeight,
    BnBias,
    BnMean,
    BnVar,
    /// Channel indices into an input of this many channels (CondenseNet's index layer).
    Index {
        of: usize,
    },
}

/// Every tensor `graph` needs, in node order: `<name>.weight` / `.bias` (conv, linear, channel-wise
/// conv; AdderNet convs keep the official `.adder`), BN's `.weight`, `.bias`, `.running_mean`,
/// `.running_var`, and the index layer's `.index`.
pub fn expected(graph: &Graph) -> Vec<Expected> {
    let mut out = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let id = NodeId(i);
        let mut push = |suffix: &str, shape: Vec<usize>, role: Role| {
            out.push(Expected { node: id, key: format!("{}.{suffix}", node.name), shape, role });
        };
        match &node.op {
            Op::Conv2d(conv) => {
                let per_group = conv.in_channels / conv.groups.max(1);
                let shape = vec![conv.out_channels, per_group, conv.kernel[0], conv.kernel[1]];
                let fan_in = per_group * conv.kernel[0] * conv.kernel[1];
                let weight = if conv.arithmetic == Arithmetic::Adder { "adder" } else { "weight" };
                push(weight, shape, Role::Weight { fan_in });
                if conv.bias {
                    push(
                        if conv.arithmetic == Arithmetic::Adder { "b" } else { "bias" },
                        vec![conv.out_channels],
                        Role::Bias,
                    );
                }
            }
            Op::Linear { in_features, out_features, bias } => {
                push("weight", vec![*out_features, *in_features], Role::Weight { fan_in: *in_features });
                if *bias {
                    push("bias", vec![*out_features], Role::Bias);
                }
            }
            Op::ChannelConv { out, kernel, .. } => {
                push("weight", vec![*out, 1, *kernel, 1, 1], Role::Weight { fan_in: *kernel });
            }
            Op::BatchNorm { .. } => {
                let c = node.output.c;
                push("weight", vec![c], Role::BnWeight);
                push("bias", vec![c], Role::BnBias);
                push("running_mean", vec![c], Role::BnMean);
                push("running_var", vec![c], Role::BnVar);
            }
            Op::ChannelGather { channels } => {
                let of = graph.input_shapes(node).first().map_or(0, |s| s.c);
                push("index", vec![*channels], Role::Index { of });
            }
            Op::Input
            | Op::Activation(_)
            | Op::Add
            | Op::Mul
            | Op::Concat
            | Op::ChannelSlice { .. }
            | Op::ChannelShuffle { .. }
            | Op::Pool(_)
            | Op::GlobalAvgPool
            | Op::Flatten
            | Op::Dropout { .. }
            | Op::Softmax
            | Op::DynamicShiftMax { .. }
            | Op::LocalResponseNorm { .. } => {}
        }
    }
    out
}

/// Names and shapes of every tensor `graph` needs (what [`expected`] lists, without the roles).
pub fn needs(graph: &Graph) -> Vec<(String, Vec<usize>)> {
    expected(graph).into_iter().map(|e| (e.key, e.shape)).collect()
}

/// PyTorch's BN step counter (`….num_batches_tracked`): kept in state dicts, used by no computation.
pub fn is_counter(name: &str) -> bool {
    name.ends_with(".num_batches_tracked")
}

/// What did not fit, like PyTorch's `_IncompatibleKeys` plus shape mismatches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BindReport {
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
    /// `(key, expected shape, checkpoint shape)`.
    pub mismatched: Vec<(String, Vec<usize>, Vec<usize>)>,
    /// Keys of the wrong kind (integers where floats are needed, or the reverse).
    pub wrong_kind: Vec<String>,
    /// Keys holding NaN or an infinity, with the first such element ("features.0.weight: NaN at 17"): a
    /// network with them computes NaN, and its top-5 would mean nothing.
    pub non_finite: Vec<String>,
}

impl BindReport {
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.mismatched.is_empty()
            && self.wrong_kind.is_empty()
            && self.non_finite.is_empty()
    }

    /// How many expected tensors bound (for ranking candidate models).
    pub fn problems(&self) -> usize {
        self.missing.len()
            + self.unexpected.len()
            + self.mismatched.len()
            + self.wrong_kind.len()
            + self.non_finite.len()
    }

    /// One line: "2 missing (features.0.0.weight, …), 1 unexpected (…), 1 shape mismatch (…)".
    pub fn summary(&self) -> String {
        fn list(keys: impl Iterator<Item = String>, n: usize) -> String {
            let shown: Vec<String> = keys.take(3).collect();
            let more = if n > 3 { format!(", … {} more", n - 3) } else { String::new() };
            format!("{}{more}", shown.join(", "))
        }
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "{} missing ({})",
                self.missing.len(),
                list(self.missing.iter().cloned(), self.missing.len())
            ));
        }
        if !self.unexpected.is_empty() {
            parts.push(format!(
                "{} unexpected ({})",
                self.unexpected.len(),
                list(self.unexpected.iter().cloned(), self.unexpected.len())
            ));
        }
        if !self.mismatched.is_empty() {
            let items = self.mismatched.iter().map(|(k, want, got)| format!("{k}: model {want:?}, file {got:?}"));
            parts.push(format!("{} shape mismatch ({})", self.mismatched.len(), list(items, self.mismatched.len())));
        }
        if !self.wrong_kind.is_empty() {
            parts.push(format!(
                "{} of the wrong type ({})",
                self.wrong_kind.len(),
                list(self.wrong_kind.iter().cloned(), self.wrong_kind.len())
            ));
        }
        if !self.non_finite.is_empty() {
            parts.push(format!(
                "{} holding NaN or infinity ({})",
                self.non_finite.len(),
                list(self.non_finite.iter().cloned(), self.non_finite.len())
            ));
        }
        if parts.is_empty() { "every tensor fits".to_owned() } else { parts.join(", ") }
    }
}

/// Tensors bound to a graph: `tensors[i]` is `expected[i]`'s.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub expected: Vec<Expected>,
    pub tensors: Vec<TensorData>,
}

impl Bound {
    /// The tensor for `node`'s `suffix` ("weight", "running_var", …).
    pub fn get(&self, node: NodeId, suffix: &str) -> Option<&TensorData> {
        self.expected
            .iter()
            .zip(&self.tensors)
            .find(|(e, _)| e.node == node && e.key.rsplit_once('.').is_some_and(|(_, s)| s == suffix))
            .map(|(_, t)| t)
    }
}

/// Bind `checkpoint` to `graph`. Keys the graph has no use for but PyTorch keeps as buffers
/// (`num_batches_tracked`) are ignored; anything else extra is unexpected. Strict: any problem fails.
pub fn bind(graph: &Graph, checkpoint: &Checkpoint) -> Result<Bound, BindReport> {
    let expected = expected(graph);
    let mut report = BindReport::default();
    let mut tensors = Vec::with_capacity(expected.len());
    for e in &expected {
        match checkpoint.get(&e.key) {
            None => report.missing.push(e.key.clone()),
            Some(t)
                if t.shape != e.shape
                    && !(t.numel() == e.shape.iter().product::<usize>() && squeezable(&t.shape, &e.shape)) =>
            {
                report.mismatched.push((e.key.clone(), e.shape.clone(), t.shape.clone()));
            }
            Some(t) => {
                let is_index = matches!(e.role, Role::Index { .. });
                let non_finite = t.as_f32().and_then(|v| v.iter().position(|x| !x.is_finite()).map(|i| (i, v)));
                if is_index != t.as_i64().is_some() {
                    report.wrong_kind.push(e.key.clone());
                } else if let Some((at, values)) = non_finite {
                    let value = values.get(at).copied().unwrap_or(f32::NAN);
                    report.non_finite.push(format!("{}: {value} at element {at}", e.key));
                } else {
                    tensors.push(TensorData { shape: e.shape.clone(), ..t.clone() });
                }
            }
        }
    }
    for (name, _) in &checkpoint.tensors {
        if !is_counter(name) && !expected.iter().any(|e| &e.key == name) {
            report.unexpected.push(name.clone());
        }
    }
    if report.is_exact() { Ok(Bound { expected, tensors }) } else { Err(report) }
}

/// Shapes that differ only by size-1 axes (a 1×1 conv stored as `[out, in]`, a linear as `[out, in, 1, 1]`).
fn squeezable(a: &[usize], b: &[usize]) -> bool {
    let strip = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    strip(a) == strip(b)
}
