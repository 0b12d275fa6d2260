//! `convscope shuffle`, `dsc`, `similarity` and `ghost` end to end: the shuffle against PyTorch's
//! reshape–transpose, the separable costs against MobileNet's formulas, one layer's channel similarity
//! against PyTorch's on a timm checkpoint, the Ghost pairs against the maps `run --dump-activations`
//! writes under the same node names, and bad arguments ending with one line and a non-zero exit.

#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope")).args(args).output().expect("convscope runs")
}

fn json(args: &[&str]) -> serde_json::Value {
    let output = convscope(args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).to_string_lossy().into_owned()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convscope-insight-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The float32 values of a little-endian `.npy` (the header skipped).
fn npy_values(path: &std::path::Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + header..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn fails_with(args: &[&str], needle: &str) {
    let output = convscope(args);
    assert!(!output.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: one line, got {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr:?} lacks {needle:?}");
}

#[test]
fn shuffle_is_pytorchs_reshape_transpose() {
    let v = json(&["shuffle", "--channels", "12", "--groups", "3", "--format", "json"]);
    // torch 2.15: torchvision.models.shufflenetv2.channel_shuffle(torch.arange(12.).view(1, 12, 1, 1), 3)
    let want = [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11];
    let got: Vec<u64> =
        v["permutation"].as_array().expect("permutation").iter().map(|x| x.as_u64().expect("n")).collect();
    assert_eq!(got, want);
    // Zhang et al. 2018, Figure 1: block-diagonal (1/g) without the shuffle, dense with it.
    let density = |k: &str| v["connectivity"][k]["density"].as_f64().expect("density");
    assert!((density("without_shuffle") - 1.0 / 3.0).abs() < 1e-12);
    assert!((density("with_shuffle") - 1.0).abs() < 1e-12);
    let matrix = v["connectivity"]["without_shuffle"]["matrix"].as_array().expect("matrix");
    assert_eq!(matrix.len(), 12);
    assert_eq!(matrix[0][0], 1);
    assert_eq!(matrix[0][4], 0);
}

#[test]
fn dsc_costs_follow_mobilenets_formulas() {
    let v = json(&["dsc", "--channels", "512,512", "--kernel", "3", "--resolution", "14", "--format", "json"]);
    // Howard et al. 2017, Eq. 2–5 for Table 1's 14×14 512→512 layer: D_K²·M·N·D_F² = 462 422 016 MACs
    // standard; D_K²·M·D_F² + M·N·D_F² = 903 168 + 51 380 224.
    assert_eq!(v["standard"]["macs"], 462_422_016u64);
    assert_eq!(v["depthwise"]["macs"], 903_168u64);
    assert_eq!(v["pointwise"]["macs"], 51_380_224u64);
    assert_eq!(v["separable"]["params"], 266_752u64);
    let (ratio, formula) = (v["ratio"].as_f64().expect("ratio"), v["formula"].as_f64().expect("formula"));
    assert!((ratio - (1.0 / 512.0 + 1.0 / 9.0)).abs() < 1e-12 && (ratio - formula).abs() < 1e-12);
}

#[test]
fn similarity_matches_pytorch() {
    // tools/insight_fixtures.py: torch 2.15, timm MobileNet V1 ×0.25 (the float16 fixture checkpoint) on
    // input_48.npy, the cosine matrix of blocks.1.0.bn2's output (BN + ReLU) in float64.
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("similarity.json")).expect("fixture")).expect("JSON");
    let layer = reference["layer"].as_str().expect("layer");
    let weights = fixture("mobilenet_v1_025_f16.safetensors");
    let input = fixture("input_48.npy");
    let v = json(&[
        "similarity",
        "mobilenet_v1",
        "--width",
        "0.25",
        "--resolution",
        "48",
        "--weights",
        &weights,
        "--input",
        &input,
        "--layer",
        layer,
        "--top",
        "5",
        "--format",
        "json",
    ]);
    assert_eq!(v["shape"], reference["shape"]);
    let want = reference["matrix"].as_array().expect("matrix");
    let got = v["matrix"].as_array().expect("matrix");
    assert_eq!(got.len(), want.len());
    let mut worst = 0.0f64;
    for (g, w) in got.iter().zip(want) {
        for (a, b) in g.as_array().expect("row").iter().zip(w.as_array().expect("row")) {
            worst = worst.max((a.as_f64().expect("f") - b.as_f64().expect("f")).abs());
        }
    }
    assert!(worst < 1e-4, "cosines differ from PyTorch's by {worst}");
    // The top pair is the largest off-diagonal entry of PyTorch's matrix.
    let top = &v["top"][0];
    let (a, b) = (top["a"].as_u64().expect("a") as usize, top["b"].as_u64().expect("b") as usize);
    let best = want
        .iter()
        .enumerate()
        .flat_map(|(i, row)| {
            row.as_array()
                .expect("row")
                .iter()
                .enumerate()
                .filter(move |(j, _)| *j > i)
                .map(|(_, c)| c.as_f64().expect("f"))
        })
        .fold(f64::NEG_INFINITY, f64::max);
    assert!((want[a][b].as_f64().expect("f") - best).abs() < 1e-4, "top pair ({a}, {b}) is not PyTorch's most similar");
    let share = v["redundancy"].as_f64().expect("redundancy");
    assert!((0.0..=1.0).contains(&share));
}

#[test]
fn ghost_pairs_use_the_dumped_maps() {
    // Seeded weights, a generated photo: the pairs must be the cosines of the maps `run` dumps under the
    // node names `ghost` reports, ghost j made from intrinsic j / (s − 1) (s = 2 in the released models).
    let dir = tempdir("ghost");
    let photo = dir.join("photo.png");
    let mut image = image::RgbImage::new(80, 64);
    for (x, y, p) in image.enumerate_pixels_mut() {
        *p = image::Rgb([(x * 3) as u8, (y * 4) as u8, ((x * y) % 251) as u8]);
    }
    image.save(&photo).expect("png");
    let photo = photo.to_string_lossy().into_owned();
    let v = json(&["ghost", "ghostnet_050", "--image", &photo, "--resolution", "64", "--format", "json"]);
    let modules = v["modules"].as_array().expect("modules");
    // timm ghostnet_050: 16 bottlenecks of two Ghost modules.
    assert_eq!(modules.len(), 32);
    let dump = dir.join("maps");
    let dump_s = dump.to_string_lossy().into_owned();
    let run =
        convscope(&["run", "ghostnet_050", "--image", &photo, "--resolution", "64", "--dump-activations", &dump_s]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for module in [&modules[0], &modules[17], &modules[31]] {
        let intrinsic = npy_values(&dump.join(format!("{}.npy", module["intrinsic"].as_str().expect("name"))));
        let ghost = npy_values(&dump.join(format!("{}.npy", module["ghost"].as_str().expect("name"))));
        let pairs = module["pairs"].as_array().expect("pairs");
        let plane = ghost.len() / pairs.len();
        assert_eq!(intrinsic.len(), ghost.len(), "s = 2: as many ghosts as intrinsic maps");
        for p in pairs {
            let (j, i) = (p["ghost"].as_u64().expect("j") as usize, p["intrinsic"].as_u64().expect("i") as usize);
            assert_eq!(i, j, "s = 2: ghost j comes from intrinsic j");
            let (a, b) = (&ghost[j * plane..(j + 1) * plane], &intrinsic[i * plane..(i + 1) * plane]);
            let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            let (na, nb) = (
                a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt(),
                b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt(),
            );
            let want = if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) };
            let got = p["cosine"].as_f64().expect("cosine");
            assert!((got - want).abs() < 1e-5, "{} ghost {j}: {got} vs {want}", module["name"]);
        }
    }
}

