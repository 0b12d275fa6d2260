//! The shuffle explorer (ShuffleNet, Zhang et al. 2018, Section 3.1 and Figure 1): the channel shuffle of
//! C channels in g groups as a permutation matrix and as wiring, one channel traced through
//! GConv → shuffle → GConv, what two stacked group convolutions connect with and without the shuffle,
//! and the real maps of the network's shuffle on the photo, before and after.

use convscope_graph::{Graph, NodeId, Op};
use convscope_insight::shuffle;

use crate::host_maps::{HostMaps, channel_image};
use crate::inference::Inference;
use crate::model_view::ModelView;

/// Channels the wiring diagram draws one by one (more become unreadable).
const WIRING_MAX: usize = 48;
/// Maps shown before and after the network's shuffle.
const MAPS_SHOWN: usize = 12;

pub struct ShuffleLabState {
    /// What the view shows, for the page's `data-insight`.
    pub summary: Option<String>,
    pub channels: usize,
    pub groups: usize,
    /// The input channel traced through the two group convolutions.
    pub traced: Option<usize>,
    /// Which of the network's shuffles the maps come from.
    pub node: Option<NodeId>,
    /// The model the sizes were taken from (they follow the model until the user changes them).
    from_model: Option<&'static str>,
    maps: HostMaps,
    textures: Vec<(u64, NodeId, usize, egui::TextureHandle)>,
    /// The permutation and the two connectivity matrices drawn, for `(C, g)`.
    matrices: Option<((usize, usize), [egui::TextureHandle; 3])>,
    /// The unit's traced connectivity, with and without its shuffles, for `(model, unit)`.
    unit: Option<(String, usize, Result<UnitConnectivity, String>)>,
}

/// A unit's traced connectivity.
struct UnitConnectivity {
    name: String,
    shape: (usize, usize),
    density: [f64; 2],
    textures: [egui::TextureHandle; 2],
}

impl Default for ShuffleLabState {
    fn default() -> Self {
        Self {
            summary: None,
            channels: 12,
            groups: 3,
            traced: Some(0),
            node: None,
            from_model: None,
            maps: HostMaps::default(),
            textures: Vec::new(),
            matrices: None,
            unit: None,
        }
    }
}

/// The network's channel shuffles: `(node, channels, groups)`.
fn shuffles(graph: &Graph) -> Vec<(NodeId, usize, usize)> {
    graph
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match n.op {
            Op::ChannelShuffle { groups } => Some((NodeId(i), n.output.c, groups)),
            _ => None,
        })
        .collect()
}

/// A boolean matrix as a texture: `on` cells dark, others light.
fn matrix_image(rows: &[Vec<bool>], on: egui::Color32) -> egui::ColorImage {
    let n = rows.len();
    let pixels =
        rows.iter().flat_map(|r| r.iter().map(|&c| if c { on } else { egui::Color32::from_gray(235) })).collect();
    egui::ColorImage::new([rows.first().map_or(0, Vec::len), n], pixels)
}

/// A group's colour.
fn group_color(group: usize) -> egui::Color32 {
    const COLORS: [egui::Color32; 8] = [
        egui::Color32::from_rgb(31, 119, 180),
        egui::Color32::from_rgb(255, 127, 14),
        egui::Color32::from_rgb(44, 160, 44),
        egui::Color32::from_rgb(214, 39, 40),
        egui::Color32::from_rgb(148, 103, 189),
        egui::Color32::from_rgb(140, 86, 75),
        egui::Color32::from_rgb(227, 119, 194),
        egui::Color32::from_rgb(127, 127, 127),
    ];
    COLORS.get(group % COLORS.len()).copied().unwrap_or(egui::Color32::GRAY)
}

