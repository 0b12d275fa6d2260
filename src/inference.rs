//! Running the current model on the user's photo: photo in (drop, picker, paste, samples), weights
//! (the pretrained asset or seeded "untrained" ones), the engine the user chose — the GPU engine on
//! eframe's device where there is one, else the CPU engine stepped a few milliseconds per frame so the
//! page stays responsive — and the result with every layer's maps. A GPU failure (a lost device, a
//! limit the model exceeds) reruns the photo on the CPU and says why.

// `web_time::Instant` is the wasm-safe clock; natively it re-exports `std::time::Instant`, which the
// workspace's clippy ban (meant to catch std's clock on the web) cannot tell apart.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod compare;
pub use compare::Comparison;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use convscope_engine::{Backend, Capture, Engine, EngineError, Outputs, Run, Status, Tensor};
use convscope_gpu::{GpuContext, GpuEngine};
use convscope_graph::{Graph, NodeId};
use convscope_input::{Photo, Prepared};
use convscope_weights::bind::Bound;
use convscope_weights::{Checkpoint, bind, synthetic};
use convscope_zoo::{ModelEntry, Variant};

use crate::assets::{self, Inbox, Slot};
use crate::model_view::ModelView;

/// Seed of the weights every model without a checkpoint runs with (the CLI's too).
pub const UNTRAINED_SEED: u64 = 0x00c0_ffee;
/// Work per frame: the engine runs node by node until this much time has passed, or as long as the
/// page took to paint and handle events since the last slice, up to [`MAX_FRAME_BUDGET_MS`]: compute
/// gets about half the wall time whatever the frame costs (a software-rendered page paints a frame in
/// 130–170 ms: 25 ms slices would make EfficientNet-Lite0's 57 ms wait for three or four painted frames).
const FRAME_BUDGET_MS: f64 = 25.0;
const MAX_FRAME_BUDGET_MS: f64 = 100.0;
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
    /// Changes with every result (caches of the views key on it).
    pub id: u64,
    pub key: ModelKey,
    pub photo: u64,
    pub outputs: Outputs,
    /// `(class, probability)`, best first (the first five).
    pub top: Vec<(usize, f32)>,
    /// Compute time: the CPU's busy time, or the GPU's (timestamps, else submit to read-back).
    pub millis: f64,
    /// From the start of the run to its result, frames in between included.
    pub wall_ms: f64,
    pub weights: WeightsLabel,
    pub engine: Rc<dyn Engine>,
    /// "WebGPU on …" or "CPU, 4 threads".
    pub engine_name: String,
    /// Why some maps were not kept, if so.
    pub capture_note: Option<String>,
    /// Why the CPU computed this although the GPU engine was chosen, if so.
    pub fallback: Option<String>,
}

impl RunResult {
    pub fn backend(&self) -> Backend {
        self.outputs.backend
    }
}

struct Running {
    key: ModelKey,
    photo: u64,
    run: Box<dyn Run>,
    engine: Rc<dyn Engine>,
    weights: WeightsLabel,
    started: web_time::Instant,
    busy_ms: f64,
    /// When its last slice ended: the gap to the next one is how long the page took to paint.
    last_slice_end: Option<web_time::Instant>,
    capture_note: Option<String>,
    /// The input and capture policy, to rerun on the CPU if the GPU fails.
    input: Tensor,
    capture: Capture,
    fallback: Option<String>,
}

/// An engine built for a model, with the graph and weights it was built from (the CPU engine takes
/// over from them should the GPU fail). Kept for the last few models: switching back is instant, and the
/// wasm heap is not churned by building the same engines again (alternating two models used to grow it).
struct CachedEngine {
    key: ModelKey,
    backend: Backend,
    engine: Rc<dyn Engine>,
    weights: WeightsLabel,
    graph: Graph,
    bound: Rc<Bound>,
}

/// How many engines [`Inference`] keeps, the most recently used first (two models on both engines).
const ENGINES_KEPT: usize = 4;

