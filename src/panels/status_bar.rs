use crate::ComputeStatus;

/// Bottom bar: version and compute backend in one line.
pub fn status_bar_ui(ui: &mut egui::Ui, status: &ComputeStatus, notice: Option<&str>) {
    ui.horizontal(|ui| {
        ui.weak(concat!("convscope ", env!("CARGO_PKG_VERSION")));
        ui.separator();
        ui.weak(match status {
            ComputeStatus::Gpu(summary) => format!("compute: {} ({})", summary.short(), summary.device_type),
            ComputeStatus::CpuFallback { .. } => "compute: CPU fallback".to_owned(),
        });
        ui.separator();
        ui.weak("everything runs on this machine; nothing is uploaded");
        if let Some(notice) = notice {
            ui.separator();
            ui.colored_label(ui.visuals().warn_fg_color, notice);
        }
    });
}
