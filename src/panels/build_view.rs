use egui::RichText;
use egui_plot::{Bar, BarChart, Line, Plot, PlotPoints};

use crate::model_view::ModelView;

/// The block-by-block build: controls, the shape flowing through the blocks built so far, and the
/// cumulative parameters and MACs growing with them.
pub fn build_view_ui(
    ui: &mut egui::Ui,
    view: &mut ModelView,
    result: Option<&crate::inference::RunResult>,
    maps: &mut super::anatomy::AnatomyMaps,
) {
    let total = view.total_steps();
    // Keyboard shortcuts only while no text field has the focus.
    let keys_free = ui.memory(|m| m.focused().is_none());
    let key = |ui: &egui::Ui, key: egui::Key| keys_free && ui.input(|i| i.key_pressed(key));
    ui.horizontal(|ui| {
        if ui.button("Start over").on_hover_text("Remove every block (Home)").clicked() || key(ui, egui::Key::Home) {
            view.built_steps = 0;
            view.playing = false;
        }
        // Arrow presses are counted: several can arrive within one slow frame.
        let presses = |ui: &egui::Ui, key: egui::Key| if keys_free { ui.input(|i| i.num_presses(key)) } else { 0 };
        let back = usize::from(ui.button("Back").on_hover_text("Remove the last block (←)").clicked())
            + presses(ui, egui::Key::ArrowLeft);
        if back > 0 {
            view.built_steps = view.built_steps.saturating_sub(back);
            view.playing = false;
        }
        let play_label = if view.playing { "Pause" } else { "Build" };
        if ui.button(play_label).on_hover_text("Add blocks one by one (Space)").clicked() || key(ui, egui::Key::Space) {
            if !view.playing && view.built_steps >= total {
                view.built_steps = 0;
            }
            view.playing = !view.playing;
            view.since_step = 0.0;
        }
        let step = usize::from(ui.button("Step").on_hover_text("Add the next block (→)").clicked())
            + presses(ui, egui::Key::ArrowRight);
        if step > 0 {
            view.built_steps = (view.built_steps + step).min(total);
            view.playing = false;
        }
        if ui.button("All").on_hover_text("Build everything (End)").clicked() || key(ui, egui::Key::End) {
            view.built_steps = total;
            view.playing = false;
        }
        let label = ui.label("speed");
        ui.add(egui::Slider::new(&mut view.speed, 1.0..=30.0).suffix(" blocks/s").logarithmic(true))
            .labelled_by(label.id);
        ui.add(
            egui::ProgressBar::new(if total == 0 { 0.0 } else { view.built_steps as f32 / total as f32 })
                .text(format!("{} / {total} blocks", view.built_steps)),
        );
    });
    if view.playing {
        let dt = ui.input(|i| i.stable_dt).min(0.1);
        view.tick(dt);
        ui.ctx().request_repaint();
    }

    // A block just added (Step, →, or playing): animate it, in the time one step takes while playing.
    let now = ui.input(|i| i.time);
    if view.built_steps == view.last_built + 1 {
        view.stepped_at = Some(now);
    } else if view.built_steps != view.last_built {
        view.stepped_at = None;
    }
    view.last_built = view.built_steps;
    let duration = if view.playing { (1.0 / view.speed as f64).clamp(0.1, STEP_ANIMATION) } else { STEP_ANIMATION };
    let phase = view.stepped_at.map(|t| ((now - t) / duration) as f32).filter(|&p| p < 1.0);
    if phase.is_none() {
        view.stepped_at = None;
    } else {
        ui.ctx().request_repaint();
    }

    let Ok(model) = &view.model else { return };
    let mut view_notice = None;
    let built = model.steps.get(..view.built_steps).unwrap_or_default();
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        match built.last() {
            Some(step) => ui.label(format!(
                "{} blocks built: {} → {} · {} params · {} MACs",
                built.len(),
                model.graph.input_shape(),
                step.output,
                convscope_graph::report::group(step.cumulative_params),
                convscope_graph::report::group(step.cumulative_macs)
            )),
            None => ui.label(format!(
                "Nothing built yet: input {}. Press Build (Space) to add blocks one by one.",
                model.graph.input_shape()
            )),
        };
        // The whole network's diagram, for slides.
        let id = view.entry().map_or("network", |e| e.id);
        let whole = || {
            let nodes: Vec<_> = (0..model.graph.nodes.len()).map(convscope_graph::NodeId).collect();
            convscope_insight::anatomy::Anatomy::of(&model.graph, &model.cost, id, &nodes)
        };
        ui.weak("whole network:");
        if ui.small_button("SVG").on_hover_text("Download the whole network's diagram as SVG").clicked() {
            view_notice = Some(super::download::offer(&format!("{id}.svg"), "image/svg+xml", &whole().to_svg()));
        }
        if ui.small_button("DOT").on_hover_text("Download the whole network's diagram as Graphviz DOT").clicked() {
            view_notice = Some(super::download::offer(&format!("{id}.dot"), "text/vnd.graphviz", &whole().to_dot()));
        }
    });

    // The shape flowing through the network: one chip per block built.
    let mut newest_chip = None;
    egui::ScrollArea::horizontal().id_salt("shape_flow").stick_to_right(view.playing || phase.is_some()).show(
        ui,
        |ui| {
            ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
            ui.horizontal(|ui| {
                ui.label(RichText::new(model.graph.input_shape().to_string()).monospace());
                for step in built {
                    ui.label("→");
                    let chip = egui::Frame::group(ui.style()).show(ui, |ui| {
                        ui.vertical(|ui| {
                            ui.label(RichText::new(&step.kind).small().strong());
                            ui.label(RichText::new(step.output.to_string()).monospace().small());
                        });
                    });
                    newest_chip = Some(chip.response.rect);
                }
            });
        },
    );

    ui.add_space(6.0);
    // The block to look inside: the one holding the selected layer, else the newest built.
    let inside = view
        .selected_node
        .and_then(|n| built.iter().position(|s| s.nodes.contains(&n.0)))
        .or(built.len().checked_sub(1));
    let anatomy = inside.and_then(|i| built.get(i)).and_then(|s| super::anatomy::step_anatomy(view, s));
    let span = total as f64 + 1.0;
    let mut clicked = None;
    let mut notice = view_notice.or(view.anatomy_notice.take());
    ui.horizontal_top(|ui| {
        let plots = (ui.available_width() * 0.45).max(260.0);
        ui.vertical(|ui| {
            ui.set_width(plots);
            let height = (ui.available_height() / 2.0 - 16.0).max(120.0);
            cumulative_plot_ui(ui, "params_plot", "Parameters", built, span, height, |s| {
                (s.params, s.cumulative_params)
            });
            cumulative_plot_ui(ui, "macs_plot", "MACs", built, span, height, |s| (s.macs, s.cumulative_macs));
        });
        ui.separator();
        let column = ui.vertical(|ui| match &anatomy {
            Some(a) => {
                if let Some(step) = inside.and_then(|i| built.get(i)) {
                    super::anatomy::formula_ui(ui, view, step);
                }
                let measured = super::anatomy::measured(view, result, maps);
                // The newest block's tensors flow through it for the first part of the animation.
                let flow = phase
                    .filter(|_| inside.is_some_and(|i| i + 1 == built.len()))
                    .map(|p| (p / FLOW_SHARE).min(1.0) * a.depth() as f32);
                clicked = super::anatomy::anatomy_ui(
                    ui,
                    a,
                    view.selected_node,
                    &mut notice,
                    measured,
                    super::anatomy::Sizes::WIDE,
                    flow,
                );
            }
            None => {
                ui.weak("Build a block to see inside it.");
            }
        });
        // Then the diagram collapses into the block's chip in the strip.
        if let (Some(p), Some(chip)) = (phase.filter(|&p| p > FLOW_SHARE), newest_chip) {
            let u = ((p - FLOW_SHARE) / (1.0 - FLOW_SHARE)).clamp(0.0, 1.0);
            let u = u * u * (3.0 - 2.0 * u);
            let from = column.response.rect;
            let rect = egui::Rect::from_min_max(from.min.lerp(chip.min, u), from.max.lerp(chip.max, u));
            let accent = ui.visuals().selection.stroke.color;
            let painter =
                ui.ctx().layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("block_collapse")));
            painter.rect(
                rect,
                6.0,
                accent.gamma_multiply(0.18 * (1.0 - u) + 0.05),
                egui::Stroke::new(2.0, accent.gamma_multiply(1.0 - 0.5 * u)),
                egui::StrokeKind::Inside,
            );
        }
    });
    view.anatomy_notice = notice;
    if let Some(node) = clicked {
        view.selected_node = Some(node);
    }
}