pub fn shuffle_lab_ui(ui: &mut egui::Ui, view: &mut ModelView, inference: &mut Inference, state: &mut ShuffleLabState) {
    ui.heading("Shuffle explorer: how group convolutions talk to each other");
    ui.label(
        "A group convolution splits the channels into g groups that never see each other; stack two and each output \
         still sees one group of the input. ShuffleNet reorders the channels in between (view as g × C/g, transpose, \
         flatten) so that the next group convolution reads one channel of every group.",
    );
    let model_shuffles = view.model.as_ref().map(|m| shuffles(&m.graph)).unwrap_or_default();
    // Take the sizes of the model's first shuffle when a new model with shuffles is opened.
    let id = view.entry().map(|e| e.id);
    if id != state.from_model {
        state.from_model = id;
        if let Some(&(node, c, g)) = model_shuffles.first() {
            state.channels = c;
            state.groups = g;
            state.node = Some(node);
            state.traced = Some(0);
        }
    }
    ui.horizontal(|ui| {
        ui.add(egui::DragValue::new(&mut state.channels).range(1..=1024).prefix("C = "));
        ui.add(egui::DragValue::new(&mut state.groups).range(1..=64).prefix("g = "));
        if !model_shuffles.is_empty() {
            ui.weak(format!("({} has {} shuffles)", id.unwrap_or(""), model_shuffles.len()));
        }
    });
    let (c, g) = (state.channels, state.groups);
    let layouts = shuffle::permutation(c, g)
        .and_then(|p| Ok((p, shuffle::stacked_group_convs(c, g, false)?, shuffle::stacked_group_convs(c, g, true)?)));
    let Ok((permutation, plain, shuffled)) = layouts else {
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!("{g} groups do not divide {c} channels: pick C a multiple of g"),
        );
        return;
    };
    if state.matrices.as_ref().is_none_or(|(key, _)| *key != (c, g)) {
        let load =
            |name: &str, image: egui::ColorImage| ui.ctx().load_texture(name, image, egui::TextureOptions::NEAREST);
        let matrix: Vec<Vec<bool>> = permutation.iter().map(|&from| (0..c).map(|i| i == from).collect()).collect();
        let blue = egui::Color32::from_rgb(31, 119, 180);
        state.matrices = Some((
            (c, g),
            [
                load("shuffle_permutation", matrix_image(&matrix, egui::Color32::from_gray(30))),
                load("shuffle_plain", matrix_image(&plain, blue)),
                load("shuffle_shuffled", matrix_image(&shuffled, blue)),
            ],
        ));
    }
    let Some((_, [perm_texture, plain_texture, shuffled_texture])) = state.matrices.clone() else { return };
    state.summary = Some(format!(
        "view=shuffle channels={c} groups={g} without={:.4} with={:.4} permutation={}",
        shuffle::density(&plain),
        shuffle::density(&shuffled),
        permutation.iter().take(16).map(usize::to_string).collect::<Vec<_>>().join(",")
    ));
    egui::ScrollArea::vertical().id_salt("shuffle_lab").show(ui, |ui| {
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_max_width(200.0);
                ui.strong("Permutation");
                ui.add(egui::Image::new(&perm_texture).fit_to_exact_size(egui::vec2(200.0, 200.0)))
                    .on_hover_text("Row i: output channel i; its dark cell: the input channel it takes");
                let shown: Vec<String> = permutation.iter().take(24).map(usize::to_string).collect();
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(format!(
                            "output i ← input [{}{}]",
                            shown.join(", "),
                            if c > 24 { ", …" } else { "" }
                        ))
                        .weak(),
                    )
                    .wrap(),
                );
            });
            ui.vertical(|ui| wiring_ui(ui, state, &permutation));
        });
        ui.separator();
        ui.strong("Two stacked group convolutions: which inputs each output sees");
        ui.horizontal_top(|ui| {
            for (label, m, texture) in
                [("without the shuffle", &plain, &plain_texture), ("with the shuffle", &shuffled, &shuffled_texture)]
            {
                ui.vertical(|ui| {
                    ui.add(egui::Image::new(texture).fit_to_exact_size(egui::vec2(180.0, 180.0)))
                        .on_hover_text("Row: output channel of the second convolution; column: input channel of the first");
                    ui.label(format!("{label}: {:.0}% connected", 100.0 * shuffle::density(m)));
                });
            }
        });
        if c / g < g {
            ui.weak(format!(
                "With C/g = {} < g = {g}, a group of the second convolution holds fewer channels than there are groups: \
                 even shuffled, each output sees only part of the input.",
                c / g
            ));
        }
        ui.separator();
        unit_ui(ui, view, state, &model_shuffles);
        ui.separator();
        maps_ui(ui, view, inference, state, &model_shuffles);
    });
}

