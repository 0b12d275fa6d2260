//! Running the current model on the user's photo: photo in (drop, picker, paste, samples), weights
//! (the pretrained asset or seeded "untrained" ones), the CPU engine stepped a few milliseconds per
//! frame so the page stays responsive, and the result with every layer's maps.

// `web_time::Instant` is the wasm-safe clock; natively it re-exports `std::time::Instant`, which the
// workspace's clippy ban (meant to catch std's clock on the web) cannot tell apart.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::collections::HashMap;
use std::sync::Arc;

use convscope_cpu::{Capture, Engine, Outputs, Run, Tensor};
use convscope_graph::{Graph, NodeId};
use convscope_input::{Photo, Prepared};
use convscope_weights::{Checkpoint, bind, synthetic};
use convscope_zoo::{ModelEntry, Variant};

use crate::assets::{self, Inbox, Slot};
use crate::model_view::ModelView;

/// Seed of the weights every model without a checkpoint runs with (the CLI's too).
pub const UNTRAINED_SEED: u64 = 0x00c0_ffee;
/// Work per frame: the engine runs node by node until this much time has passed.
const FRAME_BUDGET_MS: f64 = 25.0;
/// Keep every layer's map only while they fit in this much memory.
const CAPTURE_LIMIT_BYTES: u64 = 768 << 20;

/// The sample photos under `assets/samples/`.
pub const SAMPLES: [(&str, &str); 3] =
    [("coffee.png", "Coffee"), ("chelsea.png", "Chelsea the cat"), ("astronaut.png", "Astronaut")];

/// What a run's weights are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WeightsLabel {
    Pretrained(&'static str),
    /// A checkpoint the user dropped or opened.
    File(String),
    Untrained,
    /// The pretrained weights could not be loaded; the model runs untrained.
    Unavailable(String),
}

impl WeightsLabel {
    pub fn trained(&self) -> bool {
        matches!(self, Self::Pretrained(_) | Self::File(_))
    }
}

/// Which model and variant a result belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelKey {
    pub id: &'static str,
    pub variant: Variant,
}

/// A finished run.
pub struct RunResult {
    pub key: ModelKey,
    pub photo: u64,
    pub outputs: Outputs,
    /// `(class, probability)`, best first (the first five).
    pub top: Vec<(usize, f32)>,
    pub millis: f64,
    pub weights: WeightsLabel,
    pub engine: Engine,
    /// Why some maps were not kept, if so.
    pub capture_note: Option<String>,
}

struct Running {
    key: ModelKey,
    photo: u64,
    run: Run,
    engine: Engine,
    weights: WeightsLabel,
    started: web_time::Instant,
    busy_ms: f64,
    capture_note: Option<String>,
}

