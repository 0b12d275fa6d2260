//! The GPU engine against the CPU engine (the reference, itself checked against PyTorch): the same graph,
//! the same seeded weights and input, every node's map within 1e-3 × that map's largest magnitude. One
//! test body ([`check`]) for every op on its own and for every model of the zoo — at a reduced
//! resolution, and at 224² for the four the browser runs.
//!
//! Natively this runs on whatever adapter wgpu finds (lavapipe in CI, where a missing adapter fails
//! the test: `CONVSCOPE_REQUIRE_GPU=1`).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use convscope_engine::{Capture, Tensor};
use convscope_gpu::{ConvKernels, EngineOptions, GpuContext, GpuEngine, GpuMaps};
use convscope_graph::{Activation, Arithmetic, Conv2d, Graph, GraphBuilder, NodeId, Padding, Pool, Shape};
use convscope_weights::synthetic;
use convscope_zoo::Variant;

fn gpu() -> Option<GpuContext> {
    match pollster::block_on(GpuContext::request_headless()) {
        Ok(ctx) => Some(ctx),
        Err(err) => {
            let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
                || std::env::var("CONVSCOPE_REQUIRE_GPU").is_ok_and(|v| v == "1");
            assert!(!required, "a GPU adapter is required here but none is usable ({err}); install lavapipe");
            eprintln!("SKIPPED: no usable GPU adapter ({err}). Install mesa-vulkan-drivers for lavapipe.");
            None
        }
    }
}

/// Runs `graph` on both engines and compares every node's map; returns a description of each mismatch.
fn check(ctx: &GpuContext, label: &str, graph: &Graph, seed: u64) -> Vec<String> {
    check_with(ctx, label, graph, seed, EngineOptions::default())
}

fn check_with(ctx: &GpuContext, label: &str, graph: &Graph, seed: u64, options: EngineOptions) -> Vec<String> {
    let weights = synthetic::init(graph, seed);
    let shape = graph.input_shape();
    let input =
        Tensor::new(shape, synthetic::unit_values(seed, "input", shape.checked_numel().expect("size"))).expect("input");
    let cpu = convscope_cpu::Engine::channels_first(graph, &weights).expect("CPU plan");
    let want = cpu.run(input.clone(), Capture::All).expect("CPU run");
    let gpu =
        GpuEngine::with_options(ctx, graph, &weights, options).unwrap_or_else(|e| panic!("{label}: GPU engine: {e}"));
    // Keeping only the logits lets buffers be reused (and a concatenation's buffer be made at its first
    // part's step): the same logits, bit for bit.
    let lean =
        convscope_engine::Engine::run(&gpu, input.clone(), Capture::Output).unwrap_or_else(|e| panic!("{label}: {e}"));
    let got = convscope_engine::Engine::run(&gpu, input, Capture::All).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(lean.output.data, got.output.data, "{label}: logits with buffers reused");
    let maps = got.device.as_ref().and_then(|d| d.as_any().downcast_ref::<GpuMaps>()).expect("maps on the GPU");

    // The relative error of each map; a map fails when its own error is above 1e-3 of its largest
    // magnitude while the error each input carries is below 1e-4, measured against the input's own
    // magnitude and against the map's (the op made the error rather than inherited it: a squashing op
    // such as h-sigmoid, whose outputs are at most 1, after maps of magnitude 1e3–1e5 — MicroNet with
    // seeded weights — turns its inputs' last bits into errors of its own scale, and what multiplies by
    // such an output inherits them: rounding, not a wrong kernel). The logits always count.
    let magnitude = |map: &[f32]| map.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    let relative = |cpu: &[f32], gpu: &[f32]| -> (f32, usize) {
        let max = magnitude(cpu);
        let (worst, at) = cpu
            .iter()
            .zip(gpu)
            .enumerate()
            .map(|(i, (a, b))| if a.is_finite() && b.is_finite() { ((a - b).abs(), i) } else { (f32::INFINITY, i) })
            .fold((0.0f32, 0), |m, d| if d.0 > m.0 { d } else { m });
        (worst / max, at)
    };
    let mut failures = Vec::new();
    assert_eq!(want.output.data.len(), got.output.data.len(), "{label}: logit count");
    let (error, at) = relative(&want.output.data, &got.output.data);
    if error > 1e-3 {
        failures.push(format!(
            "{label} logits: relative error {error:e} at {at} (cpu {}, gpu {})",
            want.output.data[at], got.output.data[at]
        ));
    }
    let nodes: Vec<NodeId> = (0..graph.nodes.len()).filter(|&i| want.activations[i].is_some()).map(NodeId).collect();
    let read = maps.read_many_blocking(&nodes);
    // Each map's relative error and largest absolute error.
    let mut errors = vec![(0.0f32, 0.0f32); graph.nodes.len()];
    for (&id, map) in nodes.iter().zip(read) {
        let (node, cpu_map) = (&graph.nodes[id.0], want.activations[id.0].as_ref().expect("captured"));
        let gpu_map = map.expect("kept").expect("read back");
        assert_eq!(gpu_map.shape, cpu_map.shape, "{label} {}", node.name);
        let (error, at) = relative(&cpu_map.data, &gpu_map.data);
        let scale = magnitude(&cpu_map.data);
        errors[id.0] = (error, error * scale);
        let inherited = node.inputs.iter().map(|i| errors[i.0].0.max(errors[i.0].1 / scale)).fold(0.0f32, f32::max);
        if error > 1e-3 && inherited <= 1e-4 {
            failures.push(format!(
                "{label} {} ({}): relative error {error:e} at {at} (cpu {}, gpu {}), inputs {inherited:e}",
                node.name,
                node.op.label(),
                cpu_map.data[at],
                gpu_map.data[at]
            ));
        }
    }
    failures
}

