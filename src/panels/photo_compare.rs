//! Several networks on the same photo, side by side: each one's top-5, compute time and engine, its
//! MACs per stage and its peak activation memory — three trained networks of different cost
//! (EfficientNet-Lite0, -Lite1, -Lite2) by default, or any zoo models.

use std::collections::HashMap;

use convscope_graph::{Graph, GraphCost};
use egui_plot::{Bar, BarChart, Legend, Plot};

use crate::inference::{Inference, WeightsLabel};
use crate::model_view::ModelView;

/// A model's cost at its default settings: per top-level block (stage) MACs, total MACs, peak
/// activation bytes, parameters.
struct Profile {
    title: &'static str,
    stages: Vec<(String, u64)>,
    macs: u64,
    params: u64,
    peak: u64,
}

pub struct PhotoCompareState {
    pub models: Vec<&'static str>,
    /// What the view shows, for the page's `data-insight`.
    pub summary: Option<String>,
    profiles: HashMap<&'static str, Option<Profile>>,
}

impl Default for PhotoCompareState {
    fn default() -> Self {
        Self {
            models: vec!["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"],
            summary: None,
            profiles: HashMap::new(),
        }
    }
}

fn profile(id: &str) -> Option<Profile> {
    let entry = convscope_zoo::find(id)?;
    let graph: Graph = entry.build_default().ok()?;
    let cost = GraphCost::of(&graph);
    let mut stages: Vec<(String, u64)> = Vec::new();
    for (node, c) in graph.nodes.iter().zip(&cost.per_node) {
        let stage =
            graph.block_path(node.block).first().and_then(|b| graph.block(*b)).map_or("input", |b| b.name.as_str());
        match stages.last_mut() {
            Some((name, macs)) if name == stage => *macs += c.macs,
            _ => stages.push((stage.to_owned(), c.macs)),
        }
    }
    stages.retain(|(_, macs)| *macs > 0);
    Some(Profile {
        title: entry.title,
        stages,
        macs: cost.total.macs,
        params: cost.total.params,
        peak: cost.peak_activation_bytes,
    })
}

const COLORS: [egui::Color32; 6] = [
    egui::Color32::from_rgb(0x4e, 0x79, 0xa7),
    egui::Color32::from_rgb(0xf2, 0x8e, 0x2b),
    egui::Color32::from_rgb(0xe1, 0x57, 0x59),
    egui::Color32::from_rgb(0x59, 0xa1, 0x4f),
    egui::Color32::from_rgb(0xb0, 0x7a, 0xa1),
    egui::Color32::from_rgb(0x76, 0xb7, 0xb2),
];