/// The unit holding the selected shuffle, traced from its input to its output through the graph's own
/// ops (`convscope_insight::connectivity`), with its shuffles and without them.
fn unit_ui(ui: &mut egui::Ui, view: &ModelView, state: &mut ShuffleLabState, shuffles: &[(NodeId, usize, usize)]) {
    let Ok(model) = view.model.as_ref() else { return };
    let node = state.node.filter(|n| shuffles.iter().any(|s| s.0 == *n)).or(shuffles.first().map(|s| s.0));
    let Some(node) = node else { return };
    let Some(step) = model.steps.iter().position(|s| s.nodes.contains(&node.0)) else { return };
    let key = view.entry().map_or_else(String::new, |e| format!("{}{:?}", e.id, view.variant));
    if state.unit.as_ref().is_none_or(|(k, s, _)| *k != key || *s != step) {
        let traced = model.steps.get(step).ok_or_else(|| "no such unit".to_owned()).and_then(|unit| {
            let graph = &model.graph;
            let first = graph.node(NodeId(unit.nodes.start)).ok_or("empty unit")?;
            let input = first.inputs.first().copied().ok_or("the unit reads nothing")?;
            let output = NodeId(unit.nodes.end.saturating_sub(1));
            let trace = |without| {
                convscope_insight::connectivity::Connectivity::trace(graph, input, output, without)
                    .map_err(|e| e.to_string())
            };
            let (with, without) = (trace(false)?, trace(true)?);
            let blue = egui::Color32::from_rgb(31, 119, 180);
            let load = |name: &str, c: &convscope_insight::connectivity::Connectivity| {
                ui.ctx().load_texture(name, matrix_image(&c.matrix(), blue), egui::TextureOptions::NEAREST)
            };
            Ok(UnitConnectivity {
                name: unit.name.clone(),
                shape: (with.outputs, with.inputs),
                density: [with.density(), without.density()],
                textures: [load("unit_with", &with), load("unit_without", &without)],
            })
        });
        state.unit = Some((key, step, traced));
    }
    let Some((_, _, traced)) = &state.unit else { return };
    match traced {
        Ok(u) => {
            ui.strong(format!("The unit {}: which of its inputs each output depends on", u.name));
            ui.weak(
                "Traced through the network's own layers (group convolutions, the split, the concatenation, the \
                 residual, the shuffle); right: the same unit with its shuffles taken out.",
            );
            ui.horizontal_top(|ui| {
                for (texture, (label, density)) in
                    u.textures.iter().zip([("as built", u.density[0]), ("without its shuffles", u.density[1])])
                {
                    ui.vertical(|ui| {
                        ui.add(egui::Image::new(texture).fit_to_exact_size(egui::vec2(200.0, 200.0)))
                            .on_hover_text(format!("{} outputs (rows) × {} inputs (columns)", u.shape.0, u.shape.1));
                        ui.label(format!("{label}: {:.0}% connected", 100.0 * density));
                    });
                }
            });
        }
        Err(e) => {
            ui.weak(format!("cannot trace this unit: {e}"));
        }
    }
}

/// Four columns — input, after the first group conv, after the shuffle, after the second group conv —
/// with the shuffle's wires and the traced channel's paths.
fn wiring_ui(ui: &mut egui::Ui, state: &mut ShuffleLabState, permutation: &[usize]) {
    let (c, g) = (state.channels, state.groups);
    let per_group = c / g.max(1);
    ui.set_max_width(ui.available_width());
    ui.strong("Trace a channel: GConv → shuffle → GConv");
    if c > WIRING_MAX {
        ui.weak(format!("(the wiring is drawn up to {WIRING_MAX} channels; lower C to see it)"));
        return;
    }
    let row = (260.0 / c.max(1) as f32).clamp(5.0, 18.0);
    let size = egui::vec2(ui.available_width().clamp(240.0, 420.0), row * c as f32 + 24.0);
    let (response, painter) = ui.allocate_painter(size, egui::Sense::click());
    let rect = response.rect;
    let columns = [0.08f32, 0.36, 0.64, 0.92].map(|f| rect.left() + f * rect.width());
    let y = |i: usize| rect.top() + 18.0 + row * i as f32 + row / 2.0;
    let text = ui.visuals().text_color();
    for (x, label) in columns.iter().zip(["input", "GConv 1", "shuffled", "GConv 2"]) {
        painter.text(
            egui::pos2(*x, rect.top() + 6.0),
            egui::Align2::CENTER_CENTER,
            label,
            egui::FontId::proportional(11.0),
            text,
        );
    }
    // The shuffle's wires, coloured by the group they come from.
    for (to, &from) in permutation.iter().enumerate() {
        let color = group_color(from / per_group.max(1)).gamma_multiply(0.5);
        painter.line_segment(
            [egui::pos2(columns[1], y(from)), egui::pos2(columns[2], y(to))],
            egui::Stroke::new(1.0, color),
        );
    }
    let trace = state.traced.and_then(|t| shuffle::trace(c, g, t).ok());
    if let (Some(t), Some(traced)) = (&trace, state.traced) {
        let strong = egui::Stroke::new(1.5, ui.visuals().strong_text_color());
        for &m in &t.middle {
            painter.line_segment([egui::pos2(columns[0], y(traced)), egui::pos2(columns[1], y(m))], strong);
        }
        for &p in &t.shuffled {
            let from = permutation.get(p).copied().unwrap_or(p);
            painter.line_segment([egui::pos2(columns[1], y(from)), egui::pos2(columns[2], y(p))], strong);
            // The second convolution's group reading position p.
            let group = p / per_group.max(1);
            for o in group * per_group..(group + 1) * per_group {
                painter.line_segment([egui::pos2(columns[2], y(p)), egui::pos2(columns[3], y(o))], strong);
            }
        }
    }
    for i in 0..c {
        for (k, x) in columns.iter().enumerate() {
            let group = match k {
                2 => permutation.get(i).copied().unwrap_or(i) / per_group.max(1),
                _ => i / per_group.max(1),
            };
            let lit = trace.as_ref().is_some_and(|t| match k {
                0 => state.traced == Some(i),
                1 => t.middle.contains(&i),
                2 => t.shuffled.contains(&i),
                _ => t.outputs.contains(&i),
            });
            painter.circle_filled(egui::pos2(*x, y(i)), if lit { 4.0 } else { 3.0 }, group_color(group));
            if lit {
                painter.circle_stroke(egui::pos2(*x, y(i)), 4.5, egui::Stroke::new(1.0, text));
            }
        }
    }
    if let Some(pos) = response.interact_pointer_pos().filter(|_| response.clicked()) {
        let i = ((pos.y - rect.top() - 18.0) / row).floor();
        if i >= 0.0 && (i as usize) < c {
            state.traced = Some(i as usize);
        }
    }
    match (&trace, state.traced) {
        (Some(t), Some(traced)) => {
            ui.label(format!(
                "Input {traced} feeds GConv-1 channels {:?}; the shuffle moves them to {:?}; they reach {} of the {c} outputs.",
                t.middle,
                t.shuffled,
                t.outputs.len()
            ));
        }
        _ => {
            ui.weak("Click a channel of the input column to trace it.");
        }
    }
}

