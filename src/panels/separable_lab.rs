//! The depthwise-separable lesson (Howard et al. 2017, "MobileNets", Section 3): a standard convolution
//! against its depthwise + pointwise factorization, the cost formulas with the user's numbers, and
//! MobileNet V1's width α and resolution ρ computed by the zoo beside the paper's Tables 6 and 7.

use convscope_graph::GraphCost;
use convscope_insight::separable::{self, Cost};
use convscope_zoo::Variant;
use egui_plot::{Bar, BarChart, Legend, Plot};

pub struct SeparableLabState {
    /// What the view shows, for the page's `data-insight`.
    pub summary: Option<String>,
    pub m: usize,
    pub n: usize,
    pub kernel: usize,
    pub resolution: usize,
    pub alpha: f64,
    pub rho: usize,
    /// MobileNet V1 at the paper's α and ρ, built once: `(label, α, ρ, params, MACs, published params, published MACs)`.
    table: Option<Vec<Row>>,
}

struct Row {
    alpha: f64,
    rho: usize,
    params: u64,
    macs: u64,
    published_params: f64,
    published_macs: f64,
}

impl Default for SeparableLabState {
    fn default() -> Self {
        // MobileNet V1's 14×14 block: 512 → 512 channels, 3×3.
        Self { summary: None, m: 512, n: 512, kernel: 3, resolution: 14, alpha: 1.0, rho: 224, table: None }
    }
}

/// MobileNet V1's cost at width `alpha` and input `rho`, built by the zoo.
fn mobilenet_v1(alpha: f64, rho: usize) -> Option<(u64, u64)> {
    let entry = convscope_zoo::find("mobilenet_v1")?;
    let graph = entry.build(&Variant { width: alpha, resolution: rho, ..entry.default }).ok()?;
    let total = GraphCost::of(&graph).total;
    Some((total.params, total.macs))
}

/// Howard et al. 2017, Table 6 (width α at 224) and Table 7 (resolution ρ at α = 1): (α, ρ, params, MACs).
const PUBLISHED: [(f64, usize, f64, f64); 7] = [
    (1.0, 224, 4.2e6, 569e6),
    (0.75, 224, 2.6e6, 325e6),
    (0.5, 224, 1.3e6, 149e6),
    (0.25, 224, 0.5e6, 41e6),
    (1.0, 192, 4.2e6, 418e6),
    (1.0, 160, 4.2e6, 290e6),
    (1.0, 128, 4.2e6, 186e6),
];

fn g(v: u64) -> String {
    convscope_graph::report::group(v)
}

