use convscope_graph::Op;

use crate::model_view::ModelView;

/// Right panel: the selected layer's shapes, attributes and cost.
pub fn inspector_panel_ui(ui: &mut egui::Ui, view: &ModelView) {
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
