//! The conv-swap lab: a network with its convolutions replaced by a chosen module — Ghost (s, d),
//! depthwise separable, CompConv (C0 or a fixed depth), adder, Mitchell — and what that does to every
//! layer's shape and cost and to the totals; Ghost-ResNet-50 beside the GhostNet paper's figures.
//! The graph rewrite is `convscope_zoo::swap`, the same as `convscope table <id> --swap …`.

use convscope_graph::{Graph, GraphCost, Op};
use convscope_zoo::Variant;
use convscope_zoo::swap::{self, Swap};

/// The networks the papers swap in.
const NETWORKS: [(&str, &str); 3] = [("resnet50", "ResNet-50"), ("resnet18", "ResNet-18"), ("vgg16", "VGG-16")];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    Ghost,
    Separable,
    CompConv,
    Adder,
    Mitchell,
}

impl Module {
    const ALL: [Self; 5] = [Self::Ghost, Self::Separable, Self::CompConv, Self::Adder, Self::Mitchell];

    fn title(self) -> &'static str {
        match self {
            Self::Ghost => "Ghost module",
            Self::Separable => "depthwise separable",
            Self::CompConv => "CompConv",
            Self::Adder => "adder",
            Self::Mitchell => "Mitchell",
        }
    }
}

/// One replaced convolution: `(name, output shape, before, after, note)`.
struct Row {
    name: String,
    shape: String,
    before: (u64, u64),
    after: (u64, u64),
    note: String,
}

struct Computed {
    key: (usize, Swap),
    result: Result<(GraphCost, GraphCost, Vec<Row>), String>,
}

pub struct SwapLabState {
    pub network: usize,
    pub module: Module,
    pub ghost: [usize; 2],
    pub c0: usize,
    /// A fixed CompConv depth instead of the rule.
    pub depth: Option<usize>,
    /// What the view shows, for the page's `data-insight`.
    pub summary: Option<String>,
    computed: Option<Computed>,
    /// The model the network was taken from (the lab follows the picker to a network it offers).
    from_model: Option<&'static str>,
}

impl Default for SwapLabState {
    fn default() -> Self {
        Self {
            network: 0,
            module: Module::Ghost,
            ghost: [2, 3],
            c0: 128,
            depth: None,
            summary: None,
            computed: None,
            from_model: None,
        }
    }
}

impl SwapLabState {
    fn swap(&self) -> Swap {
        match self.module {
            Module::Ghost => Swap::Ghost { s: self.ghost[0], d: self.ghost[1] },
            Module::Separable => Swap::Separable,
            Module::CompConv => Swap::CompConv { c0: self.c0, depth: self.depth },
            Module::Adder => Swap::Adder,
            Module::Mitchell => Swap::Mitchell,
        }
    }
}

fn compute(network: &str, s: Swap) -> Result<(GraphCost, GraphCost, Vec<Row>), String> {
    let entry = convscope_zoo::find(network).ok_or_else(|| format!("no model {network}"))?;
    let graph = entry.build(&Variant { ..entry.default }).map_err(|e| e.to_string())?;
    let swapped = swap::swap(&graph, s).map_err(|e| e.to_string())?;
    let (before, after) = (GraphCost::of(&graph), GraphCost::of(&swapped));
    let rows = graph
        .nodes
        .iter()
        .zip(&before.per_node)
        .filter(|(node, _)| swap::replaced(&graph, node))
        .map(|(node, cost)| {
            let prefix = format!("{}.", node.name);
            let (params, macs) = swapped
                .nodes
                .iter()
                .zip(&after.per_node)
                .filter(|(n, _)| n.name == node.name || n.name.starts_with(&prefix))
                .fold((0, 0), |(p, m), (_, c)| (p + c.params, m + c.macs));
            Row {
                name: node.name.clone(),
                shape: node.output.to_string(),
                before: (cost.params, cost.macs),
                after: (params, macs),
                note: note(&graph, node, s),
            }
        })
        .collect();
    Ok((before, after, rows))
}

/// What the module is at this layer (CompConv: its depth and C_prim).
fn note(_graph: &Graph, node: &convscope_graph::Node, s: Swap) -> String {
    let Op::Conv2d(conv) = &node.op else { return String::new() };
    match s {
        Swap::Ghost { s, .. } => format!("{} intrinsic", conv.out_channels.div_ceil(s)),
        Swap::Separable if conv.kernel == [1, 1] => "1×1: kept".to_owned(),
        Swap::Separable => format!("{}×{} dw + 1×1", conv.kernel[0], conv.kernel[1]),
        Swap::CompConv { c0, depth } => {
            let d = depth.unwrap_or_else(|| swap::compconv_depth(conv.in_channels, c0));
            if d == 0 {
                "d = 0: kept".to_owned()
            } else {
                format!("d = {d}, C_prim = {}", swap::compconv_prim(conv.out_channels, d))
            }
        }
        Swap::Adder | Swap::Mitchell => String::new(),
    }
}

fn g(v: u64) -> String {
    convscope_graph::report::group(v)
}

