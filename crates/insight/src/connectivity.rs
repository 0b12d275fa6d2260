//! Which input channels each output channel of a unit depends on, traced through the graph's own ops —
//! the block-diagonal structure of group convolutions, and what a channel shuffle (ShuffleNet, IGCV's
//! permutations) or a split + concat (ShuffleNet V2) makes of it. Optionally with every shuffle taken
//! out, to see what it buys.

use convscope_graph::{Graph, NodeId, Op};

use crate::{Result, invalid};

/// Dependencies of every output channel on the unit's input channels (a bit per input channel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connectivity {
    pub inputs: usize,
    pub outputs: usize,
    rows: Vec<Vec<u64>>,
}

type Rows = Vec<Vec<u64>>;

fn empty(inputs: usize, channels: usize) -> Rows {
    vec![vec![0u64; inputs.div_ceil(64)]; channels]
}

fn union(into: &mut [u64], from: &[u64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a |= *b;
    }
}

fn union_of<'a>(inputs: usize, rows: impl Iterator<Item = &'a Vec<u64>>) -> Vec<u64> {
    let mut all = vec![0u64; inputs.div_ceil(64)];
    for r in rows {
        union(&mut all, r);
    }
    all
}

impl Connectivity {
    /// Whether output channel `o` depends on input channel `i`.
    pub fn get(&self, o: usize, i: usize) -> bool {
        self.rows.get(o).and_then(|r| r.get(i / 64)).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// The share of (output, input) pairs that are connected.
    pub fn density(&self) -> f64 {
        let on: u64 = self.rows.iter().flatten().map(|w| u64::from(w.count_ones())).sum();
        on as f64 / (self.inputs * self.outputs).max(1) as f64
    }

    pub fn matrix(&self) -> Vec<Vec<bool>> {
        (0..self.outputs).map(|o| (0..self.inputs).map(|i| self.get(o, i)).collect()).collect()
    }

    /// Trace `graph` from `input`'s channels to `output`'s (`output` after `input`), with channel
    /// shuffles kept or taken out.
    pub fn trace(graph: &Graph, input: NodeId, output: NodeId, without_shuffles: bool) -> Result<Self> {
        if output.0 < input.0 || output.0 >= graph.nodes.len() {
            return invalid(format!("node {} does not follow node {}", output.0, input.0));
        }
        let Some(x) = graph.node(input) else { return invalid("no such input node") };
        let inputs = x.output.c;
        let mut deps: Vec<Option<Rows>> = vec![None; graph.nodes.len()];
        let identity: Rows = (0..inputs)
            .map(|i| {
                let mut r = vec![0u64; inputs.div_ceil(64)];
                if let Some(w) = r.get_mut(i / 64) {
                    *w |= 1 << (i % 64);
                }
                r
            })
            .collect();
        if let Some(d) = deps.get_mut(input.0) {
            *d = Some(identity);
        }
        for index in input.0 + 1..=output.0 {
            let Some(node) = graph.node(NodeId(index)) else { continue };
            let c = node.output.c;
            let of = |k: usize| -> Option<&Rows> {
                node.inputs.get(k).and_then(|id| deps.get(id.0)).and_then(Option::as_ref)
            };
            if node.inputs.iter().all(|id| deps.get(id.0).is_none_or(Option::is_none)) {
                continue; // not reached from the unit's input
            }
            let blank = empty(inputs, 1).pop().unwrap_or_default();
            let row = |rows: Option<&Rows>, ch: usize| -> Vec<u64> {
                rows.and_then(|r| r.get(ch)).cloned().unwrap_or_else(|| blank.clone())
            };
            let first = of(0);
            let rows: Rows = match &node.op {
                Op::Conv2d(conv) => {
                    let groups = conv.groups.max(1);
                    let (in_g, out_g) = (conv.in_channels / groups, (conv.out_channels / groups).max(1));
                    (0..c)
                        .map(|o| {
                            let g = o / out_g;
                            union_of(inputs, first.into_iter().flat_map(|r| r.iter().skip(g * in_g).take(in_g)))
                        })
                        .collect()
                }
                Op::BatchNorm { .. }
                | Op::Activation(_)
                | Op::Pool(_)
                | Op::GlobalAvgPool
                | Op::Dropout { .. }
                | Op::Input => (0..c).map(|ch| row(first, ch)).collect(),
                Op::Add | Op::Mul => {
                    let second = of(1);
                    (0..c)
                        .map(|ch| {
                            let mut r = row(first, ch);
                            // A `[c, 1, 1]` gate or a vector broadcast over channels: its channel `ch`.
                            union(&mut r, &row(second, ch));
                            r
                        })
                        .collect()
                }
                Op::Concat => node
                    .inputs
                    .iter()
                    .flat_map(|id| {
                        let n = graph.node(*id).map_or(0, |n| n.output.c);
                        let part = deps.get(id.0).and_then(Option::as_ref);
                        (0..n).map(move |ch| part.and_then(|r| r.get(ch)).cloned())
                    })
                    .map(|r| r.unwrap_or_else(|| blank.clone()))
                    .collect(),
                Op::ChannelSlice { start, .. } => (0..c).map(|ch| row(first, start + ch)).collect(),
                Op::ChannelShuffle { groups } => {
                    let per = c / (*groups).max(1);
                    (0..c)
                        .map(|ch| {
                            if without_shuffles {
                                row(first, ch)
                            } else {
                                row(first, (ch % groups) * per + ch / groups)
                            }
                        })
                        .collect()
                }
                Op::Flatten => {
                    let plane = graph.input_shapes(node).first().map_or(1, |s| (s.h * s.w).max(1));
                    (0..c).map(|f| row(first, f / plane)).collect()
                }
                Op::LocalResponseNorm { size, .. } => {
                    let half = size / 2;
                    (0..c)
                        .map(|ch| {
                            let lo = ch.saturating_sub(half);
                            union_of(inputs, first.into_iter().flat_map(|r| r.iter().skip(lo).take(ch + half + 1 - lo)))
                        })
                        .collect()
                }
                Op::ChannelConv { out, kernel, stride, padding } => {
                    let depth = (c / (*out).max(1)).max(1);
                    (0..c)
                        .map(|ch| {
                            let j = ch % depth;
                            let lo = (j * stride).saturating_sub(*padding);
                            let hi = (j * stride + kernel).saturating_sub(*padding);
                            union_of(
                                inputs,
                                first.into_iter().flat_map(|r| r.iter().skip(lo).take(hi.saturating_sub(lo))),
                            )
                        })
                        .collect()
                }
                // Every output mixes every input: fully connected layers, softmax, Shift-Max's coefficients
                // (computed from the whole map), and CondenseNet's learned index (data, not structure).
                Op::Linear { .. } | Op::Softmax | Op::DynamicShiftMax { .. } | Op::ChannelGather { .. } => {
                    let all = union_of(
                        inputs,
                        node.inputs.iter().filter_map(|id| deps.get(id.0).and_then(Option::as_ref)).flatten(),
                    );
                    vec![all; c]
                }
            };
            if let Some(d) = deps.get_mut(index) {
                *d = Some(rows);
            }
        }
        let rows = deps.get(output.0).cloned().flatten().unwrap_or_default();
        let outputs = rows.len();
        Ok(Self { inputs, outputs, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, block: &str) -> (Graph, NodeId, NodeId) {
        let graph = convscope_zoo::find(id).and_then(|e| e.build_default().ok()).unwrap_or_else(|| panic!("{id}"));
        let nodes: Vec<usize> = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.block.and_then(|b| graph.block(b)).is_some_and(|b| b.name == block)
                    || graph.block_path(n.block).iter().any(|b| graph.block(*b).is_some_and(|b| b.name == block))
            })
            .map(|(i, _)| i)
            .collect();
        let first = *nodes.first().unwrap_or_else(|| panic!("{block}"));
        let input = graph.nodes[first].inputs[0];
        (graph, input, NodeId(*nodes.last().unwrap_or(&first)))
    }

    #[test]
    fn shufflenet_v1_units_are_dense_only_with_the_shuffle() {
        // megvii's ShuffleNet V1 (g = 3), the stride-1 unit features.1: GConv → DW → shuffle → GConv, + x
        // (its channel_shuffle reshapes to [c/g, g], i.e. a shuffle of c/g = 20 groups).
        let (graph, input, output) = unit("shufflenet_v1", "features.1");
        let with = Connectivity::trace(&graph, input, output, false).unwrap_or_else(|e| panic!("{e}"));
        let without = Connectivity::trace(&graph, input, output, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((with.inputs, with.outputs), (240, 240));
        assert!((with.density() - 1.0).abs() < 1e-12, "{}", with.density());
        // Without the shuffle, each output sees its own group of 80 channels (the residual is in it).
        assert!((without.density() - 1.0 / 3.0).abs() < 1e-12, "{}", without.density());
        assert!(without.get(0, 79) && !without.get(0, 80));
    }

    #[test]
    fn shufflenet_v2_units_split_and_interleave() {
        // torchvision shufflenet_v2_x1_0 stage2.1 (116 channels): the first half passes through, the
        // second goes through the branch; concat, then the shuffle interleaves them.
        let (graph, input, output) = unit("shufflenet_v2_x1_0", "stage2.1");
        let c = Connectivity::trace(&graph, input, output, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.inputs, 116);
        // Output 0 is input 0 (passed through); output 1 is the branch's first map: all of 58..116.
        assert!(c.get(0, 0) && !c.get(0, 1) && !c.get(0, 58));
        assert!((58..116).all(|i| c.get(1, i)) && !c.get(1, 0));
        let density = 58.0 * (1.0 + 58.0) / (116.0 * 116.0);
        assert!((c.density() - density).abs() < 1e-12);
        let without = Connectivity::trace(&graph, input, output, true).unwrap_or_else(|e| panic!("{e}"));
        assert!((without.density() - density).abs() < 1e-12, "the shuffle only reorders");
        assert!(without.get(1, 1) && !without.get(1, 60));
    }

    #[test]
    fn igc_blocks_interleave_their_groups() {
        // The IGC block (IGCV1, L = 4 primary groups of 60, secondary groups of 4): interleaved, every output
        // sees every input; with the permutations taken out, one primary group (and the residual) each.
        let graph = convscope_zoo::find("block_igc")
            .and_then(|e| e.build_default().ok())
            .unwrap_or_else(|| panic!("block_igc"));
        let last = NodeId(graph.nodes.len() - 1);
        let with = Connectivity::trace(&graph, NodeId(0), last, false).unwrap_or_else(|e| panic!("{e}"));
        let without = Connectivity::trace(&graph, NodeId(0), last, true).unwrap_or_else(|e| panic!("{e}"));
        assert!((with.density() - 1.0).abs() < 1e-12, "{}", with.density());
        assert!((without.density() - 0.25).abs() < 1e-12, "{}", without.density());
    }

    #[test]
    fn an_se_gate_connects_everything() {
        // MobileNetV3's SE: the gate of each channel is computed from all channels.
        let (graph, input, output) = unit("mobilenet_v3_large", "features.4");
        let c = Connectivity::trace(&graph, input, output, false).unwrap_or_else(|e| panic!("{e}"));
        assert!((c.density() - 1.0).abs() < 1e-12);
    }
}