/// The network's own shuffle on the photo: the first channels before and after, so the reordering is
/// visible in data.
fn maps_ui(
    ui: &mut egui::Ui,
    view: &mut ModelView,
    inference: &mut Inference,
    state: &mut ShuffleLabState,
    shuffles: &[(NodeId, usize, usize)],
) {
    ui.strong("The network's shuffle on your photo");
    if shuffles.is_empty() {
        ui.label("This network has no channel shuffle: pick shufflenet_v1 or shufflenet_v2 to see one on the photo.");
        return;
    }
    let Some(result) = super::insight_photo::photo_result_ui(ui, view, inference) else { return };
    let Ok(model) = view.model.as_ref() else { return };
    let graph = &model.graph;
    let node = state.node.filter(|n| shuffles.iter().any(|s| s.0 == *n)).or(shuffles.first().map(|s| s.0));
    let Some(node) = node else { return };
    let name = |id: NodeId| graph.node(id).map_or_else(String::new, |n| n.name.clone());
    egui::ComboBox::new("shuffle_node", "the network's shuffle").selected_text(name(node)).show_ui(ui, |ui| {
        for &(n, c, g) in shuffles {
            if ui.selectable_label(n == node, format!("{}  (C = {c}, g = {g})", name(n))).clicked() {
                state.node = Some(n);
                state.channels = c;
                state.groups = g;
            }
        }
    });
    let Some(input) = graph.node(node).and_then(|n| n.inputs.first().copied()) else { return };
    let Some(before) = state.maps.ready_ui(ui, result, input) else { return };
    let Some(after) = state.maps.ready_ui(ui, result, node) else { return };
    let groups = shuffles.iter().find(|s| s.0 == node).map_or(1, |s| s.2);
    let Ok(permutation) = shuffle::permutation(after.shape.c, groups) else { return };
    let per_group = after.shape.c / groups.max(1);
    let result_id = result.id;
    for (label, map, id, source) in [("before", &before, input, false), ("after", &after, node, true)] {
        ui.horizontal(|ui| {
            ui.add_sized(egui::vec2(48.0, 20.0), egui::Label::new(label));
            for channel in 0..MAPS_SHOWN.min(map.shape.c) {
                let texture = match state.textures.iter().find(|t| t.0 == result_id && t.1 == id && t.2 == channel) {
                    Some(t) => t.3.clone(),
                    None => {
                        let Some(image) = channel_image(map, channel) else { continue };
                        let t = ui.ctx().load_texture(
                            format!("shuffle_{}_{channel}", id.0),
                            image,
                            egui::TextureOptions::NEAREST,
                        );
                        if state.textures.len() > 64 {
                            state.textures.clear();
                        }
                        state.textures.push((result_id, id, channel, t.clone()));
                        t
                    }
                };
                let from = if source { permutation.get(channel).copied().unwrap_or(channel) } else { channel };
                ui.vertical(|ui| {
                    ui.add(egui::Image::new(&texture).fit_to_exact_size(egui::vec2(44.0, 44.0)));
                    ui.colored_label(
                        group_color(from / per_group.max(1)),
                        if source { format!("←{from}") } else { format!("{channel}") },
                    );
                });
            }
        });
    }
    ui.weak(
        "After the shuffle, channel i is channel permutation[i] before it: the colours are the groups they came from.",
    );
}
