//! The `convscope` binary end to end: outputs parse and carry the reference numbers; bad input exits
//! non-zero with one line on stderr.

// Test helpers fail by panicking, like the tests themselves.
#![allow(clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope")).args(args).output().expect("convscope runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn table_json_has_totals_and_layers_matching_torchvision() {
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&convscope(&["table", "mobilenet_v2", "--format", "json"]))).expect("valid JSON");
    // torchvision 0.29.2 mobilenet_v2(): sum(p.numel()) = 3,504,872; conv+linear MACs at 224² = 300,774,272
    // (tools/reference_counts.py).
    assert_eq!(json["totals"]["params"], 3_504_872);
    assert_eq!(json["totals"]["macs"], 300_774_272);
    let layers = json["layers"].as_array().expect("layers array");
    let first = &layers[0];
    assert_eq!(first["name"], "features.0.0");
    assert_eq!(first["op"], "Conv2d 3×3 /2");
    assert_eq!(first["input_shapes"][0], "[3×224×224]");
    assert_eq!(first["output_shape"], "[32×112×112]");
    assert_eq!(first["params"], 864);
    assert_eq!(first["macs"], 10_838_016);
    assert_eq!(first["block"], "features.0");
    let sum: u64 = layers.iter().map(|l| l["params"].as_u64().expect("params")).sum();
    assert_eq!(sum, 3_504_872, "layers add up to the total");
}

#[test]
fn width_and_resolution_change_the_network() {
    let json: serde_json::Value = serde_json::from_str(&stdout(&convscope(&[
        "table",
        "mobilenet_v1",
        "--width",
        "0.5",
        "--resolution",
        "160",
        "--format",
        "json",
    ])))
    .expect("valid JSON");
    // timm 1.0.31 _gen_mobilenet_v1(ch_multiplier=0.5) at 160²: 1,331,592 params, 76,524,800 MACs
    // (tools/reference_counts.py; the paper's Table 9 says 1.32M and 76M).
    assert_eq!(json["totals"]["params"], 1_331_592);
    assert_eq!(json["totals"]["macs"], 76_524_800);
}

#[test]
fn phi_scales_efficientnet_by_the_compound_rule() {
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&convscope(&["table", "efficientnet_b0", "--phi", "1", "--format", "json"])))
            .expect("valid JSON");
    // torchvision 0.29.2 EfficientNet(_efficientnet_conf("efficientnet_b0", width_mult=1.1, depth_mult=1.2))
    // at 258² (224 · 1.15): 9,109,994 params, 992,629,472 MACs (tools/reference_counts.py).
    assert_eq!(json["totals"]["params"], 9_109_994);
    assert_eq!(json["totals"]["macs"], 992_629_472);
    assert_eq!(json["layers"][0]["input_shapes"][0], "[3×258×258]");
}

#[test]
fn groups_pick_a_shufflenet_v1_variant() {
    let json: serde_json::Value = serde_json::from_str(&stdout(&convscope(&[
        "table",
        "shufflenet_v1",
        "--groups",
        "8",
        "--width",
        "0.5",
        "--format",
        "json",
    ])))
    .expect("valid JSON");
    // Official megvii ShuffleNetV1 (network.py @d8e4db1) 0.5x, group=8, counted with torch 2.15.0 by
    // tools/reference_counts.py: 1,010,448 params, 40,469,760 MACs (README: 1.0M, 40M).
    assert_eq!(json["totals"]["params"], 1_010_448);
    assert_eq!(json["totals"]["macs"], 40_469_760);
}

#[test]
fn mitchell_mode_trades_multiplications_for_additions_and_shifts() {
    let exact: serde_json::Value =
        serde_json::from_str(&stdout(&convscope(&["table", "mobilenet_v2", "--format", "json"]))).expect("JSON");
    let mitchell: serde_json::Value =
        serde_json::from_str(&stdout(&convscope(&["table", "mobilenet_v2", "--mitchell", "--format", "json"])))
            .expect("JSON");
    let macs = exact["totals"]["macs"].as_u64().expect("macs");
    // Only the classifier (a linear layer, 1280 · 1000 MACs) still multiplies; each conv MAC becomes two
    // additions and two shifts (cost.rs, `arithmetic_counts`).
    let linear = 1280 * 1000;
    assert_eq!(mitchell["totals"]["macs"], macs);
    assert_eq!(mitchell["totals"]["muls"], linear);
    assert_eq!(mitchell["totals"]["shifts"], 2 * (macs - linear));
    assert_eq!(mitchell["totals"]["adds"], linear + 2 * (macs - linear));
    assert_eq!(mitchell["totals"]["params"], exact["totals"]["params"]);
}

