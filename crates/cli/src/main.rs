//! `convscope`: the zoo and its cost tables from the command line.
//!
//! ```text
//! convscope list
//! convscope table <id> [--width X] [--groups G] [--resolution R] [--swap ghost|dsc|compconv|adder|mitchell] [--format text|csv|json|md] [--flops 2mac|mac|all]
//! convscope run <id> (--image P | --input x.npy) [--weights F] [--backend cpu|gpu] [--top 5] [--json] [--dump-logits out.npy] [--dump-activations DIR]
//! convscope bench <id> [--backend cpu|gpu] [--iters N]
//! convscope convert <checkpoint> <out.safetensors> --model <id> [--rename efficientnet-pytorch] [--half]
//! convscope shuffle --channels C --groups G [--format text|json]
//! convscope dsc --channels M,N --kernel K --resolution D [--format text|json]
//! convscope similarity <id> (--image X | --input x.npy) [--weights W] --layer <node> [--top K] [--threshold T] [--format text|json]
//! convscope ghost <id> (--image X | --input x.npy) [--weights W] [--format text|json]
//! convscope anatomy <id> [--block NAME] [--format json|dot|svg]
//! ```

mod infer;
mod insight;
mod npy;

/// Maps aligned to cache lines (see `convscope_cpu::alloc`).
#[global_allocator]
static ALLOCATOR: convscope_cpu::alloc::CacheAligned = convscope_cpu::alloc::CacheAligned;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::error::ErrorKind;
use clap::{Parser, Subcommand, ValueEnum};
use convscope_graph::{FlopConvention, Report};
use convscope_zoo::Variant;

