//! Which zoo model a checkpoint is for: compare its tensor names and shapes with what each model's
//! graph needs, and rank the models by how many tensors do not fit.

use std::collections::BTreeMap;

use convscope_graph::Graph;

use crate::{ModelEntry, Variant, registry};

/// Widths tried for models with a width knob: the published multipliers of the zoo's families.
const WIDTHS: [f64; 9] = [0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4, 1.5, 2.0];

/// How well a checkpoint fits one model variant.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub id: &'static str,
    /// The variant that fits best (width and groups tried; resolution does not change weights).
    pub variant: Variant,
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

    /// "mobilenet_v2", or "mobilenet_v2 --width 0.5" / "shufflenet_v1 --groups 8" off the default.
    pub fn describe(&self) -> String {
        let default = crate::find(self.id).map(|e| e.default);
        let mut text = self.id.to_owned();
        if default.is_some_and(|d| d.width != self.variant.width) {
            text.push_str(&format!(" --width {}", self.variant.width));
        }
        if let Some(g) = self.variant.groups.filter(|g| default.is_some_and(|d| d.groups != Some(*g))) {
            text.push_str(&format!(" --groups {g}"));
        }
        text
    }
}

/// Every network of the zoo ranked against `checkpoint` (name → shape, without buffers like
/// `num_batches_tracked`), best first: each model at its default variant and, where it has those knobs,
/// at the usual widths and every groups choice. `needs` lists a graph's tensor names and shapes
/// (`convscope_weights::bind::expected`).
pub fn rank(
    checkpoint: &BTreeMap<String, Vec<usize>>,
    needs: impl Fn(&Graph) -> Vec<(String, Vec<usize>)>,
) -> Vec<Fit> {
    let mut fits: Vec<Fit> = Vec::new();
    for entry in registry().iter().filter(|e| !e.block) {
        let mut best: Option<Fit> = None;
        for variant in candidates(entry) {
            let Ok(graph) = entry.build(&variant) else { continue };
            let needed: BTreeMap<String, Vec<usize>> = needs(&graph).into_iter().collect();
            let missing = needed.keys().filter(|k| !checkpoint.contains_key(*k)).count();
            let unexpected = checkpoint.keys().filter(|k| !needed.contains_key(*k)).count();
            let mismatched = needed.iter().filter(|(k, s)| checkpoint.get(*k).is_some_and(|c| c != *s)).count();
            let fit = Fit { id: entry.id, variant, missing, unexpected, mismatched };
            // A model that shares no tensor name with the checkpoint will not at another width either.
            let unrelated = missing == needed.len();
            if best.as_ref().is_none_or(|b| fit.problems() < b.problems()) {
                best = Some(fit);
            }
            if unrelated {
                break;
            }
        }
        fits.extend(best);
    }
    fits.sort_by_key(|f| (f.problems(), f.id));
    fits
}

/// The variants of `entry` whose weights differ: the default, then widths and groups where offered.
fn candidates(entry: &ModelEntry) -> Vec<Variant> {
    let mut out = vec![entry.default];
    if entry.width {
        out.extend(
            WIDTHS.iter().filter(|&&w| w != entry.default.width).map(|&width| Variant { width, ..entry.default }),
        );
    }
    let widths: Vec<Variant> = out.clone();
    for &groups in entry.groups {
        for base in &widths {
            if Some(groups) != base.groups {
                out.push(Variant { groups: Some(groups), ..*base });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_groups_are_tried() {
        let Some(entry) = crate::find("shufflenet_v1") else { return };
        let variants = candidates(&entry);
        assert!(variants.iter().any(|v| v.width == 0.5 && v.groups == Some(8)));
        assert_eq!(variants.first(), Some(&entry.default));
    }
}