pub fn separable_lab_ui(ui: &mut egui::Ui, state: &mut SeparableLabState) {
    ui.heading("Depthwise separable convolution");
    ui.label(
        "A standard D_K×D_K convolution mixes space and channels at once: every one of its N filters looks at all M \
         input channels. MobileNet splits it in two: a depthwise step filters each input channel on its own (M small \
         filters, one output map per input channel), then a 1×1 pointwise step mixes the channels.",
    );
    egui::ScrollArea::vertical().id_salt("separable_lab").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.add(egui::DragValue::new(&mut state.m).range(1..=4096).prefix("M (in) = "));
            ui.add(egui::DragValue::new(&mut state.n).range(1..=4096).prefix("N (out) = "));
            ui.add(egui::Slider::new(&mut state.kernel, 1..=7).text("D_K"));
            ui.add(egui::DragValue::new(&mut state.resolution).range(1..=512).prefix("D_F = "));
        });
        let Ok(c) = separable::costs(state.m, state.n, state.kernel, state.resolution) else {
            ui.label("Every size must be positive.");
            return;
        };
        let (m, n, k, f) = (state.m, state.n, state.kernel, state.resolution);
        state.summary = Some(format!(
            "view=dsc m={m} n={n} kernel={k} resolution={f} standard={} separable={} ratio={:.6}",
            c.standard.macs, c.separable.macs, c.ratio
        ));
        egui::Grid::new("separable_costs").striped(true).num_columns(4).show(ui, |ui| {
            ui.strong("");
            ui.strong("MACs formula");
            ui.strong("MACs");
            ui.strong("params");
            ui.end_row();
            let mut row = |name: &str, formula: String, cost: Cost| {
                ui.label(name);
                ui.monospace(formula);
                ui.label(g(cost.macs));
                ui.label(g(cost.params));
                ui.end_row();
            };
            row("standard", format!("D_K²·M·N·D_F² = {k}²·{m}·{n}·{f}²"), c.standard);
            row("depthwise", format!("D_K²·M·D_F² = {k}²·{m}·{f}²"), c.depthwise);
            row("pointwise", format!("M·N·D_F² = {m}·{n}·{f}²"), c.pointwise);
            row("separable", "depthwise + pointwise".to_owned(), c.separable);
        });
        ui.label(
            egui::RichText::new(format!(
                "separable / standard = {:.4} = 1/N + 1/D_K² = 1/{n} + 1/{} → {:.1}× fewer MACs",
                c.ratio,
                k * k,
                1.0 / c.ratio
            ))
            .strong(),
        );
        let mmacs = |v: u64| v as f64 / 1e6;
        let standard = BarChart::new("standard", vec![Bar::new(0.0, mmacs(c.standard.macs)).width(0.6)])
            .color(egui::Color32::from_rgb(214, 39, 40));
        let depthwise = BarChart::new("depthwise", vec![Bar::new(1.0, mmacs(c.depthwise.macs)).width(0.6)])
            .color(egui::Color32::from_rgb(44, 160, 44));
        let pointwise = BarChart::new("pointwise", vec![Bar::new(1.0, mmacs(c.pointwise.macs)).width(0.6)])
            .color(egui::Color32::from_rgb(31, 119, 180))
            .stack_on(&[&depthwise]);
        Plot::new("separable_bars")
            .height(150.0)
            .width(360.0)
            .legend(Legend::default())
            .y_axis_label("MMACs")
            .x_axis_formatter(|mark, _| match mark.value.round() as i64 {
                0 => "standard".to_owned(),
                1 => "separable".to_owned(),
                _ => String::new(),
            })
            .show_x(false)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.bar_chart(standard);
                plot.bar_chart(depthwise);
                plot.bar_chart(pointwise);
            });
        ui.weak("Right bar: depthwise (green) + pointwise (blue). The pointwise step holds almost all of the cost: that is where later designs (ShuffleNet's group 1×1, Ghost modules) cut next.");
        ui.separator();
        width_resolution_ui(ui, state);
    });
}

/// MobileNet V1's width multiplier α and resolution ρ, computed by the zoo.
fn width_resolution_ui(ui: &mut egui::Ui, state: &mut SeparableLabState) {
    ui.strong("MobileNet V1: width α and resolution ρ");
    ui.label("α thins every layer (cost ∝ α²), ρ shrinks the input (cost ∝ ρ²); the parameters depend on α only.");
    ui.horizontal(|ui| {
        ui.add(egui::Slider::new(&mut state.alpha, 0.25..=1.0).step_by(0.05).text("α"));
        ui.add(egui::Slider::new(&mut state.rho, 96..=224).step_by(32.0).text("ρ (input side)"));
    });
    if let Some((params, macs)) = mobilenet_v1(state.alpha, state.rho) {
        ui.label(format!(
            "MobileNet V1 α = {:.2}, {}²: {} parameters, {} MACs (built by the zoo)",
            state.alpha,
            state.rho,
            g(params),
            g(macs)
        ));
    }
    let table = state.table.get_or_insert_with(|| {
        PUBLISHED
            .iter()
            .filter_map(|&(alpha, rho, published_params, published_macs)| {
                let (params, macs) = mobilenet_v1(alpha, rho)?;
                Some(Row { alpha, rho, params, macs, published_params, published_macs })
            })
            .collect()
    });
    egui::Grid::new("mobilenet_v1_table").striped(true).show(ui, |ui| {
        for h in ["α", "ρ", "params (zoo)", "paper", "MACs (zoo)", "paper", "Δ MACs"] {
            ui.strong(h);
        }
        ui.end_row();
        for r in table.iter() {
            ui.label(format!("{:.2}", r.alpha));
            ui.label(format!("{}", r.rho));
            ui.label(format!("{:.2}M", r.params as f64 / 1e6));
            ui.label(format!("{:.1}M", r.published_params / 1e6));
            ui.label(format!("{:.0}M", r.macs as f64 / 1e6));
            ui.label(format!("{:.0}M", r.published_macs / 1e6));
            ui.label(format!("{:+.1}%", 100.0 * (r.macs as f64 / r.published_macs - 1.0)));
            ui.end_row();
        }
    });
    ui.weak("Paper: Howard et al. 2017, Table 6 (α at 224²) and Table 7 (ρ at α = 1). The zoo rounds channels to multiples of 8 as timm does.");
}