pub fn photo_compare_ui(ui: &mut egui::Ui, view: &ModelView, inference: &mut Inference, state: &mut PhotoCompareState) {
    ui.strong("On one photo");
    ui.horizontal_wrapped(|ui| {
        ui.label("Models:");
        let mut remove = None;
        for (i, id) in state.models.iter().enumerate() {
            if ui.button(format!("{id} ×")).on_hover_text("Remove from the comparison").clicked() {
                remove = Some(i);
            }
        }
        if let Some(i) = remove {
            state.models.remove(i);
        }
        if let Some(entry) =
            view.entry().filter(|e| !e.block && !state.models.contains(&e.id) && state.models.len() < COLORS.len())
            && ui.button(format!("+ {}", entry.id)).on_hover_text("Add the model open in the picker").clicked()
        {
            state.models.push(entry.id);
        }
        let busy = inference.comparing().is_some();
        let photo = inference.photo.is_some();
        if ui
            .add_enabled(photo && !busy && !state.models.is_empty(), egui::Button::new("▶ Run them on the photo"))
            .on_disabled_hover_text(if photo { "running…" } else { "pick a photo first (the Run tab or below)" })
            .clicked()
        {
            inference.compare(&state.models);
        }
    });
    if inference.photo.is_none() {
        ui.horizontal_wrapped(|ui| {
            ui.label("Photo:");
            for (file, title) in crate::inference::SAMPLES {
                if ui.button(title).clicked() {
                    inference.load_sample(ui.ctx(), file);
                }
            }
        });
    }
    if let Some((id, waiting)) = inference.comparing() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("running {id} on the photo… ({waiting} more after it)"));
        });
    }
    for id in &state.models {
        state.profiles.entry(id).or_insert_with(|| profile(id));
    }
    let classes = convscope_zoo::imagenet_classes();
    egui::Grid::new("photo_compare").striped(true).num_columns(7).show(ui, |ui| {
        for h in ["model", "top-1 (hover: top-5)", "time", "MACs", "params", "peak activations", "weights"] {
            ui.strong(h);
        }
        ui.end_row();
        for id in &state.models {
            let Some(Some(p)) = state.profiles.get(id) else { continue };
            ui.label(p.title);
            match inference.comparisons().find(|c| c.id == *id) {
                Some(c) => {
                    let name = |class: usize| classes.get(class).copied().unwrap_or("?");
                    let top5: Vec<String> =
                        c.top.iter().map(|(class, prob)| format!("{:.1}% {}", prob * 100.0, name(*class))).collect();
                    let first = c
                        .top
                        .first()
                        .map_or(String::new(), |(class, prob)| format!("{} {:.1}%", name(*class), prob * 100.0));
                    ui.label(first).on_hover_text(top5.join("\n"));
                    ui.label(format!("{:.0} ms ({})", c.millis, c.backend.label()));
                }
                None => {
                    ui.weak("—");
                    ui.weak("—");
                }
            }
            ui.label(format!("{:.0}M", p.macs as f64 / 1e6));
            ui.label(format!("{:.2}M", p.params as f64 / 1e6));
            ui.label(format!("{:.1} MB", p.peak as f64 / (1 << 20) as f64));
            match inference.comparisons().find(|c| c.id == *id).map(|c| &c.weights) {
                Some(WeightsLabel::Pretrained(_)) => {
                    ui.colored_label(egui::Color32::from_rgb(60, 179, 113), "pretrained")
                }
                Some(WeightsLabel::File(name)) => ui.label(name.as_str()),
                Some(_) => ui.colored_label(ui.visuals().warn_fg_color, "UNTRAINED"),
                None => ui.weak(if convscope_zoo::find(id).is_some_and(|e| e.pretrained.is_some()) {
                    "pretrained"
                } else {
                    "UNTRAINED"
                }),
            };
            ui.end_row();
        }
    });
    let done: Vec<String> = state
        .models
        .iter()
        .filter_map(|id| inference.comparisons().find(|c| c.id == *id))
        .map(|c| format!("{}:{}:{}", c.id, c.top.first().map_or(0, |t| t.0), c.backend.id()))
        .collect();
    state.summary = Some(format!("view=compare done={} results={}", done.len(), done.join(",")));
    // MACs per stage, one series per model.
    let width = 0.8 / state.models.len().max(1) as f64;
    Plot::new("photo_compare_stages")
        .height(170.0)
        .legend(Legend::default())
        .x_axis_label("stage (top-level block, in order)")
        .y_axis_label("MMACs")
        .allow_scroll(false)
        .show(ui, |plot| {
            for (k, id) in state.models.iter().enumerate() {
                let Some(Some(p)) = state.profiles.get(id) else { continue };
                let bars = p
                    .stages
                    .iter()
                    .enumerate()
                    .map(|(s, (name, macs))| {
                        Bar::new(
                            s as f64 + (k as f64 - (state.models.len() as f64 - 1.0) / 2.0) * width,
                            *macs as f64 / 1e6,
                        )
                        .width(width)
                        .name(name)
                    })
                    .collect();
                plot.bar_chart(
                    BarChart::new(p.title, bars).color(COLORS.get(k).copied().unwrap_or(egui::Color32::GRAY)),
                );
            }
        });
    ui.separator();
}
