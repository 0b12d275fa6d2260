//! What every insight view starts with: the photo the maps come from (a sample or the user's own), which
//! weights made them (UNTRAINED said loudly), and the run's progress until its result is there.

use crate::inference::{Inference, RunResult, SAMPLES, WeightsLabel};
use crate::model_view::ModelView;

/// The pretrained model the insight views suggest when the current one is untrained.
pub const TRAINED_DEFAULT: &str = "efficientnet_lite0";

/// Whether the "use the pretrained model" button was clicked this frame (kept in the context's memory;
/// the app switches the model after drawing): true once.
pub fn take_switch_to_trained(ctx: &egui::Context) -> bool {
    ctx.data_mut(|d| d.remove_temp::<bool>(egui::Id::unique(SWITCH_ID))).unwrap_or(false)
}

const SWITCH_ID: &str = "insight_switch_to_trained";

/// The photo bar and the weights label; the current model's result on the current photo, once there.
pub fn photo_result_ui<'a>(ui: &mut egui::Ui, view: &ModelView, inference: &'a mut Inference) -> Option<&'a RunResult> {
    ui.horizontal_wrapped(|ui| {
        match &inference.photo {
            Some((name, _)) => ui.label(format!("Photo: {name} —")),
            None => ui.label("Photo:"),
        };
        for (file, title) in SAMPLES {
            if ui.button(title).on_hover_text(format!("Use the sample photo {file}")).clicked() {
                inference.load_sample(ui.ctx(), file);
            }
        }
        ui.weak("or drop / open your own in the Run tab");
    });
    if inference.photo.is_none() {
        ui.label("Pick a photo: this view computes on the network's real feature maps for it.");
        return None;
    }
    if inference.loading_weights() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("fetching the pretrained weights…");
        });
    }
    if let Some((done, total, _)) = inference.progress() {
        ui.add(egui::ProgressBar::new(done as f32 / total.max(1) as f32).text("running the network on the photo…"));
        return None;
    }
    let entry = view.entry()?;
    let result = inference.result.as_ref().filter(|r| r.key.id == entry.id && r.key.variant == view.variant)?;
    match &result.weights {
        WeightsLabel::Pretrained(_) => {
            ui.colored_label(egui::Color32::from_rgb(60, 179, 113), "pretrained weights (ImageNet-1k)");
        }
        WeightsLabel::File(name) => {
            ui.colored_label(egui::Color32::from_rgb(60, 179, 113), format!("weights from {name}"));
        }
        WeightsLabel::Untrained | WeightsLabel::Unavailable(_) => {
            ui.horizontal_wrapped(|ui| {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "UNTRAINED: seeded random weights — these maps show what random filters do, not what a trained network learned",
                );
                if ui
                    .small_button("use the pretrained EfficientNet-Lite0")
                    .on_hover_text("Open the pretrained EfficientNet-Lite0 on the same photo")
                    .clicked()
                {
                    ui.ctx().data_mut(|d| d.insert_temp(egui::Id::unique(SWITCH_ID), true));
                }
            });
        }
    }
    Some(result)
}