pub fn swap_lab_ui(ui: &mut egui::Ui, model: Option<&'static str>, state: &mut SwapLabState) {
    if model != state.from_model {
        state.from_model = model;
        if let Some(i) = NETWORKS.iter().position(|(id, _)| Some(*id) == model) {
            state.network = i;
        }
    }
    ui.heading("Conv-swap lab: put a cheaper module in place of every convolution");
    ui.label(
        "The papers' own experiment: take a classic network and replace its convolutions (all but the stem) by a \
         module, keeping every shape. The table shows what each layer and the whole network cost before and after.",
    );
    ui.horizontal_wrapped(|ui| {
        egui::ComboBox::new("swap_network", "network")
            .selected_text(NETWORKS.get(state.network).map_or("", |n| n.1))
            .show_ui(ui, |ui| {
                for (i, (_, title)) in NETWORKS.iter().enumerate() {
                    ui.selectable_value(&mut state.network, i, *title);
                }
            });
        for m in Module::ALL {
            ui.selectable_value(&mut state.module, m, m.title());
        }
    });
    ui.horizontal_wrapped(|ui| match state.module {
        Module::Ghost => {
            ui.add(egui::Slider::new(&mut state.ghost[0], 2..=6).text("s"));
            egui::ComboBox::new("swap_ghost_d", "cheap kernel")
                .selected_text(format!("d = {}", state.ghost[1]))
                .show_ui(ui, |ui| {
                    for d in [1, 3, 5, 7] {
                        ui.selectable_value(&mut state.ghost[1], d, format!("d = {d}"));
                    }
                });
        }
        Module::CompConv => {
            egui::ComboBox::new("swap_c0", "C0").selected_text(format!("C0 = {}", state.c0)).show_ui(ui, |ui| {
                for c0 in [32, 64, 128, 256, 512] {
                    ui.selectable_value(&mut state.c0, c0, format!("C0 = {c0}"));
                }
            });
            let mut fixed = state.depth.is_some();
            ui.checkbox(&mut fixed, "fixed depth").on_hover_text(
                "The sources give the depth rule as d = max(log2(max(1, C_in/C0)) + 1, 3) but describe 3 as a cap: \
                 convscope reads it as min(⌊log2(max(1, C_in/C0))⌋ + 1, 3); fix d here to try otherwise.",
            );
            state.depth = if fixed { Some(state.depth.unwrap_or(2)) } else { None };
            if let Some(d) = state.depth.as_mut() {
                ui.add(egui::Slider::new(d, 0..=5).text("d"));
            }
        }
        Module::Separable => {
            ui.weak("k×k → k×k depthwise + 1×1 pointwise; 1×1 convolutions stay");
        }
        Module::Adder => {
            ui.weak("the same weights, additions instead of multiplications (AdderNet)");
        }
        Module::Mitchell => {
            ui.weak("the same weights, Mitchell's logarithmic multiplication");
        }
    });
    if state.module == Module::CompConv {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "CompConv is a RECONSTRUCTION from the paper's equations (no reference code exists); its per-layer cost \
             equals the paper's formula. The depth rule's outer operator is ambiguous in the sources (see the d checkbox).",
        );
    }
    let Some(&(network, title)) = NETWORKS.get(state.network) else { return };
    let key = (state.network, state.swap());
    if state.computed.as_ref().is_none_or(|c| c.key != key) {
        state.computed = Some(Computed { key, result: compute(network, key.1) });
    }
    let Some(computed) = state.computed.as_ref() else { return };
    let (before, after, rows) = match &computed.result {
        Ok(r) => r,
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("This swap does not fit: {e}"));
            state.summary = Some(format!("view=swap network={network} error"));
            return;
        }
    };
    let (b, a) = (&before.total, &after.total);
    ui.separator();
    egui::Grid::new("swap_totals").striped(true).show(ui, |ui| {
        for h in ["", "params", "MACs", "multiplications"] {
            ui.strong(h);
        }
        ui.end_row();
        ui.label(title);
        ui.label(g(b.params));
        ui.label(g(b.macs));
        ui.label(g(b.muls));
        ui.end_row();
        ui.label(format!("with {}", key.1.label()));
        ui.label(g(a.params));
        ui.label(g(a.macs));
        ui.label(g(a.muls));
        ui.end_row();
        ui.label("ratio");
        ui.label(format!("{:.2}×", b.params as f64 / a.params.max(1) as f64));
        ui.label(format!("{:.2}×", b.macs as f64 / a.macs.max(1) as f64));
        ui.label(if a.muls == 0 { "none left".to_owned() } else { format!("{:.2}×", b.muls as f64 / a.muls as f64) });
        ui.end_row();
    });
    state.summary = Some(format!(
        "view=swap network={network} module={} params={} macs={} layers={}",
        key.1.label().replace(' ', "_"),
        a.params,
        a.macs,
        rows.len()
    ));
    if network == "resnet50"
        && let Swap::Ghost { s: s @ (2 | 4), d: 3 } = key.1
    {
        let (macs, params) = if s == 2 { (2.2, 13.0) } else { (1.2, 6.5) };
        ui.label(format!(
            "GhostNet paper, Table 5: Ghost-ResNet-50 (s = {s}) {macs:.1}B FLOPs (multiply-adds), {params:.1}M weights. \
             Here: {:.2}B MACs, {:.2}M parameters.",
            a.macs as f64 / 1e9,
            a.params as f64 / 1e6
        ));
        ui.weak(
            "The MACs agree at the paper's precision. The paper's weights are ResNet-50's 25.6M divided by s; the \
             official ghost_resnet.py keeps the 2.05M classifier and the stem, as here, so only the convolutions \
             shrink by s.",
        );
    }
    ui.separator();
    ui.strong(format!("{} convolutions replaced", rows.len()));
    egui::ScrollArea::vertical().id_salt("swap_rows").show(ui, |ui| {
        egui::Grid::new("swap_layers").striped(true).num_columns(7).show(ui, |ui| {
            for h in ["layer", "output", "params before", "after", "MACs before", "after", "module"] {
                ui.strong(h);
            }
            ui.end_row();
            for r in rows {
                ui.monospace(&r.name);
                ui.label(&r.shape);
                ui.label(g(r.before.0));
                ui.label(g(r.after.0));
                ui.label(g(r.before.1));
                ui.label(g(r.after.1));
                ui.label(&r.note);
                ui.end_row();
            }
        });
    });
}
