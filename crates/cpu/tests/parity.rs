//! The CPU engine against PyTorch on identical weights.
//!
//! `tests/parity/<id>.json` come from tools/parity.py (torch 2.15.0, torchvision 0.29.2, timm 1.0.31): the
//! zoo model's reference implementation with every tensor drawn by convscope's seeded generator
//! (crates/weights/src/synthetic.rs, re-implemented in numpy bit for bit), run on a seeded input at a
//! reduced resolution. Here the same weights are drawn in Rust, the graph must ask for exactly the
//! fixture's state-dict keys and shapes, and logits and sampled block outputs must agree within
//! 1e-4 × the largest magnitude.

#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use convscope_cpu::{Capture, Engine, Tensor};
use convscope_graph::{Graph, NodeId, Shape};
use convscope_weights::{bind, synthetic};
use convscope_zoo::Variant;

#[derive(serde::Deserialize)]
struct Fixture {
    id: String,
    source: String,
    seed: u64,
    resolution: usize,
    keys: Vec<(String, Vec<usize>)>,
    logits: Vec<f32>,
    blocks: BTreeMap<String, Sample>,
}

#[derive(serde::Deserialize)]
struct Sample {
    shape: Vec<usize>,
    indices: Vec<usize>,
    values: Vec<f32>,
    max_abs: f32,
}

/// The node whose output is block `name`'s output: the last node inside it (or the node of that name).
fn block_output(graph: &Graph, name: &str) -> Option<NodeId> {
    let Some(block) = graph.blocks.iter().position(|b| b.name == name) else { return graph.find(name) };
    let id = convscope_graph::BlockId(block);
    graph.nodes.iter().rposition(|n| graph.is_in_block(n, id)).map(NodeId)
}

fn check(file: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parity").join(file);
    let fixture: Fixture = serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("fixture JSON");
    let entry = convscope_zoo::find(&fixture.id).unwrap_or_else(|| panic!("no zoo model {}", fixture.id));
    let graph = entry.build(&Variant { resolution: fixture.resolution, ..entry.default }).expect("builds");

    let ours: BTreeMap<String, Vec<usize>> = bind::expected(&graph).into_iter().map(|e| (e.key, e.shape)).collect();
    let theirs: BTreeMap<String, Vec<usize>> = fixture.keys.into_iter().collect();
    let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let unexpected: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(missing.is_empty() && unexpected.is_empty(), "{file}: missing {missing:?}, unexpected {unexpected:?}");
    let differing: Vec<String> = ours
        .iter()
        .filter(|(k, v)| theirs.get(*k) != Some(v))
        .take(5)
        .map(|(k, v)| format!("{k}: ours {v:?}, reference {:?}", theirs.get(k)))
        .collect();
    assert!(differing.is_empty(), "{file}: shapes differ: {differing:?}");

    let weights = synthetic::init(&graph, fixture.seed);
    let engine = Engine::new(&graph, &weights).expect("plan");
    let r = fixture.resolution;
    let input =
        Tensor::new(Shape::map(3, r, r), synthetic::unit_values(fixture.seed, "input", 3 * r * r)).expect("input");
    let outputs = engine.run(input, Capture::All).expect("runs");

    let max_logit = fixture.logits.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = outputs.output.data.iter().zip(&fixture.logits).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert_eq!(outputs.output.data.len(), fixture.logits.len(), "{file}: logit count");
    assert!(
        worst <= 1e-4 * max_logit,
        "{file}: logits differ by {worst} (max |logit| {max_logit}) from {}",
        fixture.source
    );
    for (name, sample) in &fixture.blocks {
        let node = block_output(&graph, name).unwrap_or_else(|| panic!("{file}: no block {name}"));
        let got = outputs.activations[node.0].as_ref().expect("captured");
        let shape = [got.shape.c, got.shape.h, got.shape.w];
        assert_eq!(&shape[..sample.shape.len()], sample.shape.as_slice(), "{file}: {name} shape");
        let worst =
            sample.indices.iter().zip(&sample.values).map(|(&i, &v)| (got.data[i] - v).abs()).fold(0.0, f32::max);
        assert!(worst <= 1e-4 * sample.max_abs, "{file}: block {name} differs by {worst} (max {})", sample.max_abs);
    }
}

