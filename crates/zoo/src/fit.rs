//! Which zoo model a checkpoint is for: compare its tensor names and shapes with what each model's
//! graph needs, and rank the models by how many tensors do not fit.

use std::collections::BTreeMap;

use convscope_graph::Graph;

use crate::{ModelEntry, registry};

/// How well a checkpoint fits one model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fit {
    pub id: &'static str,
    /// Keys the model needs that the checkpoint lacks.
    pub missing: usize,
    /// Keys the checkpoint has that the model does not use.
    pub unexpected: usize,
    /// Keys present in both with different shapes.
    pub mismatched: usize,
}

impl Fit {
    pub fn is_exact(&self) -> bool {
        self.missing == 0 && self.unexpected == 0 && self.mismatched == 0
    }

    pub fn problems(&self) -> usize {
        self.missing + self.unexpected + self.mismatched
    }
}

/// Every network of the zoo (at its default variant) ranked against `checkpoint` (name → shape, without
/// buffers like `num_batches_tracked`), best first. `needs` lists a graph's tensor names and shapes
/// (`convscope_weights::bind::expected`).
pub fn rank(
    checkpoint: &BTreeMap<String, Vec<usize>>,
    needs: impl Fn(&Graph) -> Vec<(String, Vec<usize>)>,
) -> Vec<Fit> {
    let mut fits: Vec<Fit> = registry()
        .iter()
        .filter(|e| !e.block)
        .filter_map(|entry: &ModelEntry| {
            let graph = entry.build_default().ok()?;
            let needed: BTreeMap<String, Vec<usize>> = needs(&graph).into_iter().collect();
            let missing = needed.keys().filter(|k| !checkpoint.contains_key(*k)).count();
            let unexpected = checkpoint.keys().filter(|k| !needed.contains_key(*k)).count();
            let mismatched = needed.iter().filter(|(k, s)| checkpoint.get(*k).is_some_and(|c| c != *s)).count();
            Some(Fit { id: entry.id, missing, unexpected, mismatched })
        })
        .collect();
    fits.sort_by_key(|f| (f.problems(), f.id));
    fits
}
