use crate::ComputeStatus;
use crate::model_view::ModelView;

/// The "About" tab: what the tool is, the model's provenance, and what it computes on.
pub fn welcome_ui(ui: &mut egui::Ui, status: &ComputeStatus, view: &ModelView) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading("A microscope for lightweight convolutional networks");
        ui.add_space(4.0);
        ui.label(
            "convscope builds networks from the efficient-CNN literature block by block, counts what every \
             layer costs, and runs them on your own photo in the browser to show what each layer sees.",
        );
        if let Some(entry) = view.entry() {
            ui.add_space(12.0);
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.set_min_width(320.0);
                ui.set_max_width(ui.available_width());
                ui.strong(entry.title);
                if let Some(idea) = super::idea(entry.family) {
                    ui.add(egui::Label::new(idea).wrap());
                    ui.add_space(4.0);
                }
                egui::Grid::new("provenance").num_columns(2).show(ui, |ui| {
                    ui.label("paper");
                    ui.add(egui::Label::new(entry.paper).wrap());
                    ui.end_row();
                    ui.label("structure and names");
                    ui.add(egui::Label::new(entry.reference).wrap());
                    ui.end_row();
                    if let Some(p) = entry.published {
                        ui.label("published");
                        let mut parts = vec![format!("{}²", p.resolution)];
                        if let Some(v) = p.params {
                            parts.push(format!(
                                "{:.2}M params{}",
                                v / 1e6,
                                if p.params_without_bn { " (without BN)" } else { "" }
                            ));
                        }
                        if let Some(v) = p.macs {
                            parts.push(format!("{:.0}M MACs", v / 1e6));
                        }
                        if let Some(v) = p.top1 {
                            parts.push(format!("top-1 {v:.1}%"));
                        }
                        ui.label(parts.join(" · "));
                        ui.end_row();
                        ui.label("source");
                        ui.add(egui::Label::new(p.source).wrap());
                        ui.end_row();
                    }
                });
            });
        }
        ui.add_space(12.0);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_min_width(320.0);
            ui.set_max_width(ui.available_width());
            ui.strong("Compute backend");
            super::backend_details_ui(ui, status);
        });
    });
}
