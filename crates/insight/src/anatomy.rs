//! A block's anatomy: its ops as a small layered DAG read top to bottom — every op a box (its label:
//! kind, kernel, stride, groups; its output shape, parameters and MACs), every tensor an edge with its
//! shape, the block's inputs from outside as boxes of their own — laid out in ranks, and written as
//! Graphviz DOT or SVG.
//!
//! The layout is a small layered (Sugiyama-style) one: a node's rank is one below its deepest input;
//! within a rank, nodes are ordered by the mean position of their inputs (barycentre), swept twice top
//! down. Block graphs are small DAGs already in topological order, which is all this needs.

use std::fmt::Write as _;

use convscope_graph::{Graph, GraphCost, NodeId, Op, Shape};

/// One box of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub node: NodeId,
    pub name: String,
    /// The op's label ("Conv2d 3×3 /2 dw", "ReLU6", "Concat").
    pub op: String,
    pub shape: Shape,
    pub params: u64,
    pub macs: u64,
    /// A tensor from outside the block (its input), not one of its ops.
    pub external: bool,
    pub rank: usize,
    /// Horizontal position in units of one box, centred on 0.
    pub x: f32,
}

/// A tensor flowing from one part to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub from: usize,
    pub to: usize,
    pub shape: Shape,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Anatomy {
    pub title: String,
    pub parts: Vec<Part>,
    pub flows: Vec<Flow>,
}

impl Anatomy {
    /// The anatomy of `nodes` (indices into `graph.nodes`, in order) — a block, or every node.
    pub fn of(graph: &Graph, cost: &GraphCost, title: &str, nodes: &[NodeId]) -> Self {
        let mut parts: Vec<Part> = Vec::new();
        let mut index_of: std::collections::HashMap<NodeId, usize> = std::collections::HashMap::new();
        let mut flows = Vec::new();
        let part = |id: NodeId, external: bool| -> Option<Part> {
            let node = graph.node(id)?;
            let c = cost.per_node.get(id.0).copied().unwrap_or_default();
            Some(Part {
                node: id,
                name: node.name.clone(),
                op: if external { "input".to_owned() } else { node.op.label() },
                shape: node.output,
                params: if external { 0 } else { c.params },
                macs: if external { 0 } else { c.macs },
                external,
                rank: 0,
                x: 0.0,
            })
        };
        for &id in nodes {
            let Some(node) = graph.node(id) else { continue };
            for input in &node.inputs {
                if !index_of.contains_key(input)
                    && let Some(p) = part(*input, true)
                {
                    index_of.insert(*input, parts.len());
                    parts.push(p);
                }
            }
            let Some(mut p) = part(id, matches!(node.op, Op::Input)) else { continue };
            p.external = false;
            index_of.insert(id, parts.len());
            parts.push(p);
            let to = parts.len() - 1;
            for input in &node.inputs {
                if let (Some(&from), Some(n)) = (index_of.get(input), graph.node(*input)) {
                    flows.push(Flow { from, to, shape: n.output });
                }
            }
        }
        let mut anatomy = Self { title: title.to_owned(), parts, flows };
        anatomy.layout();
        anatomy
    }

    /// Ranks and positions (see the module docs).
    fn layout(&mut self) {
        let n = self.parts.len();
        let mut rank = vec![0usize; n];
        // Parts are in topological order: every flow goes from an earlier part to a later one.
        for f in &self.flows {
            let r = rank.get(f.from).copied().unwrap_or(0) + 1;
            if let Some(t) = rank.get_mut(f.to) {
                *t = (*t).max(r);
            }
        }
        let ranks = rank.iter().copied().max().map_or(0, |m| m + 1);
        let mut x = vec![0.0f32; n];
        for _sweep in 0..2 {
            for r in 0..ranks {
                let mut members: Vec<(usize, f32)> = (0..n)
                    .filter(|&i| rank.get(i) == Some(&r))
                    .map(|i| {
                        let inputs: Vec<f32> =
                            self.flows.iter().filter(|f| f.to == i).filter_map(|f| x.get(f.from).copied()).collect();
                        let centre = if inputs.is_empty() {
                            x.get(i).copied().unwrap_or(0.0) + i as f32 * 1e-3
                        } else {
                            inputs.iter().sum::<f32>() / inputs.len() as f32
                        };
                        (i, centre)
                    })
                    .collect();
                members.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                let width = members.len() as f32;
                for (k, (i, _)) in members.iter().enumerate() {
                    if let Some(v) = x.get_mut(*i) {
                        *v = k as f32 - (width - 1.0) / 2.0;
                    }
                }
            }
        }
        for (i, p) in self.parts.iter_mut().enumerate() {
            p.rank = rank.get(i).copied().unwrap_or(0);
            p.x = x.get(i).copied().unwrap_or(0.0);
        }
    }

