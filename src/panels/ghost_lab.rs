//! The Ghost lab: how alike a layer's channels are on the user's photo — the pairwise cosine-similarity
//! heat map, its most similar pairs side by side and the share of channels with a twin (GhostNet's
//! motivating observation, Han et al. 2020, Figure 1) — and, for every Ghost module, each ghost map
//! beside the intrinsic map it is made from, with what the module's s and d save.

use std::collections::HashMap;

use convscope_graph::{Graph, NodeId, Op};
use convscope_insight::ghost::{self, GhostModule, GhostPair};
use convscope_insight::similarity::Similarity;
use egui_plot::{Bar, BarChart, Plot};

use crate::colormap::Colormap;
use crate::host_maps::{HostMaps, channel_image};
use crate::inference::Inference;
use crate::model_view::ModelView;

/// Side of the heat map on screen.
const HEAT_SIDE: f32 = 320.0;
/// Side of a channel thumbnail.
const THUMB: f32 = 64.0;
/// Ghost pairs shown as thumbnails.
const PAIRS_SHOWN: usize = 12;

struct Computed {
    result: u64,
    node: NodeId,
    similarity: Similarity,
    order: Vec<usize>,
    sorted: bool,
    texture: egui::TextureHandle,
}

pub struct GhostLabState {
    /// What the view shows, for the page's `data-insight`.
    pub summary: Option<String>,
    pub threshold: f32,
    pub sorted: bool,
    /// The pair of channels shown side by side.
    pub pair: Option<(usize, usize)>,
    pub module: usize,
    /// s and d of the cost sliders.
    pub ghost: [usize; 2],
    maps: HostMaps,
    computed: Option<Computed>,
    pairs: Option<(u64, usize, Vec<GhostPair>)>,
    /// The G-Ghost stage shown, and its cheap maps' nearest complicated maps.
    pub stage: usize,
    stage_pairs: Option<(u64, usize, Vec<GhostPair>)>,
    thumbs: HashMap<(u64, NodeId, usize), egui::TextureHandle>,
}

impl Default for GhostLabState {
    fn default() -> Self {
        Self {
            summary: None,
            threshold: 0.9,
            sorted: false,
            pair: None,
            module: 0,
            ghost: [2, 3],
            maps: HostMaps::default(),
            computed: None,
            pairs: None,
            stage: 0,
            stage_pairs: None,
            thumbs: HashMap::new(),
        }
    }
}

/// Whether `node`'s output is a map with channels to compare.
fn is_map(graph: &Graph, node: NodeId) -> bool {
    graph.node(node).is_some_and(|n| !n.output.vector && n.output.c >= 2 && node.0 > 0)
}

/// The layer the lab looks at: the selected one if it is a map, else the first Ghost module's intrinsic
/// maps, else a map a third of the way into the network with at least 16 channels.
pub fn layer(graph: &Graph, selected: Option<NodeId>) -> Option<NodeId> {
    if let Some(s) = selected.filter(|&s| is_map(graph, s)) {
        return Some(s);
    }
    if let Some(m) = ghost::modules(graph).first() {
        return Some(m.intrinsic);
    }
    let start = graph.nodes.len() / 3;
    (start..graph.nodes.len())
        .chain(1..start)
        .map(NodeId)
        .find(|&n| is_map(graph, n) && graph.node(n).is_some_and(|n| n.output.c >= 16))
}

fn thumb(
    ui: &egui::Ui,
    thumbs: &mut HashMap<(u64, NodeId, usize), egui::TextureHandle>,
    result: u64,
    node: NodeId,
    map: &convscope_engine::Tensor,
    channel: usize,
) -> Option<egui::TextureHandle> {
    if let Some(t) = thumbs.get(&(result, node, channel)) {
        return Some(t.clone());
    }
    let image = channel_image(map, channel)?;
    let texture =
        ui.ctx().load_texture(format!("ghost_thumb_{}_{channel}", node.0), image, egui::TextureOptions::NEAREST);
    if thumbs.len() > 512 {
        thumbs.clear();
    }
    thumbs.insert((result, node, channel), texture.clone());
    Some(texture)
}