/// Seconds a new block's animation takes when stepping by hand (shorter while playing fast).
const STEP_ANIMATION: f64 = 0.9;
/// The share of it spent flowing through the diagram; the rest collapses it into the strip.
const FLOW_SHARE: f32 = 0.7;

/// Bars of `what` per block built so far and a line of its running total, in millions.
fn cumulative_plot_ui(
    ui: &mut egui::Ui,
    id: &str,
    what: &str,
    built: &[crate::model_view::BuildStep],
    span: f64,
    height: f32,
    value: impl Fn(&crate::model_view::BuildStep) -> (u64, u64),
) {
    ui.label(RichText::new(format!("{what} (millions): per block and cumulative")).strong());
    let millions = |n: u64| n as f64 / 1e6;
    Plot::new(id).height(height).include_x(0.0).include_x(span).include_y(0.0).allow_scroll(false).show(ui, |plot| {
        let bars = built.iter().enumerate().map(|(i, s)| Bar::new((i + 1) as f64, millions(value(s).0)).name(&s.name));
        plot.bar_chart(BarChart::new("per block", bars.collect()));
        let line = built.iter().enumerate().map(|(i, s)| [(i + 1) as f64, millions(value(s).1)]);
        plot.line(Line::new("cumulative", PlotPoints::from_iter(line)));
    });
}
