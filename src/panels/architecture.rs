use egui::RichText;

use crate::model_view::ModelView;

/// Left panel: the network as a vertical diagram of stages and blocks, as far as the build has got.
/// Click a block to select it; open it to see its layers.
pub fn architecture_panel_ui(ui: &mut egui::Ui, view: &mut ModelView) {
    // Long block names are cut at the panel's edge (the panel is resizable) rather than widening it.
    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
    ui.heading("Architecture");
    ui.separator();
    let model = match &view.model {
        Ok(model) => model,
        Err(err) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("Cannot build this variant: {err}"));
            return;
        }
    };
    let input = model.graph.input_shape();
    ui.label(RichText::new(format!("input {input}")).monospace().weak());
    let mut clicked = None;
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        let visible = model.steps.get(..view.built_steps).unwrap_or(&model.steps);
        for stage_steps in visible.chunk_by(|a, b| a.stage == b.stage) {
            let Some(first) = stage_steps.first() else { continue };
            let stage_out = stage_steps.last().map_or(first.output, |s| s.output);
            if stage_steps.len() == 1 && first.name == first.stage {
                clicked = step_ui(ui, view.selected_node, model, first).or(clicked);
                continue;
            }
            let id = ui.make_persistent_id(("stage", &first.stage));
            egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, true)
                .show_header(ui, |ui| {
                    ui.label(RichText::new(&first.stage).strong());
                    ui.label(RichText::new(format!("→ {stage_out}")).monospace().weak());
                })
                .body(|ui| {
                    for step in stage_steps {
                        clicked = step_ui(ui, view.selected_node, model, step).or(clicked);
                    }
                });
        }
        if view.built_steps < model.steps.len() {
            ui.weak(format!("… {} more blocks to build", model.steps.len() - view.built_steps));
        }
    });
    if let Some(node) = clicked {
        view.selected_node = Some(node);
    }
}

/// One block: a selectable header (kind, name, output shape) that opens onto its layers.
fn step_ui(
    ui: &mut egui::Ui,
    selected: Option<convscope_graph::NodeId>,
    model: &crate::model_view::BuiltModel,
    step: &crate::model_view::BuildStep,
) -> Option<convscope_graph::NodeId> {
    let mut clicked = None;
    let first_node = convscope_graph::NodeId(step.nodes.start);
    let is_selected = selected.is_some_and(|n| step.nodes.contains(&n.0));
    // Keyed by the first node: names can repeat (a block interrupted by a node outside it).
    let id = ui.make_persistent_id(("step", step.nodes.start));
    egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, false)
        .show_header(ui, |ui| {
            let text = format!("{}  {}", step.kind, step.name);
            if ui.selectable_label(is_selected, text).clicked() {
                clicked = Some(first_node);
            }
            ui.label(RichText::new(format!("→ {}", step.output)).monospace().weak());
        })
        .body(|ui| {
            for index in step.nodes.clone() {
                let Some(node) = model.graph.nodes.get(index) else { continue };
                let selected_here = selected == Some(convscope_graph::NodeId(index));
                let text = format!("{}  {}", node.op.label(), node.output);
                if ui
                    .selectable_label(selected_here, RichText::new(text).monospace())
                    .on_hover_text(&node.name)
                    .clicked()
                {
                    clicked = Some(convscope_graph::NodeId(index));
                }
            }
        });
    clicked
}