#[test]
fn blocks_take_their_channels() {
    let json: serde_json::Value = serde_json::from_str(&stdout(&convscope(&[
        "table",
        "block_depthwise_separable",
        "--channels",
        "32,64",
        "--resolution",
        "56",
        "--format",
        "json",
    ])))
    .expect("JSON");
    // 3×3 depthwise on 32 channels + 1×1 32→64, each followed by BN (2 affine parameters per channel).
    assert_eq!(json["totals"]["params"], 32 * 9 + 64 * 32 + 2 * 32 + 2 * 64);
    assert_eq!(json["totals"]["macs"], 56 * 56 * (32 * 9 + 64 * 32));
}

#[test]
fn expansion_and_ghost_knobs_change_the_blocks() {
    let json = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&stdout(&convscope(args))).expect("JSON") };
    // An inverted residual 32 → 32 on 14² with t = 4: 1×1 32→128, 3×3 depthwise, 1×1 128→32 (MACs per pixel).
    let ir = json(&[
        "table",
        "block_inverted_residual",
        "--channels",
        "32,32",
        "--resolution",
        "14",
        "--expansion",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(ir["totals"]["macs"], 14 * 14 * (32 * 128 + 128 * 9 + 128 * 32));
    // A Ghost module 64 → 96 with s = 3, d = 5: 32 intrinsic maps by 1×1, 64 ghosts by 5×5 depthwise (two per map).
    let ghost = json(&[
        "table",
        "block_ghost_module",
        "--channels",
        "64,96",
        "--resolution",
        "8",
        "--ghost",
        "3,5",
        "--format",
        "json",
    ]);
    assert_eq!(ghost["totals"]["macs"], 8 * 8 * (64 * 32 + 64 * 25));
}

#[test]
fn csv_markdown_and_text_render() {
    let csv = stdout(&convscope(&["table", "squeezenet1_1", "--format", "csv"]));
    assert!(csv.starts_with("name,op,block,input_shapes,output_shape,params,macs"));
    assert!(csv.lines().any(|l| l.starts_with("features.3.squeeze,Conv2d 1×1,")));
    let md = stdout(&convscope(&["table", "squeezenet1_1", "--format", "md"]));
    // torchvision 0.29.2 squeezenet1_1(): 1,235,496 params.
    assert!(md.contains("| **total** | | | **1235496** |"), "{md}");
    let text = stdout(&convscope(&["table", "squeezenet1_1"]));
    assert!(text.contains("total: 1,235,496 params"), "{text}");
}

#[test]
fn list_names_every_zoo_model() {
    let list = stdout(&convscope(&["list"]));
    for entry in convscope_zoo::registry() {
        assert!(list.lines().any(|l| l.starts_with(&format!("{} ", entry.id))), "{} missing from list", entry.id);
    }
}

#[test]
fn bad_input_exits_non_zero_with_one_line() {
    for (args, expected) in [
        (vec!["table", "no_such_net"], "no model named \"no_such_net\""),
        (vec!["table", "resnet50", "--width", "0.5"], "has no width multiplier"),
        (vec!["table", "shufflenet_v1", "--groups", "5"], "takes --groups [1, 2, 3, 4, 8], not 5"),
        (vec!["table", "resnet50", "--groups", "2"], "has no groups choice"),
        (vec!["table", "resnet50", "--channels", "3,4"], "is a network"),
        (vec!["table", "resnet50", "--expansion", "4"], "has no expansion ratio"),
        (vec!["table", "mobilenet_v2", "--ghost", "2,3"], "has no Ghost modules"),
        (vec!["table", "ghostnet_100", "--ghost", "1,3"], "ratio s ≥ 2 and an odd cheap kernel d"),
        (vec!["table", "block_fire", "--channels", "3"], "--channels takes two positive numbers"),
        (vec!["table", "mobilenet_v2", "--frobnicate"], "unexpected argument '--frobnicate'"),
        (vec!["table"], "the following required arguments were not provided: <ID>"),
        (vec!["table", "mobilenet_v2", "--width", "-1"], "--width must be a number"),
        (vec!["table", "mobilenet_v2", "--resolution", "0"], "--resolution must be positive"),
        (vec!["table", "mobilenet_v2", "--phi", "1"], "has no compound scaling"),
        (vec!["table", "efficientnet_b0", "--phi", "nan"], "--phi must be a number in [-4, 10]"),
        (
            vec!["table", "squeezenet1_0", "--resolution", "8"],
            "kernel 3×3 (dilated) is larger than the padded input 1×1",
        ),
        (vec!["table", "vgg16", "--resolution", "256"], "expects a 7×7 map"),
    ] {
        let output = convscope(&args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line, got {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