macro_rules! parity {
    ($($name:ident),* $(,)?) => {
        $(#[test]
        fn $name() {
            check(concat!(stringify!($name), ".json"));
        })*
    };
}

parity!(
    mobilenet_v2,
    mobilenet_v3_small,
    shufflenet_v2_x1_0,
    squeezenet1_1,
    ghostnet_100,
    efficientnet_lite0,
    efficientnet_b0,
    efficientnet_v2_s,
    mobilenet_v3_large,
    inception_v3,
    googlenet,
    resnet18,
    xception,
    squeezenext_23,
    channelnet_v1,
    shufflenet_v1,
    micronet_m0,
    condensenet_74_c4,
    addernet_resnet18,
    g_ghost_regnetx_032,
    igcv1_l100m2,
);

#[derive(serde::Deserialize)]
struct LrnCase {
    size: usize,
    alpha: f32,
    beta: f32,
    k: f32,
    input_scale: f32,
    shape: [usize; 3],
    output: Vec<f32>,
}

#[test]
fn local_response_norm_matches_pytorch() {
    // tests/ops.json: torch.nn.LocalResponseNorm on a seeded [8, 5, 6] input (tools/parity.py ops).
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ops.json");
    let cases: BTreeMap<String, LrnCase> =
        serde_json::from_slice(&std::fs::read(path).expect("ops.json")).expect("JSON");
    assert_eq!(cases.len(), 3);
    for (name, case) in cases {
        let [c, h, w] = case.shape;
        let mut b = convscope_graph::GraphBuilder::new("lrn");
        let x = b.input(Shape::map(c, h, w)).expect("input");
        b.lrn("lrn", x, case.size, case.alpha, case.beta, case.k).expect("lrn");
        let graph = b.finish().expect("graph");
        let engine = Engine::new(&graph, &synthetic::init(&graph, 0)).expect("plan");
        let values: Vec<f32> =
            synthetic::unit_values(2024, "lrn", c * h * w).iter().map(|v| v * case.input_scale).collect();
        let out = engine.run(Tensor::new(Shape::map(c, h, w), values).expect("input"), Capture::Output).expect("run");
        let max = case.output.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = out.output.data.iter().zip(&case.output).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst <= 1e-5 * max, "{name}: differs by {worst}");
    }
}

#[test]
fn every_fixture_has_a_test() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parity");
    let source = include_str!("parity.rs");
    for entry in std::fs::read_dir(dir).expect("parity dir") {
        let name = entry.expect("entry").path().file_stem().expect("stem").to_string_lossy().into_owned();
        assert!(source.contains(&format!("    {name},")), "tests/parity/{name}.json has no test in parity.rs");
    }
}

#[test]
fn capturing_only_the_output_frees_maps_and_gives_the_same_logits() {
    let entry = convscope_zoo::find("ghostnet_100").expect("zoo");
    let graph = entry.build(&Variant { resolution: 64, ..entry.default }).expect("builds");
    let engine = Engine::new(&graph, &synthetic::init(&graph, 3)).expect("plan");
    let input = || Tensor::new(Shape::map(3, 64, 64), synthetic::unit_values(3, "input", 3 * 64 * 64)).expect("input");
    let all = engine.run(input(), Capture::All).expect("all");
    let mut run = engine.start(input(), Capture::Output).expect("start");
    let mut steps = 0;
    while run.step().expect("step") {
        steps += 1;
        assert_eq!(run.progress().0, steps + 1);
    }
    let only = run.finish().expect("finish");
    assert_eq!(all.output, only.output);
    assert!(all.activations.iter().all(Option::is_some), "Capture::All keeps every node");
    assert_eq!(only.activations.iter().filter(|a| a.is_some()).count(), 1, "only the output is kept");
}

