//! A block's anatomy, drawn: its ops as boxes in a top-to-bottom layered diagram, the tensor shape on
//! every edge, inputs from outside the block dashed; click an op to select it (the table, the Inspector
//! and the Run view follow). Exported as SVG or Graphviz DOT. The diagram is `convscope_insight::anatomy`,
//! the same as `convscope anatomy`.

use convscope_graph::NodeId;
use convscope_insight::anatomy::Anatomy;

use crate::host_maps::{HostMap, HostMaps, strip_image};
use crate::inference::RunResult;
use crate::model_view::{BuildStep, ModelView};

/// The measured maps a diagram shows on hover: the run's result for this model, and textures made so far.
#[derive(Default)]
pub struct AnatomyMaps {
    host: HostMaps,
    thumbs: std::collections::HashMap<(u64, NodeId), egui::TextureHandle>,
}

impl AnatomyMaps {
    /// The first channels of `node`'s output as a texture, once on the host.
    fn thumb(&mut self, ctx: &egui::Context, result: &RunResult, node: NodeId) -> Option<egui::TextureHandle> {
        if let Some(t) = self.thumbs.get(&(result.id, node)) {
            return Some(t.clone());
        }
        match self.host.get(result, node) {
            HostMap::Ready(map) => {
                let image = strip_image(&map, 4)?;
                if self.thumbs.len() > 256 {
                    self.thumbs.clear();
                }
                let t = ctx.load_texture(format!("anatomy_{}", node.0), image, egui::TextureOptions::NEAREST);
                self.thumbs.insert((result.id, node), t.clone());
                Some(t)
            }
            HostMap::Waiting => {
                ctx.request_repaint();
                None
            }
            HostMap::Missing(_) => None,
        }
    }
}

/// The run result to show maps from, when it is of the model and variant on view.
pub fn measured<'a>(
    view: &ModelView,
    result: Option<&'a RunResult>,
    maps: &'a mut AnatomyMaps,
) -> Option<(&'a RunResult, &'a mut AnatomyMaps)> {
    result
        .filter(|r| view.entry().is_some_and(|e| e.id == r.key.id) && r.key.variant == view.variant)
        .map(|r| (r, maps))
}

/// Box and gap sizes: the Build view's, and a narrower one for the Inspector.
#[derive(Clone, Copy)]
pub struct Sizes {
    pub boxes: egui::Vec2,
    pub gap: egui::Vec2,
    pub font: f32,
}

impl Sizes {
    pub const WIDE: Self = Self { boxes: egui::vec2(150.0, 38.0), gap: egui::vec2(22.0, 26.0), font: 10.5 };
    pub const NARROW: Self = Self { boxes: egui::vec2(118.0, 34.0), gap: egui::vec2(14.0, 22.0), font: 9.5 };
}

/// The anatomy of build step `step`.
pub fn step_anatomy(view: &ModelView, step: &BuildStep) -> Option<Anatomy> {
    let model = view.model.as_ref().ok()?;
    let nodes: Vec<NodeId> = step.nodes.clone().map(NodeId).collect();
    Some(Anatomy::of(&model.graph, &model.cost, &format!("{} ({})", step.name, step.kind), &nodes))
}

/// The block's cost formula from its family's paper, with its numbers, beside the zoo's count.
pub fn formula_ui(ui: &mut egui::Ui, view: &ModelView, step: &BuildStep) {
    let Ok(model) = view.model.as_ref() else { return };
    if let Some(entry) = view.entry()
        && let Some(idea) = super::idea(entry.family)
    {
        ui.add(egui::Label::new(egui::RichText::new(idea).small()).wrap());
    }
    let nodes: Vec<NodeId> = step.nodes.clone().map(NodeId).collect();
    let Some(f) = convscope_insight::formulas::for_block(&model.graph, &step.kind, &nodes) else { return };
    let g = convscope_graph::report::group;
    ui.add(
        egui::Label::new(
            egui::RichText::new(format!("MACs = {} = {} = {}", f.symbolic, f.numeric, g(f.macs))).monospace().small(),
        )
        .wrap(),
    )
    .on_hover_text(format!("the zoo counts {} MACs for this block", g(step.macs)));
    ui.add(egui::Label::new(egui::RichText::new(f.source).small().weak()).wrap());
}

