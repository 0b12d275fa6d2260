//! The model the user is looking at: which zoo entry and variant, the built graph and its cost, how far
//! the block-by-block build has got, and which layer is selected. Plain data, shared by the panels.

use convscope_graph::{BuildError, FlopConvention, Graph, GraphCost, NodeId, Report};
use convscope_zoo::{ModelEntry, Variant};

/// One step of the block-by-block build: a run of consecutive nodes belonging to the same unit block —
/// a block inside a stage (an inverted residual, a dense layer), or a top-level block that is not a stage
/// (a stem, a Fire module, a MicroNet block).
#[derive(Clone, Debug, PartialEq)]
pub struct BuildStep {
    pub name: String,
    pub kind: String,
    /// Name of the top-level block (stage) this step belongs to.
    pub stage: String,
    /// Node indices `start..end` in the graph.
    pub nodes: std::ops::Range<usize>,
    pub output: convscope_graph::Shape,
    pub params: u64,
    pub macs: u64,
    pub cumulative_params: u64,
    pub cumulative_macs: u64,
}

/// A successfully built model with everything the views read.
pub struct BuiltModel {
    pub graph: Graph,
    pub cost: GraphCost,
    pub steps: Vec<BuildStep>,
    pub report: Report,
    /// For a stand-alone block: the cost of a plain 3×3 conv with the same channels and input.
    pub baseline: Option<convscope_graph::Cost>,
}

pub struct ModelView {
    pub entries: Vec<ModelEntry>,
    pub selected: usize,
    pub variant: Variant,
    pub convention: FlopConvention,
    pub model: Result<BuiltModel, BuildError>,
    /// Steps shown so far in the build view (all of them once the build has finished).
    pub built_steps: usize,
    pub playing: bool,
    /// Steps per second while playing.
    pub speed: f32,
    /// Seconds since the last step while playing.
    pub since_step: f32,
    pub selected_node: Option<NodeId>,
    /// EfficientNet compound coefficient φ the variant was scaled with (None: the released row).
    pub phi: Option<f64>,
    /// What the last anatomy export did ("saved …", "downloading …").
    pub anatomy_notice: Option<String>,
    /// `built_steps` when the Build view last drew, and when (UI time) it last grew by one block: the new
    /// block's diagram then shows its tensors flowing through, and collapses into the strip.
    pub last_built: usize,
    pub stepped_at: Option<f64>,
}

impl Default for ModelView {
    fn default() -> Self {
        let entries = convscope_zoo::registry();
        let selected = entries.iter().position(|e| e.id == "mobilenet_v2").unwrap_or(0);
        let variant = entries.get(selected).map(|e| e.default).unwrap_or_default();
        let mut view = Self {
            entries,
            selected,
            variant,
            convention: FlopConvention::TWO_PER_MAC,
            model: Err(BuildError::NoInput),
            built_steps: 0,
            playing: false,
            speed: 8.0,
            since_step: 0.0,
            selected_node: None,
            phi: None,
            anatomy_notice: None,
            last_built: 0,
            stepped_at: None,
        };
        view.rebuild();
        view
    }
}

impl ModelView {
    pub fn entry(&self) -> Option<&ModelEntry> {
        self.entries.get(self.selected)
    }

    /// Pick zoo entry `index` with its default variant.
    pub fn select(&mut self, index: usize) {
        if let Some(entry) = self.entries.get(index) {
            self.selected = index;
            self.variant = entry.default;
            self.phi = None;
            self.rebuild();
        }
    }

    /// Select by id; false if there is no such model.
    pub fn select_id(&mut self, id: &str) -> bool {
        let Some(index) = self.entries.iter().position(|e| e.id == id) else { return false };
        self.select(index);
        true
    }

    /// Build the graph for the current entry and variant; the build view starts complete.
    pub fn rebuild(&mut self) {
        let Some(entry) = self.entries.get(self.selected) else { return };
        let baseline = entry
            .block
            .then(|| convscope_zoo::find("block_conv3x3"))
            .flatten()
            .and_then(|plain| plain.build(&self.variant).ok())
            .map(|graph| GraphCost::of(&graph).total);
        self.model = entry.build(&self.variant).map(|graph| {
            let cost = GraphCost::of(&graph);
            let steps = build_steps(&graph, &cost);
            let report = Report::with_cost(&graph, &cost, &self.convention);
            BuiltModel { graph, cost, steps, report, baseline }
        });
        self.built_steps = self.model.as_ref().map_or(0, |m| m.steps.len());
        self.playing = false;
        self.selected_node = None;
    }

    /// Recompute the report after a convention change (the graph stays).
    pub fn set_convention(&mut self, convention: FlopConvention) {
        self.convention = convention;
        if let Ok(model) = &mut self.model {
            model.report = Report::with_cost(&model.graph, &model.cost, &convention);
        }
    }

    pub fn total_steps(&self) -> usize {
        self.model.as_ref().map_or(0, |m| m.steps.len())
    }