/// Splitting CHW convolutions over threads (by output channels for GEMMs, by groups for depthwise and
/// grouped kernels) computes every output exactly as one thread does, bit for bit: the same kernels on
/// disjoint channel ranges (and GEMM parts never cross the crate's small-size blocking, `gemm_parts`). ShuffleNet V1 (g = 3, its default) has grouped 1×1 and depthwise 3×3 convs, at a size where
/// every large layer is split. (Channels-last GEMMs split by pixels, where the GEMM may block its sums
/// differently: `channels_last_chains_give_the_maps_of_the_channels_first_engine` covers them.)
#[test]
fn threads_split_channels_without_changing_the_result() {
    for id in ["shufflenet_v1", "mobilenet_v2"] {
        let entry = convscope_zoo::find(id).expect("zoo");
        let graph = entry.build(&Variant { resolution: 160, ..entry.default }).expect("builds");
        let engine = Engine::channels_first(&graph, &synthetic::init(&graph, 5)).expect("plan");
        let input =
            || Tensor::new(Shape::map(3, 160, 160), synthetic::unit_values(5, "input", 3 * 160 * 160)).expect("input");
        let one = engine.clone().with_threads(1).run(input(), Capture::All).expect("one thread");
        let three = engine.with_threads(3).run(input(), Capture::All).expect("three threads");
        for (node, (a, b)) in one.activations.iter().zip(&three.activations).enumerate() {
            let (Some(a), Some(b)) = (a, b) else { panic!("{id}: Capture::All keeps every node") };
            let worst = a.data.iter().zip(b.data.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
            assert!(worst == 0.0, "{id}: map {node} ({}) differs by {worst}", graph.nodes[node].name);
        }
    }
}

/// Inverted-residual trunks run channels-last (`layout.rs`): GEMMs reading and writing HWC, residual
/// sums in HWC, global pools reading HWC, the HWC depthwise kernel (HWC in and out, transposing a CHW input or output on small
/// maps). Every captured map, handed out CHW, equals the all-CHW engine's up to float rounding (other
/// kernels sum in another order), on one thread and on three: within 1e-4 × the map's largest magnitude,
/// the bound of the PyTorch comparisons above. Measured worst: below 1e-5 with the AVX-512 kernels,
/// 1.14e-5 with the AVX2 ones (GhostNet's `blocks.8.3.se.conv_expand`, 40 layers deep); a layout
/// mistake puts values in the wrong place, an error of the order of the values themselves.
#[test]
fn channels_last_chains_give_the_maps_of_the_channels_first_engine() {
    use convscope_cpu::StepKind;
    use convscope_cpu::kernels::conv::Method;
    // MobileNetV2 at 224² ends on 7² maps, whose wide pointwise convolutions take 48-channel weight
    // panels where the CPU has AVX-512 or AVX2 (`pointwise_hwc.rs`).
    let models = [
        ("efficientnet_lite0", 160),
        ("mobilenet_v2", 160),
        ("mobilenet_v2", 224),
        ("efficientnet_b0", 96),
        ("ghostnet_100", 96),
    ];
    for (id, resolution) in models {
        let entry = convscope_zoo::find(id).expect("zoo");
        let graph = entry.build(&Variant { resolution, ..entry.default }).expect("builds");
        let weights = synthetic::init(&graph, 9);
        let mixed = Engine::new(&graph, &weights).expect("plan");
        let chw = Engine::channels_first(&graph, &weights).expect("plan");
        let convs: Vec<_> = mixed
            .plan
            .steps
            .iter()
            .filter_map(|s| if let StepKind::Conv(c) = &s.kind { Some(c.as_ref()) } else { None })
            .collect();
        let depthwise = |input_hwc, output_hwc| {
            convs
                .iter()
                .any(|c| c.method == Method::DepthwiseHwc && c.input_hwc == input_hwc && c.output_hwc == output_hwc)
        };
        if id == "efficientnet_b0" {
            assert!(depthwise(true, false), "{id}: a depthwise writing CHW for its squeeze-excite");
        } else if id == "ghostnet_100" {
            // Ghost modules' cheap depthwise ops sit between CHW maps (their outputs are concatenated).
            assert!(depthwise(false, false), "{id}: a small-map depthwise transposing both ways");
        } else {
            assert!(depthwise(true, true), "{id}: an HWC chain");
            assert!(
                convs.iter().any(|c| c.method == Method::Pointwise && c.input_hwc),
                "{id}: a pointwise reading HWC"
            );
            // The first block's 16-channel projection reads HWC (the pointwise kernel takes it), so the
            // whole trunk is HWC from the stem on: an im2col convolution writing HWC.
            assert!(convs.iter().any(|c| c.method == Method::Im2col && c.output_hwc), "{id}: a stem writing HWC");
            let sum_hwc =
                mixed.plan.steps.iter().any(|s| {
                    matches!(s.kind, StepKind::Binary { multiply: false }) && mixed.plan.channels_last[s.node.0]
                });
            assert!(sum_hwc, "{id}: a residual sum in HWC");
            let pool_reads_hwc = mixed.plan.steps.iter().any(|s| {
                matches!(s.kind, StepKind::GlobalAvgPool)
                    && s.inputs.first().is_some_and(|i| mixed.plan.channels_last[i.0])
            });
            assert!(pool_reads_hwc, "{id}: the head's global pool reading HWC");
            #[cfg(target_arch = "x86_64")]
            if resolution == 224 && convscope_cpu::kernels::pointwise_hwc::Isa::detect().is_some() {
                assert!(convs.iter().any(|c| c.weight_panels), "{id}: 7² pointwise convolutions on weight panels");
            }
        }
        let input = || {
            let n = 3 * resolution * resolution;
            Tensor::new(Shape::map(3, resolution, resolution), synthetic::unit_values(9, "input", n)).expect("input")
        };
        let want = chw.with_threads(1).run(input(), Capture::All).expect("channels first");
        for threads in [1, 3] {
            let got = mixed.clone().with_threads(threads).run(input(), Capture::All).expect("channels last");
            for (i, (a, b)) in want.activations.iter().zip(&got.activations).enumerate() {
                let (Some(a), Some(b)) = (a, b) else { panic!("{id}: Capture::All keeps every node") };
                assert_eq!(a.shape, b.shape);
                let worst = a.data.iter().zip(b.data.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
                let max = a.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let name = &graph.nodes[i].name;
                assert!(worst <= 1e-4 * max.max(1.0), "{id}, {threads} threads: {name} differs by {worst} (max {max})");
            }
        }
    }
}

/// Runs on several threads at once share rayon's pool, and each keeps helpers awake on it
/// (`help_until` in lib.rs): eight concurrent two- and three-thread runs, each started from its own
/// thread, all finish (a helper spinning above a run it waits for would hang here, so the test fails
/// after a minute instead) and all give the one-thread logits.
#[test]
fn concurrent_runs_on_the_shared_pool_all_finish_with_the_same_result() {
    let entry = convscope_zoo::find("mobilenet_v2").expect("zoo");
    let graph = entry.build(&Variant { resolution: 96, ..entry.default }).expect("builds");
    let engine = Engine::new(&graph, &synthetic::init(&graph, 3)).expect("plan");
    let input = || Tensor::new(Shape::map(3, 96, 96), synthetic::unit_values(3, "input", 3 * 96 * 96)).expect("input");
    let want = engine.clone().with_threads(1).run(input(), Capture::Output).expect("one thread").output.data;
    let (sender, results) = std::sync::mpsc::channel();
    for i in 0..8 {
        let (engine, sender) = (engine.clone().with_threads(2 + i % 2), sender.clone());
        std::thread::spawn(move || {
            let runs: Vec<_> = (0..5).map(|_| engine.run(input(), Capture::Output).map(|o| o.output.data)).collect();
            sender.send(runs).expect("the test waits");
        });
    }
    for _ in 0..8 {
        let runs = results.recv_timeout(std::time::Duration::from_secs(60)).expect("every concurrent run finishes");
        for logits in runs {
            let logits = logits.expect("runs");
            let worst = want.iter().zip(logits.iter()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst <= 1e-5, "a concurrent run's logits differ by {worst}");
        }
    }
}