/// What the page says about the latest file or run, and how much it matters: shown under the photo
/// controls in the colour of its kind, and on the page's root as `data-message` and `data-message-kind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub kind: MessageKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Something was refused or failed.
    Error,
    /// It worked, with a caveat to see (a truncated or reduced photo, a result from the CPU fallback).
    Warning,
    /// Progress or a confirmation.
    Info,
}

impl Message {
    pub fn error(text: impl Into<String>) -> Self {
        Self { text: text.into(), kind: MessageKind::Error }
    }

    pub fn warning(text: impl Into<String>) -> Self {
        Self { text: text.into(), kind: MessageKind::Warning }
    }

    pub fn info(text: impl Into<String>) -> Self {
        Self { text: text.into(), kind: MessageKind::Info }
    }
}

impl MessageKind {
    /// Its name in `data-message-kind`.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Error => "error",
            MessageKind::Warning => "warning",
            MessageKind::Info => "info",
        }
    }
}

#[derive(Default)]
pub struct Inference {
    pub inbox: Inbox,
    /// Large photos the browser decoded off the page's thread ([`crate::web::decode_in_browser`]).
    decoded: crate::assets::DecodedInbox,
    /// The photo and a counter that changes with it.
    pub photo: Option<(String, Photo)>,
    photo_generation: u64,
    /// The network's view of the photo for the current model, and its texture.
    pub prepared: Option<(ModelKey, u64, Prepared, Option<egui::TextureHandle>)>,
    /// What to say about the latest file or run: a problem (a bad file, weights that failed to load), a
    /// caveat (a truncated photo, a CPU fallback) or progress.
    pub message: Option<Message>,
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
    /// The weights of the current model, with its graph (the CPU engine's, should the GPU fail).
    bound: Option<(ModelKey, Graph, Rc<Bound>, WeightsLabel)>,
    /// The device the GPU engine computes on (eframe's), while it can.
    pub gpu: Option<GpuContext>,
    /// The user chose the CPU engine although a GPU is there (the GPU is the default).
    pub prefer_cpu: bool,
    engines: Vec<CachedEngine>,
    /// The last result of the other engine for the same model and photo, to compare with.
    pub other: Option<RunResult>,
    results: u64,
    /// Why the GPU is gone, for the next run's fallback note.
    lost_gpu: Option<String>,
    /// The next run times each layer whatever it costs ([`Inference::profile_layers`]).
    profile_next: bool,
    /// Models to run on the photo for the Compare view, and their results ([`compare`]).
    compare_queue: Vec<&'static str>,
    comparing: Option<compare::Comparing>,
    comparisons: Vec<compare::Comparison>,
    /// How long the page took between two slices of the last run: the next slice's budget
    /// ([`FRAME_BUDGET_MS`]).
    page_ms: f64,
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

