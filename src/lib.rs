//! convscope: a microscope for lightweight convolutional networks.
//!
//! The root package is the eframe app (native and web). Panels are `*_ui` functions in [`panels`];
//! what the app knows about compute is in [`compute_status`]; the web entry point is in `web.rs`.

mod app;
mod assets;
mod colormap;
pub mod compute_status;
mod fonts;
mod host_maps;
pub mod inference;
pub mod model_view;
#[cfg(not(target_arch = "wasm32"))]
mod native_picker;
mod panels;
#[cfg(target_arch = "wasm32")]
mod web;

pub use app::{ConvscopeApp, Tab};
pub use compute_status::ComputeStatus;
pub use panels::SwapModule;
#[cfg(target_arch = "wasm32")]
pub use web::start as start_web;

/// eframe's wgpu configuration: eframe's own adapter choice, with a device that asks for the adapter's
/// full storage-buffer limits (and timestamp queries where offered, to time each layer) so the same
/// device can both draw the UI and run our compute kernels.
pub fn wgpu_options() -> eframe::egui_wgpu::WgpuConfiguration {
    let mut setup = eframe::egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.device_descriptor = std::sync::Arc::new(|adapter| eframe::wgpu::DeviceDescriptor {
        label: Some("convscope device (UI + compute)"),
        required_limits: convscope_gpu::compute_limits(adapter),
        required_features: convscope_gpu::adapter::compute_features(adapter),
        ..Default::default()
    });
    eframe::egui_wgpu::WgpuConfiguration { wgpu_setup: setup.into(), ..Default::default() }
}
