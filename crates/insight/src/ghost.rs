//! Ghost modules (Han et al. 2020, "GhostNet", Section 3.1): a primary convolution makes the intrinsic
//! maps, cheap depthwise `d × d` convolutions make `s − 1` ghost maps from each, and both are
//! concatenated. Here: finding the modules in any graph, pairing each ghost map with the intrinsic map it
//! is made from, and the cost a module saves against the plain convolution it replaces.

use convscope_graph::{Graph, NodeId, Op};

use crate::separable::Cost;
use crate::similarity::cosine;
use crate::{Result, invalid};

/// One Ghost module of a graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GhostModule {
    /// The module's block name ("blocks.0.0.ghost1").
    pub name: String,
    /// The node whose output is the intrinsic maps (the primary convolution's last node).
    pub intrinsic: NodeId,
    /// The node whose output is the ghost maps (the cheap operation's last node).
    pub ghost: NodeId,
    /// The cheap depthwise convolution.
    pub cheap: NodeId,
    /// The primary convolution.
    pub primary: NodeId,
    /// The module's output (the concatenation, or the trim after it).
    pub output: NodeId,
    /// Ghost maps per intrinsic map: `s − 1`.
    pub per_intrinsic: usize,
}

impl GhostModule {
    /// The intrinsic map ghost map `j` is computed from (grouped convolution: output channel `j` of a
    /// convolution with one input channel per group reads input channel `j / (s − 1)`).
    pub fn source_of(&self, ghost_channel: usize) -> usize {
        ghost_channel / self.per_intrinsic.max(1)
    }
}

/// Follow single-input nodes that keep the channel count (BN, activation) back to their producer.
fn through_pointwise(graph: &Graph, mut id: NodeId) -> NodeId {
    while let Some(node) = graph.node(id) {
        match (&node.op, node.inputs.as_slice()) {
            (Op::BatchNorm { .. } | Op::Activation(_), [input]) => id = *input,
            _ => break,
        }
    }
    id
}

/// Every Ghost module of `graph`: a concatenation of a node `i` and a node made from `i` by a grouped
/// convolution with one input channel per group (then BN / activation), as GhostNet builds it.
pub fn modules(graph: &Graph) -> Vec<GhostModule> {
    let mut found = Vec::new();
    for (index, node) in graph.nodes.iter().enumerate() {
        let (Op::Concat, [intrinsic, ghost]) = (&node.op, node.inputs.as_slice()) else { continue };
        let cheap = through_pointwise(graph, *ghost);
        let Some(cheap_node) = graph.node(cheap) else { continue };
        let Op::Conv2d(conv) = &cheap_node.op else { continue };
        if cheap_node.inputs.as_slice() != [*intrinsic]
            || conv.groups != conv.in_channels
            || conv.groups < 2
            || !conv.out_channels.is_multiple_of(conv.in_channels)
        {
            continue;
        }
        let primary = through_pointwise(graph, *intrinsic);
        if !matches!(graph.node(primary).map(|n| &n.op), Some(Op::Conv2d(_))) {
            continue;
        }
        let concat = NodeId(index);
        // A module that makes more maps than it keeps ends with a slice of the concatenation.
        let output = graph
            .nodes
            .iter()
            .position(|n| n.inputs.as_slice() == [concat] && matches!(n.op, Op::ChannelSlice { .. }))
            .map_or(concat, NodeId);
        let name = node
            .block
            .and_then(|b| graph.block(b))
            .map_or_else(|| node.name.trim_end_matches(".cat").to_owned(), |b| b.name.clone());
        found.push(GhostModule {
            name,
            intrinsic: *intrinsic,
            ghost: *ghost,
            cheap,
            primary,
            output,
            per_intrinsic: conv.out_channels / conv.in_channels,
        });
    }
    found
}

/// Ghost map `ghost` and its intrinsic source map, with their cosine similarity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GhostPair {
    pub ghost: usize,
    pub intrinsic: usize,
    pub cosine: f32,
}