#[derive(Default)]
pub struct Inference {
    pub inbox: Inbox,
    /// The photo and a counter that changes with it.
    pub photo: Option<(String, Photo)>,
    photo_generation: u64,
    /// The network's view of the photo for the current model, and its texture.
    pub prepared: Option<(ModelKey, u64, Prepared, Option<egui::TextureHandle>)>,
    /// The last problem to show (a bad file, weights that failed to load).
    pub message: Option<String>,
    pretrained: HashMap<&'static str, PretrainedState>,
    running: Option<Running>,
    pub result: Option<RunResult>,
    pending_samples: Vec<(String, Slot)>,
    /// Samples a link asked for, loaded on the next frame.
    requested_samples: Vec<String>,
    /// A checkpoint the user gave: its file name, contents and the zoo model it fits.
    pub checkpoint: Option<(String, Arc<Checkpoint>, &'static str)>,
    /// A model the app should switch to (the one a dropped checkpoint fits).
    pub switch_to: Option<(&'static str, Variant)>,
}

enum PretrainedState {
    Loading(Slot),
    Ready(Arc<Checkpoint>),
    Failed(String),
}

impl Inference {
    /// Start loading a sample photo.
    pub fn load_sample(&mut self, ctx: &egui::Context, file: &str) {
        let slot = assets::load(ctx, &format!("samples/{file}"));
        self.pending_samples.push((file.to_owned(), slot));
    }

    /// Load a sample on the next frame (from a link, which has no egui context at hand). False if
    /// `file` is not one of [`SAMPLES`].
    pub fn request_sample(&mut self, file: &str) -> bool {
        let known = SAMPLES.iter().any(|(f, _)| *f == file);
        if known {
            self.requested_samples.push(file.to_owned());
        }
        known
    }

    /// Progress of the run in progress: `(done, total, next node)`.
    pub fn progress(&self) -> Option<(usize, usize, Option<NodeId>)> {
        self.running.as_ref().map(|r| {
            let (done, total) = r.run.progress();
            (done, total, r.run.next_node())
        })
    }

    /// Whether pretrained weights are still being fetched.
    pub fn loading_weights(&self) -> bool {
        self.pretrained.values().any(|s| matches!(s, PretrainedState::Loading(_)))
    }

    /// Take new photos, and advance the run for the current model and photo by one frame's budget.
    pub fn update(&mut self, ctx: &egui::Context, view: &ModelView) {
        for file in std::mem::take(&mut self.requested_samples) {
            self.load_sample(ctx, &file);
        }
        self.take_photos(ctx);
        let (Some(entry), Ok(model)) = (view.entry(), view.model.as_ref()) else { return };
        if self.photo.is_none() {
            return;
        }
        let key = ModelKey { id: entry.id, variant: view.variant };
        let generation = self.photo_generation;
        if self.result.as_ref().is_some_and(|r| r.key == key && r.photo == generation) {
            return;
        }
        if self.running.as_ref().is_some_and(|r| r.key != key || r.photo != generation) {
            self.running = None;
        }
        if self.running.is_none() {
            let Some((engine, weights)) = self.engine_for(ctx, entry, &model.graph, &key) else { return };
            let Some((_, photo)) = &self.photo else { return };
            let spec = convscope_zoo::InputSpec { resolution: view.variant.resolution, ..entry.input };
            let prepared = convscope_input::preprocess(photo, &spec);
            let input = match Tensor::new(model.graph.input_shape(), prepared.chw.clone()) {
                Ok(t) => t,
                Err(e) => {
                    self.message = Some(format!("this model's input is not a 3-channel image: {e}"));
                    self.result = None;
                    return;
                }
            };
            self.prepared = Some((key.clone(), generation, prepared, None));
            let total: u64 = model.cost.per_node.iter().map(|c| c.output_bytes).sum();
            let (capture, capture_note) = if total <= CAPTURE_LIMIT_BYTES {
                (Capture::All, None)
            } else {
                (
                    Capture::Output,
                    Some(format!(
                        "feature maps not kept: this network's maps total {} MB (limit {} MB); lower the input resolution",
                        total >> 20,
                        CAPTURE_LIMIT_BYTES >> 20
                    )),
                )
            };
            match engine.start(input, capture) {
                Ok(run) => {
                    self.running = Some(Running {
                        key: key.clone(),
                        photo: generation,
                        run,
                        engine,
                        weights,
                        started: web_time::Instant::now(),
                        busy_ms: 0.0,
                        capture_note,
                    })
                }
                Err(e) => {
                    self.message = Some(format!("cannot run {}: {e}", entry.id));
                    return;
                }
            }
        }
        self.step(ctx);
    }

    fn step(&mut self, ctx: &egui::Context) {
        let Some(running) = &mut self.running else { return };
        let frame = web_time::Instant::now();
        match running.run.step_while(|| frame.elapsed().as_secs_f64() * 1e3 < FRAME_BUDGET_MS) {
            Ok(true) => {
                running.busy_ms += frame.elapsed().as_secs_f64() * 1e3;
                ctx.request_repaint();
                return;
            }
            Ok(false) => {}
            Err(e) => {
                self.message = Some(format!("the run failed: {e}"));
                self.running = None;
                return;
            }
        }
        running.busy_ms += frame.elapsed().as_secs_f64() * 1e3;
        let Some(running) = self.running.take() else { return };
        let wall = running.started.elapsed().as_secs_f64() * 1e3;
        match running.run.finish() {
            Ok(outputs) => {
                let top = convscope_cpu::top_k(&outputs.output.data, 5);
                log::info!("{}: ran in {:.0} ms of compute ({wall:.0} ms wall)", running.key.id, running.busy_ms);
                self.result = Some(RunResult {
                    key: running.key,
                    photo: running.photo,
                    outputs,
                    top,
                    millis: running.busy_ms,
                    weights: running.weights,
                    engine: running.engine,
                    capture_note: running.capture_note,
                });
            }
            Err(e) => self.message = Some(format!("the run failed: {e}")),
        }
        ctx.request_repaint();
    }

    /// The engine for `key`: pretrained weights when the model has them (fetched once), else seeded.
    fn engine_for(
        &mut self,
        ctx: &egui::Context,
        entry: &ModelEntry,
        graph: &Graph,
        key: &ModelKey,
    ) -> Option<(Engine, WeightsLabel)> {
        if let Some(r) = self.result.as_ref().filter(|r| r.key == *key) {
            return Some((r.engine.clone(), r.weights.clone()));
        }
        let mut label = WeightsLabel::Untrained;
        let mut bound = None;
        if let Some((name, checkpoint, id)) = self.checkpoint.as_ref().filter(|(_, _, id)| *id == entry.id) {
            match bind::bind(graph, checkpoint) {
                Ok(b) => {
                    bound = Some(b);
                    label = WeightsLabel::File(name.clone());
                }
                Err(report) => {
                    self.message = Some(format!("{name} does not fit this variant of {id}: {}", report.summary()));
                }
            }
        }
        if let Some(pretrained) = entry.pretrained.filter(|_| bound.is_none()) {
            let state = self.pretrained.entry(pretrained.asset).or_insert_with(|| {
                PretrainedState::Loading(assets::load(ctx, &format!("weights/{}", pretrained.asset)))
            });
            if let PretrainedState::Loading(slot) = state {
                match assets::take(slot) {
                    None => return None,
                    Some(Ok(bytes)) => {
                        *state = match Checkpoint::from_bytes(&bytes) {
                            Ok(c) => PretrainedState::Ready(Arc::new(c)),
                            Err(e) => PretrainedState::Failed(e.to_string()),
                        }
                    }
                    Some(Err(e)) => *state = PretrainedState::Failed(e),
                }
            }
            match state {
                PretrainedState::Ready(checkpoint) => match bind::bind(graph, checkpoint) {
                    Ok(b) => {
                        bound = Some(b);
                        label = WeightsLabel::Pretrained(pretrained.source);
                    }
                    // Another width or resolution-dependent shape: the pretrained weights do not fit.
                    Err(report) => {
                        label = WeightsLabel::Unavailable(format!(
                            "the pretrained weights do not fit this variant: {}",
                            report.summary()
                        ))
                    }
                },
                PretrainedState::Failed(e) => {
                    label = WeightsLabel::Unavailable(format!("the pretrained weights did not load: {e}"))
                }
                PretrainedState::Loading(_) => return None,
            }
        }
        let bound = bound.unwrap_or_else(|| synthetic::init(graph, UNTRAINED_SEED));
        match Engine::new(graph, &bound) {
            Ok(engine) => Some((engine, label)),
            Err(e) => {
                self.message = Some(format!("cannot run {}: {e}", entry.id));
                None
            }
        }
    }

    fn take_photos(&mut self, ctx: &egui::Context) {
        // Files dropped on the window.
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        for file in dropped {
            let name =
                file.path().file_name().map_or_else(|| "dropped file".to_owned(), |n| n.to_string_lossy().into_owned());
            // Refused above the app's limit before reading, like a picked file.
            #[cfg(not(target_arch = "wasm32"))]
            {
                let arrived = if file.path().is_file() {
                    crate::native_picker::read_bounded(file.path(), assets::MAX_FILE_BYTES).1
                } else {
                    file.bytes()
                };
                self.receive(name, arrived);
            }
            #[cfg(target_arch = "wasm32")]
            match file.web_file() {
                // The browser's handle: read like a picked or pasted file (its size checked first).
                Some(web_file) => crate::web::read_file_into(web_file.clone(), ctx.clone(), self.inbox.clone()),
                None => self.receive(name, Err("the browser handed over no file to read".to_owned())),
            }
        }
        let arrived: Vec<_> = self.inbox.lock().map(|mut q| q.drain(..).collect()).unwrap_or_default();
        for (name, bytes) in arrived {
            self.receive(name, bytes);
        }
        let mut still = Vec::new();
        for (name, slot) in std::mem::take(&mut self.pending_samples) {
            match assets::take(&slot) {
                Some(result) => self.receive(name, result),
                None => still.push((name, slot)),
            }
        }
        self.pending_samples = still;
    }

    /// A file's bytes arrived: a photo (decoded, bounded) or a checkpoint (read, matched against the
    /// zoo); anything else is named and the previous photo kept.
    pub fn receive(&mut self, name: String, bytes: Result<Vec<u8>, String>) {
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                self.message = Some(format!("{name}: {e}"));
                return;
            }
        };
        let decoded = convscope_input::decode(&bytes);
        if let Err(convscope_input::ImageError::NotAnImage(_)) = &decoded
            && looks_like_checkpoint(&name, &bytes)
        {
            self.receive_checkpoint(name, &bytes);
            return;
        }
        match decoded.map_err(|e| e.to_string()) {
            Ok(photo) => {
                self.photo = Some((name, photo));
                self.photo_generation += 1;
                self.message = None;
                self.running = None;
            }
            Err(e) => self.message = Some(format!("{name}: {e}")),
        }
    }
}

