//! `convscope run`, `bench` and `convert`: weights, inputs and the engines (CPU or GPU) from the command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use convscope_engine::{Backend, Capture, Engine, Outputs, Tensor};
use convscope_gpu::{GpuContext, GpuEngine, GpuMaps};
use convscope_graph::{Graph, NodeId, Op, Shape};
use convscope_weights::bind::{self, Bound};
use convscope_weights::{Checkpoint, convert, synthetic};
use convscope_zoo::ModelEntry;

/// The seed of the "untrained" weights every model without a checkpoint runs with.
pub const UNTRAINED_SEED: u64 = 0x00c0_ffee;

/// Where a run's weights came from.
pub enum Source {
    Pretrained(&'static str),
    File(PathBuf),
    Untrained,
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Self::Pretrained(source) => format!("pretrained: {source}"),
            Self::File(path) => format!("weights from {}", path.display()),
            Self::Untrained => {
                format!("UNTRAINED: seeded He initialization (seed {UNTRAINED_SEED:#x}), the guesses mean nothing")
            }
        }
    }

    pub fn trained(&self) -> bool {
        !matches!(self, Self::Untrained)
    }
}

/// `assets/` of the checkout: `CONVSCOPE_ASSETS`, else the first `assets/weights` found walking up from
/// the current directory or from the executable.
pub fn assets_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CONVSCOPE_ASSETS") {
        return Some(PathBuf::from(dir));
    }
    let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
    starts.into_iter().flatten().find_map(|start| {
        start.ancestors().map(|d| d.join("assets")).find(|a| a.join("weights").is_dir() || a.join("samples").is_dir())
    })
}

