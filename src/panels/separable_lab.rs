//! The depthwise-separable lesson (Howard et al. 2017, "MobileNets", Section 3): a standard convolution
//! against its depthwise + pointwise factorization, the cost formulas with the user's numbers, and
//! MobileNet V1's width α and resolution ρ computed by the zoo beside the paper's Tables 6 and 7.

use convscope_graph::{GraphCost, NodeId, Op};
use convscope_insight::separable::{self, Cost, Lesson};
use convscope_zoo::Variant;
use egui_plot::{Bar, BarChart, Legend, Plot};

pub struct SeparableLabState {
    /// What the view shows, for the page's `data-insight`.
    pub summary: Option<String>,
    /// The worked example on the photo.
    pub lesson: LessonState,
    pub m: usize,
    pub n: usize,
    pub kernel: usize,
    pub resolution: usize,
    pub alpha: f64,
    pub rho: usize,
    /// The IGCV2 reconstruction at 1, ½ and ¼ of its width: `(width, MACs)`, built once.
    igcv2: Option<Vec<(f64, u64)>>,
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
        Self {
            summary: None,
            lesson: LessonState::default(),
            m: 512,
            n: 512,
            kernel: 3,
            resolution: 14,
            alpha: 1.0,
            rho: 224,
            table: None,
            igcv2: None,
        }
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

pub fn separable_lab_ui(
    ui: &mut egui::Ui,
    view: &crate::model_view::ModelView,
    inference: &mut crate::inference::Inference,
    state: &mut SeparableLabState,
) {
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
        lesson_ui(ui, view, inference, &mut state.lesson);
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
    igcv2_ui(ui, state);
}

/// IGCV2's sparser pointwise step: MobileNet V1's layout with IGCV2 blocks, a labelled reconstruction,
/// against the three published totals.
fn igcv2_ui(ui: &mut egui::Ui, state: &mut SeparableLabState) {
    use convscope_zoo::igcv2::{PUBLISHED, WIDTH_FOR_IGCV2_1_0};
    ui.add_space(6.0);
    ui.strong("IGCV2: the pointwise step made sparse too");
    ui.label(
        "IGCV2 replaces the dense 1×1 by two group 1×1 convolutions with a shuffle between them, K₂·K₃ = C, so every \
         output still has one path from every input at C·(K₂ + K₃) instead of C² weights.",
    );
    ui.colored_label(
        ui.visuals().warn_fg_color,
        "RECONSTRUCTION: the paper's networks are MobileNet V1-shaped, but their widths are unpublished; here \
         MobileNet V1's layout with IGCV2 blocks, its width set to land on IGCV2-1.0 (zoo: igcv2_mobilenet).",
    );
    let rows = state.igcv2.get_or_insert_with(|| {
        [1.0, 0.5, 0.25]
            .iter()
            .filter_map(|&f| {
                let entry = convscope_zoo::find("igcv2_mobilenet")?;
                let width = WIDTH_FOR_IGCV2_1_0 * f;
                let graph = entry.build(&Variant { width, ..entry.default }).ok()?;
                Some((width, GraphCost::of(&graph).total.macs))
            })
            .collect()
    });
    egui::Grid::new("igcv2_table").striped(true).show(ui, |ui| {
        for h in ["published", "MACs", "reconstruction width", "MACs", "Δ"] {
            ui.strong(h);
        }
        ui.end_row();
        for ((name, published, _), (width, macs)) in PUBLISHED.iter().zip(rows.iter()) {
            ui.label(*name);
            ui.label(format!("{:.0}M", published / 1e6));
            ui.label(format!("×{width:.3}"));
            ui.label(format!("{:.0}M", *macs as f64 / 1e6));
            ui.label(format!("{:+.0}%", 100.0 * (*macs as f64 / published - 1.0)));
            ui.end_row();
        }
    });
    ui.weak("Published: as ShuffleNet V2's Table 8 lists them. The smaller published networks are not plain width multiples of the largest, hence the gaps.");
}

/// What a computed lesson was computed from: (source, from the layer, M, N, D_K, D_F).
type LessonKey = (u64, bool, usize, usize, usize, usize);

/// The worked example's settings, its result and the textures it is drawn with.
pub struct LessonState {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub d: usize,
    /// From the first convolution's maps of the run (else the photo's three channels).
    pub from_layer: bool,
    /// Output pixels computed so far (the kernel's position), `0..=d²`.
    pub position: usize,
    pub playing: bool,
    maps: crate::host_maps::HostMaps,
    computed: Option<(LessonKey, Result<Lesson, String>)>,
    textures: Vec<egui::TextureHandle>,
}

impl Default for LessonState {
    fn default() -> Self {
        Self {
            m: 3,
            n: 4,
            k: 3,
            d: 32,
            from_layer: false,
            position: usize::MAX,
            playing: false,
            maps: crate::host_maps::HostMaps::default(),
            computed: None,
            textures: Vec::new(),
        }
    }
}

/// The first convolution of `graph` (its output: the first layer's maps).
fn first_conv(graph: &convscope_graph::Graph) -> Option<NodeId> {
    graph.nodes.iter().position(|n| matches!(n.op, Op::Conv2d(_))).map(NodeId)
}

/// A `[c, d, d]` map's channel `c` as an image, pixels after `shown` greyed (not computed yet).
fn lesson_image(values: &[f32], c: usize, d: usize, shown: usize, signed: bool) -> egui::ColorImage {
    let plane = values.get(c * d * d..(c + 1) * d * d).unwrap_or(&[]);
    let (lo, hi) = plane.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let map = if signed { crate::colormap::Colormap::Diverging } else { crate::colormap::Colormap::Gray };
    let pixels = plane
        .iter()
        .enumerate()
        .map(|(p, &v)| if p < shown { map.color(v, lo, hi) } else { egui::Color32::from_gray(60) })
        .collect();
    egui::ColorImage::new([d, d], pixels)
}

fn lesson_ui(
    ui: &mut egui::Ui,
    view: &crate::model_view::ModelView,
    inference: &mut crate::inference::Inference,
    state: &mut LessonState,
) {
    ui.strong("Step by step on your photo");
    ui.label(
        "The depthwise step filters each input map on its own (one output per input); the pointwise step mixes \
         them into N maps. The standard convolution whose k×k×M kernel is the product of the two computes the very \
         same maps — with k²·M·N multiply-adds per pixel instead of k²·M + M·N. The filters and mixing weights are \
         fixed illustrations (blur, edges, Laplacian; cosine mixes), not trained ones.",
    );
    let result = super::insight_photo::photo_result_ui(ui, view, inference);
    // The source: the photo as the network sees it, or the first layer's maps of the run.
    let layer = view.model.as_ref().ok().and_then(|m| first_conv(&m.graph));
    let source = if state.from_layer {
        match (result, layer) {
            (Some(result), Some(node)) => state.maps.ready_ui(ui, result, node).map(|t| (result.id, t)),
            _ => None,
        }
    } else {
        inference.prepared.as_ref().map(|(_, generation, prepared, _)| {
            let r = prepared.cropped.width() as usize;
            let shape = convscope_graph::Shape::map(3, r, r);
            (
                generation.wrapping_add(1 << 40),
                convscope_engine::Tensor { shape, data: std::sync::Arc::new(prepared.chw.clone()) },
            )
        })
    };
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut state.from_layer, false, "photo (R, G, B)");
        ui.selectable_value(&mut state.from_layer, true, "first layer's maps");
        let channels = source.as_ref().map_or(3, |(_, t)| t.shape.c);
        state.m = state.m.clamp(1, channels.min(16));
        ui.add(egui::Slider::new(&mut state.m, 1..=channels.min(16)).text("M"));
        ui.add(egui::Slider::new(&mut state.n, 1..=16).text("N"));
        egui::ComboBox::new("lesson_k", "D_K").selected_text(format!("{}×{}", state.k, state.k)).show_ui(ui, |ui| {
            for k in [1, 3, 5, 7] {
                ui.selectable_value(&mut state.k, k, format!("{k}×{k}"));
            }
        });
        ui.add(egui::Slider::new(&mut state.d, 8..=56).text("D_F"));
    });
    let Some((source_id, map)) = source else {
        if state.from_layer {
            ui.weak("The first layer's maps come with the run's result.");
        }
        return;
    };
    let key = (source_id, state.from_layer, state.m, state.n, state.k, state.d);
    if state.computed.as_ref().is_none_or(|(k, _)| *k != key) {
        let s = map.shape;
        let lesson =
            Lesson::new(&map.data, s.c, s.h, s.w, state.m, state.n, state.k, state.d).map_err(|e| e.to_string());
        state.computed = Some((key, lesson));
    }
    let Some((_, Ok(lesson))) = &state.computed else {
        if let Some((_, Err(e))) = &state.computed {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        return;
    };
    let (m, n, k, d) = (lesson.m, lesson.n, lesson.k, lesson.d);
    let pixels = d * d;
    state.position = state.position.min(pixels);
    ui.horizontal(|ui| {
        if ui.button(if state.playing { "Pause" } else { "▶ Play" }).clicked() {
            if !state.playing && state.position >= pixels {
                state.position = 0;
            }
            state.playing = !state.playing;
        }
        if ui.button("Step").on_hover_text("Move the kernel by one pixel").clicked() {
            state.playing = false;
            state.position = (state.position + 1).min(pixels);
        }
        ui.add(egui::Slider::new(&mut state.position, 0..=pixels).text("output pixels computed"));
    });
    if state.playing {
        state.position = (state.position + (pixels / 240).max(1)).min(pixels);
        state.playing = state.position < pixels;
        ui.ctx().request_repaint();
    }
    let done = state.position as u64;
    let (k2, m64, n64) = ((k * k) as u64, m as u64, n as u64);
    ui.label(format!(
        "so far: standard {} MACs, separable {} (depthwise {} + pointwise {})",
        g(k2 * m64 * n64 * done),
        g((k2 * m64 + m64 * n64) * done),
        g(k2 * m64 * done),
        g(m64 * n64 * done)
    ));
    // Every image, in order: inputs, depthwise outputs, separable outputs, standard outputs.
    let images: Vec<egui::ColorImage> = (0..m)
        .map(|c| lesson_image(&lesson.input, c, d, pixels, false))
        .chain((0..m).map(|c| lesson_image(&lesson.depthwise, c, d, state.position, true)))
        .chain((0..n).map(|c| lesson_image(&lesson.separable, c, d, state.position, true)))
        .chain((0..n).map(|c| lesson_image(&lesson.standard, c, d, state.position, true)))
        .collect();
    if state.textures.len() != images.len() {
        state.textures = images
            .into_iter()
            .enumerate()
            .map(|(i, image)| ui.ctx().load_texture(format!("lesson_{i}"), image, egui::TextureOptions::NEAREST))
            .collect();
    } else {
        for (t, image) in state.textures.iter_mut().zip(images) {
            t.set(image, egui::TextureOptions::NEAREST);
        }
    }
    // Every row fits the view: up to 16 maps side by side.
    let side = ((ui.available_width() - 90.0) / m.max(n) as f32 - 8.0).clamp(20.0, 56.0);
    let current = state.position.min(pixels.saturating_sub(1));
    let (cy, cx) = (current / d, current % d);
    let window = |rect: egui::Rect, span: usize| {
        let cell = rect.width() / d as f32;
        let half = (span / 2) as f32;
        egui::Rect::from_min_size(
            rect.min + egui::vec2((cx as f32 - half) * cell, (cy as f32 - half) * cell),
            egui::vec2(span as f32 * cell, span as f32 * cell),
        )
    };
    let stroke = egui::Stroke::new(1.5, egui::Color32::from_rgb(255, 200, 0));
    let rows: [(&str, std::ops::Range<usize>, usize); 4] = [
        ("input", 0..m, k),
        ("depthwise", m..2 * m, 1),
        ("pointwise", 2 * m..2 * m + n, 1),
        ("standard", 2 * m + n..2 * m + 2 * n, 1),
    ];
    for (label, range, span) in rows {
        ui.horizontal(|ui| {
            ui.add_sized(egui::vec2(72.0, side), egui::Label::new(label));
            for (j, t) in state.textures.get(range).unwrap_or(&[]).iter().enumerate() {
                let mut response = ui.add(egui::Image::new(t).fit_to_exact_size(egui::vec2(side, side)));
                if state.position < pixels {
                    ui.painter().rect_stroke(window(response.rect, span), 0.0, stroke, egui::StrokeKind::Outside);
                }
                if label == "input" || label == "depthwise" {
                    response = response.on_hover_text(format!("channel {j}: {} filter", separable::filter_name(j)));
                } else {
                    response = response.on_hover_text(format!("output {j}"));
                }
                drop(response);
            }
        });
    }
    ui.weak("Hover a map for its filter. Yellow: the kernel's window on the inputs and the pixel being computed.");
    ui.weak(format!(
        "pointwise and standard agree to {:.1e} of their largest value: the same maps, {:.1}× the work for the standard one",
        lesson.difference(),
        (k2 * m64 * n64) as f64 / (k2 * m64 + m64 * n64) as f64
    ));
}
