//! `convscope shuffle`, `dsc`, `similarity` and `ghost`: the insight views' numbers for scripts (the
//! app computes them with the same functions, `convscope_insight`).

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use convscope_engine::{Backend, Capture, Tensor};
use convscope_graph::NodeId;
use convscope_insight::{ghost, separable, shuffle, similarity::Similarity};
use convscope_zoo::ModelEntry;
use serde_json::json;

use crate::infer;

/// `convscope shuffle --channels C --groups G`.
pub fn shuffle(channels: usize, groups: usize, json: bool, out: &mut impl std::io::Write) -> Result<()> {
    let permutation = shuffle::permutation(channels, groups)?;
    let plain = shuffle::stacked_group_convs(channels, groups, false)?;
    let shuffled = shuffle::stacked_group_convs(channels, groups, true)?;
    let bits =
        |m: &[Vec<bool>]| -> Vec<Vec<u8>> { m.iter().map(|r| r.iter().map(|&c| u8::from(c)).collect()).collect() };
    if json {
        let report = json!({
            "channels": channels,
            "groups": groups,
            "permutation": permutation,
            "connectivity": {
                "without_shuffle": {"density": shuffle::density(&plain), "matrix": bits(&plain)},
                "with_shuffle": {"density": shuffle::density(&shuffled), "matrix": bits(&shuffled)},
            },
        });
        writeln!(out, "{report}")?;
    } else {
        writeln!(
            out,
            "channel shuffle of {channels} channels in {groups} groups (output i takes input permutation[i]):"
        )?;
        writeln!(out, "permutation: {permutation:?}")?;
        writeln!(
            out,
            "GConv(g={groups}) → GConv(g={groups}): each output sees {:.0}% of the inputs without the shuffle, {:.0}% with it",
            100.0 * shuffle::density(&plain),
            100.0 * shuffle::density(&shuffled)
        )?;
    }
    Ok(())
}

/// `convscope dsc --channels M,N --kernel K --resolution D`.
pub fn dsc(
    channels: &[usize],
    kernel: usize,
    resolution: usize,
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<()> {
    let &[m, n] = channels else { bail!("--channels takes two positive numbers M,N, got {channels:?}") };
    let c = separable::costs(m, n, kernel, resolution)?;
    let cost = |c: separable::Cost| json!({"params": c.params, "macs": c.macs});
    if json {
        let report = json!({
            "m": m, "n": n, "kernel": kernel, "resolution": resolution,
            "standard": cost(c.standard),
            "depthwise": cost(c.depthwise),
            "pointwise": cost(c.pointwise),
            "separable": cost(c.separable),
            "ratio": c.ratio,
            "formula": 1.0 / n as f64 + 1.0 / (kernel * kernel) as f64,
        });
        writeln!(out, "{report}")?;
    } else {
        let g = convscope_graph::report::group;
        writeln!(out, "{m} → {n} channels, {kernel}×{kernel} kernel, {resolution}×{resolution} map:")?;
        for (name, c) in [
            ("standard", c.standard),
            ("depthwise", c.depthwise),
            ("pointwise", c.pointwise),
            ("separable", c.separable),
        ] {
            writeln!(out, "  {name:<10} {:>14} params {:>16} MACs", g(c.params), g(c.macs))?;
        }
        writeln!(
            out,
            "  separable / standard = {:.4} (1/N + 1/D_K² = {:.4})",
            c.ratio,
            1.0 / n as f64 + 1.0 / (kernel * kernel) as f64
        )?;
    }
    Ok(())
}

/// What `similarity` and `ghost` run: a model (at a variant) on a photo or a raw `.npy` input, with
/// some weights.
pub struct Photo<'a> {
    pub image: Option<&'a Path>,
    pub npy: Option<&'a Path>,
    pub weights: Option<&'a Path>,
    pub backend: Backend,
    pub variant: convscope_zoo::Variant,
}