    /// The name of the photo `result` ran on, while it is the current photo.
    pub fn photo_name_of(&self, result: &RunResult) -> Option<&str> {
        self.photo.as_ref().filter(|_| result.photo == self.photo_generation).map(|(name, _)| name.as_str())
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

    /// The engine the next run uses: the chosen one, if it can run here.
    pub fn effective_backend(&self) -> Backend {
        if !self.prefer_cpu && self.gpu.is_some() { Backend::Gpu } else { Backend::Cpu }
    }

    /// Run the current photo on `backend` next; the current result stays for comparison.
    pub fn choose_backend(&mut self, backend: Backend) {
        let prefer_cpu = backend == Backend::Cpu;
        if self.prefer_cpu == prefer_cpu {
            return;
        }
        self.prefer_cpu = prefer_cpu;
        self.running = None;
        if let Some(result) = self.result.take() {
            self.other = Some(result);
        }
    }

    /// Run the current photo again, timing each layer even where that costs speed (a GPU without
    /// timestamp queries: one submission per layer).
    pub fn profile_layers(&mut self) {
        self.profile_next = true;
        self.rerun();
    }

    /// Run the current photo again on the same engine (the result is replaced when the run ends).
    pub fn rerun(&mut self) {
        self.running = None;
        self.result = None;
    }

    /// The device is gone: forget it and what was built on it. A run on it is rerun on the CPU; a
    /// result from it (its maps lived on the GPU) is computed again on the CPU, saying why.
    pub fn lose_gpu(&mut self, reason: &str) {
        if self.gpu.take().is_none() {
            return;
        }
        self.engines.retain(|e| e.backend != Backend::Gpu);
        let why = format!("the GPU device was lost ({reason})");
        if self.running.as_ref().is_some_and(|r| r.engine.backend() == Backend::Gpu) {
            self.restart_on_cpu(why);
            return;
        }
        if self.other.as_ref().is_some_and(|o| o.backend() == Backend::Gpu) {
            self.other = None;
        }
        if self.result.as_ref().is_some_and(|r| r.backend() == Backend::Gpu) {
            self.result = None;
            self.message = Some(Message::warning(format!("{why}: computing again on the CPU")));
            self.lost_gpu = Some(why);
        }
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
        let backend = self.effective_backend();
        if self
            .result
            .as_ref()
            .is_some_and(|r| r.key == key && r.photo == generation && (r.backend() == backend || r.fallback.is_some()))
        {
            return;
        }
        if self.running.as_ref().is_some_and(|r| r.key != key || r.photo != generation) {
            self.running = None;
        }
        if self.running.is_none() {
            let Some((engine, weights, fallback)) = self.engine_for(ctx, entry, &model.graph, &key, backend) else {
                return;
            };
            let fallback = fallback.or_else(|| self.lost_gpu.take());
            let Some((_, photo)) = &self.photo else { return };
            let spec = convscope_zoo::InputSpec { resolution: view.variant.resolution, ..entry.input };
            let prepared = convscope_input::preprocess(photo, &spec);
            let input = match Tensor::new(model.graph.input_shape(), prepared.chw.clone()) {
                Ok(t) => t,
                Err(e) => {
                    self.message = Some(Message::error(format!("this model's input is not a 3-channel image: {e}")));
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
            let started = if std::mem::take(&mut self.profile_next) {
                engine.start_profiled(input.clone(), capture.clone())
            } else {
                engine.start(input.clone(), capture.clone())
            };
            match started {
                Ok(run) => {
                    self.running = Some(Running {
                        key: key.clone(),
                        photo: generation,
                        run,
                        engine,
                        weights,
                        started: web_time::Instant::now(),
                        busy_ms: 0.0,
                        last_slice_end: None,
                        capture_note,
                        input,
                        capture,
                        fallback,
                    })
                }
                Err(e) => {
                    self.message = Some(Message::error(format!("cannot run {}: {e}", entry.id)));
                    return;
                }
            }
        }
        self.step(ctx);
    }

    fn step(&mut self, ctx: &egui::Context) {
        let Some(running) = &mut self.running else { return };
        let frame = web_time::Instant::now();
        // Measured within a run only: the gap before a run's first slice is idle time, not painting.
        if let Some(end) = running.last_slice_end {
            self.page_ms = (frame - end).as_secs_f64() * 1e3;
        }
        let budget = self.page_ms.clamp(FRAME_BUDGET_MS, MAX_FRAME_BUDGET_MS);
        let deadline = frame + web_time::Duration::from_secs_f64(budget / 1e3);
        let status = running.run.advance(Some(deadline));
        running.busy_ms += frame.elapsed().as_secs_f64() * 1e3;
        running.last_slice_end = Some(web_time::Instant::now());
        match status {
            Ok(Status::Working | Status::Waiting) => {
                ctx.request_repaint();
                return;
            }
            Ok(Status::Done) => {}
            Err(EngineError::Device(reason)) if running.engine.backend() == Backend::Gpu => {
                log::warn!("GPU run failed ({reason}); rerunning on the CPU");
                self.restart_on_cpu(format!("the GPU engine failed ({reason})"));
                ctx.request_repaint();
                return;
            }
            Err(e) => {
                self.message = Some(Message::error(format!("the run failed: {e}")));
                self.running = None;
                return;
            }
        }
        let Some(running) = self.running.take() else { return };
        let wall = running.started.elapsed().as_secs_f64() * 1e3;
        match running.run.finish() {
            Ok(outputs) => {
                let top = convscope_engine::top_k(&outputs.output.data, 5);
                // The CPU's busy time is its compute time; the GPU's is its own measurement.
                let millis = if outputs.backend == Backend::Cpu { running.busy_ms } else { outputs.total_ms };
                log::info!(
                    "{}: ran in {millis:.0} ms of compute on {} ({wall:.0} ms wall)",
                    running.key.id,
                    outputs.backend.label()
                );
                self.results += 1;
                let result = RunResult {
                    id: self.results,
                    key: running.key,
                    photo: running.photo,
                    outputs,
                    top,
                    millis,
                    wall_ms: wall,
                    weights: running.weights,
                    engine_name: running.engine.describe(),
                    engine: running.engine,
                    capture_note: running.capture_note,
                    fallback: running.fallback,
                };
                // Keep the other engine's result for the same model and photo to compare with.
                let previous = self.result.take();
                if let Some(p) = previous
                    .filter(|p| p.key == result.key && p.photo == result.photo && p.backend() != result.backend())
                {
                    self.other = Some(p);
                }
                if self.other.as_ref().is_some_and(|o| o.key != result.key || o.photo != result.photo) {
                    self.other = None;
                }
                // The result says itself why the CPU computed it; the note while it ran is done.
                if result.fallback.is_some() {
                    self.message = None;
                }
                self.result = Some(result);
            }
            Err(e) => self.message = Some(Message::error(format!("the run failed: {e}"))),
        }
        ctx.request_repaint();
    }

    /// Rerun the photo of the run in progress on the CPU engine, saying why.
    fn restart_on_cpu(&mut self, why: String) {
        let Some(running) = self.running.take() else { return };
        let cached = self
            .engines
            .iter()
            .find(|e| e.key == running.key && e.backend == Backend::Cpu)
            .map(|e| Rc::clone(&e.engine));
        // The graph and weights the GPU engine was built from.
        let Some((graph, bound)) = self
            .engines
            .iter()
            .find(|e| e.key == running.key)
            .map(|e| (e.graph.clone(), Rc::clone(&e.bound)))
            .or_else(|| {
                self.bound.as_ref().filter(|(k, ..)| *k == running.key).map(|(_, g, b, _)| (g.clone(), Rc::clone(b)))
            })
        else {
            self.message =
                Some(Message::error(format!("{why}, and the CPU engine cannot run it: its weights are gone")));
            return;
        };
        let built = || -> Result<Rc<dyn Engine>, String> {
            convscope_cpu::Engine::new(&graph, &bound).map(|e| Rc::new(e) as Rc<dyn Engine>).map_err(|e| e.to_string())
        };
        let cpu = match cached.map_or_else(built, Ok) {
            Ok(cpu) => cpu,
            Err(e) => {
                self.message = Some(Message::error(format!("{why}, and the CPU engine cannot run it: {e}")));
                return;
            }
        };
        self.cache(&running.key.clone(), Backend::Cpu, &cpu, &running.weights.clone(), &graph, &bound);
        self.message = Some(Message::warning(format!("{why}: the result below is from the CPU engine")));
        match cpu.start(running.input.clone(), running.capture.clone()) {
            Ok(run) => {
                self.running = Some(Running {
                    run,
                    engine: cpu,
                    started: web_time::Instant::now(),
                    busy_ms: 0.0,
                    last_slice_end: None,
                    fallback: Some(why),
                    ..running
                })
            }
            Err(e) => self.message = Some(Message::error(format!("{why}, and the CPU engine cannot run it: {e}"))),
        }
    }

    /// The engine for `key`: pretrained weights when the model has them (fetched once), else seeded.
    /// The engine for `key` on `backend` (built once), with its weights' label and, when the GPU
    /// engine cannot take the model, why the CPU engine runs it instead. `None` while weights load.
    fn engine_for(
        &mut self,
        ctx: &egui::Context,
        entry: &ModelEntry,
        graph: &Graph,
        key: &ModelKey,
        backend: Backend,
    ) -> Option<(Rc<dyn Engine>, WeightsLabel, Option<String>)> {
        if let Some(at) = self.engines.iter().position(|e| e.key == *key && e.backend == backend) {
            let cached = self.engines.remove(at);
            let found = (Rc::clone(&cached.engine), cached.weights.clone(), None);
            self.engines.insert(0, cached);
            return Some(found);
        }
        let (bound, label) = self.bound_for(ctx, entry, graph, key)?;
        let mut fallback = None;
        if backend == Backend::Gpu
            && let Some(gpu) = &self.gpu
        {
            match GpuEngine::new(gpu, graph, &bound) {
                Ok(engine) => {
                    let engine: Rc<dyn Engine> = Rc::new(engine);
                    self.cache(key, Backend::Gpu, &engine, &label, graph, &bound);
                    return Some((engine, label, None));
                }
                Err(e) => {
                    log::warn!("GPU engine for {}: {e}", entry.id);
                    fallback = Some(format!("the GPU engine cannot run this model ({e})"));
                }
            }
        }
        if let Some(cached) = self.engines.iter().find(|e| e.key == *key && e.backend == Backend::Cpu) {
            return Some((Rc::clone(&cached.engine), cached.weights.clone(), fallback));
        }
        match convscope_cpu::Engine::new(graph, &bound) {
            Ok(engine) => {
                let engine: Rc<dyn Engine> = Rc::new(engine);
                self.cache(key, Backend::Cpu, &engine, &label, graph, &bound);
                Some((engine, label, fallback))
            }
            Err(e) => {
                self.message = Some(Message::error(format!("cannot run {}: {e}", entry.id)));
                None
            }
        }
    }

    /// Keep the engine for `key` on `backend` first, and at most [`ENGINES_KEPT`] in all.
    fn cache(
        &mut self,
        key: &ModelKey,
        backend: Backend,
        engine: &Rc<dyn Engine>,
        weights: &WeightsLabel,
        graph: &Graph,
        bound: &Rc<Bound>,
    ) {
        self.engines.retain(|e| !(e.key == *key && e.backend == backend));
        self.engines.insert(
            0,
            CachedEngine {
                key: key.clone(),
                backend,
                engine: Rc::clone(engine),
                weights: weights.clone(),
                graph: graph.clone(),
                bound: Rc::clone(bound),
            },
        );
        self.engines.truncate(ENGINES_KEPT);
    }

    /// The weights for `key`: a checkpoint the user gave, the pretrained asset (fetched once), else
    /// seeded ones. Kept with the graph so the CPU engine can take over from the GPU later.
    fn bound_for(
        &mut self,
        ctx: &egui::Context,
        entry: &ModelEntry,
        graph: &Graph,
        key: &ModelKey,
    ) -> Option<(Rc<Bound>, WeightsLabel)> {
        if let Some((k, _, bound, label)) = &self.bound
            && k == key
        {
            return Some((Rc::clone(bound), label.clone()));
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
                    self.message =
                        Some(Message::error(format!("{name} does not fit this variant of {id}: {}", report.summary())));
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
        let bound = Rc::new(bound.unwrap_or_else(|| synthetic::init(graph, UNTRAINED_SEED)));
        self.bound = Some((key.clone(), graph.clone(), Rc::clone(&bound), label.clone()));
        Some((bound, label))
    }

    fn take_photos(&mut self, ctx: &egui::Context) {
        // Files dropped on the window (on the web the page's own listeners read them into the inbox before
        // eframe sees them: `crate::web::listen_for_dropped_files`).
        #[cfg(not(target_arch = "wasm32"))]
        for file in ctx.input(|i| i.raw.dropped_files.clone()) {
            let name =
                file.path().file_name().map_or_else(|| "dropped file".to_owned(), |n| n.to_string_lossy().into_owned());
            // Refused above the app's limit before reading, like a picked file.
            let arrived = if file.path().is_file() {
                crate::native_picker::read_bounded(file.path(), assets::MAX_FILE_BYTES).1
            } else {
                file.bytes()
            };
            self.receive(name, arrived);
        }
        let arrived: Vec<_> = self.inbox.lock().map(|mut q| q.drain(..).collect()).unwrap_or_default();
        for (name, bytes) in arrived {
            #[cfg(target_arch = "wasm32")]
            let Some((name, bytes)) = self.decode_large_in_browser(ctx, name, bytes) else { continue };
            self.receive(name, bytes);
        }
        let decoded: Vec<_> = self.decoded.lock().map(|mut q| q.drain(..).collect()).unwrap_or_default();
        for (name, photo) in decoded {
            match photo {
                Ok(photo) => self.show_photo(name, photo),
                Err(e) => self.message = Some(Message::error(format!("{name}: {e}"))),
            }
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

    /// A photo above [`crate::web::BROWSER_DECODE_PIXELS`] goes to the browser's decoder (the page keeps
    /// painting, with a message, until it arrives); anything else comes back to be received here.
    #[cfg(target_arch = "wasm32")]
    fn decode_large_in_browser(
        &mut self,
        ctx: &egui::Context,
        name: String,
        bytes: Result<Vec<u8>, String>,
    ) -> Option<(String, Result<Vec<u8>, String>)> {
        let header = bytes.as_ref().ok().and_then(|b| convscope_input::header(b).ok());
        match (header, bytes) {
            (Some(header), Ok(bytes)) if header.pixels() > crate::web::BROWSER_DECODE_PIXELS => {
                self.message =
                    Some(Message::info(format!("{name}: decoding the {} × {} photo…", header.width, header.height)));
                crate::web::decode_in_browser(name, bytes, header, ctx.clone(), self.decoded.clone());
                None
            }
            (_, bytes) => Some((name, bytes)),
        }
    }

    /// A file's bytes arrived: a photo (decoded, bounded) or a checkpoint (read, matched against the
    /// zoo); anything else is named and the previous photo kept.
    pub fn receive(&mut self, name: String, bytes: Result<Vec<u8>, String>) {
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                self.message = Some(Message::error(format!("{name}: {e}")));
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
            Ok(photo) => self.show_photo(name, photo),
            Err(e) => self.message = Some(Message::error(format!("{name}: {e}"))),
        }
    }

    /// A decoded photo becomes the one the networks run on.
    fn show_photo(&mut self, name: String, photo: Photo) {
        self.message = photo.warning.as_ref().map(|w| Message::warning(format!("{name}: {w}")));
        self.photo = Some((name, photo));
        self.photo_generation += 1;
        self.running = None;
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
                self.message = Some(Message::error(format!("{name}: {e}")));
                return;
            }
        };
        let ranked = convscope_zoo::fit::rank(&checkpoint.shapes(), bind::needs);
        match ranked.first() {
            Some(best) if best.is_exact() => {
                self.message = Some(Message::info(format!(
                    "{name}: {} tensors ({}), fits {} — running it with these weights",
                    checkpoint.tensors.len(),
                    checkpoint.format.name(),
                    best.describe()
                )));
                self.checkpoint = Some((name, Arc::new(checkpoint), best.id));
                self.switch_to = Some((best.id, best.variant));
                self.result = None;
                self.other = None;
                self.running = None;
                self.engines.clear();
                self.bound = None;
            }
            Some(best) => {
                self.message = Some(Message::error(format!(
                    "{name} fits no zoo model exactly; the closest is {} ({} missing, {} unexpected, {} of another shape)",
                    best.describe(),
                    best.missing,
                    best.unexpected,
                    best.mismatched
                )));
            }
            None => self.message = Some(Message::error(format!("{name}: no zoo model to compare with"))),
        }
    }
}