#[derive(Parser)]
#[command(name = "convscope", version, about = "A microscope for lightweight convolutional networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every model of the zoo with its default input and computed size.
    List,
    /// Print the per-layer table of a model: shapes, parameters, MACs, FLOPs.
    Table {
        /// Model id, as printed by `convscope list`.
        id: String,
        /// Width multiplier (models whose width can vary).
        #[arg(long, allow_negative_numbers = true)]
        width: Option<f64>,
        /// Groups of the grouped convolutions (models that offer a choice, e.g. shufflenet_v1).
        #[arg(long)]
        groups: Option<usize>,
        /// Input and output channels of a stand-alone block, e.g. `--channels 64,128` (block_* models).
        #[arg(long, value_delimiter = ',')]
        channels: Option<Vec<usize>>,
        /// Expansion ratio t of the expanding blocks (mobilenet_v2, efficientnet_b*, expanding block_* models).
        #[arg(long)]
        expansion: Option<usize>,
        /// Ghost ratio s and cheap kernel d, e.g. `--ghost 3,5` (ghostnet_*, block_ghost_*, `--swap ghost`).
        #[arg(long, value_delimiter = ',')]
        ghost: Option<Vec<usize>>,
        /// Replace every convolution but the stem by a module (the conv-swap lab): Ghost (`--ghost s,d`,
        /// default 2,3), depthwise separable, CompConv (`--compconv-c0`, `--compconv-depth`), adder or
        /// Mitchell convolutions.
        #[arg(long, value_enum)]
        swap: Option<SwapKind>,
        /// CompConv's C0 in its depth rule d = min(⌊log2(max(1, C_in / C0))⌋ + 1, 3) (default 128).
        #[arg(long)]
        compconv_c0: Option<usize>,
        /// CompConv's depth for every layer instead of the rule (0 keeps the convolutions).
        #[arg(long)]
        compconv_depth: Option<usize>,
        /// EfficientNet compound coefficient φ (efficientnet_b*): width 1.1^φ, depth 1.2^φ and input
        /// 224·1.15^φ from B0 (--resolution and --width still override).
        #[arg(long, allow_negative_numbers = true)]
        phi: Option<f64>,
        /// Compute every multiplying convolution with Mitchell's logarithmic multiplication.
        #[arg(long)]
        mitchell: bool,
        /// Input resolution in pixels (square input).
        #[arg(long, allow_negative_numbers = true)]
        resolution: Option<usize>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// What counts as a FLOP.
        #[arg(long, value_enum, default_value_t = Flops::TwoPerMac)]
        flops: Flops,
    },
    /// Run a model on a photo (or a raw NCHW float32 .npy) and print its top guesses.
    Run {
        /// Model id, as printed by `convscope list`.
        id: String,
        /// A photo (PNG, JPEG, WebP, GIF, BMP), preprocessed per the model's input spec.
        #[arg(long)]
        image: Option<PathBuf>,
        /// A float32 NCHW tensor that bypasses preprocessing.
        #[arg(long)]
        input: Option<PathBuf>,
        /// A checkpoint (safetensors, PyTorch .pt/.pth); default: the model's pretrained weights, or
        /// seeded untrained ones.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// How many guesses to print.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Write the logits as a float32 .npy.
        #[arg(long)]
        dump_logits: Option<PathBuf>,
        /// Write every node's output as `<node name>.npy` into this folder.
        #[arg(long)]
        dump_activations: Option<PathBuf>,
        /// Width multiplier (models whose width can vary); the weights must be for that width.
        #[arg(long, allow_negative_numbers = true)]
        width: Option<f64>,
        /// Input resolution in pixels (square input).
        #[arg(long, allow_negative_numbers = true)]
        resolution: Option<usize>,
        /// The engine: the CPU, or the GPU through wgpu (Vulkan, Metal, DX12; lavapipe on a machine
        /// without a GPU).
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
    },
    /// Time the engine on a model at its default input, batch 1.
    Bench {
        id: String,
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
        /// Timed runs (after 2 warm-up runs).
        #[arg(long, default_value_t = 20)]
        iters: usize,
        /// Also list the N slowest steps (time, throughput, layer, kernel, output shape).
        #[arg(long, value_name = "N", default_value_t = 0)]
        layers: usize,
        /// Threads each convolution is split over (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Convert a checkpoint for a zoo model into safetensors (renaming keys, checking every tensor).
    Convert {
        /// The checkpoint to read.
        input: PathBuf,
        /// The .safetensors file to write.
        output: PathBuf,
        /// The zoo model the checkpoint is for.
        #[arg(long)]
        model: String,
        /// Key names to translate from.
        #[arg(long, value_enum)]
        rename: Option<infer::Rename>,
        /// Store floats as float16 (half the size).
        #[arg(long)]
        half: bool,
    },
    /// The channel-shuffle permutation and what two stacked group convolutions connect with and without it.
    Shuffle {
        #[arg(long)]
        channels: usize,
        #[arg(long)]
        groups: usize,
        #[arg(long, value_enum, default_value_t = Brief::Text)]
        format: Brief,
    },
    /// Parameters and MACs of a standard convolution and its depthwise-separable factorization.
    Dsc {
        /// Input and output channels M,N.
        #[arg(long, value_delimiter = ',')]
        channels: Vec<usize>,
        /// Kernel side D_K.
        #[arg(long)]
        kernel: usize,
        /// Map side D_F (stride 1, the size kept).
        #[arg(long)]
        resolution: usize,
        #[arg(long, value_enum, default_value_t = Brief::Text)]
        format: Brief,
    },
    /// Cosine similarity of every pair of channels of one layer's map on a photo, its near-duplicate
    /// pairs and the share of channels with a twin.
    Similarity {
        id: String,
        #[command(flatten)]
        on: PhotoArgs,
        /// A node name, as `convscope table <id>` and `run --dump-activations` name them.
        #[arg(long)]
        layer: String,
        /// How many of the most similar pairs to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// The cosine at which a channel counts as having a twin.
        #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
        threshold: f32,
        #[arg(long, value_enum, default_value_t = Brief::Text)]
        format: Brief,
    },
    /// Every Ghost module on a photo: each ghost map with the intrinsic map it is made from and their
    /// cosine similarity.
    Ghost {
        id: String,
        #[command(flatten)]
        on: PhotoArgs,
        #[arg(long, value_enum, default_value_t = Brief::Text)]
        format: Brief,
    },
    /// A block's (or the whole network's) ops and the tensors between them: JSON, Graphviz DOT or SVG.
    Anatomy {
        id: String,
        /// A block name, as `table` shows them (`── name (kind)`); default: the whole network.
        #[arg(long)]
        block: Option<String>,
        #[arg(long, value_enum, default_value_t = Diagram::Json)]
        format: Diagram,
    },
}