/// Run `entry` on the photo and hand back the maps of `nodes` on the host.
fn maps(
    entry: &ModelEntry,
    photo: &Photo<'_>,
    nodes: &[NodeId],
) -> Result<(convscope_graph::Graph, infer::Source, Vec<Tensor>)> {
    let graph =
        entry.build(&photo.variant).with_context(|| format!("{} cannot be built with these settings", entry.id))?;
    let (bound, source) = infer::weights(entry, &graph, photo.weights)?;
    let engine = infer::engine(photo.backend, &graph, &bound, None)?;
    let input = infer::input(entry, &graph, photo.image, photo.npy)?;
    let outputs = engine.run(input, Capture::Nodes(nodes.to_vec()))?;
    let all = infer::host_maps(&outputs)?;
    let mut taken = Vec::with_capacity(nodes.len());
    for id in nodes {
        let map = all.get(id.0).cloned().flatten().with_context(|| format!("node {} was not kept by the run", id.0))?;
        taken.push(map);
    }
    Ok((graph, source, taken))
}

/// `convscope similarity <id> --image X --layer <node>`.
pub fn similarity(
    entry: &ModelEntry,
    photo: &Photo<'_>,
    layer: &str,
    top: usize,
    threshold: f32,
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<()> {
    if !(-1.0..=1.0).contains(&threshold) {
        bail!("--threshold is a cosine, in [-1, 1]; got {threshold}");
    }
    let graph = entry.build(&photo.variant)?;
    let Some(node) = graph.find(layer) else {
        let near: Vec<&str> = graph
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .filter(|n| n.starts_with(layer.split('.').next().unwrap_or("")))
            .take(5)
            .collect();
        bail!(
            "{} has no node named {layer:?} (`convscope table {}` lists them{})",
            entry.id,
            entry.id,
            if near.is_empty() { String::new() } else { format!("; e.g. {}", near.join(", ")) }
        );
    };
    let (_, source, maps) = maps(entry, photo, &[node])?;
    let map = maps.first().context("no map")?;
    if map.shape.vector {
        bail!("{layer} is a vector ({}), not a map: pick a convolution layer", map.shape);
    }
    let s = Similarity::of_map(&map.data, map.shape.c, map.shape.h * map.shape.w)?;
    let pairs = s.top_pairs(top);
    let redundancy = s.redundancy(threshold);
    if json {
        let matrix: Vec<&[f32]> = s.matrix.chunks(s.channels.max(1)).collect();
        let report = json!({
            "model": entry.id,
            "trained": source.trained(),
            "layer": layer,
            "shape": [map.shape.c, map.shape.h, map.shape.w],
            "matrix": matrix,
            "top": pairs.iter().map(|p| json!({"a": p.a, "b": p.b, "cosine": p.cosine})).collect::<Vec<_>>(),
            "threshold": threshold,
            "redundancy": redundancy,
            "dead": s.dead,
        });
        writeln!(out, "{report}")?;
    } else {
        writeln!(out, "{} {layer} {} — {}", entry.id, map.shape, source.describe())?;
        writeln!(
            out,
            "{:.0}% of the channels have a twin at cosine ≥ {threshold} ({} dead channels)",
            100.0 * redundancy,
            s.dead.len()
        )?;
        for p in &pairs {
            writeln!(out, "  channels {:>4} and {:>4}: cosine {:.4}", p.a, p.b, p.cosine)?;
        }
    }
    Ok(())
}

/// `convscope ghost <id> --image X`.
pub fn ghost(entry: &ModelEntry, photo: &Photo<'_>, json: bool, out: &mut impl std::io::Write) -> Result<()> {
    let graph = entry.build(&photo.variant)?;
    let modules = ghost::modules(&graph);
    if modules.is_empty() {
        bail!("{} has no Ghost modules (ghostnet_* and block_ghost_* have them)", entry.id);
    }
    let nodes: Vec<NodeId> = modules.iter().flat_map(|m| [m.intrinsic, m.ghost]).collect();
    let (graph, source, maps) = maps(entry, photo, &nodes)?;
    let name = |id: NodeId| graph.node(id).map_or_else(String::new, |n| n.name.clone());
    let mut rows = Vec::with_capacity(modules.len());
    for (module, pair) in modules.iter().zip(maps.chunks_exact(2)) {
        let [intrinsic, ghost_map] = pair else { continue };
        let plane = intrinsic.shape.h * intrinsic.shape.w;
        let pairs = ghost::pairs(module, &intrinsic.data, &ghost_map.data, plane)?;
        rows.push((module, pairs));
    }
    if json {
        let report = json!({
            "model": entry.id,
            "trained": source.trained(),
            "modules": rows.iter().map(|(m, pairs)| json!({
                "name": m.name,
                "intrinsic": name(m.intrinsic),
                "ghost": name(m.ghost),
                "pairs": pairs.iter().map(|p| json!({"ghost": p.ghost, "intrinsic": p.intrinsic, "cosine": p.cosine})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        writeln!(out, "{report}")?;
    } else {
        writeln!(out, "{} — {}", entry.id, source.describe())?;
        writeln!(out, "{:<28} {:>8} {:>14} {:>14}", "module", "ghosts", "mean cosine", "min cosine")?;
        for (m, pairs) in &rows {
            let mean = pairs.iter().map(|p| f64::from(p.cosine)).sum::<f64>() / pairs.len().max(1) as f64;
            let min = pairs.iter().map(|p| p.cosine).fold(f32::INFINITY, f32::min);
            writeln!(out, "{:<28} {:>8} {mean:>14.4} {min:>14.4}", m.name, pairs.len())?;
        }
    }
    Ok(())
}

/// `convscope anatomy <id> [--block NAME] --format json|dot|svg`: a block's (or the whole network's) ops
/// as nodes and the tensors between them as edges, with the names `table` prints.
pub fn anatomy(entry: &ModelEntry, block: Option<&str>, format: &str, out: &mut impl std::io::Write) -> Result<()> {
    use convscope_insight::anatomy::{self, Anatomy};
    let graph = entry.build_default().with_context(|| format!("building {}", entry.id))?;
    let cost = convscope_graph::GraphCost::of(&graph);
    let (title, nodes) = match block {
        Some(name) => {
            let Some(nodes) = anatomy::block_nodes(&graph, name) else {
                let blocks: Vec<&str> = graph.blocks.iter().map(|b| b.name.as_str()).take(8).collect();
                bail!("{} has no block named {name:?} (e.g. {})", entry.id, blocks.join(", "));
            };
            let kind = graph.blocks.iter().find(|b| b.name == name).map_or("", |b| b.kind.as_str());
            (format!("{} {name} ({kind})", entry.id), nodes)
        }
        None => (entry.id.to_owned(), (0..graph.nodes.len()).map(NodeId).collect()),
    };
    let a = Anatomy::of(&graph, &cost, &title, &nodes);
    match format {
        "dot" => out.write_all(a.to_dot().as_bytes())?,
        "svg" => out.write_all(a.to_svg().as_bytes())?,
        _ => {
            let shape = |s: convscope_graph::Shape| if s.vector { json!([s.c]) } else { json!([s.c, s.h, s.w]) };
            let report = json!({
                "model": entry.id,
                "block": block,
                "nodes": a.parts.iter().map(|p| json!({
                    "name": p.name,
                    "op": p.op,
                    "shape": shape(p.shape),
                    "params": p.params,
                    "macs": p.macs,
                    "input": p.external,
                    "rank": p.rank,
                })).collect::<Vec<_>>(),
                "edges": a.flows.iter().filter_map(|f| {
                    let (from, to) = (a.parts.get(f.from)?, a.parts.get(f.to)?);
                    Some(json!({"from": from.name, "to": to.name, "shape": shape(f.shape)}))
                }).collect::<Vec<_>>(),
            });
            writeln!(out, "{report}")?;
        }
    }
    Ok(())
}
