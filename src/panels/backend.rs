use egui::{Color32, RichText};

use crate::ComputeStatus;

const GPU_COLOR: Color32 = Color32::from_rgb(0x3c, 0xb3, 0x71);
const CPU_COLOR: Color32 = Color32::from_rgb(0xe0, 0x9a, 0x2a);

/// The compute-backend badge of the top bar: green for GPU, amber for CPU fallback.
pub fn backend_badge_ui(ui: &mut egui::Ui, status: &ComputeStatus) -> egui::Response {
    let color = match status {
        ComputeStatus::Gpu(_) => GPU_COLOR,
        ComputeStatus::CpuFallback { .. } => CPU_COLOR,
    };
    let text = RichText::new(status.badge_text()).color(color);
    // Drawn rather than typed: not every font has U+25CF, and egui refuses missing glyphs in tests.
    let response = ui.button(text);
    let dot_center = egui::pos2(response.rect.left() - 8.0, response.rect.center().y);
    ui.allocate_space(egui::vec2(10.0, 0.0));
    ui.painter().circle_filled(dot_center, 4.0, color);
    response.on_hover_text(match status {
        ComputeStatus::Gpu(_) => "Kernels run on this adapter. Click for its limits.".to_owned(),
        ComputeStatus::CpuFallback { reason } => format!("Kernels run on the CPU because {reason}. Click for details."),
    })
}

/// Adapter name, backend and limits, or the fallback reason.
pub fn backend_details_ui(ui: &mut egui::Ui, status: &ComputeStatus) {
    match status {
        ComputeStatus::Gpu(summary) => {
            ui.label(RichText::new("GPU compute").color(GPU_COLOR).strong());
            egui::Grid::new("adapter_grid").num_columns(2).striped(true).show(ui, |ui| {
                let mut row = |key: &str, value: String| {
                    ui.label(key);
                    ui.label(value);
                    ui.end_row();
                };
                let limits = &summary.limits;
                row("Adapter", if summary.name.is_empty() { "(unnamed)".to_owned() } else { summary.name.clone() });
                row("Backend", summary.backend.clone());
                row("Device type", summary.device_type.clone());
                if !summary.driver.is_empty() {
                    row("Driver", summary.driver.clone());
                }
                row("Max storage binding", bytes(limits.max_storage_buffer_binding_size));
                row("Max buffer", bytes(limits.max_buffer_size));
                row("Storage buffers / stage", limits.max_storage_buffers_per_shader_stage.to_string());
                row("Invocations / workgroup", limits.max_compute_invocations_per_workgroup.to_string());
                row("Workgroups / dimension", limits.max_compute_workgroups_per_dimension.to_string());
                row("Workgroup memory", bytes(u64::from(limits.max_compute_workgroup_storage_size)));
            });
        }
        ComputeStatus::CpuFallback { reason } => {
            ui.label(RichText::new("CPU fallback").color(CPU_COLOR).strong());
            ui.add(egui::Label::new(format!("Kernels run on the CPU because {reason}.")).wrap());
        }
    }
}

/// `134217728` → `"128 MiB"`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let unit_name = UNITS.get(unit).copied().unwrap_or("B");
    if value.fract() == 0.0 { format!("{value:.0} {unit_name}") } else { format!("{value:.1} {unit_name}") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn byte_sizes_read_naturally() {
        assert_eq!(super::bytes(0), "0 B");
        assert_eq!(super::bytes(16 << 10), "16 KiB");
        assert_eq!(super::bytes(128 << 20), "128 MiB");
        assert_eq!(super::bytes(3 << 29), "1.5 GiB");
    }
}
