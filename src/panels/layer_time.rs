//! Where a run's time went, per layer: MACs against measured time for every step, one colour per kind
//! of layer, and each kind's share of the MACs beside its share of the time — so a student sees that
//! FLOPs are not speed (depthwise convolutions do few MACs and take long; shuffles do none and still
//! take time).

use convscope_engine::Timing;
use convscope_graph::{Graph, Op};
use egui_plot::{Legend, Plot, PlotPoint, Points};

use crate::inference::RunResult;
use crate::model_view::ModelView;

/// The kinds a step is counted under, in legend order.
const KINDS: [&str; 7] =
    ["dense conv", "pointwise conv", "depthwise conv", "grouped conv", "linear", "memory", "other"];

const COLORS: [egui::Color32; 7] = [
    egui::Color32::from_rgb(31, 119, 180),
    egui::Color32::from_rgb(255, 127, 14),
    egui::Color32::from_rgb(44, 160, 44),
    egui::Color32::from_rgb(214, 39, 40),
    egui::Color32::from_rgb(148, 103, 189),
    egui::Color32::from_rgb(140, 86, 75),
    egui::Color32::from_rgb(127, 127, 127),
];

/// The kind of layer a node is, for the time chart.
pub fn kind(op: &Op) -> &'static str {
    match op {
        Op::Conv2d(c) if c.groups > 1 && c.groups == c.in_channels => "depthwise conv",
        Op::Conv2d(c) if c.groups > 1 => "grouped conv",
        Op::Conv2d(c) if c.kernel == [1, 1] => "pointwise conv",
        Op::Conv2d(_) => "dense conv",
        Op::Linear { .. } => "linear",
        Op::Concat | Op::ChannelSlice { .. } | Op::ChannelShuffle { .. } | Op::ChannelGather { .. } => "memory",
        _ => "other",
    }
}

/// Per kind: (MACs, milliseconds, steps).
fn by_kind(graph: &Graph, view: &ModelView, result: &RunResult) -> Vec<(&'static str, u64, f64, usize)> {
    let Ok(model) = view.model.as_ref() else { return Vec::new() };
    let mut totals: Vec<(&'static str, u64, f64, usize)> = KINDS.iter().map(|k| (*k, 0, 0.0, 0)).collect();
    for (i, node) in graph.nodes.iter().enumerate() {
        let Some(ms) = result.outputs.step_ms.get(i).copied().flatten() else { continue };
        let k = kind(&node.op);
        let macs = model.cost.per_node.get(i).map_or(0, |c| c.macs);
        if let Some(t) = totals.iter_mut().find(|t| t.0 == k) {
            t.1 += macs;
            t.2 += ms;
            t.3 += 1;
        }
    }
    totals.retain(|t| t.3 > 0);
    totals
}

/// The chart and the shares, under a collapsible heading. True when the user asks for a profiling run
/// (an adapter without timestamp queries times layers only by submitting each alone).
pub fn time_chart_ui(ui: &mut egui::Ui, view: &mut ModelView, result: &RunResult) -> bool {
    let Ok(model) = view.model.as_ref() else { return false };
    if result.outputs.timing == Timing::Total {
        ui.weak("No per-layer times: this adapter has no timestamp queries.");
        return ui
            .button("Profile each layer")
            .on_hover_text(
                "Run again with each layer submitted alone and waited for: slower than a normal run, \
                 but it times every layer (the sum is larger than a normal run's time: each layer pays a round trip).",
            )
            .clicked();
    }
    let graph = &model.graph;
    let totals = by_kind(graph, view, result);
    let (all_macs, all_ms) = totals.iter().fold((0u64, 0.0f64), |(m, t), k| (m + k.1, t + k.2));
    egui::CollapsingHeader::new(format!("Time per layer ({})", result.outputs.backend.label()))
        .id_salt("time_per_layer")
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new("time_shares").striped(true).show(ui, |ui| {
                ui.strong("layers");
                ui.strong("MACs");
                ui.strong("time");
                ui.end_row();
                for (k, macs, ms, n) in &totals {
                    ui.label(format!("{k} ({n})"));
                    ui.label(format!("{:.0}%", 100.0 * *macs as f64 / all_macs.max(1) as f64));
                    ui.label(format!("{:.0}% ({ms:.1} ms)", 100.0 * ms / all_ms.max(1e-9)));
                    ui.end_row();
                }
            });
            let points: Vec<(usize, f64, f64)> = graph
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(i, _)| {
                    let ms = result.outputs.step_ms.get(i).copied().flatten()?;
                    let macs = model.cost.per_node.get(i).map_or(0, |c| c.macs);
                    Some((i, macs as f64 / 1e6, ms))
                })
                .collect();
            let response = Plot::new("macs_vs_time")
                .height(200.0)
                .legend(Legend::default().position(egui_plot::Corner::LeftTop))
                .x_axis_label("MMACs")
                .y_axis_label("ms")
                .allow_scroll(false)
                .label_formatter(|hover| {
                    let point = match hover {
                        egui_plot::HoverPosition::NearDataPoint { position, .. } => position,
                        egui_plot::HoverPosition::Elsewhere { position } => position,
                    };
                    let (i, macs, ms) = nearest(&points, point)?;
                    let node = graph.nodes.get(i)?;
                    Some(format!("{}\n{}\n{macs:.1} MMACs, {ms:.3} ms", node.name, node.op.label()))
                })
                .show(ui, |plot| {
                    for (k, color) in KINDS.iter().zip(COLORS) {
                        let series: Vec<[f64; 2]> = points
                            .iter()
                            .filter(|(i, _, _)| graph.nodes.get(*i).is_some_and(|n| kind(&n.op) == *k))
                            .map(|(_, m, t)| [*m, *t])
                            .collect();
                        if !series.is_empty() {
                            plot.points(Points::new(*k, series).radius(3.0).color(color));
                        }
                    }
                });
            if response.response.clicked()
                && let Some(pointer) = response.response.hover_pos()
            {
                let position = response.transform.value_from_position(pointer);
                if let Some((i, _, _)) = nearest(&points, &position) {
                    view.selected_node = Some(convscope_graph::NodeId(i));
                }
            }
            if result.outputs.timing == Timing::Submissions {
                ui.weak("Profiled: each layer submitted alone and waited for, so each time includes a round trip.");
            }
        });
    false
}

/// The step nearest `point`, in units scaled to the points' spread.
fn nearest(points: &[(usize, f64, f64)], point: &PlotPoint) -> Option<(usize, f64, f64)> {
    let (mx, mt) = points.iter().fold((1e-9f64, 1e-9f64), |(a, b), p| (a.max(p.1), b.max(p.2)));
    points
        .iter()
        .copied()
        .map(|p| (p, ((p.1 - point.x) / mx).powi(2) + ((p.2 - point.y) / mt).powi(2)))
        .filter(|(_, d)| *d < 0.002)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use convscope_graph::Conv2d;

    use super::*;

    #[test]
    fn kinds_follow_the_convolution() {
        assert_eq!(kind(&Op::Conv2d(Conv2d::new(32, 32, 3, 1).depthwise())), "depthwise conv");
        assert_eq!(kind(&Op::Conv2d(Conv2d::new(32, 64, 1, 1))), "pointwise conv");
        assert_eq!(kind(&Op::Conv2d(Conv2d::new(30, 60, 1, 1).groups(3))), "grouped conv");
        assert_eq!(kind(&Op::Conv2d(Conv2d::new(3, 32, 3, 2))), "dense conv");
        assert_eq!(kind(&Op::ChannelShuffle { groups: 3 }), "memory");
    }
}