fn read_file(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    if meta.len() > limit {
        bail!("{what} {} is {} MB; the limit is {} MB", path.display(), meta.len() >> 20, limit >> 20);
    }
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Read a checkpoint and bind it to `graph` strictly; on a mismatch, say which zoo model it fits.
pub fn bind_file(entry: &ModelEntry, graph: &Graph, path: &Path) -> Result<Bound> {
    let bytes = read_file(path, convscope_weights::MAX_CHECKPOINT_BYTES, "checkpoint")?;
    let checkpoint = Checkpoint::from_bytes(&bytes).with_context(|| format!("{}", path.display()))?;
    bind::bind(graph, &checkpoint).map_err(|report| {
        let ranked = convscope_zoo::fit::rank(&checkpoint.shapes(), bind::needs);
        let hint = match ranked.first() {
            Some(best) if best.is_exact() => format!("; it fits {} (run that model)", best.describe()),
            Some(best) if best.id != entry.id => format!(
                "; the closest zoo model is {} ({} missing, {} unexpected, {} mismatched)",
                best.describe(),
                best.missing,
                best.unexpected,
                best.mismatched
            ),
            _ => String::new(),
        };
        anyhow::anyhow!("{} does not fit {}: {}{hint}", path.display(), entry.id, report.summary())
    })
}

/// The weights a run uses: a given file, the model's pretrained asset, or seeded "untrained" ones.
pub fn weights(entry: &ModelEntry, graph: &Graph, file: Option<&Path>) -> Result<(Bound, Source)> {
    if let Some(path) = file {
        return Ok((bind_file(entry, graph, path)?, Source::File(path.to_owned())));
    }
    if let Some(pretrained) = entry.pretrained {
        let dir =
            assets_dir().context("no assets/ directory found (run `cargo xtask setup`, or set CONVSCOPE_ASSETS)")?;
        let path = dir.join("weights").join(pretrained.asset);
        if !path.exists() {
            bail!(
                "{}'s pretrained weights {} are not installed: run `cargo xtask setup` (or pass --weights FILE)",
                entry.id,
                path.display()
            );
        }
        return Ok((bind_file(entry, graph, &path)?, Source::Pretrained(pretrained.source)));
    }
    Ok((synthetic::init(graph, UNTRAINED_SEED), Source::Untrained))
}

/// The network input: a photo preprocessed per the model's spec, or a raw CHW `.npy`.
pub fn input(entry: &ModelEntry, graph: &Graph, image: Option<&Path>, npy: Option<&Path>) -> Result<Tensor> {
    let expected = graph.input_shape();
    match (image, npy) {
        (Some(path), None) => {
            let bytes = read_file(path, convscope_input::MAX_FILE_BYTES as u64, "image")?;
            let photo = convscope_input::decode(&bytes).with_context(|| format!("{}", path.display()))?;
            if let Some(warning) = &photo.warning {
                eprintln!("warning: {}: {warning}", path.display());
            }
            let spec = convscope_zoo::InputSpec { resolution: expected.h, ..entry.input };
            let prepared = convscope_input::preprocess(&photo, &spec);
            Ok(Tensor::new(expected, prepared.chw)?)
        }
        (None, Some(path)) => {
            let bytes = read_file(path, 1 << 30, "input")?;
            let (shape, values) = crate::npy::read(&bytes).with_context(|| format!("{}", path.display()))?;
            let dims: Vec<usize> = shape.iter().copied().skip_while(|&d| d == 1 && shape.len() == 4).collect();
            if dims != [expected.c, expected.h, expected.w] {
                bail!(
                    "{} has shape {shape:?}; {} takes [1, {}, {}, {}] (NCHW float32)",
                    path.display(),
                    entry.id,
                    expected.c,
                    expected.h,
                    expected.w
                );
            }
            if let Some((at, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                bail!("{} holds {v} at element {at}: inputs must be finite numbers", path.display());
            }
            Ok(Tensor::new(expected, values)?)
        }
        (Some(_), Some(_)) => bail!("give --image or --input, not both"),
        (None, None) => bail!("give an image (--image photo.jpg) or a raw input (--input x.npy)"),
    }
}

pub struct RunArgs<'a> {
    pub variant: convscope_zoo::Variant,
    pub image: Option<&'a Path>,
    pub npy: Option<&'a Path>,
    pub weights: Option<&'a Path>,
    pub top: usize,
    pub json: bool,
    pub dump_logits: Option<&'a Path>,
    pub dump_activations: Option<&'a Path>,
    pub backend: Backend,
}

/// The engine for `backend`: the CPU engine (every core, or `threads`), or the GPU engine on the
/// adapter wgpu finds (`WGPU_BACKEND` and friends are honoured).
pub fn engine(backend: Backend, graph: &Graph, bound: &Bound, threads: Option<usize>) -> Result<Box<dyn Engine>> {
    Ok(match backend {
        Backend::Cpu => {
            let engine = convscope_cpu::Engine::new(graph, bound)?;
            Box::new(match threads {
                Some(t) => engine.with_threads(t),
                None => engine,
            })
        }
        Backend::Gpu => {
            let ctx = pollster::block_on(GpuContext::request_headless())
                .context("--backend gpu: no GPU to compute on (natively wgpu needs Vulkan, Metal or DX12; on Linux without a GPU, install mesa-vulkan-drivers for lavapipe)")?;
            Box::new(GpuEngine::new(&ctx, graph, bound)?)
        }
    })
}

pub fn run(entry: &ModelEntry, args: &RunArgs<'_>, out: &mut impl std::io::Write) -> Result<()> {
    let graph =
        entry.build(&args.variant).with_context(|| format!("{} cannot be built with these settings", entry.id))?;
    let (bound, source) = weights(entry, &graph, args.weights)?;
    let engine = engine(args.backend, &graph, &bound, None)?;
    let input = input(entry, &graph, args.image, args.npy)?;
    let capture = if args.dump_activations.is_some() { Capture::All } else { Capture::Output };
    let outputs = engine.run(input, capture)?;
    let logits = &outputs.output.data;

    if let Some(path) = args.dump_logits {
        std::fs::write(path, crate::npy::write(&[1, logits.len()], logits))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(dir) = args.dump_activations {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let maps = host_maps(&outputs)?;
        for (node, tensor) in graph.nodes.iter().zip(&maps) {
            let Some(t) = tensor else { continue };
            let shape = if t.shape.vector { vec![1, t.shape.c] } else { vec![1, t.shape.c, t.shape.h, t.shape.w] };
            let path = dir.join(format!("{}.npy", node.name.replace('/', "_")));
            std::fs::write(&path, crate::npy::write(&shape, &t.data))
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }

    let classes = if logits.len() == 1000 { convscope_zoo::imagenet_classes() } else { Vec::new() };
    let top: Vec<(usize, f32, &str)> = convscope_engine::top_k(logits, args.top.max(1))
        .into_iter()
        .map(|(i, p)| (i, p, classes.get(i).copied().unwrap_or("")))
        .collect();
    if args.json {
        let rows: Vec<serde_json::Value> =
            top.iter().map(|(i, p, name)| serde_json::json!({"index": i, "label": name, "probability": p})).collect();
        let report = serde_json::json!({
            "model": entry.id,
            "trained": source.trained(),
            "weights": source.describe(),
            "engine": outputs.backend.id(),
            "top": rows,
        });
        writeln!(out, "{report}")?;
    } else {
        writeln!(out, "{} — {} — {}", entry.id, source.describe(), engine.describe())?;
        for (rank, (i, p, name)) in top.iter().enumerate() {
            writeln!(out, "{:>2}. {:>6.2}%  {name} (class {i})", rank + 1, p * 100.0)?;
        }
    }
    Ok(())
}

/// Every captured map on the host: the CPU engine's as they are, the GPU engine's read back in one go.
pub fn host_maps(outputs: &Outputs) -> Result<Vec<Option<Tensor>>> {
    let Some(maps) = outputs.device.as_ref().and_then(|d| d.as_any().downcast_ref::<GpuMaps>()) else {
        return Ok(outputs.activations.clone());
    };
    let nodes: Vec<NodeId> = (0..outputs.activations.len()).map(NodeId).collect();
    maps.read_many_blocking(&nodes).into_iter().map(|m| m.transpose().map_err(anyhow::Error::from)).collect()
}

/// `convscope bench`: time `iters` runs of an engine at the model's default input (after `warmup`).
/// Per step: the CPU engine's wall clock per step, or the GPU's timestamps where the adapter has them
/// (else, with `layers`, one profiling run that submits each step alone).
// The CLI is native-only, where std::time::Instant (which web_time re-exports natively) is fine.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
pub fn bench(
    entry: &ModelEntry,
    backend: Backend,
    iters: usize,
    warmup: usize,
    layers: usize,
    threads: Option<usize>,
    out: &mut impl std::io::Write,
) -> Result<()> {
    let graph = entry.build_default()?;
    let (bound, source) = weights(entry, &graph, None).or_else(|_| {
        // Speed does not depend on the values: fall back to seeded weights when the asset is missing.
        Ok::<_, anyhow::Error>((synthetic::init(&graph, UNTRAINED_SEED), Source::Untrained))
    })?;
    let engine = engine(backend, &graph, &bound, threads)?;
    let shape: Shape = graph.input_shape();
    let numel = shape.checked_numel().context("input size")?;
    let input = Tensor::new(shape, synthetic::unit_values(1, "input", numel))?;
    for _ in 0..warmup {
        engine.run(input.clone(), Capture::Output)?;
    }
    let mut times = Vec::with_capacity(iters);
    let mut per_node = vec![0.0f64; graph.nodes.len()];
    let mut timing = convscope_engine::Timing::Total;
    for _ in 0..iters.max(1) {
        let start = web_time::Instant::now();
        let outputs = engine.run(input.clone(), Capture::Output)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        timing = outputs.timing;
        for (total, ms) in per_node.iter_mut().zip(&outputs.step_ms) {
            *total += ms.unwrap_or(0.0) / iters.max(1) as f64;
        }
    }
    if timing == convscope_engine::Timing::Total && layers > 0 {
        // No timestamps: one more run, each step submitted alone, for the per-step figures.
        let mut run = engine.start_profiled(input.clone(), Capture::Output)?;
        while run.advance(None)? != convscope_engine::Status::Done {}
        let outputs = run.finish()?;
        timing = outputs.timing;
        for (total, ms) in per_node.iter_mut().zip(&outputs.step_ms) {
            *total = ms.unwrap_or(0.0);
        }
    }
    let mut by_kind: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (node, &ms) in graph.nodes.iter().zip(&per_node) {
        if ms > 0.0 {
            let entry = by_kind.entry(node_kind(node)).or_default();
            entry.0 += ms;
            entry.1 += 1;
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    writeln!(
        out,
        "{} on {} at {}×{}, batch 1, {} runs ({} weights): median {median:.2} ms, mean {mean:.2} ms, min {:.2} ms",
        entry.id,
        engine.describe(),
        shape.h,
        shape.w,
        times.len(),
        if source.trained() { "trained" } else { "seeded" },
        times.first().copied().unwrap_or_default()
    )?;
    let clock = match timing {
        convscope_engine::Timing::Wall => "wall clock per step",
        convscope_engine::Timing::Timestamps => "GPU timestamps per step",
        convscope_engine::Timing::Submissions => "one submission per step",
        convscope_engine::Timing::Total => {
            writeln!(out, "  (no per-step times: this adapter has no timestamp queries)")?;
            return Ok(());
        }
    };
    let mut kinds: Vec<(String, (f64, usize))> = by_kind.into_iter().collect();
    kinds.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    let shown: Vec<String> = kinds.iter().take(6).map(|(k, (ms, n))| format!("{k} {ms:.2} ms ({n})")).collect();
    writeln!(out, "  time by step ({clock}): {}", shown.join(", "))?;
    if layers > 0 {
        let cost = convscope_graph::cost::GraphCost::of(&graph);
        let mut slowest: Vec<(usize, f64)> = per_node.iter().copied().enumerate().filter(|&(_, ms)| ms > 0.0).collect();
        slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
        writeln!(out, "  slowest steps (mean of {} runs):", iters.max(1))?;
        for (i, ms) in slowest.into_iter().take(layers) {
            let Some(node) = graph.nodes.get(i) else { continue };
            let macs = cost.per_node.get(i).map_or(0, |c| c.macs);
            writeln!(
                out,
                "    {ms:7.3} ms  {:>6.1} GMAC/s  {:<40} {:<22} {}",
                macs as f64 / ms / 1e6,
                node.name,
                node_kind(node),
                node.output
            )?;
        }
    }
    Ok(())
}

/// A short name for what a node computes, for the profile.
fn node_kind(node: &convscope_graph::Node) -> String {
    match &node.op {
        Op::Conv2d(c) => {
            let dw = c.groups == c.in_channels && c.groups > 1;
            let kind = if dw {
                "dw"
            } else if c.kernel == [1, 1] && c.groups == 1 {
                "pointwise"
            } else if c.groups > 1 {
                "grouped"
            } else {
                "dense"
            };
            format!("conv {kind} {}×{}", c.kernel[0], c.kernel[1])
        }
        Op::BatchNorm { .. } => "batch norm".into(),
        Op::Activation(a) => a.name().into(),
        Op::Mul => "mul".into(),
        Op::Add => "add".into(),
        Op::Linear { .. } => "linear".into(),
        other => other.label().split([' ', '{', '(']).next().unwrap_or("").to_owned(),
    }
}

/// How `convert` renames keys.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Rename {
    /// lukemelas EfficientNet-PyTorch names (`_blocks.N._depthwise_conv`) to timm names.
    EfficientnetPytorch,
}

/// `convscope convert`: read any checkpoint, rename, bind strictly to a model, write safetensors.
pub fn convert(entry: &ModelEntry, input: &Path, output: &Path, rename: Option<Rename>, half: bool) -> Result<String> {
    let graph = entry.build_default()?;
    let bytes = read_file(input, convscope_weights::MAX_CHECKPOINT_BYTES, "checkpoint")?;
    let mut checkpoint = Checkpoint::from_bytes(&bytes).with_context(|| format!("{}", input.display()))?;
    if let Some(Rename::EfficientnetPytorch) = rename {
        let repeats = efficientnet_repeats(&graph);
        let mut renamed = Vec::with_capacity(checkpoint.tensors.len());
        for (name, tensor) in checkpoint.tensors {
            if bind::is_counter(&name) {
                continue;
            }
            let new = convert::efficientnet_pytorch_to_timm(&name, &repeats)
                .with_context(|| format!("{name}: not an EfficientNet-PyTorch key"))?;
            renamed.push((new, tensor));
        }
        checkpoint.tensors = renamed;
    }
    let bound = bind::bind(&graph, &checkpoint)
        .map_err(|r| anyhow::anyhow!("{} does not fit {}: {}", input.display(), entry.id, r.summary()))?;
    let source =
        format!("{} converted by convscope convert", input.file_name().and_then(|n| n.to_str()).unwrap_or("?"));
    let data = convert::to_safetensors(&bound, half, &[("source", &source), ("model", entry.id)])?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(output, &data).with_context(|| format!("writing {}", output.display()))?;
    Ok(format!(
        "{}: {} tensors, {} parameters from {} ({}) -> {} ({} MB, {})",
        entry.id,
        bound.tensors.len(),
        checkpoint.parameter_count(),
        input.display(),
        checkpoint.format.name(),
        output.display(),
        data.len() >> 20,
        if half { "float16" } else { "float32" }
    ))
}

/// Blocks per stage of a timm-named EfficientNet graph (`blocks.S.I`).
fn efficientnet_repeats(graph: &Graph) -> Vec<usize> {
    let mut repeats: Vec<usize> = Vec::new();
    for node in &graph.nodes {
        let mut parts = node.name.split('.');
        if let (Some("blocks"), Some(s), Some(i)) = (parts.next(), parts.next(), parts.next())
            && let (Ok(s), Ok(i)) = (s.parse::<usize>(), i.parse::<usize>())
        {
            if repeats.len() <= s {
                repeats.resize(s + 1, 0);
            }
            if let Some(r) = repeats.get_mut(s) {
                *r = (*r).max(i + 1);
            }
        }
    }
    repeats
}
