//! Where each node's value lives on the GPU: in the buffer of a *root* node, from an element offset.
//!
//! Most values are their own root. Three kinds share a buffer:
//! - a batch norm or activation fused into a convolution, and a flatten or dropout, hold their input's
//!   value (offset unchanged);
//! - a convolution whose output goes into a concatenation is written straight into the concatenation's
//!   buffer, at its channel offset, so the concatenation copies only the inputs that were not placed;
//! - a channel slice (ShuffleNet V2's split, a Ghost module's trim) is read in place by the kernels that
//!   take an input offset (convolutions, the copies of concatenations and slices) instead of copied;
//! - where asked (runs that keep no shuffled map), a channel shuffle read only by convolutions,
//!   concatenations and slices of it is not computed: its readers read its input through the shuffle's
//!   index remap ([`Remap`]), and a slice of it is the same remap from a later channel.
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
    /// Values never computed, read through a channel shuffle's remap of the map at (root, offset).
    pub remap: Vec<Option<Remap>>,
}

/// A channel shuffle fused into the reads of its value: channel `c` of the value is channel
/// `(c' % groups) · (channels / groups) + c' / groups` of the map it shuffles, with `c' = c + base`
/// (`base` is the first channel of a slice of the shuffled value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Remap {
    pub groups: usize,
    pub channels: usize,
    pub base: usize,
}

impl Remap {
    /// The channel of the shuffled map that channel `c` of the value reads (shaders' `shuffled_channel`).
    #[cfg(test)]
    pub fn source(&self, c: usize) -> usize {
        let c = c + self.base;
        (c % self.groups) * (self.channels / self.groups) + c / self.groups
    }
}

/// Whether a step of this kind reads its inputs at any element offset and through a channel shuffle's
/// remap (the kernels with an input offset and `SHUFFLE_GROUPS`: convolutions; the copies of
/// concatenations and slices, which take a remapped part with the shuffle kernel).
pub(crate) fn reads_in_place<C>(kind: &StepKind<C>) -> bool {
    matches!(kind, StepKind::Conv(_) | StepKind::Concat | StepKind::Slice { .. })
}