    /// Whether `flow` passes a part on its straight way down (it skips ranks over a part in its column):
    /// drawn bent to the side.
    pub fn skips(&self, flow: &Flow) -> bool {
        let (Some(a), Some(b)) = (self.parts.get(flow.from), self.parts.get(flow.to)) else { return false };
        self.parts.iter().any(|p| {
            p.rank > a.rank && p.rank < b.rank && {
                let t = (p.rank - a.rank) as f32 / (b.rank - a.rank) as f32;
                (a.x + (b.x - a.x) * t - p.x).abs() < 0.6
            }
        })
    }

    /// Ranks in the diagram.
    pub fn depth(&self) -> usize {
        self.parts.iter().map(|p| p.rank + 1).max().unwrap_or(0)
    }

    /// The widest rank's number of parts.
    pub fn breadth(&self) -> usize {
        (0..self.depth()).map(|r| self.parts.iter().filter(|p| p.rank == r).count()).max().unwrap_or(0)
    }

    /// Graphviz DOT (top to bottom; inputs from outside dashed).
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph \"{}\" {{", escape(&self.title));
        let _ = writeln!(out, "  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];");
        for (i, p) in self.parts.iter().enumerate() {
            let label = if p.external {
                format!("{}\\n{}", escape(&p.name), p.shape)
            } else {
                format!("{}\\n{}\\n{}", escape(&p.op), escape(&p.name), p.shape)
            };
            let style = if p.external { ", style=dashed" } else { "" };
            let _ = writeln!(out, "  n{i} [label=\"{label}\"{style}];");
        }
        for f in &self.flows {
            let _ = writeln!(out, "  n{} -> n{} [label=\"{}\"];", f.from, f.to, f.shape);
        }
        out.push_str("}\n");
        out
    }

    /// A standalone SVG of the diagram (for slides).
    pub fn to_svg(&self) -> String {
        const W: f32 = 190.0;
        const H: f32 = 46.0;
        const GAP_X: f32 = 30.0;
        const GAP_Y: f32 = 34.0;
        let breadth = self.breadth().max(1) as f32;
        let width = breadth * (W + GAP_X) + GAP_X;
        let height = self.depth() as f32 * (H + GAP_Y) + GAP_Y + 24.0;
        let centre = |p: &Part| -> (f32, f32) {
            (width / 2.0 + p.x * (W + GAP_X), 24.0 + GAP_Y + p.rank as f32 * (H + GAP_Y) + H / 2.0)
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Helvetica, Arial, sans-serif" font-size="11">"#
        );
        let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ =
            writeln!(out, r#"<text x="8" y="16" font-size="13" font-weight="bold">{}</text>"#, escape_xml(&self.title));
        for f in &self.flows {
            let (Some(a), Some(b)) = (self.parts.get(f.from), self.parts.get(f.to)) else { continue };
            let ((x1, y1), (x2, y2)) = (centre(a), centre(b));
            let (y1, y2) = (y1 + H / 2.0, y2 - H / 2.0);
            // Edges over boxes in their way bend out to the right (residuals, gates).
            let bend = if self.skips(f) { W * 0.75 } else { 0.0 };
            let _ = writeln!(
                out,
                r##"<path d="M {x1:.1} {y1:.1} C {:.1} {:.1}, {:.1} {:.1}, {x2:.1} {y2:.1}" fill="none" stroke="#555" stroke-width="1.2"/>"##,
                x1 + bend,
                y1 + GAP_Y,
                x2 + bend,
                y2 - GAP_Y
            );
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" fill="#666" font-size="9">{}</text>"##,
                (x1 + x2) / 2.0 + 4.0 + bend * 0.75,
                (y1 + y2) / 2.0,
                f.shape
            );
        }
        for p in &self.parts {
            let (cx, cy) = centre(p);
            let dash = if p.external { r#" stroke-dasharray="4 3""# } else { "" };
            let fill = if p.external { "#f4f4f4" } else { "#e8f0fa" };
            let _ = writeln!(
                out,
                r##"<rect x="{:.1}" y="{:.1}" width="{W}" height="{H}" rx="6" fill="{fill}" stroke="#3b6ea5"{dash}/>"##,
                cx - W / 2.0,
                cy - H / 2.0
            );
            let first = if p.external { escape_xml(&p.name) } else { escape_xml(&p.op) };
            let second = if p.external { p.shape.to_string() } else { format!("{} {}", escape_xml(&p.name), p.shape) };
            let _ = writeln!(
                out,
                r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{first}</text>"#,
                cy - 3.0
            );
            let _ = writeln!(
                out,
                r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="9">{second}</text>"#,
                cy + 12.0
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The nodes of the block named `name` (nested blocks included), in order.
pub fn block_nodes(graph: &Graph, name: &str) -> Option<Vec<NodeId>> {
    let block = graph.blocks.iter().position(|b| b.name == name)?;
    let nodes: Vec<NodeId> = graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| graph.block_path(n.block).iter().any(|b| b.0 == block))
        .map(|(i, _)| NodeId(i))
        .collect();
    Some(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str) -> (Graph, GraphCost) {
        let graph = convscope_zoo::find(id).and_then(|e| e.build_default().ok()).unwrap_or_else(|| panic!("{id}"));
        let cost = GraphCost::of(&graph);
        (graph, cost)
    }

    #[test]
    fn an_inverted_residual_reads_top_to_bottom_with_its_skip() {
        // torchvision mobilenet_v2 features.2 is strided (no skip); features.3 keeps the shape: skip.
        let (graph, cost) = model("mobilenet_v2");
        let nodes = block_nodes(&graph, "features.3").unwrap_or_default();
        let a = Anatomy::of(&graph, &cost, "features.3", &nodes);
        let external: Vec<&Part> = a.parts.iter().filter(|p| p.external).collect();
        assert_eq!(external.len(), 1, "one input from outside");
        assert_eq!(external[0].name, "features.2.conv.3");
        // The skip: the input flows both into the expansion conv and into the add, bent around the chain.
        let add = a.parts.iter().position(|p| p.op == "Add").unwrap_or(usize::MAX);
        let skip = a.flows.iter().find(|f| f.from == 0 && f.to == add).unwrap_or_else(|| panic!("the skip"));
        assert!(a.skips(skip));
        assert!(!a.skips(&a.flows[0]), "the chain's own edges go straight");
        // 1×1 conv, BN, ReLU6, 3×3 dw, BN, ReLU6, 1×1 conv, BN, add: the add is the deepest rank.
        assert_eq!(a.parts[add].rank, a.depth() - 1);
        assert_eq!(a.breadth(), 1, "a chain with a skip around it is one box wide");
        // Every flow's shape is its source's output, and goes down.
        for f in &a.flows {
            assert_eq!(f.shape, a.parts[f.from].shape);
            assert!(a.parts[f.to].rank > a.parts[f.from].rank);
        }
        let params: u64 = a.parts.iter().map(|p| p.params).sum();
        let step: u64 = nodes.iter().map(|n| cost.per_node[n.0].params).sum();
        assert_eq!(params, step);
    }

    #[test]
    fn branches_sit_side_by_side() {
        // torchvision googlenet inception3a: four branches from one input, concatenated.
        let (graph, cost) = model("googlenet");
        let nodes = block_nodes(&graph, "inception3a").unwrap_or_default();
        let a = Anatomy::of(&graph, &cost, "inception3a", &nodes);
        assert!(a.breadth() >= 4, "breadth {}", a.breadth());
        let concat = a.parts.iter().find(|p| p.op == "Concat").unwrap_or_else(|| panic!("concat"));
        assert_eq!(concat.shape.c, 256);
        // No two parts share a place.
        for (i, p) in a.parts.iter().enumerate() {
            for q in a.parts.iter().skip(i + 1) {
                assert!(!(p.rank == q.rank && (p.x - q.x).abs() < 0.5), "{} and {} overlap", p.name, q.name);
            }
        }
    }

    #[test]
    fn dot_and_svg_are_well_formed() {
        let (graph, cost) = model("shufflenet_v2_x1_0");
        let nodes = block_nodes(&graph, "stage2.1").unwrap_or_default();
        let a = Anatomy::of(&graph, &cost, "stage2.1 <split & shuffle>", &nodes);
        let dot = a.to_dot();
        assert!(dot.starts_with("digraph") && dot.trim_end().ends_with('}'));
        assert_eq!(dot.matches(" -> ").count(), a.flows.len());
        let svg = a.to_svg();
        assert!(svg.contains("&lt;split &amp; shuffle&gt;"), "escaped title");
        assert_eq!(svg.matches("<rect").count(), a.parts.len() + 1);
    }
}