fn assert_ok(failures: Vec<String>) {
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// A one-op graph on a `[c, h, w]` input, built by `op`.
fn single(c: usize, h: usize, w: usize, op: impl FnOnce(&mut GraphBuilder, convscope_graph::NodeId)) -> Graph {
    let mut b = GraphBuilder::new("op");
    let x = b.input(Shape::map(c, h, w)).expect("input");
    op(&mut b, x);
    b.finish().expect("graph")
}

#[test]
fn every_op_matches_the_cpu_engine() {
    let Some(ctx) = gpu() else { return };
    let mut failures = Vec::new();
    let conv = |b: &mut GraphBuilder, x, c: Conv2d| {
        b.conv("conv", x, c).expect("conv");
    };
    let mut cases: Vec<(&str, Graph)> = vec![
        ("pointwise", single(24, 9, 11, |b, x| conv(b, x, Conv2d::new(24, 40, 1, 1).bias(true)))),
        ("dense 3×3 /2", single(3, 17, 15, |b, x| conv(b, x, Conv2d::new(3, 33, 3, 2)))),
        (
            "dense 5×5 dilated",
            single(8, 20, 20, |b, x| {
                conv(b, x, Conv2d { dilation: [2, 2], padding: Padding::uniform(4), ..Conv2d::new(8, 16, 5, 1) })
            }),
        ),
        (
            "dense 7×1 asymmetric",
            single(6, 13, 10, |b, x| {
                conv(
                    b,
                    x,
                    Conv2d::new(6, 12, 1, 1).kernel(7, 1).padding(Padding { top: 3, bottom: 2, left: 0, right: 1 }),
                )
            }),
        ),
        ("grouped 3×3", single(24, 10, 10, |b, x| conv(b, x, Conv2d::new(24, 36, 3, 1).groups(3)))),
        ("grouped 1×1 g8", single(64, 7, 7, |b, x| conv(b, x, Conv2d::new(64, 96, 1, 1).groups(8)))),
        ("depthwise 3×3", single(32, 14, 14, |b, x| conv(b, x, Conv2d::new(32, 32, 3, 1).depthwise().bias(true)))),
        ("depthwise 5×5 /2", single(40, 15, 15, |b, x| conv(b, x, Conv2d::new(40, 40, 5, 2).depthwise()))),
        (
            "depthwise tf-same",
            single(16, 12, 12, |b, x| {
                conv(
                    b,
                    x,
                    Conv2d::new(16, 16, 3, 2).depthwise().padding(Padding::tf_same([12, 12], [3, 3], [2, 2], [1, 1])),
                )
            }),
        ),
        ("adder", single(8, 9, 9, |b, x| conv(b, x, Conv2d::new(8, 12, 3, 1).arithmetic(Arithmetic::Adder)))),
        ("mitchell", single(8, 9, 9, |b, x| conv(b, x, Conv2d::new(8, 12, 3, 1).arithmetic(Arithmetic::Mitchell)))),
        (
            "conv + bn + relu6",
            single(16, 8, 8, |b, x| {
                b.conv_bn_act(["c", "bn", "act"], x, Conv2d::new(16, 24, 3, 1), Some(Activation::Relu6)).expect("cba");
            }),
        ),
        (
            "bn alone",
            single(12, 6, 6, |b, x| {
                b.bn("bn", x).expect("bn");
            }),
        ),
        (
            "add",
            single(8, 6, 7, |b, x| {
                let y = b.act("a", x, Activation::Relu).expect("act");
                b.add("add", x, y).expect("add");
            }),
        ),
        (
            "squeeze-and-excite",
            single(16, 7, 7, |b, x| {
                let p = b.global_avg_pool("pool", x).expect("gap");
                let r = b.conv("reduce", p, Conv2d::new(16, 4, 1, 1).bias(true)).expect("reduce");
                let r = b.act("relu", r, Activation::Relu).expect("relu");
                let e = b.conv("expand", r, Conv2d::new(4, 16, 1, 1).bias(true)).expect("expand");
                let g = b.act("gate", e, Activation::HardSigmoid).expect("gate");
                b.mul("mul", x, g).expect("mul");
            }),
        ),
        (
            "concat, slice, shuffle",
            single(12, 5, 5, |b, x| {
                let a = b.slice("a", x, 0, 6).expect("slice");
                let c = b.slice("c", x, 6, 12).expect("slice");
                let a = b.act("r", a, Activation::Relu).expect("act");
                let y = b.concat("cat", &[c, a]).expect("concat");
                b.shuffle("shuffle", y, 3).expect("shuffle");
            }),
        ),
        // Shuffles read only by convolutions, concatenations and slices are fused into those reads in
        // runs that keep no shuffled map (the logits of such a run are checked against a full capture).
        (
            "shuffle → depthwise",
            single(12, 6, 6, |b, x| {
                let s = b.shuffle("shuffle", x, 3).expect("shuffle");
                conv(b, s, Conv2d::new(12, 12, 3, 1).depthwise().bias(true));
            }),
        ),
        (
            "shuffle → grouped conv",
            single(16, 5, 7, |b, x| {
                let y = b.act("r", x, Activation::Relu).expect("act");
                let s = b.shuffle("shuffle", y, 4).expect("shuffle");
                conv(b, s, Conv2d::new(16, 8, 3, 1).groups(2));
            }),
        ),
        (
            "shuffle → split → conv, concat",
            single(8, 5, 5, |b, x| {
                let y = b.act("r", x, Activation::Relu).expect("act");
                let s = b.shuffle("shuffle", y, 2).expect("shuffle");
                let left = b.slice("left", s, 0, 4).expect("slice");
                let right = b.slice("right", s, 4, 8).expect("slice");
                let r = b.conv("branch", right, Conv2d::new(4, 4, 1, 1)).expect("conv");
                let cat = b.concat("cat", &[left, r]).expect("concat");
                let s = b.shuffle("shuffle 2", cat, 2).expect("shuffle");
                let part = b.slice("copied", s, 2, 6).expect("slice");
                b.act("out", part, Activation::Relu).expect("act");
            }),
        ),
        (
            "max pool ceil",
            single(4, 13, 13, |b, x| {
                b.pool("pool", x, Pool::max(3, 2, 0).ceil_mode(true)).expect("pool");
            }),
        ),
        (
            "avg pool padded",
            single(4, 10, 10, |b, x| {
                b.pool("pool", x, Pool::avg(3, 1, 1)).expect("pool");
            }),
        ),
        (
            "classifier",
            single(32, 6, 6, |b, x| {
                let p = b.global_avg_pool("pool", x).expect("gap");
                let f = b.flatten("flat", p).expect("flatten");
                let d = b.dropout("drop", f, 0.2).expect("dropout");
                let l = b.linear("fc", d, 10, true).expect("linear");
                b.softmax("softmax", l).expect("softmax");
            }),
        ),
        (
            "lrn",
            single(10, 5, 6, |b, x| {
                b.lrn("lrn", x, 5, 1e-4, 0.75, 2.0).expect("lrn");
            }),
        ),
        (
            "channel-wise conv",
            single(16, 4, 4, |b, x| {
                b.channel_conv("cw", x, 2, 8, 4, 1).expect("channel conv");
            }),
        ),
        (
            "index select",
            single(8, 3, 3, |b, x| {
                b.gather("index", x, 12).expect("gather");
            }),
        ),
    ];
    for activation in Activation::ALL {
        cases.push((
            "activation",
            single(6, 5, 5, |b, x| {
                b.act("act", x, activation).expect("act");
            }),
        ));
    }
    // Both convolution kernels on every case, whatever the adapter would pick; and every weight split
    // over bindings of 4 KB (the path VGG's and AlexNet's classifiers take on every device).
    let variants = [
        EngineOptions { conv: ConvKernels::Tiled, ..EngineOptions::default() },
        EngineOptions { conv: ConvKernels::Registers, ..EngineOptions::default() },
    ];
    for (label, graph) in &cases {
        for options in variants {
            failures.extend(check_with(&ctx, &format!("{label} ({:?})", options.conv), graph, 11, options));
        }
    }
    let split = single(64, 2, 2, |b, x| {
        let f = b.flatten("flat", x).expect("flatten");
        b.linear("fc", f, 40, true).expect("linear");
    });
    let small = EngineOptions { max_binding_bytes: Some(4096), ..EngineOptions::default() };
    failures.extend(check_with(&ctx, "linear split over bindings", &split, 11, small));
    assert_ok(failures);
}

/// Every zoo model at the smallest of these resolutions it builds at.
const REDUCED: [usize; 5] = [64, 96, 128, 160, 224];

#[test]
fn every_zoo_model_matches_the_cpu_engine() {
    let Some(ctx) = gpu() else { return };
    let mut failures = Vec::new();
    for entry in convscope_zoo::registry() {
        // Blocks at their default size (240 channels at 28²), networks at the smallest resolution.
        let graph = if entry.block {
            entry.build_default().expect("builds")
        } else {
            REDUCED
                .iter()
                .find_map(|&r| entry.build(&Variant { resolution: r, ..entry.default }).ok())
                .unwrap_or_else(|| panic!("{} builds at none of {REDUCED:?}", entry.id))
        };
        failures.extend(check(&ctx, entry.id, &graph, 7));
    }
    assert_ok(failures);
}

fn at_224(id: &str) {
    let Some(ctx) = gpu() else { return };
    let entry = convscope_zoo::find(id).expect("zoo");
    let graph = entry.build(&Variant { resolution: 224, ..entry.default }).expect("builds");
    assert_ok(check(&ctx, id, &graph, 3));
}

#[test]
fn mobilenet_v2_at_224() {
    at_224("mobilenet_v2");
}

#[test]
fn shufflenet_v2_at_224() {
    at_224("shufflenet_v2_x1_0");
}

#[test]
fn ghostnet_at_224() {
    at_224("ghostnet_100");
}

#[test]
fn efficientnet_lite0_at_224() {
    at_224("efficientnet_lite0");
}

/// Without timestamps, a profiling run submits each step alone: every step that dispatches work gets a
/// time, the total is their sum, and the logits are the plain run's.
#[test]
fn profiling_by_submission_times_every_step() {
    use convscope_engine::{Engine, Status, Timing};
    let Some(ctx) = gpu() else { return };
    let entry = convscope_zoo::find("shufflenet_v2_x1_0").expect("zoo");
    let graph = entry.build(&Variant { resolution: 64, ..entry.default }).expect("builds");
    let weights = synthetic::init(&graph, 5);
    let shape = graph.input_shape();
    let input =
        Tensor::new(shape, synthetic::unit_values(5, "input", shape.checked_numel().expect("size"))).expect("input");
    let options = EngineOptions { timestamps: false, ..EngineOptions::default() };
    let engine = GpuEngine::with_options(&ctx, &graph, &weights, options).expect("engine");
    assert!(!engine.times_steps(), "timestamps are off");
    let plain = engine.run(input.clone(), Capture::Output).expect("plain run");
    assert_eq!(plain.timing, Timing::Total);
    assert!(plain.step_ms.iter().all(Option::is_none));

    let mut run = Engine::start_profiled(&engine, input, Capture::Output).expect("profiled run");
    let mut advances = 0;
    // Stepped as the app steps it (a deadline per frame), not blocking.
    while run.advance(Some(web_time::Instant::now() + web_time::Duration::from_millis(5))).expect("advance")
        != Status::Done
    {
        advances += 1;
        assert!(advances < 1_000_000, "the profiling run never finished");
    }
    let profiled = run.finish().expect("outputs");
    assert_eq!(profiled.timing, Timing::Submissions);
    assert_eq!(profiled.output.data, plain.output.data, "a profiling run computes the same logits");
    let timed = profiled.step_ms.iter().flatten().count();
    assert_eq!(timed, engine.dispatching_steps(&Capture::Output), "every step that dispatches work is timed");
    let sum: f64 = profiled.step_ms.iter().flatten().sum();
    assert!((profiled.total_ms - sum).abs() < 1e-9 && sum > 0.0, "total {} vs sum {sum}", profiled.total_ms);
}

/// The texels of `spec`'s grid of `node`'s map, painted on the GPU (`MapPainter`).
fn painted(ctx: &GpuContext, maps: &GpuMaps, node: NodeId, spec: &convscope_gpu::GridSpec) -> Vec<u8> {
    use convscope_gpu::wgpu;
    let texture = convscope_gpu::MapPainter::paint(maps, node, spec).expect("painted");
    let [width, height] = spec.size();
    let row = (width as u32 * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: u64::from(row) * height as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(row), rows_per_image: None },
        },
        wgpu::Extent3d { width: width as u32, height: height as u32, depth_or_array_layers: 1 },
    );
    let read =
        convscope_gpu::PendingRead::encode(&ctx.device, &mut encoder, &buffer, 0, u64::from(row) * height as u64);
    ctx.queue.submit([encoder.finish()]);
    read.request();
    ctx.device.poll(wgpu::PollType::wait_indefinitely()).expect("poll");
    let words = read.try_take().expect("read back").expect("mapped");
    let bytes: Vec<u8> = words.iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes.chunks(row as usize).flat_map(|r| r[..width * 4].to_vec()).collect()
}