pub fn ghost_lab_ui(ui: &mut egui::Ui, view: &mut ModelView, inference: &mut Inference, state: &mut GhostLabState) {
    ui.heading("Ghost lab: redundant feature maps");
    ui.label(
        "Many channels of a trained network look alike: GhostNet keeps a few \"intrinsic\" maps and makes the rest \
         (\"ghosts\") from them with cheap depthwise convolutions. Here: how alike the channels of any layer are on \
         your photo, and each Ghost module's ghosts beside the maps they are made from.",
    );
    let Some(result) = super::insight_photo::photo_result_ui(ui, view, inference) else { return };
    let Ok(model) = view.model.as_ref() else { return };
    let graph = &model.graph;
    let result_id = result.id;
    let knob = view.entry().is_some_and(|e| e.ghost.is_some()).then(|| view.variant.ghost.unwrap_or([2, 3]));
    let mut action = None;
    ui.separator();
    egui::ScrollArea::vertical().id_salt("ghost_lab").show(ui, |ui| {
        let Some(node) = layer(graph, view.selected_node) else {
            ui.label("This network has no layer with several channels to compare.");
            return;
        };
        similarity_ui(ui, &mut action, graph, result, node, state);
        let modules = ghost::modules(graph);
        let stages = ghost::g_ghost_stages(graph);
        ui.separator();
        if !stages.is_empty() {
            g_ghost_ui(ui, graph, result, &stages, state);
        } else if modules.is_empty() {
            ui.label(
                "This network has no Ghost modules: pick ghostnet_100 (or a Ghost block) to see ghosts beside their \
                 intrinsic maps.",
            );
        } else {
            modules_ui(ui, &mut action, knob, graph, result, result_id, &modules, state);
        }
    });
    match action {
        Some(Action::Select(node)) => view.selected_node = Some(node),
        Some(Action::Rebuild(ghost)) => {
            view.variant.ghost = Some(ghost);
            view.rebuild();
        }
        None => {}
    }
}

/// What the lab asks of the model view once drawn.
enum Action {
    Select(NodeId),
    /// Rebuild the network with these s and d.
    Rebuild([usize; 2]),
}

