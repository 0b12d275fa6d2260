/// Right panel: details of the selected layer.
pub fn inspector_panel_ui(ui: &mut egui::Ui) {
    ui.heading("Inspector");
    ui.separator();
    ui.weak("Select a layer to see its shape, parameters, cost and feature maps.");
}