#[test]
fn a_map_written_into_a_concatenation_is_painted_from_its_place() {
    // Two convolutions concatenated: the second writes at channel 5 of the concatenation's buffer. Its
    // grid must be the concatenation's channels 5.. (one range per channel, so the grids are comparable).
    let Some(ctx) = gpu() else { return };
    let mut b = GraphBuilder::new("concat");
    let x = b.input(Shape::map(3, 12, 10)).expect("input");
    let first = b.conv("first", x, Conv2d::new(3, 5, 3, 1)).expect("conv");
    let second = b.conv("second", x, Conv2d::new(3, 6, 1, 1)).expect("conv");
    let cat = b.concat("cat", &[first, second]).expect("concat");
    let graph = b.finish().expect("graph");
    let weights = synthetic::init(&graph, 5);
    let input = Tensor::new(graph.input_shape(), synthetic::unit_values(5, "input", 360)).expect("input");
    let engine = GpuEngine::with_options(&ctx, &graph, &weights, EngineOptions::default()).expect("engine");
    let out = convscope_engine::Engine::run(&engine, input, Capture::All).expect("run");
    let maps = out.device.as_ref().and_then(|d| d.as_any().downcast_ref::<GpuMaps>()).expect("maps");
    let (_, offset, _) = maps.buffer(second).expect("kept");
    assert_eq!(offset, 5 * 12 * 10, "the second convolution is written in place");
    let table = std::array::from_fn(|i| (i as u32 * 0x0001_0101) | 0xff00_0000);
    let spec = |first| convscope_gpu::GridSpec {
        first,
        count: 6,
        columns: 3,
        tile: [12, 10],
        gap: 1,
        per_layer: false,
        signed: false,
        table,
    };
    let part = painted(&ctx, maps, second, &spec(0));
    let whole = painted(&ctx, maps, cat, &spec(5));
    assert!(part.iter().any(|&v| v != 0 && v != 255), "a grid of colours");
    assert_eq!(part, whole);
}
