//! The app state and the frame loop: one [`ConvscopeApp`] shared by the native and web front ends.

use convscope_gpu::GpuContext;

use crate::compute_status::{self, ComputeStatus, WebGpuProbe};
use crate::panels;

/// The whole app. Panels get borrowed pieces of it; nothing here knows wgpu beyond holding the context.
pub struct ConvscopeApp {
    status: ComputeStatus,
    /// The device kernels run on: eframe's own, when it can compute.
    gpu: Option<GpuContext>,
    show_backend_window: bool,
    #[cfg(target_arch = "wasm32")]
    page: crate::web::PageReport,
}

impl ConvscopeApp {
    /// Build the app from eframe's creation context, computing on eframe's wgpu device where it can.
    pub fn new(cc: &eframe::CreationContext<'_>, web: &WebGpuProbe) -> Self {
        let (status, gpu) = compute_status::probe(cc.wgpu_render_state.as_ref(), web);
        match &status {
            ComputeStatus::Gpu(summary) => log::info!("compute backend: GPU, {summary:?}"),
            ComputeStatus::CpuFallback { reason } => log::info!("compute backend: CPU fallback ({reason})"),
        }
        Self::with_parts(status, gpu)
    }

    /// Build the app with a given status and no device: for UI tests and snapshots.
    pub fn with_status(status: ComputeStatus) -> Self {
        Self::with_parts(status, None)
    }

    fn with_parts(status: ComputeStatus, gpu: Option<GpuContext>) -> Self {
        Self {
            status,
            gpu,
            show_backend_window: false,
            #[cfg(target_arch = "wasm32")]
            page: crate::web::PageReport::default(),
        }
    }

    pub fn status(&self) -> &ComputeStatus {
        &self.status
    }

    /// Switch to the CPU for good once the device is lost, and say so.
    fn check_device_lost(&mut self) {
        let Some(reason) = self.gpu.as_ref().and_then(GpuContext::lost_reason) else { return };
        log::warn!("GPU device lost ({reason}); falling back to the CPU");
        self.gpu = None;
        self.status = ComputeStatus::CpuFallback { reason: format!("the GPU device was lost: {reason}") };
    }

    /// Draw the whole shell into `ui`.
    pub fn shell_ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top_bar").show(ui, |ui| {
            panels::top_bar_ui(ui, &self.status, &mut self.show_backend_window);
        });
        egui::Panel::bottom("status_bar").show(ui, |ui| panels::status_bar_ui(ui, &self.status));
        egui::Panel::left("architecture").default_size(240.0).show(ui, panels::architecture_panel_ui);
        egui::Panel::right("inspector").default_size(260.0).show(ui, panels::inspector_panel_ui);
        egui::CentralPanel::default().show(ui, |ui| panels::welcome_ui(ui, &self.status));

        egui::Window::new("Compute backend")
            .open(&mut self.show_backend_window)
            .resizable(false)
            .collapsible(false)
            .show(ui.ctx(), |ui| panels::backend_details_ui(ui, &self.status));
    }
}

impl eframe::App for ConvscopeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.check_device_lost();
        self.shell_ui(ui);
        #[cfg(target_arch = "wasm32")]
        self.page.report(&self.status);
    }
}