/// Output of `anatomy`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Diagram {
    Json,
    Dot,
    Svg,
}

/// The photo, weights and engine of `similarity` and `ghost`.
#[derive(clap::Args)]
struct PhotoArgs {
    /// A photo (PNG, JPEG, WebP, GIF, BMP), preprocessed per the model's input spec.
    #[arg(long, required_unless_present = "input")]
    image: Option<PathBuf>,
    /// A float32 NCHW tensor that bypasses preprocessing.
    #[arg(long, conflicts_with = "image")]
    input: Option<PathBuf>,
    /// A checkpoint; default: the model's pretrained weights, or seeded untrained ones.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Width multiplier (models whose width can vary); the weights must be for that width.
    #[arg(long, allow_negative_numbers = true)]
    width: Option<f64>,
    /// Input resolution in pixels (square input).
    #[arg(long, allow_negative_numbers = true)]
    resolution: Option<usize>,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
}

impl PhotoArgs {
    fn photo(&self, entry: &convscope_zoo::ModelEntry) -> Result<insight::Photo<'_>> {
        Ok(insight::Photo {
            image: self.image.as_deref(),
            npy: self.input.as_deref(),
            weights: self.weights.as_deref(),
            backend: self.backend.into(),
            variant: variant(entry, self.width, self.resolution)?,
        })
    }
}

/// A model's default variant at another width or resolution, checked.
fn variant(entry: &convscope_zoo::ModelEntry, width: Option<f64>, resolution: Option<usize>) -> Result<Variant> {
    if width.is_some() && !entry.width {
        bail!("{} has no width multiplier; its widths are fixed by the paper", entry.id);
    }
    if let Some(w) = width
        && !(w.is_finite() && w > 0.0 && w <= 16.0)
    {
        bail!("--width must be a number in (0, 16], got {w}");
    }
    if resolution == Some(0) || resolution.is_some_and(|r| r > 4096) {
        bail!("--resolution must be in 1..=4096");
    }
    Ok(Variant {
        width: width.unwrap_or(entry.default.width),
        resolution: resolution.unwrap_or(entry.default.resolution),
        ..entry.default
    })
}

/// What `table --swap` puts in place of the convolutions.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SwapKind {
    Ghost,
    Dsc,
    Compconv,
    Adder,
    Mitchell,
}

/// Output of the insight commands.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Brief {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Cpu,
    Gpu,
}

impl From<Backend> for convscope_engine::Backend {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Cpu => Self::Cpu,
            Backend::Gpu => Self::Gpu,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Csv,
    Json,
    Md,
}

