use crate::ComputeStatus;

/// App name, model picker, compute-backend badge (click for details).
pub fn top_bar_ui(ui: &mut egui::Ui, status: &ComputeStatus, show_backend_window: &mut bool) {
    ui.horizontal(|ui| {
        ui.heading("convscope");
        ui.separator();
        let label = ui.label("Model:");
        // The zoo does not exist yet; the picker says so instead of listing models that cannot be opened.
        ui.add_enabled_ui(false, |ui| {
            egui::ComboBox::from_id_salt("model_picker")
                .selected_text("no models yet")
                .show_ui(ui, |_ui| {})
                .response
                .labelled_by(label.id)
                .on_disabled_hover_text("The architecture zoo is not built yet; models will be listed here.");
        });

        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if super::backend_badge_ui(ui, status).clicked() {
                *show_backend_window = !*show_backend_window;
            }
        });
    });
}