#[test]
fn bad_insight_arguments_end_with_one_line() {
    fails_with(&["shuffle", "--channels", "10", "--groups", "3"], "3 groups do not divide 10 channels");
    fails_with(&["shuffle", "--channels", "0", "--groups", "1"], "must be positive");
    fails_with(&["dsc", "--channels", "0,4", "--kernel", "3", "--resolution", "7"], "must be positive");
    fails_with(&["dsc", "--channels", "4", "--kernel", "3", "--resolution", "7"], "two positive numbers");
    let input = fixture("input_48.npy");
    let weights = fixture("mobilenet_v1_025_f16.safetensors");
    let common = ["--width", "0.25", "--resolution", "48", "--weights", &weights, "--input", &input];
    let mut args = vec!["similarity", "mobilenet_v1"];
    args.extend_from_slice(&common);
    args.extend_from_slice(&["--layer", "no.such.layer"]);
    fails_with(&args, "no node named \"no.such.layer\"");
    let mut args = vec!["similarity", "mobilenet_v1"];
    args.extend_from_slice(&common);
    args.extend_from_slice(&["--layer", "classifier"]);
    fails_with(&args, "not a map");
    let mut args = vec!["ghost", "mobilenet_v1"];
    args.extend_from_slice(&common);
    fails_with(&args, "has no Ghost modules");
    fails_with(&["similarity", "mobilenet_v1", "--layer", "x"], "--image");
}

