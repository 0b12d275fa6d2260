//! The per-layer table as data, with block subtotals, and its CSV / JSON / Markdown renderings.
//!
//! The CLI prints these; the app shows the same rows and offers the same downloads, so the numbers agree
//! everywhere.

use serde::Serialize;

use crate::{Cost, FlopConvention, Graph, GraphCost};

/// One node of the table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerRow {
    pub name: String,
    pub op: String,
    /// Block names from outermost to innermost, joined with " / ".
    pub block: String,
    pub input_shapes: Vec<String>,
    pub output_shape: String,
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
    pub memory_bytes: u64,
    pub activation_bytes: u64,
}

/// Subtotal of one block (nested blocks included).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockRow {
    pub name: String,
    pub kind: String,
    pub depth: usize,
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Totals {
    pub params: u64,
    pub params_without_bn: u64,
    pub macs: u64,
    pub flops: u64,
    pub memory_bytes: u64,
    pub peak_activation_bytes: u64,
    pub adds: u64,
    pub muls: u64,
    pub shifts: u64,
}

/// The whole table of a graph under one FLOP convention.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub model: String,
    pub input: String,
    pub flop_convention: String,
    pub totals: Totals,
    pub blocks: Vec<BlockRow>,
    pub layers: Vec<LayerRow>,
}

impl Report {
    pub fn new(graph: &Graph, convention: &FlopConvention) -> Self {
        Self::with_cost(graph, &GraphCost::of(graph), convention)
    }

    /// The report of `graph` whose cost the caller already has (`cost` must be `GraphCost::of(graph)`).
    pub fn with_cost(graph: &Graph, cost: &GraphCost, convention: &FlopConvention) -> Self {
        let layers = graph
            .nodes
            .iter()
            .zip(&cost.per_node)
            .skip(1) // the input
            .map(|(node, c)| LayerRow {
                name: node.name.clone(),
                op: node.op.label(),
                block: graph
                    .block_path(node.block)
                    .iter()
                    .filter_map(|&id| graph.block(id))
                    .map(|b| b.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" / "),
                input_shapes: graph.input_shapes(node).iter().map(ToString::to_string).collect(),
                output_shape: node.output.to_string(),
                params: c.params,
                macs: c.macs,
                flops: c.flops(convention),
                memory_bytes: c.memory_traffic(),
                activation_bytes: c.output_bytes,
            })
            .collect();
        let blocks = graph
            .blocks
            .iter()
            .enumerate()
            .map(|(i, block)| {
                let c = cost.block_total(graph, crate::BlockId(i));
                BlockRow {
                    name: block.name.clone(),
                    kind: block.kind.clone(),
                    depth: block.depth,
                    params: c.params,
                    macs: c.macs,
                    flops: c.flops(convention),
                }
            })
            .collect();
        Self {
            model: graph.name.clone(),
            input: graph.input_shape().to_string(),
            flop_convention: describe(convention),
            totals: totals(&cost.total, cost.peak_activation_bytes, convention),
            blocks,
            layers,
        }
    }

    /// `{"model", "input", "flop_convention", "totals": {...}, "blocks": [...], "layers": [...]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
    }

    /// One line per layer, RFC 4180 quoting.
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("name,op,block,input_shapes,output_shape,params,macs,flops,memory_bytes,activation_bytes\n");
        for l in &self.layers {
            let fields = [
                csv_field(&l.name),
                csv_field(&l.op),
                csv_field(&l.block),
                csv_field(&l.input_shapes.join(" ")),
                csv_field(&l.output_shape),
                l.params.to_string(),
                l.macs.to_string(),
                l.flops.to_string(),
                l.memory_bytes.to_string(),
                l.activation_bytes.to_string(),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// A Markdown table of the layers with a totals line.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("## {} — input {}\n\n", self.model, self.input);
        out.push_str("| layer | op | output | params | MACs |\n|---|---|---|---:|---:|\n");
        for l in &self.layers {
            out.push_str(&format!("| `{}` | {} | {} | {} | {} |\n", l.name, l.op, l.output_shape, l.params, l.macs));
        }
        out.push_str(&format!("| **total** | | | **{}** | **{}** |\n", self.totals.params, self.totals.macs));
        out
    }

    /// A fixed-width text table with block subtotals before each top-level block's layers.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} — input {} — FLOPs: {}\n", self.model, self.input, self.flop_convention);
        out.push_str(&format!("{:<44} {:<22} {:>14} {:>12} {:>15}\n", "layer", "op", "output", "params", "MACs"));
        let mut current_top = String::new();
        for l in &self.layers {
            let top = l.block.split(" / ").next().unwrap_or_default().to_owned();
            if top != current_top {
                if let Some(block) = self.blocks.iter().find(|b| b.depth == 0 && b.name == top) {
                    let label = format!("── {} ({})", block.name, block.kind);
                    out.push_str(&format!("{label:<82} {:>12} {:>15}\n", group(block.params), group(block.macs)));
                }
                current_top = top;
            }
            out.push_str(&format!(
                "  {:<42} {:<22} {:>14} {:>12} {:>15}\n",
                l.name,
                l.op,
                l.output_shape,
                group(l.params),
                group(l.macs)
            ));
        }
        let t = &self.totals;
        out.push_str(&format!(
            "total: {} params ({} without BN affine), {} MACs, {} FLOPs, peak activations {} bytes\n",
            group(t.params),
            group(t.params_without_bn),
            group(t.macs),
            group(t.flops),
            group(t.peak_activation_bytes)
        ));
        out
    }
}

fn totals(total: &Cost, peak: u64, convention: &FlopConvention) -> Totals {
    Totals {
        params: total.params,
        params_without_bn: total.params_without_bn(),
        macs: total.macs,
        flops: total.flops(convention),
        memory_bytes: total.memory_traffic(),
        peak_activation_bytes: peak,
        adds: total.adds,
        muls: total.muls,
        shifts: total.shifts,
    }
}

/// "2×MAC, BN folded", "1×MAC + BN + activations + element-wise + pooling", ...
pub fn describe(c: &FlopConvention) -> String {
    let mut parts = vec![format!("{}×MAC", c.flops_per_mac)];
    if c.count_bn && !c.bn_folded {
        parts.push("BN".to_owned());
    }
    if c.count_activations {
        parts.push("activations".to_owned());
    }
    if c.count_elementwise {
        parts.push("element-wise".to_owned());
    }
    if c.count_pool {
        parts.push("pooling".to_owned());
    }
    parts.join(" + ")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// `1234567` → `"1,234,567"`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(3_504_872), "3,504,872");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
