use egui::RichText;
use egui_plot::{Corner, Legend, Plot, PlotPoint, Points, Text};

/// One colour per family, distinguishable on dark and light backgrounds.
const PALETTE: [egui::Color32; 10] = [
    egui::Color32::from_rgb(0x4e, 0x79, 0xa7),
    egui::Color32::from_rgb(0xf2, 0x8e, 0x2b),
    egui::Color32::from_rgb(0xe1, 0x57, 0x59),
    egui::Color32::from_rgb(0x76, 0xb7, 0xb2),
    egui::Color32::from_rgb(0x59, 0xa1, 0x4f),
    egui::Color32::from_rgb(0xed, 0xc9, 0x48),
    egui::Color32::from_rgb(0xb0, 0x7a, 0xa1),
    egui::Color32::from_rgb(0xff, 0x9d, 0xa7),
    egui::Color32::from_rgb(0x9c, 0x75, 0x5f),
    egui::Color32::from_rgb(0xba, 0xb0, 0xac),
];

use crate::model_view::ModelView;

/// One zoo model at its default settings, for the comparison chart.
pub struct ZooPoint {
    pub id: &'static str,
    pub title: &'static str,
    pub family: &'static str,
    pub params: u64,
    pub macs: u64,
    pub top1: Option<f64>,
}

/// Every zoo model's computed size and published top-1 (built once; about 3 ms for the whole zoo).
pub fn zoo_points(view: &ModelView) -> Vec<ZooPoint> {
    view.entries
        .iter()
        .filter_map(|entry| {
            let graph = entry.build_default().ok()?;
            let total = convscope_graph::GraphCost::of(&graph).total;
            Some(ZooPoint {
                id: entry.id,
                title: entry.title,
                family: entry.family,
                params: total.params,
                macs: total.macs,
                top1: entry.published.and_then(|p| p.top1),
            })
        })
        .collect()
}

/// MACs against published top-1, one series per family, marker size by parameters; click to open.
pub fn compare_ui(ui: &mut egui::Ui, view: &mut ModelView, points: &[ZooPoint]) {
    ui.label("Computed MACs (conv + linear, default input) against the published ImageNet top-1; marker size grows with the parameter count; the dashed line is the Pareto front (named); hover a marker for its name, click it to open the model.");
    let current = view.entry().map(|e| e.id);
    let mut families: Vec<&str> = points.iter().map(|p| p.family).collect();
    families.dedup();
    let response = Plot::new("zoo_compare")
        .legend(Legend::default().position(Corner::RightBottom))
        .x_axis_label("MACs (log scale)")
        .x_axis_formatter(|mark, _| {
            let macs = 10f64.powf(mark.value) * 1e6;
            if macs >= 1e9 { format!("{}G", trim(macs / 1e9)) } else { format!("{}M", trim(macs / 1e6)) }
        })
        .y_axis_label("top-1 (%)")
        .label_formatter(|hover| {
            let point = match hover {
                egui_plot::HoverPosition::NearDataPoint { position, .. } => position,
                egui_plot::HoverPosition::Elsewhere { position } => position,
            };
            nearest(points, point).map(|p| {
                format!(
                    "{}\n{} params\n{} MACs\ntop-1 {}",
                    p.title,
                    convscope_graph::report::group(p.params),
                    convscope_graph::report::group(p.macs),
                    p.top1.map_or("—".to_owned(), |t| format!("{t:.1}%"))
                )
            })
        })
        .show(ui, |plot| {
            // The Pareto front: the models no other model beats on both MACs and top-1.
            let front = pareto_front(points);
            let line: Vec<[f64; 2]> = front.iter().filter_map(|p| Some([log_macs(p.macs), p.top1?])).collect();
            plot.line(
                egui_plot::Line::new("Pareto front", egui_plot::PlotPoints::from(line))
                    .color(egui::Color32::from_gray(150))
                    .style(egui_plot::LineStyle::dashed_loose()),
            );
            for (family_index, family) in families.iter().enumerate() {
                let color = PALETTE.get(family_index % PALETTE.len()).copied().unwrap_or(egui::Color32::GRAY);
                for p in points.iter().filter(|p| p.family == *family) {
                    let Some(top1) = p.top1 else { continue };
                    let radius = (p.params as f32 / 1e6).sqrt().clamp(1.5, 12.0) * 1.6;
                    let mut marker = Points::new(*family, vec![[log_macs(p.macs), top1]]).radius(radius).color(color);
                    if current == Some(p.id) {
                        marker = marker.highlight(true);
                    }
                    plot.points(marker);
                    // Names only on the front and for the open model (the others on hover): no overlaps.
                    if current == Some(p.id) || front.iter().any(|f| f.id == p.id) {
                        plot.text(Text::new(
                            "",
                            PlotPoint::new(log_macs(p.macs), top1 + 0.6),
                            RichText::new(p.title).small(),
                        ));
                    }
                }
            }
        });
    if response.response.clicked()
        && let Some(pointer) = response.response.hover_pos()
    {
        let position = response.transform.value_from_position(pointer);
        if let Some(p) = nearest(points, &position) {
            let id = p.id;
            view.select_id(id);
        }
    }
}

/// The models with a published top-1 that no model beats with fewer or equal MACs, by MACs.
pub fn pareto_front(points: &[ZooPoint]) -> Vec<&ZooPoint> {
    let mut ranked: Vec<&ZooPoint> = points.iter().filter(|p| p.top1.is_some()).collect();
    ranked.sort_by(|a, b| a.macs.cmp(&b.macs).then(b.top1.unwrap_or(0.0).total_cmp(&a.top1.unwrap_or(0.0))));
    let mut best = f64::NEG_INFINITY;
    ranked
        .into_iter()
        .filter(|p| {
            let top1 = p.top1.unwrap_or(f64::NEG_INFINITY);
            let on_front = top1 > best;
            best = best.max(top1);
            on_front
        })
        .collect()
}

/// `12.0` → "12", `1.5` → "1.5".
fn trim(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

fn log_macs(macs: u64) -> f64 {
    (macs as f64 / 1e6).max(1e-3).log10()
}

/// The model whose marker is closest to `point` in plot units, if it is close.
fn nearest<'a>(points: &'a [ZooPoint], point: &PlotPoint) -> Option<&'a ZooPoint> {
    points
        .iter()
        .filter_map(|p| Some((p, p.top1?)))
        .map(|(p, top1)| (p, (log_macs(p.macs) - point.x).powi(2) * 100.0 + (top1 - point.y).powi(2)))
        .filter(|(_, d)| *d < 4.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: &'static str, macs: u64, top1: f64) -> ZooPoint {
        ZooPoint { id, title: id, family: "f", params: 1, macs, top1: Some(top1) }
    }

    #[test]
    fn the_front_keeps_only_unbeaten_models() {
        let points = [point("a", 100, 60.0), point("b", 200, 58.0), point("c", 300, 70.0), point("d", 300, 65.0)];
        let ids: Vec<&str> = pareto_front(&points).iter().map(|p| p.id).collect();
        assert_eq!(ids, vec!["a", "c"]);
    }
}