/// Draw `anatomy`; returns the node clicked, if any.
pub fn anatomy_ui(
    ui: &mut egui::Ui,
    anatomy: &Anatomy,
    selected: Option<NodeId>,
    notice: &mut Option<String>,
    mut measured: Option<(&RunResult, &mut AnatomyMaps)>,
    sizes: Sizes,
    flow: Option<f32>,
) -> Option<NodeId> {
    let Sizes { boxes, gap, font } = sizes;
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("Inside {}", anatomy.title));
        let file = anatomy.title.split_whitespace().next().unwrap_or("block").replace(['/', '\\'], "_");
        if ui.small_button("SVG").on_hover_text("Download the diagram as SVG (for slides)").clicked() {
            *notice = Some(super::download::offer(&format!("{file}.svg"), "image/svg+xml", &anatomy.to_svg()));
        }
        if ui.small_button("DOT").on_hover_text("Download the diagram as Graphviz DOT").clicked() {
            *notice = Some(super::download::offer(&format!("{file}.dot"), "text/vnd.graphviz", &anatomy.to_dot()));
        }
        if let Some(n) = notice.as_deref() {
            ui.weak(n);
        }
    });
    let (breadth, depth) = (anatomy.breadth().max(1) as f32, anatomy.depth().max(1) as f32);
    let size = egui::vec2(breadth * (boxes.x + gap.x) + gap.x, depth * (boxes.y + gap.y) + gap.y);
    let mut clicked = None;
    egui::ScrollArea::both()
        .id_salt("anatomy")
        .auto_shrink([false, true])
        .max_height(ui.available_height().max(200.0))
        .show(ui, |ui| {
            let (response, painter) =
                ui.allocate_painter(size.max(egui::vec2(ui.available_width(), 0.0)), egui::Sense::click());
            let origin = response.rect.min;
            let centre = |rank: usize, x: f32| {
                egui::pos2(
                    origin.x + response.rect.width() / 2.0 + x * (boxes.x + gap.x),
                    origin.y + gap.y + rank as f32 * (boxes.y + gap.y) + boxes.y / 2.0,
                )
            };
            let visuals = ui.visuals().clone();
            let text = visuals.text_color();
            let weak = visuals.weak_text_color();
            let accent = visuals.selection.stroke.color;
            // While a new block flows in: how far the tensor has gone along each edge (0 before, 1 after).
            let along = |a: &convscope_insight::anatomy::Part, b: &convscope_insight::anatomy::Part| {
                flow.map(|t| ((t - a.rank as f32) / (b.rank as f32 - a.rank as f32).max(1.0)).clamp(0.0, 1.0))
            };
            for f in &anatomy.flows {
                let (Some(a), Some(b)) = (anatomy.parts.get(f.from), anatomy.parts.get(f.to)) else { continue };
                let (from, to) = (
                    centre(a.rank, a.x) + egui::vec2(0.0, boxes.y / 2.0),
                    centre(b.rank, b.x) - egui::vec2(0.0, boxes.y / 2.0),
                );
                let progress = along(a, b);
                let stroke = match progress {
                    Some(p) if p >= 1.0 => egui::Stroke::new(1.6, accent),
                    _ => egui::Stroke::new(1.2, weak),
                };
                // An edge that skips ranks (a residual, an SE gate) would run through the boxes between: it
                // bends out to the right instead.
                let skips = anatomy.skips(f);
                let (label_at, moving) = if skips {
                    let bend = egui::vec2(boxes.x * 0.75, 0.0);
                    let (c1, c2) = (from + bend + egui::vec2(0.0, gap.y), to + bend - egui::vec2(0.0, gap.y));
                    let curve = egui::epaint::CubicBezierShape::from_points_stroke(
                        [from, c1, c2, to],
                        false,
                        egui::Color32::TRANSPARENT,
                        stroke,
                    );
                    let moving = progress.map(|p| curve.sample(p));
                    painter.add(curve);
                    (from.lerp(to, 0.5) + bend * 0.75, moving)
                } else {
                    painter.line_segment([from, to], stroke);
                    (from.lerp(to, 0.5), progress.map(|p| from.lerp(to, p)))
                };
                painter.circle_filled(to, 2.5, weak);
                // The tensor on its way: a dot travelling the edge, with its shape beside it.
                let in_transit = progress.is_some_and(|p| p > 0.0 && p < 1.0);
                if let (true, Some(at)) = (in_transit, moving) {
                    painter.circle_filled(at, 4.5, accent);
                }
                if in_transit || skips || (a.x - b.x).abs() > 0.1 || f.shape != b.shape {
                    painter.text(
                        label_at + egui::vec2(4.0, 0.0),
                        egui::Align2::LEFT_CENTER,
                        f.shape.to_string(),
                        egui::FontId::monospace(9.0),
                        if in_transit { accent } else { weak },
                    );
                }
            }
            for p in &anatomy.parts {
                let rect = egui::Rect::from_center_size(centre(p.rank, p.x), boxes);
                let is_selected = selected == Some(p.node) && !p.external;
                let label = if p.external {
                    egui::RichText::new(format!("from {}\n{}", p.name, p.shape)).size(font - 0.5).color(weak)
                } else {
                    egui::RichText::new(format!("{}\n{}", p.op, p.shape)).size(font).color(text)
                };
                let g = convscope_graph::report::group;
                let button = egui::Button::new(label).corner_radius(5.0).selected(is_selected);
                let button = if p.external { button.fill(visuals.faint_bg_color) } else { button };
                let text =
                    format!("{}\n{}\noutput {}\n{} params · {} MACs", p.name, p.op, p.shape, g(p.params), g(p.macs));
                let response = ui.put(rect, button);
                let clicked_here = response.clicked();
                // With a run of this model: the tensor's measured map (its first channels) on hover.
                response.on_hover_ui(|ui| {
                    ui.label(&text);
                    if let Some((result, maps)) = measured.as_mut()
                        && let Some(t) = maps.thumb(ui.ctx(), result, p.node)
                    {
                        let size = t.size_vec2();
                        let scale = (240.0 / size.x).min(96.0 / size.y.max(1.0));
                        ui.image((t.id(), size * scale));
                        ui.weak("the run's map of this tensor (first channels)");
                    }
                });
                if clicked_here && !p.external {
                    clicked = Some(p.node);
                }
                // A layer newly selected elsewhere (the table, the tree): bring its box into view once.
                if is_selected {
                    let seen = ui.scope_id().with("scrolled_to");
                    if ui.data(|d| d.get_temp::<NodeId>(seen)) != Some(p.node) {
                        ui.data_mut(|d| d.insert_temp(seen, p.node));
                        ui.scroll_to_rect(rect, Some(egui::Align::Center));
                    }
                }
                if let Some(t) = flow
                    && p.rank as f32 <= t
                {
                    ui.painter().rect_stroke(rect, 5.0, egui::Stroke::new(1.6, accent), egui::StrokeKind::Outside);
                    if t - (p.rank as f32) < 1.0 {
                        ui.scroll_to_rect(rect, None);
                    }
                }
            }
        });
    clicked
}
