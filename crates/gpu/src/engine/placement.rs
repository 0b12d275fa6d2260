//! Where each node's value lives on the GPU: in the buffer of a *root* node, from an element offset.
//!
//! Most values are their own root. Three kinds share a buffer:
//! - a batch norm or activation fused into a convolution, and a flatten or dropout, hold their input's
//!   value (offset unchanged);
//! - a convolution whose output goes into a concatenation is written straight into the concatenation's
//!   buffer, at its channel offset, so the concatenation copies only the inputs that were not placed;
//! - a channel slice (ShuffleNet V2's split, a Ghost module's trim) is read in place by the kernels that
//!   take an input offset (convolutions, the copies of concatenations and slices) instead of copied.
//!
//! Offsets are element offsets passed to the kernels as uniforms (`x_offset`, `y_offset`, `src_offset`,
//! `dst_offset`): WebGPU binding offsets must be multiples of 256 bytes, which a channel block of a
//! 28×28 or 7×7 map rarely is. ARCHITECTURE.md ("The GPU engine") has the reasons.

// Every index below is a node of the plan, and `place` first checks that every step reads only
// earlier nodes (the graph builder's guarantee), so the vectors of length n are indexed directly.
#![allow(clippy::indexing_slicing)]

use convscope_engine::{Plan, StepKind};

/// Per node: the root whose buffer holds its value, and the element offset of its value there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    pub root: Vec<usize>,
    pub offset: Vec<usize>,
    /// Slices read in place (no copy).
    pub view: Vec<bool>,
}

/// Whether a step of this kind reads its inputs at any element offset (the kernels with an input
/// offset: convolutions; the copies of concatenations and slices).
fn reads_in_place<C>(kind: &StepKind<C>) -> bool {
    matches!(kind, StepKind::Conv(_) | StepKind::Concat | StepKind::Slice { .. })
}

pub(crate) fn place<C>(plan: &Plan<C>) -> Placement {
    let steps = &plan.steps;
    let n = steps.len();
    let output = plan.output.0;
    let ordered = steps.iter().enumerate().all(|(i, s)| s.node.0 == i && s.inputs.iter().all(|x| x.0 < i));
    if !ordered || output >= n {
        return Placement { root: (0..n).collect(), offset: vec![0; n], view: vec![false; n] };
    }
    // The nodes that share a value whatever the placement: fused steps and aliases.
    let mut base: Vec<usize> = (0..n).collect();
    for (i, s) in steps.iter().enumerate() {
        let shared = match &s.kind {
            StepKind::Fused { into } => Some(into.0),
            StepKind::Alias => s.inputs.first().map(|x| x.0),
            _ => None,
        };
        if let Some(b) = shared.and_then(|x| base.get(x).copied()).filter(|&b| b < i) {
            base[i] = b;
        }
    }
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in steps.iter().enumerate() {
        for x in &s.inputs {
            if let Some(c) = consumers.get_mut(x.0)
                && !c.contains(&i)
            {
                c.push(i);
            }
        }
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &b) in base.iter().enumerate() {
        members[b].push(i);
    }
    let kind = |i: usize| steps.get(i).map(|s| &s.kind);
    let numel = |i: usize| steps.get(i).and_then(|s| s.output.checked_numel()).unwrap_or(0);

    // A convolution whose value one concatenation takes, and which every other reader reads in place.
    let mut placed: Vec<Option<(usize, usize)>> = vec![None; n];
    for (c, s) in steps.iter().enumerate() {
        if !matches!(s.kind, StepKind::Concat) {
            continue;
        }
        let mut at = 0;
        for x in &s.inputs {
            let r = base.get(x.0).copied().unwrap_or(x.0);
            let group = members.get(r).map_or(&[][..], Vec::as_slice);
            let taken_once = s.inputs.iter().filter(|i| group.contains(&i.0)).count() == 1;
            let readers_in_place = group
                .iter()
                .all(|&m| consumers[m].iter().all(|&q| base[q] == r || q == c || kind(q).is_some_and(reads_in_place)));
            if matches!(kind(r), Some(StepKind::Conv(_)))
                && placed[r].is_none()
                && !group.contains(&output)
                && taken_once
                && readers_in_place
            {
                placed[r] = Some((c, at));
            }
            at += numel(x.0);
        }
    }

    // A slice whose every reader reads in place.
    let mut view: Vec<Option<(usize, usize)>> = vec![None; n];
    for (i, s) in steps.iter().enumerate() {
        if let (StepKind::Slice { start, .. }, Some(x)) = (&s.kind, s.inputs.first())
            && i != output
            && consumers[i].iter().all(|&q| kind(q).is_some_and(reads_in_place))
            && let Some(input) = steps.get(x.0)
        {
            view[i] = Some((x.0, start * input.output.h * input.output.w));
        }
    }

    // A dispatch may not read the buffer it writes: undo the placements that would make one do so.
    loop {
        let (root, offset) = resolve(&base, &placed, &view);
        let hazard = steps.iter().enumerate().find_map(|(i, s)| {
            let write = root[i];
            let reads = |x: &convscope_graph::NodeId| root[x.0] == write;
            match &s.kind {
                // A convolution written into a concatenation that it also reads (a Ghost module's cheap
                // operation reading the primary maps placed there): it keeps its own buffer.
                StepKind::Conv(_) if write != i && s.inputs.iter().any(reads) => Some(Undo::Conv(i)),
                // A concatenation that would copy from its own buffer.
                StepKind::Concat
                    if s.inputs.iter().any(|x| reads(x) && placed[base[x.0]].is_none_or(|(c, _)| c != i)) =>
                {
                    Some(Undo::Concat(i))
                }
                _ => None,
            }
        });
        match hazard {
            None => {
                let view = view.iter().map(Option::is_some).collect();
                return Placement { root, offset, view };
            }
            Some(Undo::Conv(i)) => placed[i] = None,
            Some(Undo::Concat(c)) => {
                for p in placed.iter_mut().filter(|p| p.is_some_and(|(into, _)| into == c)) {
                    *p = None;
                }
                for (i, v) in view.iter_mut().enumerate() {
                    if root[i] == c && i != c {
                        *v = None;
                    }
                }
            }
        }
    }
}