    /// Advance the animation by `dt` seconds; returns true while more steps remain.
    pub fn tick(&mut self, dt: f32) -> bool {
        if !self.playing {
            return false;
        }
        self.since_step += dt;
        let interval = 1.0 / self.speed.max(0.1);
        while self.since_step >= interval && self.built_steps < self.total_steps() {
            self.since_step -= interval;
            self.built_steps += 1;
        }
        if self.built_steps >= self.total_steps() {
            self.playing = false;
        }
        self.playing
    }

    /// Nodes shown so far: those of the built steps (the input is always there).
    pub fn visible_nodes(&self) -> usize {
        match &self.model {
            Ok(model) => match self.built_steps.checked_sub(1).and_then(|i| model.steps.get(i)) {
                Some(step) => step.nodes.end,
                None => 1,
            },
            Err(_) => 0,
        }
    }
}

/// Block kinds that only group other blocks: their children are the build steps.
fn is_container(kind: &str) -> bool {
    kind == "stage" || kind.ends_with(" stage") || kind == "DenseBlock"
}

/// Split the graph into build steps (see [`BuildStep`]).
pub fn build_steps(graph: &Graph, cost: &GraphCost) -> Vec<BuildStep> {
    let mut steps: Vec<BuildStep> = Vec::new();
    let (mut params, mut macs) = (0u64, 0u64);
    for (index, (node, c)) in graph.nodes.iter().zip(&cost.per_node).enumerate().skip(1) {
        let path = graph.block_path(node.block);
        // A stage's steps are its blocks; any other top-level block (a stem, a MicroNet block with its
        // dynamic activations inside) is one step.
        let top = path.first().and_then(|&id| graph.block(id));
        let unit = if top.is_some_and(|b| is_container(&b.kind)) { path.get(1).or(path.first()) } else { path.first() };
        let unit = unit.and_then(|&id| graph.block(id));
        // A node outside every block (SqueezeNet's max pools) is a stage of its own.
        let stage = path.first().and_then(|&id| graph.block(id)).map_or_else(|| node.name.clone(), |b| b.name.clone());
        let (name, kind) =
            unit.map_or_else(|| (node.name.clone(), node.op.label()), |b| (b.name.clone(), b.kind.clone()));
        params += c.params;
        macs += c.macs;
        match steps.last_mut() {
            Some(step) if step.name == name && step.nodes.end == index => {
                step.nodes.end = index + 1;
                step.output = node.output;
                step.params += c.params;
                step.macs += c.macs;
                step.cumulative_params = params;
                step.cumulative_macs = macs;
            }
            _ => steps.push(BuildStep {
                name,
                kind,
                stage,
                nodes: index..index + 1,
                output: node.output,
                params: c.params,
                macs: c.macs,
                cumulative_params: params,
                cumulative_macs: macs,
            }),
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobilenet_v2_builds_in_inverted_residual_steps() {
        let mut view = ModelView::default();
        assert!(view.select_id("mobilenet_v2"));
        let model = view.model.as_ref().expect("builds");
        let names: Vec<&str> = model.steps.iter().map(|s| s.name.as_str()).collect();
        // Stem, 17 inverted residuals (features.1 … features.17), the 1×1 head, the classifier.
        assert_eq!(names.len(), 20, "{names:?}");
        assert_eq!(names.first(), Some(&"features.0"));
        assert_eq!(names.get(1), Some(&"features.1"));
        assert_eq!(names.get(17), Some(&"features.17"));
        assert_eq!(names.last(), Some(&"classifier"));
        let last = model.steps.last().expect("steps");
        assert_eq!(last.cumulative_params, model.cost.total.params);
        assert_eq!(last.cumulative_macs, model.cost.total.macs);
        assert_eq!(last.nodes.end, model.graph.nodes.len());
    }

    #[test]
    fn blocks_with_inner_blocks_are_one_step_each() {
        // MicroNet's blocks hold their dynamic Shift-Max blocks; each block is still one step, and step
        // names never repeat.
        let mut view = ModelView::default();
        assert!(view.select_id("micronet_m0"));
        let model = view.model.as_ref().expect("builds");
        let names: Vec<&str> = model.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "features.0",
                "features.1",
                "features.2",
                "features.3",
                "features.4",
                "features.5",
                "features.6",
                "features.7",
                "classifier"
            ]
        );
    }

    #[test]
    fn playing_reveals_steps_over_time() {
        let mut view = ModelView { built_steps: 0, playing: true, speed: 10.0, ..ModelView::default() };
        view.tick(0.35);
        assert_eq!(view.built_steps, 3);
        while view.tick(1.0) {}
        assert_eq!(view.built_steps, view.total_steps());
        assert!(!view.playing);
    }

    #[test]
    fn an_impossible_variant_keeps_the_error() {
        let mut view = ModelView::default();
        assert!(view.select_id("vgg16"));
        view.variant.resolution = 256;
        view.rebuild();
        assert!(view.model.is_err());
        assert_eq!(view.visible_nodes(), 0);
    }
}
