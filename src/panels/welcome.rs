use crate::ComputeStatus;

/// Central area before a model is open: what the tool is, and what it will compute on.
pub fn welcome_ui(ui: &mut egui::Ui, status: &ComputeStatus) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading("A microscope for lightweight convolutional networks");
        ui.add_space(4.0);
        ui.label(
            "convscope builds networks from the efficient-CNN literature block by block, counts what every \
             layer costs, and runs them on your own photo in the browser to show what each layer sees.",
        );
        ui.add_space(12.0);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_min_width(320.0);
            ui.strong("Compute backend");
            super::backend_details_ui(ui, status);
        });
    });
}