/// Pair every ghost map with its source, given both maps (CHW, `plane` values per channel).
pub fn pairs(module: &GhostModule, intrinsic: &[f32], ghost: &[f32], plane: usize) -> Result<Vec<GhostPair>> {
    if plane == 0 || !intrinsic.len().is_multiple_of(plane) || !ghost.len().is_multiple_of(plane) {
        return invalid("the intrinsic and ghost maps are not whole channels of one size");
    }
    let sources = intrinsic.len() / plane;
    ghost
        .chunks_exact(plane)
        .enumerate()
        .map(|(j, g)| {
            let i = module.source_of(j);
            let source = intrinsic
                .get(i * plane..(i + 1) * plane)
                .ok_or_else(|| crate::InsightError(format!("ghost map {j} has no intrinsic map {i} (of {sources})")))?;
            Ok(GhostPair { ghost: j, intrinsic: i, cosine: cosine(g, source) })
        })
        .collect()
}

/// A Ghost module with ratio `s` and cheap kernel `d` replacing a plain `1 × 1` convolution
/// `input → output` on an `h × w` map (GhostNet's modules replace the pointwise convolutions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GhostCost {
    /// Intrinsic maps: `⌈output / s⌉`.
    pub intrinsic: usize,
    /// Ghost maps made: `intrinsic · (s − 1)` (the module keeps the first `output` of all its maps).
    pub ghosts: usize,
    pub primary: Cost,
    pub cheap: Cost,
    pub module: Cost,
    pub plain: Cost,
    /// plain / module MACs (the paper's speed-up ratio r_s, Eq. 4: ≈ s).
    pub speedup: f64,
    /// plain / module parameters (Eq. 5: ≈ s).
    pub compression: f64,
}

pub fn cost(input: usize, output: usize, s: usize, d: usize, h: usize, w: usize) -> Result<GhostCost> {
    if input == 0 || output == 0 || h == 0 || w == 0 {
        return invalid("channels and map size must be positive");
    }
    if s < 2 || d == 0 || d.is_multiple_of(2) {
        return invalid(format!("a Ghost module needs s ≥ 2 and an odd d (got s = {s}, d = {d})"));
    }
    let intrinsic = output.div_ceil(s);
    let ghosts = intrinsic * (s - 1);
    let hw = (h * w) as u64;
    let primary = Cost { params: (input * intrinsic) as u64, macs: (input * intrinsic) as u64 * hw };
    let cheap = Cost { params: (d * d * ghosts) as u64, macs: (d * d * ghosts) as u64 * hw };
    let module = Cost { params: primary.params + cheap.params, macs: primary.macs + cheap.macs };
    let plain = Cost { params: (input * output) as u64, macs: (input * output) as u64 * hw };
    Ok(GhostCost {
        intrinsic,
        ghosts,
        primary,
        cheap,
        module,
        plain,
        speedup: plain.macs as f64 / module.macs as f64,
        compression: plain.params as f64 / module.params as f64,
    })
}

/// A G-Ghost stage (Han et al. 2022, G-GhostNet): the "complicated" features that went through the
/// stage's middle blocks, and the "cheap" ones made from the first block's output by a 1×1 convolution
/// (plus the merge branch), concatenated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GGhostStage {
    pub name: String,
    pub complicated: NodeId,
    pub cheap: NodeId,
}

/// Every G-Ghost stage of `graph`: a block of kind "G-Ghost stage" ending in the concatenation of its
/// complicated and cheap parts.
pub fn g_ghost_stages(graph: &Graph) -> Vec<GGhostStage> {
    graph
        .blocks
        .iter()
        .filter(|b| b.kind == "G-Ghost stage")
        .filter_map(|b| {
            let cat = graph.find(&format!("{}.cat", b.name))?;
            let [complicated, cheap] = graph.node(cat)?.inputs.as_slice() else { return None };
            Some(GGhostStage { name: b.name.clone(), complicated: *complicated, cheap: *cheap })
        })
        .collect()
}

