/// Left panel: the network as blocks. Empty until a model is picked (the zoo comes with the next issue).
pub fn architecture_panel_ui(ui: &mut egui::Ui) {
    ui.heading("Architecture");
    ui.separator();
    ui.weak("No model loaded. Blocks, shapes and per-layer cost appear here once a model is picked.");
}
