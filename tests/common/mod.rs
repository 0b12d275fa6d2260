//! What the app's kittest suites share: a 1280×800 harness on a fixed adapter, and running a photo to
//! its result.

#![allow(clippy::panic, dead_code)]

use convscope::{ComputeStatus, ConvscopeApp, Tab};
use egui_kittest::Harness;

pub fn harness_with(status: ComputeStatus) -> Harness<'static, ConvscopeApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        // A new block's animation in the Build view lasts about a second (four frames of 0.25 s here).
        .with_max_steps(12)
        .wgpu()
        .build_eframe(move |cc| ConvscopeApp::with_status(&cc.egui_ctx, status))
}

pub fn fixed_gpu_status() -> ComputeStatus {
    // A fixed adapter so the snapshots do not depend on the machine's driver version.
    ComputeStatus::Gpu(convscope_gpu::AdapterSummary {
        name: "Example GPU".to_owned(),
        backend: "WebGPU".to_owned(),
        device_type: "integrated GPU".to_owned(),
        software: false,
        driver: String::new(),
        limits: convscope_gpu::adapter::ComputeLimits::from_wgpu(&convscope_gpu::wgpu::Limits::default()),
    })
}

pub fn app_on(tab: Tab) -> Harness<'static, ConvscopeApp> {
    let mut harness = harness_with(fixed_gpu_status());
    harness.state_mut().tab = tab;
    harness.run();
    harness
}

/// Frames until the current run has finished (the engine advances ~25 ms per frame).
pub fn run_to_end(harness: &mut Harness<'static, ConvscopeApp>) {
    for _ in 0..2000 {
        harness.step();
        let state = harness.state();
        let current = state.view.entry().map(|e| e.id);
        if state.inference.result.as_ref().is_some_and(|r| Some(r.key.id) == current)
            && state.inference.progress().is_none()
        {
            harness.run();
            return;
        }
    }
    panic!("the run did not finish");
}
