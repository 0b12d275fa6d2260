//! Several networks on the same photo, one after another while the main view's run is idle: each
//! model's top-5 and compute time, for the Compare view's "on one photo" table. Each runs at its default
//! settings with its pretrained weights where it has them, on the engine the Run view uses.

use super::*;

/// One model's result on the photo.
pub struct Comparison {
    pub id: &'static str,
    pub photo: u64,
    pub top: Vec<(usize, f32)>,
    /// Compute time (the CPU's busy time, or the GPU's own measurement).
    pub millis: f64,
    pub backend: Backend,
    pub weights: WeightsLabel,
}

pub(super) struct Comparing {
    id: &'static str,
    photo: u64,
    run: Box<dyn convscope_engine::Run>,
    weights: WeightsLabel,
    busy_ms: f64,
}

impl Inference {
    /// Run every model of `ids` on the current photo (again, for those already done).
    pub fn compare(&mut self, ids: &[&'static str]) {
        let photo = self.photo_generation;
        self.comparisons.retain(|c| c.photo == photo && !ids.contains(&c.id));
        self.compare_queue = ids.to_vec();
        self.comparing = None;
    }

    /// The results on the current photo, in the order they finished.
    pub fn comparisons(&self) -> impl Iterator<Item = &Comparison> {
        let photo = self.photo_generation;
        self.comparisons.iter().filter(move |c| c.photo == photo)
    }

    /// The results, to edit (UI tests fix their times for snapshots).
    pub fn comparisons_mut(&mut self) -> &mut [Comparison] {
        &mut self.comparisons
    }

    /// The model being compared now and how many wait after it.
    pub fn comparing(&self) -> Option<(&'static str, usize)> {
        let waiting = self.compare_queue.len();
        match &self.comparing {
            Some(c) => Some((c.id, waiting)),
            None => self.compare_queue.first().map(|id| (*id, waiting.saturating_sub(1))),
        }
    }

    /// Advance the comparison by one frame's budget, when the main run is idle.
    pub fn update_comparison(&mut self, ctx: &egui::Context) {
        if self.running.is_some() {
            return;
        }
        let Some((_, photo)) = &self.photo else { return };
        let generation = self.photo_generation;
        if self.comparing.as_ref().is_some_and(|c| c.photo != generation) {
            self.comparing = None;
        }
        if self.comparing.is_none() {
            let Some(&id) = self.compare_queue.first() else { return };
            let Some(entry) = convscope_zoo::find(id) else {
                self.compare_queue.remove(0);
                return;
            };
            let graph = match entry.build_default() {
                Ok(g) => g,
                Err(e) => {
                    self.message = Some(Message::error(format!("cannot compare {id}: {e}")));
                    self.compare_queue.remove(0);
                    return;
                }
            };
            let key = ModelKey { id: entry.id, variant: entry.default };
            let photo = photo.clone();
            let backend = self.effective_backend();
            // None while the pretrained weights are on their way: try again next frame.
            let Some((engine, weights, _)) = self.engine_for(ctx, &entry, &graph, &key, backend) else {
                ctx.request_repaint();
                return;
            };
            let prepared = convscope_input::preprocess(&photo, &entry.input);
            let started =
                Tensor::new(graph.input_shape(), prepared.chw).and_then(|input| engine.start(input, Capture::Output));
            self.compare_queue.remove(0);
            match started {
                Ok(run) => self.comparing = Some(Comparing { id, photo: generation, run, weights, busy_ms: 0.0 }),
                Err(e) => {
                    self.message = Some(Message::error(format!("cannot compare {id}: {e}")));
                    return;
                }
            }
        }
        let Some(comparing) = self.comparing.as_mut() else { return };
        let frame = web_time::Instant::now();
        let deadline = frame + web_time::Duration::from_secs_f64(FRAME_BUDGET_MS / 1e3);
        let status = comparing.run.advance(Some(deadline));
        comparing.busy_ms += frame.elapsed().as_secs_f64() * 1e3;
        ctx.request_repaint();
        match status {
            Ok(Status::Working | Status::Waiting) => {}
            Ok(Status::Done) => {
                let Some(done) = self.comparing.take() else { return };
                match done.run.finish() {
                    Ok(outputs) => {
                        let millis = if outputs.backend == Backend::Cpu { done.busy_ms } else { outputs.total_ms };
                        self.comparisons.push(Comparison {
                            id: done.id,
                            photo: done.photo,
                            top: convscope_engine::top_k(&outputs.output.data, 5),
                            millis,
                            backend: outputs.backend,
                            weights: done.weights,
                        });
                    }
                    Err(e) => self.message = Some(Message::error(format!("comparing {}: {e}", done.id))),
                }
            }
            Err(e) => {
                self.message = Some(Message::error(format!("comparing {}: {e}", comparing.id)));
                self.comparing = None;
            }
        }
    }
}