#[test]
fn table_swaps_convolutions_for_modules() {
    // Han et al. 2020, Table 5: Ghost-ResNet-50 (s = 2) 2.2B FLOPs (multiply-adds), (s = 4) 1.2B.
    for (s, published) in [("2,3", 2.2), ("4,3", 1.2)] {
        let v = json(&["table", "resnet50", "--swap", "ghost", "--ghost", s, "--format", "json"]);
        let billions = v["totals"]["macs"].as_f64().expect("macs") / 1e9;
        assert_eq!((billions * 10.0).round() / 10.0, published, "s,d = {s}: {billions}");
        let layers = v["layers"].as_array().expect("layers");
        assert!(layers.iter().any(|l| l["name"] == "layer1.0.conv1.cheap_operation"));
    }
    // The stem stays; AdderNet keeps the weights and drops the multiplications of every other conv.
    let plain = json(&["table", "resnet18", "--format", "json"]);
    let adder = json(&["table", "resnet18", "--swap", "adder", "--format", "json"]);
    assert_eq!(plain["totals"]["params"], adder["totals"]["params"]);
    let compconv = json(&["table", "compconv128_resnet50", "--format", "json"]);
    let swapped = json(&["table", "resnet50", "--swap", "compconv", "--compconv-c0", "128", "--format", "json"]);
    assert_eq!(compconv["totals"], swapped["totals"], "the zoo's CompConv128-ResNet-50 is the swap");
    fails_with(&["table", "resnet50", "--swap", "compconv", "--compconv-depth", "5"], "copies 75 input channels");
    fails_with(&["table", "resnet50", "--compconv-c0", "64"], "go with --swap compconv");
    fails_with(&["table", "resnet50", "--swap", "ghost", "--ghost", "1,3"], "needs s ≥ 2");
}

#[test]
fn anatomy_lists_a_blocks_ops_with_the_tables_names() {
    // torchvision mobilenet_v2 features.3: its nine ops and the input from features.2.
    let v = json(&["anatomy", "mobilenet_v2", "--block", "features.3", "--format", "json"]);
    let table = json(&["table", "mobilenet_v2", "--format", "json"]);
    let in_table: Vec<&str> =
        table["layers"].as_array().expect("layers").iter().filter_map(|l| l["name"].as_str()).collect();
    let nodes = v["nodes"].as_array().expect("nodes");
    let ops: Vec<&str> = nodes.iter().filter(|n| n["input"] == false).filter_map(|n| n["name"].as_str()).collect();
    assert_eq!(ops.len(), 9);
    assert!(ops.iter().all(|n| in_table.contains(n) && n.starts_with("features.3.")), "{ops:?}");
    let inputs: Vec<&str> = nodes.iter().filter(|n| n["input"] == true).filter_map(|n| n["name"].as_str()).collect();
    assert_eq!(inputs, vec!["features.2.conv.3"]);
    // Every edge joins two listed nodes; the skip goes from the input to the add.
    let named = |n: &serde_json::Value| nodes.iter().any(|m| m["name"] == *n);
    let edges = v["edges"].as_array().expect("edges");
    assert!(edges.iter().all(|e| named(&e["from"]) && named(&e["to"])));
    assert!(edges.iter().any(|e| e["from"] == "features.2.conv.3" && e["to"] == "features.3.add"));
    // The shapes on the edges are the table's outputs.
    let shape_of = |name: &str| {
        table["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .find(|l| l["name"] == name)
            .map(|l| l["output_shape"].clone())
    };
    let e = edges.iter().find(|e| e["from"] == "features.3.conv.0.0").expect("edge");
    let dims: Vec<String> = e["shape"].as_array().expect("shape").iter().map(ToString::to_string).collect();
    assert_eq!(Some(serde_json::json!(format!("[{}]", dims.join("×")))), shape_of("features.3.conv.0.0"));

    // SVG: well-formed XML with one box per node; DOT: one edge line per edge.
    let output = convscope(&["anatomy", "shufflenet_v2_x1_0", "--block", "stage2.1", "--format", "svg"]);
    assert!(output.status.success());
    let mut reader = quick_xml::Reader::from_reader(output.stdout.as_slice());
    let (mut rects, mut buf) = (0, Vec::new());
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e))
                if e.name().as_ref() == b"rect" =>
            {
                rects += 1
            }
            Ok(_) => {}
            Err(e) => panic!("the SVG is not well-formed XML: {e}"),
        }
        buf.clear();
    }
    let v = json(&["anatomy", "shufflenet_v2_x1_0", "--block", "stage2.1", "--format", "json"]);
    assert_eq!(rects, v["nodes"].as_array().expect("nodes").len() + 1, "one box per node and the background");
    let dot = convscope(&["anatomy", "shufflenet_v2_x1_0", "--block", "stage2.1", "--format", "dot"]);
    let dot = String::from_utf8(dot.stdout).expect("UTF-8");
    assert_eq!(dot.matches(" -> ").count(), v["edges"].as_array().expect("edges").len());
    fails_with(&["anatomy", "mobilenet_v2", "--block", "nowhere"], "has no block named \"nowhere\"");
}