fn similarity_ui(
    ui: &mut egui::Ui,
    action: &mut Option<Action>,
    graph: &Graph,
    result: &crate::inference::RunResult,
    node: NodeId,
    state: &mut GhostLabState,
) {
    ui.strong("Channel similarity of one layer");
    let name = graph.node(node).map_or_else(String::new, |n| n.name.clone());
    ui.horizontal(|ui| {
        egui::ComboBox::new("ghost_layer", "layer").selected_text(&name).width(280.0).show_ui(ui, |ui| {
            for (i, n) in graph.nodes.iter().enumerate() {
                if is_map(graph, NodeId(i))
                    && ui.selectable_label(i == node.0, format!("{}  {}", n.name, n.output)).clicked()
                {
                    *action = Some(Action::Select(NodeId(i)));
                    state.pair = None;
                }
            }
        });
        ui.checkbox(&mut state.sorted, "group similar channels")
            .on_hover_text("Order the rows and columns so that similar channels sit together");
    });
    let Some(map) = state.maps.ready_ui(ui, result, node) else { return };
    let fresh =
        state.computed.as_ref().is_some_and(|c| c.result == result.id && c.node == node && c.sorted == state.sorted);
    if !fresh {
        match Similarity::of_map(&map.data, map.shape.c, map.shape.h * map.shape.w) {
            Ok(similarity) => {
                let order = if state.sorted { similarity.similar_order() } else { (0..similarity.channels).collect() };
                let c = similarity.channels;
                let pixels = order
                    .iter()
                    .flat_map(|&a| order.iter().map(move |&b| (a, b)))
                    .map(|(a, b)| Colormap::Diverging.color(similarity.get(a, b), -1.0, 1.0))
                    .collect();
                let texture = ui.ctx().load_texture(
                    "similarity_heat_map",
                    egui::ColorImage::new([c, c], pixels),
                    egui::TextureOptions::NEAREST,
                );
                state.computed =
                    Some(Computed { result: result.id, node, similarity, order, sorted: state.sorted, texture });
            }
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("cannot compare these channels: {e}"));
                return;
            }
        }
    }
    let Some(computed) = state.computed.as_ref() else { return };
    let s = &computed.similarity;
    let c = s.channels;
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_max_width(HEAT_SIDE + 10.0);
            // Cell (r, c) of the heat map is centred on (c, −r), so that channel 0 is at the top left and
            // the axes' integer ticks fall on channels.
            let order = &computed.order;
            let cell = |p: &egui_plot::PlotPoint| -> Option<(usize, usize)> {
                let (col, row) = (p.x.round(), (-p.y).round());
                (col >= 0.0 && row >= 0.0 && (col as usize) < c && (row as usize) < c)
                    .then(|| (order.get(row as usize).copied().unwrap_or(0), order.get(col as usize).copied().unwrap_or(0)))
            };
            let plot = Plot::new("similarity_heat_map")
                .width(HEAT_SIDE)
                .height(HEAT_SIDE)
                .data_aspect(1.0)
                .show_grid(false)
                .allow_boxed_zoom(true)
                .x_axis_label(if state.sorted { "channel (grouped)" } else { "channel" })
                .y_axis_formatter(|mark, _| format!("{}", (-mark.value).round() as i64))
                .label_formatter(|hover| {
                    let point = match hover {
                        egui_plot::HoverPosition::NearDataPoint { position, .. } => position,
                        egui_plot::HoverPosition::Elsewhere { position } => position,
                    };
                    let (a, b) = cell(point)?;
                    Some(format!("channels {a} and {b}\ncosine {:.3}", s.get(a, b)))
                })
                .show(ui, |plot| {
                    plot.image(egui_plot::PlotImage::new(
                        "cosine",
                        computed.texture.id(),
                        egui_plot::PlotPoint::new(c as f64 / 2.0 - 0.5, 0.5 - c as f64 / 2.0),
                        egui::vec2(c as f32, c as f32),
                    ));
                    plot.pointer_coordinate()
                });
            if plot.response.clicked()
                && let Some(pair) = plot.inner.as_ref().and_then(cell)
            {
                state.pair = Some(pair);
            }
            ui.add(egui::Label::new(egui::RichText::new(format!("{c} × {c} channels of {name} ({})", map.shape)).weak()).wrap());
            ui.add(
                egui::Label::new(
                    egui::RichText::new(
                        "red: alike, white: unrelated, blue: opposite. Click a cell; scroll to zoom, double-click to reset.",
                    )
                    .weak(),
                )
                .wrap(),
            );
        });
        ui.vertical(|ui| {
            ui.set_max_width(ui.available_width());
            ui.add(egui::Slider::new(&mut state.threshold, 0.5..=0.99).text("twin threshold"));
            let share = s.redundancy(state.threshold);
            let top = s.top_pairs(1);
            state.summary = Some(format!(
                "view=ghost layer={name} channels={c} threshold={:.2} redundancy={share:.4} top={} engine={}",
                state.threshold,
                top.first().map_or_else(String::new, |p| format!("{},{},{:.4}", p.a, p.b, p.cosine)),
                result.backend().id()
            ));
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!(
                        "{:.0}% of the channels have a twin at cosine ≥ {:.2}",
                        100.0 * share,
                        state.threshold
                    ))
                    .strong(),
                )
                .wrap(),
            )
            .on_hover_text("A channel has a twin when another channel of this layer has at least this cosine similarity with it on this photo");
            if !s.dead.is_empty() {
                ui.weak(format!("{} channels are all zero here (dead after the activation)", s.dead.len()));
            }
            ui.add_space(4.0);
            ui.add(egui::Label::new("Most similar pairs (click to compare):").wrap());
            for p in s.top_pairs(8) {
                if ui
                    .selectable_label(state.pair == Some((p.a, p.b)), format!("{:>4} ~ {:<4} cosine {:.3}", p.a, p.b, p.cosine))
                    .clicked()
                {
                    state.pair = Some((p.a, p.b));
                }
            }
        });
    });
    if let Some((a, b)) = state.pair.filter(|(a, b)| *a < c && *b < c) {
        ui.horizontal(|ui| {
            for channel in [a, b] {
                ui.vertical(|ui| {
                    if let Some(t) = thumb(ui, &mut state.thumbs, result.id, node, &map, channel) {
                        ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(2.0 * THUMB, 2.0 * THUMB)));
                    }
                    ui.label(format!("channel {channel}"));
                });
            }
            ui.label(format!("cosine {:.3}", s.get(a, b)));
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn modules_ui(
    ui: &mut egui::Ui,
    action: &mut Option<Action>,
    knob: Option<[usize; 2]>,
    graph: &Graph,
    result: &crate::inference::RunResult,
    result_id: u64,
    modules: &[GhostModule],
    state: &mut GhostLabState,
) {
    ui.strong(format!("Ghost modules ({})", modules.len()));
    state.module = state.module.min(modules.len().saturating_sub(1));
    ui.horizontal(|ui| {
        let current = modules.get(state.module).map_or("", |m| m.name.as_str());
        egui::ComboBox::new("ghost_module", "module").selected_text(current).width(240.0).show_ui(ui, |ui| {
            for (i, m) in modules.iter().enumerate() {
                ui.selectable_value(&mut state.module, i, &m.name);
            }
        });
    });
    let Some(module) = modules.get(state.module) else { return };
    let name = |id: NodeId| graph.node(id).map_or_else(String::new, |n| n.name.clone());
    let Some(intrinsic) = state.maps.ready_ui(ui, result, module.intrinsic) else { return };
    let Some(ghost_map) = state.maps.ready_ui(ui, result, module.ghost) else { return };
    if state.pairs.as_ref().is_none_or(|(r, m, _)| *r != result_id || *m != state.module) {
        let plane = intrinsic.shape.h * intrinsic.shape.w;
        match ghost::pairs(module, &intrinsic.data, &ghost_map.data, plane) {
            Ok(pairs) => state.pairs = Some((result_id, state.module, pairs)),
            Err(e) => {
                ui.label(e.to_string());
                return;
            }
        }
    }
    let Some((_, _, pairs)) = state.pairs.as_ref() else { return };
    let mean = pairs.iter().map(|p| f64::from(p.cosine)).sum::<f64>() / pairs.len().max(1) as f64;
    ui.label(format!(
        "{} intrinsic maps ({}) make {} ghosts ({}) with a {}×{} depthwise convolution; mean cosine of a ghost with its source: {mean:.3}",
        intrinsic.shape.c,
        name(module.intrinsic),
        ghost_map.shape.c,
        name(module.ghost),
        kernel(graph, module.cheap),
        kernel(graph, module.cheap),
    ));
    // The distribution of the cosines, in tenths.
    let mut bins = [0usize; 20];
    for p in pairs {
        let bin = (((p.cosine + 1.0) * 10.0) as usize).min(19);
        if let Some(b) = bins.get_mut(bin) {
            *b += 1;
        }
    }
    let bars: Vec<Bar> =
        bins.iter().enumerate().map(|(i, &n)| Bar::new(-0.95 + 0.1 * i as f64, n as f64).width(0.09)).collect();
    Plot::new("ghost_cosines")
        .height(110.0)
        .width(360.0)
        .x_axis_label("cosine(ghost, its intrinsic map)")
        .y_axis_label("ghosts")
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .show(ui, |plot| plot.bar_chart(BarChart::new("ghosts", bars)));
    egui::Grid::new("ghost_pairs").spacing(egui::vec2(6.0, 4.0)).show(ui, |ui| {
        for p in pairs.iter().take(PAIRS_SHOWN) {
            ui.vertical(|ui| {
                if let Some(t) = thumb(ui, &mut state.thumbs, result_id, module.intrinsic, &intrinsic, p.intrinsic) {
                    ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(THUMB, THUMB)));
                }
                ui.weak(format!("intrinsic {}", p.intrinsic));
            });
            ui.label("→");
            ui.vertical(|ui| {
                if let Some(t) = thumb(ui, &mut state.thumbs, result_id, module.ghost, &ghost_map, p.ghost) {
                    ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(THUMB, THUMB)));
                }
                ui.weak(format!("ghost {}", p.ghost));
            });
            ui.label(format!("{:.3}", p.cosine));
            if p.ghost % 3 == 2 {
                ui.end_row();
            }
        }
    });
    if pairs.len() > PAIRS_SHOWN {
        ui.weak(format!("first {PAIRS_SHOWN} of {} ghosts", pairs.len()));
    }
    ui.separator();
    cost_ui(ui, action, knob, graph, module, state);
}