#[derive(Clone, Copy, ValueEnum)]
enum Flops {
    /// 2 FLOPs per multiply-accumulate, convolutions and linear layers only.
    #[value(name = "2mac")]
    TwoPerMac,
    /// FLOPs = MACs (most lightweight-CNN papers).
    Mac,
    /// 2 per MAC plus BN, activations, element-wise work and pooling.
    All,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => err.exit(),
        Err(err) => {
            // One line, like every other failure; `--help` has the rest.
            let rendered = err.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.starts_with("Usage:"))
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect();
            let message = message.join(" ");
            eprintln!("convscope: {} (see `convscope --help`)", message.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("convscope: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::List => {
            writeln!(stdout, "{:<22} {:<22} {:>6} {:>12} {:>15}  family", "id", "title", "input", "params", "MACs")?;
            for entry in convscope_zoo::registry() {
                let graph = entry.build_default().with_context(|| format!("building {}", entry.id))?;
                let cost = convscope_graph::GraphCost::of(&graph).total;
                writeln!(
                    stdout,
                    "{:<22} {:<22} {:>6} {:>12} {:>15}  {}",
                    entry.id,
                    entry.title,
                    entry.default.resolution,
                    convscope_graph::report::group(cost.params),
                    convscope_graph::report::group(cost.macs),
                    entry.family
                )?;
            }
        }
        Command::Table {
            id,
            width,
            groups,
            channels,
            expansion,
            ghost,
            swap,
            compconv_c0,
            compconv_depth,
            phi,
            mitchell,
            resolution,
            format,
            flops,
        } => {
            let entry = convscope_zoo::find(&id)
                .with_context(|| format!("no model named {id:?} in the zoo (`convscope list` shows them)"))?;
            if width.is_some() && !entry.width {
                bail!("{id} has no width multiplier; its widths are fixed by the paper");
            }
            if let Some(w) = width
                && !(w.is_finite() && w > 0.0 && w <= 16.0)
            {
                bail!("--width must be a number in (0, 16], got {w}");
            }
            if let Some(g) = groups
                && !entry.groups.contains(&g)
            {
                if entry.groups.is_empty() {
                    bail!("{id} has no groups choice");
                }
                bail!("{id} takes --groups {:?}, not {g}", entry.groups);
            }
            let channels = match channels.as_deref() {
                None => None,
                Some(_) if !entry.block => bail!("{id} is a network; --channels applies to block_* models"),
                Some(&[inp, out]) if inp > 0 && out > 0 => Some([inp, out]),
                Some(other) => bail!("--channels takes two positive numbers IN,OUT, got {other:?}"),
            };
            if expansion.is_some() && entry.expansion.is_none() {
                bail!("{id} has no expansion ratio to change");
            }
            if expansion == Some(0) {
                bail!("--expansion must be positive");
            }
            let ghost = match ghost.as_deref() {
                None => None,
                Some(_) if entry.ghost.is_none() && swap != Some(SwapKind::Ghost) => {
                    bail!("{id} has no Ghost modules (`--swap ghost --ghost S,D` puts them in)")
                }
                Some(&[s, d]) => Some([s, d]),
                Some(other) => bail!("--ghost takes two numbers S,D, got {other:?}"),
            };
            if (compconv_c0.is_some() || compconv_depth.is_some()) && swap != Some(SwapKind::Compconv) {
                bail!("--compconv-c0 and --compconv-depth go with --swap compconv");
            }
            if compconv_c0 == Some(0) {
                bail!("--compconv-c0 must be positive");
            }
            if compconv_depth.is_some_and(|d| d > 8) {
                bail!("--compconv-depth must be in 0..=8");
            }
            let swap = swap.map(|kind| match kind {
                SwapKind::Ghost => {
                    let [s, d] = ghost.unwrap_or([2, 3]);
                    convscope_zoo::swap::Swap::Ghost { s, d }
                }
                SwapKind::Dsc => convscope_zoo::swap::Swap::Separable,
                SwapKind::Compconv => {
                    convscope_zoo::swap::Swap::CompConv { c0: compconv_c0.unwrap_or(128), depth: compconv_depth }
                }
                SwapKind::Adder => convscope_zoo::swap::Swap::Adder,
                SwapKind::Mitchell => convscope_zoo::swap::Swap::Mitchell,
            });
            // With --swap ghost the Ghost knob belongs to the swap, not to the model.
            let ghost = if matches!(swap, Some(convscope_zoo::swap::Swap::Ghost { .. })) { None } else { ghost };
            if resolution == Some(0) {
                bail!("--resolution must be positive");
            }
            let scaled = match phi {
                None => None,
                Some(_) if !entry.compound => bail!("{id} has no compound scaling; --phi applies to efficientnet_b*"),
                Some(p) if !(p.is_finite() && (-4.0..=10.0).contains(&p)) => {
                    bail!("--phi must be a number in [-4, 10], got {p}")
                }
                Some(p) => Some(convscope_zoo::compound_scaling(p)),
            };
            let variant = Variant {
                width: width.or(scaled.map(|s| s.0)).unwrap_or(entry.default.width),
                depth: scaled.map(|s| s.1),
                resolution: resolution.or(scaled.map(|s| s.2)).unwrap_or(entry.default.resolution),
                groups: groups.or(entry.default.groups),
                mitchell,
                channels: channels.or(entry.default.channels),
                expansion,
                ghost,
                ..entry.default
            };
            let graph = entry.build(&variant).with_context(|| format!("{id} cannot be built with these settings"))?;
            let graph = match swap {
                Some(swap) => convscope_zoo::swap::swap(&graph, swap)
                    .with_context(|| format!("{id} with {} cannot be built", swap.label()))?,
                None => graph,
            };
            let convention = match flops {
                Flops::TwoPerMac => FlopConvention::TWO_PER_MAC,
                Flops::Mac => FlopConvention::MACS,
                Flops::All => FlopConvention::ALL,
            };
            let report = Report::new(&graph, &convention);
            let text = match format {
                Format::Text => report.to_text(),
                Format::Csv => report.to_csv(),
                Format::Json => report.to_json(),
                Format::Md => report.to_markdown(),
            };
            stdout.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                writeln!(stdout)?;
            }
        }
        Command::Run {
            id,
            image,
            input,
            weights,
            top,
            json,
            dump_logits,
            dump_activations,
            width,
            resolution,
            backend,
        } => {
            let entry = find(&id)?;
            let variant = variant(&entry, width, resolution)?;
            let args = infer::RunArgs {
                variant,
                image: image.as_deref(),
                npy: input.as_deref(),
                weights: weights.as_deref(),
                top,
                json,
                dump_logits: dump_logits.as_deref(),
                dump_activations: dump_activations.as_deref(),
                backend: backend.into(),
            };
            infer::run(&entry, &args, &mut stdout)?;
        }
        Command::Bench { id, backend, iters, layers, threads } => {
            let entry = find(&id)?;
            infer::bench(&entry, backend.into(), iters, 2, layers, threads, &mut stdout)?;
        }
        Command::Convert { input, output, model, rename, half } => {
            let entry = find(&model)?;
            let summary = infer::convert(&entry, &input, &output, rename, half)?;
            writeln!(stdout, "{summary}")?;
        }
        Command::Shuffle { channels, groups, format } => {
            insight::shuffle(channels, groups, format == Brief::Json, &mut stdout)?;
        }
        Command::Dsc { channels, kernel, resolution, format } => {
            insight::dsc(&channels, kernel, resolution, format == Brief::Json, &mut stdout)?;
        }
        Command::Similarity { id, on, layer, top, threshold, format } => {
            let entry = find(&id)?;
            insight::similarity(
                &entry,
                &on.photo(&entry)?,
                &layer,
                top,
                threshold,
                format == Brief::Json,
                &mut stdout,
            )?;
        }
        Command::Anatomy { id, block, format } => {
            let entry = find(&id)?;
            let format = match format {
                Diagram::Json => "json",
                Diagram::Dot => "dot",
                Diagram::Svg => "svg",
            };
            insight::anatomy(&entry, block.as_deref(), format, &mut stdout)?;
        }
        Command::Ghost { id, on, format } => {
            let entry = find(&id)?;
            insight::ghost(&entry, &on.photo(&entry)?, format == Brief::Json, &mut stdout)?;
        }
    }
    Ok(())
}

fn find(id: &str) -> Result<convscope_zoo::ModelEntry> {
    convscope_zoo::find(id).with_context(|| format!("no model named {id:?} in the zoo (`convscope list` shows them)"))
}