/// Each cheap map with its most similar complicated map: `(cheap j, complicated i, cosine)`.
pub fn nearest_complicated(complicated: &[f32], cheap: &[f32], plane: usize) -> Result<Vec<GhostPair>> {
    if plane == 0 || !complicated.len().is_multiple_of(plane) || !cheap.len().is_multiple_of(plane) {
        return invalid("the two parts are not whole channels of one size");
    }
    Ok(cheap
        .chunks_exact(plane)
        .enumerate()
        .map(|(j, c)| {
            let (i, cosine) = complicated
                .chunks_exact(plane)
                .map(|e| cosine(c, e))
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, v)| if v > best.1 { (i, v) } else { best });
            GhostPair { ghost: j, intrinsic: i, cosine }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_module_of_ghostnet() {
        // timm ghostnet_100: 16 bottlenecks with two Ghost modules each.
        let entry = convscope_zoo::find("ghostnet_100").and_then(|e| e.build_default().ok());
        let entry = entry.unwrap_or_else(|| panic!("ghostnet_100 builds"));
        let found = modules(&entry);
        assert_eq!(found.len(), 32);
        let first = &found[0];
        assert_eq!(first.name, "blocks.0.0.ghost1");
        assert_eq!(entry.nodes[first.intrinsic.0].name, "blocks.0.0.ghost1.primary_conv.2");
        assert_eq!(entry.nodes[first.ghost.0].name, "blocks.0.0.ghost1.cheap_operation.2");
        assert_eq!(first.per_intrinsic, 1);
        // ghost2 modules have no activation: their maps end at the BN.
        assert_eq!(entry.nodes[found[1].intrinsic.0].name, "blocks.0.0.ghost2.primary_conv.1");
    }

    #[test]
    fn pairs_follow_the_grouped_convolution() {
        let module = GhostModule {
            name: "m".into(),
            intrinsic: NodeId(0),
            ghost: NodeId(1),
            cheap: NodeId(1),
            primary: NodeId(0),
            output: NodeId(2),
            per_intrinsic: 2,
        };
        // Two intrinsic maps; four ghosts: 0, 1 from intrinsic 0; 2, 3 from intrinsic 1.
        let intrinsic = [1.0, 0.0, 0.0, 1.0];
        let ghost = [2.0, 0.0, -1.0, 0.0, 0.0, 5.0, 1.0, 1.0];
        let p = pairs(&module, &intrinsic, &ghost, 2).unwrap_or_default();
        let got: Vec<(usize, usize)> = p.iter().map(|p| (p.ghost, p.intrinsic)).collect();
        assert_eq!(got, vec![(0, 0), (1, 0), (2, 1), (3, 1)]);
        assert!((p[0].cosine - 1.0).abs() < 1e-6 && (p[1].cosine + 1.0).abs() < 1e-6);
        assert!((p[3].cosine - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }

    #[test]
    fn finds_the_g_ghost_stages() {
        // huawei-noah g_ghost_regnet.py: stages with more than two blocks are G-Ghost stages (2 of 4 in
        // G-Ghost RegNetX-3.2GF: blocks [2, 6, 15, 2]).
        let graph = convscope_zoo::find("g_ghost_regnetx_032").and_then(|e| e.build_default().ok());
        let graph = graph.unwrap_or_else(|| panic!("builds"));
        let stages = g_ghost_stages(&graph);
        assert_eq!(stages.len(), 2, "{stages:?}");
        let (e, c) = (&graph.nodes[stages[0].complicated.0], &graph.nodes[stages[0].cheap.0]);
        assert_eq!(e.output.c + c.output.c, 192);
        let nearest = nearest_complicated(&[1.0, 0.0, 0.0, 1.0], &[0.0, 2.0, 3.0, 0.0], 2).unwrap_or_default();
        assert_eq!(nearest.iter().map(|p| p.intrinsic).collect::<Vec<_>>(), vec![1, 0]);
        assert!((nearest[0].cosine - 1.0).abs() < 1e-6);
    }

    #[test]
    fn cost_approaches_s() {
        // Han et al. 2020, Eq. 4–5: r_s = c·k² · s / (c·k² + (s − 1)·d²) ≈ s for c ≫ s (k = 1 here).
        for s in [2, 3, 4, 5] {
            let c = cost(960, 960, s, 3, 7, 7).unwrap_or_else(|e| panic!("{e}"));
            let rs = 960.0 * s as f64 / (960.0 + (s - 1) as f64 * 9.0);
            // ⌈960 / s⌉ rounds up for s = 3 … 5 where s does not divide 960 exactly.
            assert!((c.speedup - rs).abs() / rs < 0.01, "s = {s}: {} vs {rs}", c.speedup);
            assert!((c.speedup - s as f64).abs() / (s as f64) < 0.05);
        }
        // GhostNet's first module (16 → 16, s = 2, d = 3, at 112²): 8 intrinsic maps (16·8 = 128
        // parameters) and 8 ghosts (9·8 = 72), 200 parameters against the plain 256.
        let c = cost(16, 16, 2, 3, 112, 112).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.intrinsic, c.ghosts, c.module.params, c.plain.params), (8, 8, 200, 256));
        assert!(cost(16, 16, 1, 3, 4, 4).is_err());
        assert!(cost(16, 16, 2, 2, 4, 4).is_err());
    }
}