/// Checkpoint files by name or by their first bytes (zip, PyTorch's legacy pickle, safetensors' header).
fn looks_like_checkpoint(name: &str, bytes: &[u8]) -> bool {
    let lower = name.to_lowercase();
    [".pth", ".pt", ".bin", ".ckpt", ".safetensors"].iter().any(|ext| lower.ends_with(ext))
        || bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(&[0x80, 0x02, 0x8a, 0x0a])
        || bytes.get(8) == Some(&b'{')
}

impl Inference {
    /// Read a checkpoint, find the zoo model it fits exactly and switch to it, or say what is closest.
    fn receive_checkpoint(&mut self, name: String, bytes: &[u8]) {
        let checkpoint = match Checkpoint::from_bytes(bytes) {
            Ok(c) => c,
            Err(e) => {
                self.message = Some(format!("{name}: {e}"));
                return;
            }
        };
        let ranked = convscope_zoo::fit::rank(&checkpoint.shapes(), bind::needs);
        match ranked.first() {
            Some(best) if best.is_exact() => {
                self.message = Some(format!(
                    "{name}: {} tensors ({}), fits {} — running it with these weights",
                    checkpoint.tensors.len(),
                    checkpoint.format.name(),
                    best.describe()
                ));
                self.checkpoint = Some((name, Arc::new(checkpoint), best.id));
                self.switch_to = Some((best.id, best.variant));
                self.result = None;
                self.running = None;
            }
            Some(best) => {
                self.message = Some(format!(
                    "{name} fits no zoo model exactly; the closest is {} ({} missing, {} unexpected, {} of another shape)",
                    best.describe(),
                    best.missing,
                    best.unexpected,
                    best.mismatched
                ));
            }
            None => self.message = Some(format!("{name}: no zoo model to compare with")),
        }
    }
}
