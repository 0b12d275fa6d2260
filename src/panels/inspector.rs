use convscope_graph::Op;

use crate::inference::RunResult;
use crate::model_view::ModelView;

use super::anatomy::{AnatomyMaps, Sizes};

/// Right panel: the selected layer's shapes, attributes and cost, and (where the Build view does not
/// already show it) the diagram of the block it belongs to.
pub fn inspector_panel_ui(
    ui: &mut egui::Ui,
    view: &mut ModelView,
    show_block: bool,
    result: Option<&RunResult>,
    maps: &mut AnatomyMaps,
) {
    details_ui(ui, view);
    if show_block {
        block_ui(ui, view, result, maps);
    }
}

/// The anatomy of the block holding the selected layer; clicking an op selects it.
fn block_ui(ui: &mut egui::Ui, view: &mut ModelView, result: Option<&RunResult>, maps: &mut AnatomyMaps) {
    let (Ok(model), Some(id)) = (&view.model, view.selected_node) else { return };
    let Some(step) = model.steps.iter().find(|s| s.nodes.contains(&id.0)) else { return };
    let Some(anatomy) = super::anatomy::step_anatomy(view, step) else { return };
    ui.add_space(8.0);
    let mut notice = view.anatomy_notice.take();
    let measured = super::anatomy::measured(view, result, maps);
    let clicked = ui
        .push_id("inspector_anatomy", |ui| {
            super::anatomy::anatomy_ui(ui, &anatomy, view.selected_node, &mut notice, measured, Sizes::NARROW, None)
        })
        .inner;
    view.anatomy_notice = notice;
    if let Some(node) = clicked {
        view.selected_node = Some(node);
    }
}

fn details_ui(ui: &mut egui::Ui, view: &ModelView) {
    ui.heading("Inspector");
    ui.separator();
    let (Ok(model), Some(id)) = (&view.model, view.selected_node) else {
        ui.weak("Select a block or a layer (in the architecture or the table) to see its shape, parameters and cost.");
        return;
    };
    let (Some(node), Some(cost)) = (model.graph.node(id), model.cost.per_node.get(id.0)) else { return };
    ui.label(egui::RichText::new(&node.name).monospace().strong());
    ui.label(node.op.label());
    let block = model
        .graph
        .block_path(node.block)
        .iter()
        .filter_map(|&b| model.graph.block(b))
        .map(|b| format!("{} {}", b.kind, b.name))
        .collect::<Vec<_>>()
        .join(" › ");
    if !block.is_empty() {
        ui.weak(block);
    }
    ui.add_space(6.0);
    egui::Grid::new("inspector_grid").num_columns(2).striped(true).show(ui, |ui| {
        let mut row = |key: &str, value: String| {
            ui.label(key);
            ui.label(egui::RichText::new(value).monospace());
            ui.end_row();
        };
        for (i, shape) in model.graph.input_shapes(node).iter().enumerate() {
            row(if i == 0 { "input" } else { "" }, shape.to_string());
        }
        row("output", node.output.to_string());
        if let Op::Conv2d(conv) = &node.op {
            row(
                "weights",
                format!(
                    "[{}, {}, {}, {}]",
                    conv.out_channels,
                    conv.in_channels / conv.groups.max(1),
                    conv.kernel[0],
                    conv.kernel[1]
                ),
            );
            row("stride", format!("{}×{}", conv.stride[0], conv.stride[1]));
            let p = conv.padding;
            row("padding t/b/l/r", format!("{}/{}/{}/{}", p.top, p.bottom, p.left, p.right));
            row("groups", conv.groups.to_string());
            row("bias", conv.bias.to_string());
        }
        row("params", convscope_graph::report::group(cost.params));
        row("MACs", convscope_graph::report::group(cost.macs));
        row("FLOPs", convscope_graph::report::group(cost.flops(&view.convention)));
        row("memory traffic", format!("{} B", convscope_graph::report::group(cost.memory_traffic())));
        row("activation", format!("{} B", convscope_graph::report::group(cost.output_bytes)));
    });
}