fn kernel(graph: &Graph, conv: NodeId) -> usize {
    match graph.node(conv).map(|n| &n.op) {
        Some(Op::Conv2d(c)) => c.kernel[0],
        _ => 0,
    }
}

/// What the module's s and d save against the plain 1×1 convolution it replaces.
fn cost_ui(
    ui: &mut egui::Ui,
    action: &mut Option<Action>,
    knob: Option<[usize; 2]>,
    graph: &Graph,
    module: &GhostModule,
    state: &mut GhostLabState,
) {
    let (Some(primary), Some(output)) = (graph.node(module.primary), graph.node(module.output)) else { return };
    let Op::Conv2d(conv) = &primary.op else { return };
    let (input, out, h, w) = (conv.in_channels, output.output.c, output.output.h, output.output.w);
    ui.strong("What s and d save");
    ui.horizontal(|ui| {
        ui.add(egui::Slider::new(&mut state.ghost[0], 2..=6).text("s (maps per intrinsic map)"));
        let mut d = state.ghost[1];
        egui::ComboBox::new("ghost_d", "cheap kernel").selected_text(format!("d = {d}")).show_ui(ui, |ui| {
            for k in [1, 3, 5, 7] {
                ui.selectable_value(&mut d, k, format!("d = {k}"));
            }
        });
        state.ghost[1] = d;
    });
    let [s, d] = state.ghost;
    match ghost::cost(input, out, s, d, h, w) {
        Ok(c) => {
            let g = convscope_graph::report::group;
            egui::Grid::new("ghost_cost").striped(true).show(ui, |ui| {
                ui.strong("");
                ui.strong("params");
                ui.strong("MACs");
                ui.end_row();
                for (label, cost) in [
                    (format!("primary 1×1: {input} → {}", c.intrinsic), c.primary),
                    (format!("cheap {d}×{d} depthwise: {} ghosts", c.ghosts), c.cheap),
                    ("Ghost module".to_owned(), c.module),
                    (format!("plain 1×1 conv {input} → {out}"), c.plain),
                ] {
                    ui.label(label);
                    ui.label(g(cost.params));
                    ui.label(g(cost.macs));
                    ui.end_row();
                }
            });
            ui.label(format!(
                "{:.2}× fewer MACs and {:.2}× fewer parameters than the plain convolution (the paper's r_s ≈ s = {s})",
                c.speedup, c.compression
            ));
        }
        Err(e) => {
            ui.label(e.to_string());
        }
    }
    if knob.is_some_and(|k| k != state.ghost)
        && ui
            .button(format!("Rebuild the network with s = {s}, d = {d}"))
            .on_hover_text("Every Ghost module of the network takes these s and d; the tables and totals follow (no released checkpoint matches them)")
            .clicked()
    {
        *action = Some(Action::Rebuild(state.ghost));
    }
}