/// Where each value lives; with `remap_shuffles`, shuffles whose readers can remap are not computed.
pub(crate) fn place<C>(plan: &Plan<C>, remap_shuffles: bool) -> Placement {
    let steps = &plan.steps;
    let n = steps.len();
    let output = plan.output.0;
    let ordered = steps.iter().enumerate().all(|(i, s)| s.node.0 == i && s.inputs.iter().all(|x| x.0 < i));
    if !ordered || output >= n {
        return Placement { root: (0..n).collect(), offset: vec![0; n], view: vec![false; n], remap: vec![None; n] };
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

    // A slice whose every reader reads in place: (its input, first channel, channel size).
    let mut view: Vec<Option<(usize, usize, usize)>> = vec![None; n];
    for (i, s) in steps.iter().enumerate() {
        if let (StepKind::Slice { start, .. }, Some(x)) = (&s.kind, s.inputs.first())
            && i != output
            && consumers[i].iter().all(|&q| kind(q).is_some_and(reads_in_place))
            && let Some(input) = steps.get(x.0)
        {
            view[i] = Some((x.0, *start, input.output.h * input.output.w));
        }
    }

    // A shuffle whose readers all read through its remap (a slice of it read in place passes the remap
    // on to its own readers; one copied copies through the remap).
    let mut shuffle: Vec<Option<Remap>> = vec![None; n];
    if remap_shuffles {
        for (i, s) in steps.iter().enumerate() {
            let StepKind::Shuffle { groups } = s.kind else { continue };
            let Some(&x) = s.inputs.first() else { continue };
            let readers_remap = consumers[i].iter().all(|&q| kind(q).is_some_and(reads_in_place));
            if i != output && groups > 0 && readers_remap && x.0 < i {
                shuffle[i] = Some(Remap { groups, channels: s.output.c, base: 0 });
            }
        }
    }

    // A dispatch may not read the buffer it writes: undo the placements that would make one do so.
    loop {
        let (root, offset, remap) = resolve(steps, &base, &placed, &view, &shuffle);
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
                return Placement { root, offset, view, remap };
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

type Resolved = (Vec<usize>, Vec<usize>, Vec<Option<Remap>>);

/// Roots, offsets and remaps, in graph order (every node's sources come before it).
fn resolve<C>(
    steps: &[convscope_engine::Step<C>],
    base: &[usize],
    placed: &[Option<(usize, usize)>],
    view: &[Option<(usize, usize, usize)>],
    shuffle: &[Option<Remap>],
) -> Resolved {
    let n = base.len();
    let (mut root, mut offset, mut remap) = ((0..n).collect::<Vec<_>>(), vec![0; n], vec![None; n]);
    for i in 0..n {
        let source = steps[i].inputs.first().map(|x| x.0).filter(|&x| x < i);
        let (r, o, m) = match (view[i], placed[i], shuffle[i], source) {
            // A slice of a remapped value: the same map, the remap from a later channel.
            (Some((x, start, _)), ..) if x < i && remap[x].is_some() => {
                (root[x], offset[x], remap[x].map(|m: Remap| Remap { base: m.base + start, ..m }))
            }
            (Some((x, start, plane)), ..) if x < i => (root[x], offset[x] + start * plane, None),
            (_, Some((c, at)), ..) if base[i] == i => (c, at, None),
            (_, _, Some(m), Some(x)) => (root[x], offset[x], Some(m)),
            _ if base[i] < i => (root[base[i]], offset[base[i]], None),
            _ => (i, 0, None),
        };
        root[i] = r;
        offset[i] = o;
        remap[i] = m;
    }
    (root, offset, remap)
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
        let lowered = Lowered::new(plan, &limits, false, false).expect("lowers");
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

    /// Values written by the shuffle kernel in `id`'s forward pass, and how many steps dispatch it:
    /// (every value computed, shuffles fused into their readers).
    fn shuffled(id: &str) -> [(usize, usize); 2] {
        let limits = ComputeLimits::from_wgpu(&wgpu::Limits::default());
        [false, true].map(|remap| {
            let lowered = Lowered::new(plan(id), &limits, false, remap).expect("lowers");
            let dispatches: Vec<_> =
                lowered.steps.iter().flat_map(|s| &s.dispatches).filter(|d| d.key.entry == "shuffle").collect();
            (dispatches.iter().map(|d| d.params.first().copied().unwrap_or(0) as usize).sum(), dispatches.len())
        })
    }

    #[test]
    fn shuffles_are_fused_into_their_readers_when_asked() {
        // ShuffleNet V1: every shuffle is read by a depthwise convolution alone: none is computed.
        let [(full, _), (fused, n)] = shuffled("shufflenet_v1");
        assert!(full > 0 && fused == 0 && n == 0, "{full} → {fused} values in {n} dispatches");
        // ShuffleNet V2: a unit's split reads the shuffled map; the branch's convolution reads through the
        // remap, and only the half passed on is copied (into the next concatenation, which copied it before).
        let [(full, _), (fused, _)] = shuffled("shufflenet_v2_x1_0");
        assert!(fused * 2 <= full, "{full} → {fused}");
        let plan = plan("shufflenet_v2_x1_0");
        let (kept, remapped) = (place(&plan, false), place(&plan, true));
        assert!(kept.remap.iter().all(Option::is_none));
        for (i, s) in plan.steps.iter().enumerate() {
            if let StepKind::Shuffle { groups } = s.kind {
                let r = remapped.remap[i].expect("every shuffle of ShuffleNet V2 is read through its remap");
                assert_eq!((r.groups, r.channels, r.base), (groups, s.output.c, 0));
                assert_eq!((remapped.root[i], remapped.offset[i]), (remapped.root[s.inputs[0].0], 0));
            }
        }
    }

    /// A slice of a fused shuffle reads the channels the shuffle would have put there (the CPU kernel).
    #[test]
    fn a_slice_of_a_fused_shuffle_remaps_from_its_first_channel() {
        use convscope_graph::{Conv2d, GraphBuilder, Shape};
        let mut b = GraphBuilder::new("shuffle, slice, conv");
        let x = b.input(Shape::map(12, 1, 1)).expect("input");
        let y = b.conv("mix", x, Conv2d::new(12, 12, 1, 1)).expect("conv");
        let s = b.shuffle("shuffle", y, 3).expect("shuffle");
        let half = b.slice("half", s, 6, 12).expect("slice");
        b.conv("conv", half, Conv2d::new(6, 4, 1, 1)).expect("conv");
        let graph = b.finish().expect("graph");
        let plan = Plan::new(&graph, &convscope_weights::synthetic::init(&graph, 7)).expect("plan");
        let p = place(&plan, true);
        let r = p.remap[half.0].expect("the slice reads through the remap");
        let channels: Vec<f32> = (0..12).map(|c| c as f32).collect();
        let mut want = vec![0.0; 12];
        convscope_cpu::kernels::channels::shuffle(&channels, 12, 3, &mut want);
        let got: Vec<f32> = (0..6).map(|c| channels[r.source(c)]).collect();
        assert_eq!(got, want[6..]);
        assert_eq!((p.root[half.0], p.offset[half.0]), (p.root[y.0], p.offset[y.0]));
    }

    #[test]
    fn no_dispatch_reads_the_buffer_it_writes() {
        for entry in convscope_zoo::registry() {
            let Ok(graph) = entry.build_default() else { continue };
            let Ok(plan) = Plan::new(&graph, &convscope_weights::synthetic::init(&graph, 7)) else { continue };
            for p in [place(&plan, false), place(&plan, true)] {
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
}