enum Undo {
    Conv(usize),
    Concat(usize),
}

/// Roots and offsets, in graph order (every node's sources come before it).
fn resolve(
    base: &[usize],
    placed: &[Option<(usize, usize)>],
    view: &[Option<(usize, usize)>],
) -> (Vec<usize>, Vec<usize>) {
    let n = base.len();
    let (mut root, mut offset) = ((0..n).collect::<Vec<_>>(), vec![0; n]);
    for i in 0..n {
        let (r, o) = match (view[i], placed[i]) {
            (Some((x, o)), _) if x < i => (root[x], offset[x] + o),
            (_, Some((c, at))) if base[i] == i => (c, at),
            _ if base[i] < i => (root[base[i]], offset[base[i]]),
            _ => (i, 0),
        };
        root[i] = r;
        offset[i] = o;
    }
    (root, offset)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use convscope_engine::{Plan, StepKind};

    use super::place;
    use crate::adapter::ComputeLimits;
    use crate::engine::lower::Lowered;

    fn plan(id: &str) -> Plan {
        let graph = convscope_zoo::find(id).expect("in the zoo").build_default().expect("builds");
        Plan::new(&graph, &convscope_weights::synthetic::init(&graph, 7)).expect("plan")
    }

    /// Values copied by the concatenations and slices of `id`'s forward pass: (with placement, as if every
    /// concatenation and slice copied).
    fn copied(id: &str) -> (usize, usize) {
        let plan = plan(id);
        let all: usize = plan
            .steps
            .iter()
            .filter(|s| matches!(s.kind, StepKind::Concat | StepKind::Slice { .. }))
            .map(|s| s.output.checked_numel().unwrap_or(0))
            .sum();
        let limits = ComputeLimits::from_wgpu(&wgpu::Limits::default());
        let lowered = Lowered::new(plan, &limits, false).expect("lowers");
        let left = lowered
            .steps
            .iter()
            .flat_map(|s| &s.dispatches)
            .filter(|d| d.key.entry == "copy")
            .map(|d| d.params.first().copied().unwrap_or(0) as usize)
            .sum();
        (left, all)
    }

    #[test]
    fn concatenated_convolutions_write_in_place() {
        // GoogLeNet: every branch of every Inception block ends in a convolution: no copies at all.
        assert_eq!(copied("googlenet").0, 0);
        // SqueezeNet's Fire: both expand convolutions write into the concatenation.
        assert_eq!(copied("squeezenet1_1").0, 0);
        // ShuffleNet V2: the split is read in place; a unit copies only the half that passes through.
        let (left, all) = copied("shufflenet_v2_x1_0");
        assert!(left * 3 < all, "{left} of {all}");
        // GhostNet: a Ghost module's cheap operation reads the primary maps where they are, so one of the
        // two is copied (a dispatch cannot read and write one buffer).
        let (left, all) = copied("ghostnet_100");
        assert!(left * 2 <= all, "{left} of {all}");
    }

    #[test]
    fn no_dispatch_reads_the_buffer_it_writes() {
        for entry in convscope_zoo::registry() {
            let Ok(graph) = entry.build_default() else { continue };
            let Ok(plan) = Plan::new(&graph, &convscope_weights::synthetic::init(&graph, 7)) else { continue };
            let p = place(&plan);
            for (i, s) in plan.steps.iter().enumerate() {
                let conv_reads_its_target =
                    matches!(s.kind, StepKind::Conv(_)) && s.inputs.iter().any(|x| p.root[x.0] == p.root[i]);
                assert!(!conv_reads_its_target, "{} node {i}", entry.id);
                // Parts of a concatenation in its buffer sit at their channel offsets (so none is copied
                // from the buffer it is copied into).
                if matches!(s.kind, StepKind::Concat) {
                    let mut at = p.offset[i];
                    for x in &s.inputs {
                        if p.root[x.0] == p.root[i] {
                            assert_eq!(p.offset[x.0], at, "{} node {i}", entry.id);
                        }
                        at += plan.steps[x.0].output.checked_numel().unwrap_or(0);
                    }
                }
            }
        }
    }
}