/// G-GhostNet's stages: each cheap map beside the complicated map most like it.
fn g_ghost_ui(
    ui: &mut egui::Ui,
    graph: &Graph,
    result: &crate::inference::RunResult,
    stages: &[ghost::GGhostStage],
    state: &mut GhostLabState,
) {
    ui.strong(format!("G-Ghost stages ({})", stages.len()));
    ui.label(
        "A G-Ghost stage sends only part of its channels through its middle blocks (the \"complicated\" features) \
         and makes the rest from the stage's first block with a cheap 1×1 convolution. How close does each cheap \
         map come to a complicated one?",
    );
    state.stage = state.stage.min(stages.len().saturating_sub(1));
    egui::ComboBox::new("g_ghost_stage", "stage")
        .selected_text(stages.get(state.stage).map_or("", |s| s.name.as_str()))
        .show_ui(ui, |ui| {
            for (i, s) in stages.iter().enumerate() {
                ui.selectable_value(&mut state.stage, i, &s.name);
            }
        });
    let Some(stage) = stages.get(state.stage) else { return };
    let Some(complicated) = state.maps.ready_ui(ui, result, stage.complicated) else { return };
    let Some(cheap) = state.maps.ready_ui(ui, result, stage.cheap) else { return };
    if state.stage_pairs.as_ref().is_none_or(|(r, s, _)| *r != result.id || *s != state.stage) {
        let plane = cheap.shape.h * cheap.shape.w;
        match ghost::nearest_complicated(&complicated.data, &cheap.data, plane) {
            Ok(p) => state.stage_pairs = Some((result.id, state.stage, p)),
            Err(e) => {
                ui.label(e.to_string());
                return;
            }
        }
    }
    let Some((_, _, pairs)) = state.stage_pairs.as_ref() else { return };
    let mean = pairs.iter().map(|p| f64::from(p.cosine)).sum::<f64>() / pairs.len().max(1) as f64;
    let name = |id: NodeId| graph.node(id).map_or_else(String::new, |n| n.name.clone());
    ui.label(format!(
        "{} cheap maps ({}) against {} complicated ones ({}): mean cosine with the nearest {mean:.3}",
        cheap.shape.c,
        name(stage.cheap),
        complicated.shape.c,
        name(stage.complicated)
    ));
    egui::Grid::new("g_ghost_pairs").spacing(egui::vec2(6.0, 4.0)).show(ui, |ui| {
        for (k, p) in pairs.iter().take(PAIRS_SHOWN).enumerate() {
            ui.vertical(|ui| {
                if let Some(t) = thumb(ui, &mut state.thumbs, result.id, stage.cheap, &cheap, p.ghost) {
                    ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(THUMB, THUMB)));
                }
                ui.weak(format!("cheap {}", p.ghost));
            });
            ui.label("≈");
            ui.vertical(|ui| {
                if let Some(t) = thumb(ui, &mut state.thumbs, result.id, stage.complicated, &complicated, p.intrinsic) {
                    ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(THUMB, THUMB)));
                }
                ui.weak(format!("complicated {}", p.intrinsic));
            });
            ui.label(format!("{:.3}", p.cosine));
            if k % 3 == 2 {
                ui.end_row();
            }
        }
    });
}
