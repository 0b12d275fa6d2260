//! egui_kittest tests of the app shell: panels present, backend shown, the backend window opens, and a
//! rendered snapshot (tests/snapshots/*.png, rendered with wgpu on lavapipe; `UPDATE_SNAPSHOTS=1` rewrites).

use convscope::compute_status::WebGpuProbe;
use convscope::{ComputeStatus, ConvscopeApp};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

fn harness_with(status: ComputeStatus) -> Harness<'static, ConvscopeApp> {
    Harness::builder()
        .with_size(egui::vec2(1100.0, 640.0))
        .wgpu()
        .build_eframe(move |_cc| ConvscopeApp::with_status(status))
}

fn fixed_gpu_status() -> ComputeStatus {
    // A fixed adapter so the snapshot does not depend on the machine's driver version.
    ComputeStatus::Gpu(convscope_gpu::AdapterSummary {
        name: "Example GPU".to_owned(),
        backend: "WebGPU".to_owned(),
        device_type: "integrated GPU".to_owned(),
        driver: String::new(),
        limits: convscope_gpu::adapter::ComputeLimits::from_wgpu(&convscope_gpu::wgpu::Limits::default()),
    })
}

#[test]
fn shell_has_its_panels_and_backend_badge() {
    let mut harness = harness_with(fixed_gpu_status());
    harness.run();
    harness.get_by_label("convscope");
    harness.get_by_label("Architecture");
    harness.get_by_label("Inspector");
    harness.get_by_label("Compute backend");
    harness.get_by_label_contains("GPU compute: Example GPU · WebGPU");
    harness.get_by_label_contains("compute: Example GPU · WebGPU (integrated GPU)");
}

#[test]
fn model_picker_lists_nothing_false() {
    let mut harness = harness_with(fixed_gpu_status());
    harness.run();
    harness.get_by_value("no models yet");
}

#[test]
fn cpu_fallback_is_shown_with_its_reason() {
    let reason = "this browser exposes no WebGPU (navigator.gpu is missing)".to_owned();
    let mut harness = harness_with(ComputeStatus::CpuFallback { reason: reason.clone() });
    harness.run();
    harness.get_by_role_and_label(Role::Button, "CPU fallback");
    harness.get_by_label("compute: CPU fallback");
    harness.get_by_label(&format!("Kernels run on the CPU because {reason}."));
}

#[test]
fn clicking_the_badge_opens_the_backend_window_with_limits() {
    let mut harness = harness_with(fixed_gpu_status());
    harness.run();
    // The welcome card shows the limits once; the window adds a second copy.
    assert_eq!(harness.query_all_by_label("Max storage binding").count(), 1);
    harness.get_by_role_and_label(Role::Button, "GPU compute: Example GPU · WebGPU").click();
    harness.run();
    assert_eq!(harness.query_all_by_label("Max storage binding").count(), 2);
    // wgpu::Limits::default().max_storage_buffer_binding_size, in the card and in the window.
    assert_eq!(harness.query_all_by_label("128 MiB").count(), 2);
}

#[test]
fn real_render_state_is_probed() {
    // The harness renders with wgpu (lavapipe on CI), so the app probes a real adapter through eframe's
    // render state, exactly as the native app does.
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1100.0, 640.0))
        .wgpu()
        .build_eframe(|cc| ConvscopeApp::new(cc, &WebGpuProbe::NotApplicable));
    harness.run();
    match harness.state().status() {
        ComputeStatus::Gpu(summary) => {
            assert!(!summary.backend.is_empty());
            harness.get_by_label_contains(&format!("GPU compute: {}", summary.short()));
        }
        ComputeStatus::CpuFallback { reason } => {
            let required = std::env::var("CONVSCOPE_REQUIRE_GPU").is_ok_and(|v| v == "1")
                || std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!required, "kittest's wgpu device cannot compute: {reason}");
            eprintln!("SKIPPED GPU assertions: {reason}");
        }
    }
}

#[test]
fn snapshot_shell_gpu() {
    let mut harness = harness_with(fixed_gpu_status());
    harness.run();
    harness.snapshot("shell_gpu");
}

#[test]
fn snapshot_shell_cpu_fallback() {
    let reason = "navigator.gpu.requestAdapter() returned no adapter, so the UI is drawn with WebGL2, which has no \
                  compute shaders"
        .to_owned();
    let mut harness = harness_with(ComputeStatus::CpuFallback { reason });
    harness.run();
    harness.snapshot("shell_cpu_fallback");
}
