use crate::ComputeStatus;
use crate::model_view::ModelView;

/// App name, model picker with variant controls, compute-backend badge (click for details).
pub fn top_bar_ui(ui: &mut egui::Ui, status: &ComputeStatus, view: &mut ModelView, show_backend_window: &mut bool) {
    ui.horizontal(|ui| {
        ui.heading("convscope");
        ui.separator();
        super::model_picker_ui(ui, view);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if super::backend_badge_ui(ui, status).clicked() {
                *show_backend_window = !*show_backend_window;
            }
        });
    });
}
