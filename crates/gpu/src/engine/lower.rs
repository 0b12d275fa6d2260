//! The GPU engine's lowering of the fused plan: each step becomes the dispatches that compute it (a
//! kernel of `shaders/` with its pipeline constants, its uniform parameters, what it binds, its grid),
//! and the weights it needs, laid out for upload. Which kernel computes what, and why, is in
//! ARCHITECTURE.md ("The GPU engine").

use convscope_engine::{EngineError, FusedConv, Plan, StepKind};
use convscope_graph::{Activation, Arithmetic, NodeId, PoolKind, Shape};

use super::placement::Remap;
use crate::adapter::ComputeLimits;
use crate::pipelines::PipelineKey;

/// Invocations per workgroup of the flat kernels (`flat_index` in common.wgsl).
const FLAT_WORKGROUP: u64 = 64;
/// Tile edge of the implicit-GEMM convolution (conv.wgsl `TILE_M`, `TILE_N`).
const CONV_TILE: u64 = 32;
/// Pixels per invocation of depthwise.wgsl.
const DEPTHWISE_STRIP: usize = 4;

/// What a binding of a dispatch refers to; value buffers are made per run, the rest per engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The value of a node (resolved to the buffer holding it when a run starts).
    Value(NodeId),
    /// A tensor uploaded with the engine (`Lowered::weights`).
    Weight(usize),
    /// A small zero buffer for bindings a kernel declares but this pipeline does not read (no bias).
    Unused,
}

#[derive(Clone, Debug)]
pub(crate) struct Dispatch {
    pub key: PipelineKey,
    /// Uniform words (u32, or f32 bits), bound at binding 0.
    pub params: Vec<u32>,
    pub bindings: Vec<(u32, Slot)>,
    pub workgroups: [u32; 3],
}

#[derive(Clone, Debug)]
pub(crate) struct GpuStep {
    pub node: NodeId,
    /// Empty for steps that compute nothing (the input, fused nodes, aliases).
    pub dispatches: Vec<Dispatch>,
}

/// A plan in the GPU engine's form.
pub(crate) struct Lowered {
    pub steps: Vec<GpuStep>,
    /// Tensors uploaded once per engine, as bytes.
    pub weights: Vec<Vec<u8>>,
    /// Per node, the node whose buffer holds its value: itself, the convolution it was fused into,
    /// (flatten, dropout) its input's, the concatenation it is written into, or (a slice read in place)
    /// its input's (`placement.rs`).
    pub value_of: Vec<NodeId>,
    /// Per node, where its value starts in that buffer, in elements.
    pub offset_of: Vec<usize>,
    /// Per node, its shape.
    pub shapes: Vec<Shape>,
    /// Per node, the last step that reads it (the plan's `last_use`).
    pub last_use: Vec<usize>,
    pub output: NodeId,
    pub input: Shape,
    pub absorbs: Vec<Vec<NodeId>>,
    /// Per node, the step it was fused into, if any.
    pub fused_into: Vec<Option<NodeId>>,
    /// Nodes whose value is never computed: channel shuffles (and slices of them) read through the
    /// shuffle's remap. A run that keeps any of their maps needs a lowering without remaps.
    pub remapped: Vec<NodeId>,
}

impl Lowered {
    /// `remap_shuffles`: fuse channel shuffles into their readers where every reader can remap.
    pub fn new(plan: Plan, limits: &ComputeLimits, software: bool, remap_shuffles: bool) -> Result<Self, EngineError> {
        let placement = super::placement::place(&plan, remap_shuffles);
        let remap_of = placement.remap.clone();
        let remapped = remap_of.iter().enumerate().filter(|(_, r)| r.is_some()).map(|(i, _)| NodeId(i)).collect();
        let value_of: Vec<NodeId> = placement.root.iter().map(|&r| NodeId(r)).collect();
        let offset_of = placement.offset.clone();
        let shapes: Vec<Shape> = plan.steps.iter().map(|s| s.output).collect();
        let n = plan.steps.len();
        let mut lowering = Lowering { weights: Vec::new(), limits, registers: software };
        let mut steps = Vec::with_capacity(n);
        let absorbs: Vec<Vec<NodeId>> = plan.steps.iter().map(|s| s.absorbs.clone()).collect();
        let mut fused_into = vec![None; n];
        for (r, list) in absorbs.iter().enumerate() {
            for m in list {
                if let Some(f) = fused_into.get_mut(m.0) {
                    *f = Some(NodeId(r));
                }
            }
        }
        for step in plan.steps {
            let node = step.node;
            let first = step.inputs.first().copied();
            let input_shape = |i: usize| -> Result<Shape, EngineError> {
                step.inputs
                    .get(i)
                    .and_then(|id| shapes.get(id.0))
                    .copied()
                    .ok_or_else(|| EngineError::Internal(format!("node {}: input {i} missing", node.0)))
            };
            let value = |i: usize| -> Result<Slot, EngineError> {
                step.inputs
                    .get(i)
                    .map(|id| Slot::Value(*id))
                    .ok_or_else(|| EngineError::Internal(format!("node {}: input {i} missing", node.0)))
            };
            let out = Slot::Value(node);
            let len = step.output.checked_numel().ok_or_else(|| EngineError::Internal("output size".into()))?;
            let offset = |id: NodeId| offset_of.get(id.0).copied().unwrap_or(0);
            let root = |id: NodeId| value_of.get(id.0).copied().unwrap_or(id);
            let remap = |id: NodeId| remap_of.get(id.0).copied().flatten();
            // Only convolutions and copies take offsets; every other kernel reads and writes whole buffers
            // (steps without a dispatch only share their input's place).
            let in_place = matches!(
                step.kind,
                StepKind::Conv(_)
                    | StepKind::Concat
                    | StepKind::Slice { .. }
                    | StepKind::Shuffle { .. }
                    | StepKind::Input
                    | StepKind::Fused { .. }
                    | StepKind::Alias
            );
            if !in_place && (offset(node) != 0 || step.inputs.iter().any(|&x| offset(x) != 0)) {
                return Err(EngineError::Internal(format!("node {}: a kernel without offsets reads a part", node.0)));
            }
            if !super::placement::reads_in_place(&step.kind) && step.inputs.iter().any(|&x| remap(x).is_some()) {
                return Err(EngineError::Internal(format!("node {}: reads a shuffle that was not computed", node.0)));
            }
            let dispatches = match step.kind {
                StepKind::Input | StepKind::Fused { .. } | StepKind::Alias => Vec::new(),
                StepKind::Conv(conv) => {
                    let x = first.ok_or_else(|| EngineError::Internal(format!("node {}: no input", node.0)))?;
                    vec![lowering.conv(&conv, (value(0)?, offset(x)), (out, offset(node)), remap(x))?]
                }
                StepKind::Affine { scale, shift } => {
                    let x = input_shape(0)?;
                    let table = lowering.upload_f32(scale.iter().chain(&shift).copied());
                    vec![flat(
                        PipelineKey::new("elementwise.wgsl", "affine"),
                        vec![w(len), w(x.h * x.w), w(2 * x.c), w(x.c)],
                        vec![(1, value(0)?), (2, Slot::Weight(table)), (3, out)],
                        len,
                    )?]
                }
                StepKind::Activation(a) => vec![flat(
                    PipelineKey::new("elementwise.wgsl", "activation").with("ACT", activation_code(Some(a))),
                    vec![w(len), 1, w(len), 1],
                    vec![(1, value(0)?), (3, out)],
                    len,
                )?],
                StepKind::Binary { multiply } => {
                    let (a, b) = (input_shape(0)?, input_shape(1)?);
                    let b_len = b.checked_numel().unwrap_or(0);
                    if b_len != len && b_len != a.c {
                        return Err(EngineError::Internal(format!("node {}: {a} and {b} do not broadcast", node.0)));
                    }
                    vec![flat(
                        PipelineKey::new("elementwise.wgsl", if multiply { "mul" } else { "add" }),
                        vec![w(len), w(a.h * a.w), w(b_len), w(a.c)],
                        vec![(1, value(0)?), (2, value(1)?), (3, out)],
                        len,
                    )?]
                }
                // Inputs written in place by their convolutions need no copy.
                StepKind::Concat => {
                    let mut at = 0;
                    let mut copies = Vec::with_capacity(step.inputs.len());
                    for (i, id) in step.inputs.iter().enumerate() {
                        let part = input_shape(i)?.checked_numel().unwrap_or(0);
                        if root(*id) == root(node) {
                            if offset(*id) != offset(node) + at {
                                return Err(EngineError::Internal(format!("node {}: input {i} misplaced", node.0)));
                            }
                        } else {
                            let to = (out, offset(node) + at);
                            copies.push(match remap(*id) {
                                Some(r) => shuffled_copy((Slot::Value(*id), offset(*id)), to, input_shape(i)?, r)?,
                                None => copy(Slot::Value(*id), offset(*id), to.0, to.1, part)?,
                            });
                        }
                        at += part;
                    }
                    copies
                }
                // A slice read in place is only an offset.
                StepKind::Slice { .. } if placement.view.get(node.0) == Some(&true) => Vec::new(),
                StepKind::Slice { start, end: _ } => {
                    let x = input_shape(0)?;
                    let from = first.map_or(0, offset);
                    match first.and_then(remap) {
                        Some(r) => {
                            let r = Remap { base: r.base + start, ..r };
                            vec![shuffled_copy((value(0)?, from), (out, offset(node)), step.output, r)?]
                        }
                        None => vec![copy(value(0)?, from + start * x.h * x.w, out, offset(node), len)?],
                    }
                }
                // Read through its remap by every reader: nothing to compute.
                StepKind::Shuffle { .. } if remap(node).is_some() => Vec::new(),
                StepKind::Shuffle { groups } => {
                    let x = input_shape(0)?;
                    let r = Remap { groups, channels: x.c, base: 0 };
                    vec![shuffled_copy((value(0)?, first.map_or(0, offset)), (out, offset(node)), x, r)?]
                }
                StepKind::Gather { index } => {
                    let p = Channels::new(len, input_shape(0)?);
                    let index = lowering.upload_u32(index.iter().map(|&i| w(i)));
                    vec![flat(
                        PipelineKey::new("channels.wgsl", "gather"),
                        p.words(),
                        vec![(1, value(0)?), (3, Slot::Weight(index)), (4, out)],
                        len,
                    )?]
                }
                StepKind::ChannelConv { weight, filters: _, kernel, stride, padding } => {
                    let x = input_shape(0)?;
                    let depth = (x.c + 2 * padding).saturating_sub(kernel) / stride.max(1) + 1;
                    let p = Channels {
                        kernel: w(kernel),
                        stride: w(stride),
                        pad: w(padding),
                        depth: w(depth),
                        ..Channels::new(len, x)
                    };
                    let weight = lowering.upload_f32(weight.iter().copied());
                    vec![flat(
                        PipelineKey::new("channels.wgsl", "channel_conv"),
                        p.words(),
                        vec![(1, value(0)?), (2, Slot::Weight(weight)), (4, out)],
                        len,
                    )?]
                }
                StepKind::ShiftMax { groups, branches, scale, init_a, init_b } => {
                    let p = Channels {
                        groups: w(groups),
                        branches: w(branches),
                        scale,
                        init_a,
                        init_b,
                        ..Channels::new(len, input_shape(0)?)
                    };
                    vec![flat(
                        PipelineKey::new("channels.wgsl", "shift_max"),
                        p.words(),
                        vec![(1, value(0)?), (2, value(1)?), (4, out)],
                        len,
                    )?]
                }
                StepKind::Lrn { size, alpha, beta, k } => {
                    let p = Channels { size: w(size.max(1)), alpha, beta, k, ..Channels::new(len, input_shape(0)?) };
                    vec![flat(
                        PipelineKey::new("channels.wgsl", "lrn"),
                        p.words(),
                        vec![(1, value(0)?), (4, out)],
                        len,
                    )?]
                }
                StepKind::Pool(pool) => {
                    let x = input_shape(0)?;
                    let o = step.output;
                    let kind = match pool.kind {
                        PoolKind::Max => 0,
                        PoolKind::Avg { count_include_pad: true } => 1,
                        PoolKind::Avg { count_include_pad: false } => 2,
                    };
                    let pad = pool.padding;
                    vec![flat(
                        PipelineKey::new("pool.wgsl", "window"),
                        vec![
                            w(x.c),
                            w(x.h),
                            w(x.w),
                            w(o.h),
                            w(o.w),
                            w(pool.kernel[0]),
                            w(pool.kernel[1]),
                            w(pool.stride[0]),
                            w(pool.stride[1]),
                            w(pad.top),
                            w(pad.left),
                            w(pad.bottom),
                            w(pad.right),
                            kind,
                        ],
                        vec![(1, value(0)?), (2, out)],
                        len,
                    )?]
                }
                StepKind::GlobalAvgPool => {
                    let x = input_shape(0)?;
                    vec![Dispatch {
                        key: PipelineKey::new("pool.wgsl", "global_average"),
                        params: vec![w(x.c), w(x.h), w(x.w), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                        bindings: vec![(1, value(0)?), (2, out)],
                        workgroups: fold(x.c as u64)?,
                    }]
                }
                StepKind::Linear { weight, bias } => {
                    let x = input_shape(0)?;
                    let inputs = x.checked_numel().unwrap_or(0);
                    lowering.linear(&weight, bias.as_deref(), inputs, len, value(0)?, out)?
                }
                StepKind::Softmax => vec![Dispatch {
                    key: PipelineKey::new("softmax.wgsl", "softmax"),
                    params: vec![w(len)],
                    bindings: vec![(1, value(0)?), (2, out)],
                    workgroups: [1, 1, 1],
                }],
            };
            steps.push(GpuStep { node, dispatches });
        }
        Ok(Self {
            steps,
            weights: lowering.weights,
            value_of,
            offset_of,
            shapes,
            last_use: plan.last_use,
            output: plan.output,
            input: plan.input,
            absorbs,
            fused_into,
            remapped,
        })
    }
}

struct Lowering<'a> {
    weights: Vec<Vec<u8>>,
    limits: &'a ComputeLimits,
    /// Convolutions without workgroup memory (`conv_registers`): adapters that run shaders on the CPU.
    registers: bool,
}

impl Lowering<'_> {
    fn upload_f32(&mut self, values: impl Iterator<Item = f32>) -> usize {
        self.weights.push(values.flat_map(f32::to_le_bytes).collect());
        self.weights.len() - 1
    }

    fn upload_u32(&mut self, values: impl Iterator<Item = u32>) -> usize {
        self.weights.push(values.flat_map(u32::to_le_bytes).collect());
        self.weights.len() - 1
    }

    /// A convolution reading `x` and writing `out`, each a value and an element offset into its buffer;
    /// with a remap, `x` is the map a fused channel shuffle would have shuffled.
    fn conv(
        &mut self,
        c: &FusedConv,
        x: (Slot, usize),
        out: (Slot, usize),
        remap: Option<Remap>,
    ) -> Result<Dispatch, EngineError> {
        let ((x, x_offset), (out, y_offset)) = (x, out);
        // The shuffle's words (conv.wgsl and depthwise.wgsl `shuffle_*`); zeros when there is none.
        let shuffle = remap.map_or([0; 2], |r| [w(r.channels), w(r.base)]);
        let conv = &c.conv;
        let weight = self.upload_f32(c.weight.iter().copied());
        let bias = match &c.bias {
            Some(b) => Slot::Weight(self.upload_f32(b.iter().copied())),
            None => Slot::Unused,
        };
        let geometry = |key: PipelineKey| {
            key.with("KH", w(conv.kernel[0]))
                .with("KW", w(conv.kernel[1]))
                .with("SH", w(conv.stride[0]))
                .with("SW", w(conv.stride[1]))
                .with("DH", w(conv.dilation[0]))
                .with("DW", w(conv.dilation[1]))
                .with("HAS_BIAS", u32::from(c.bias.is_some()))
                .with("ACT", activation_code(c.activation))
        };
        // Only readers of a shuffle compile the remap.
        let geometry = |key: PipelineKey| match remap {
            Some(r) => geometry(key).with("SHUFFLE_GROUPS", w(r.groups)),
            None => geometry(key),
        };
        let (i, o) = (c.input, c.output);
        let bindings = vec![(1, x), (2, Slot::Weight(weight)), (3, bias), (4, out)];
        if c.is_depthwise() && conv.arithmetic == Arithmetic::Multiply {
            let strips = o.w.div_ceil(DEPTHWISE_STRIP);
            return Ok(Dispatch {
                key: geometry(PipelineKey::new("depthwise.wgsl", "depthwise")),
                params: vec![
                    w(o.c),
                    w(i.h),
                    w(i.w),
                    w(o.h),
                    w(o.w),
                    w(conv.padding.top),
                    w(conv.padding.left),
                    w(strips),
                    w(x_offset),
                    w(y_offset),
                    shuffle[0],
                    shuffle[1],
                ],
                bindings,
                workgroups: fold(((o.c * o.h * strips) as u64).div_ceil(FLAT_WORKGROUP))?,
            });
        }
        let groups = conv.groups.max(1);
        let (cin_g, cout_g) = (conv.in_channels / groups, conv.out_channels / groups);
        let arith = match conv.arithmetic {
            Arithmetic::Multiply => 0,
            Arithmetic::Adder => 1,
            Arithmetic::Mitchell => 2,
        };
        let params = vec![
            w(i.h),
            w(i.w),
            w(o.h),
            w(o.w),
            w(cin_g),
            w(cout_g),
            w(conv.padding.top),
            w(conv.padding.left),
            w(groups),
            w(x_offset),
            w(y_offset),
            shuffle[0],
            shuffle[1],
        ];
        let max = u64::from(self.limits.max_compute_workgroups_per_dimension);
        if self.registers {
            let pixel_groups = ((o.h * o.w).div_ceil(4) as u64).div_ceil(FLAT_WORKGROUP);
            let channel_blocks = cout_g.div_ceil(4) as u64;
            if pixel_groups > max || channel_blocks > max || groups as u64 > max {
                return Err(EngineError::Device(format!(
                    "a {}×{}×{} output needs more workgroups than this adapter dispatches ({max} per dimension)",
                    o.c, o.h, o.w
                )));
            }
            return Ok(Dispatch {
                key: geometry(PipelineKey::new("conv.wgsl", "conv_registers")).with("ARITH", arith),
                params,
                bindings,
                workgroups: [pixel_groups as u32, channel_blocks as u32, groups as u32],
            });
        }
        let tiles_n = ((o.h * o.w) as u64).div_ceil(CONV_TILE);
        let tiles_m = (cout_g as u64).div_ceil(CONV_TILE);
        if tiles_n > max || tiles_m > max || groups as u64 > max {
            return Err(EngineError::Device(format!(
                "a {}×{} output map needs more workgroups than this adapter dispatches ({max} per dimension)",
                o.h, o.w
            )));
        }
        Ok(Dispatch {
            key: geometry(PipelineKey::new("conv.wgsl", "conv")).with("ARITH", arith),
            params,
            bindings,
            workgroups: [tiles_n as u32, tiles_m as u32, groups as u32],
        })
    }

    /// A fully connected layer; weights larger than one storage binding (VGG's and AlexNet's first
    /// classifier layers: 411 and 151 MB) are split by output rows over several dispatches.
    fn linear(
        &mut self,
        weight: &[f32],
        bias: Option<&[f32]>,
        inputs: usize,
        outputs: usize,
        x: Slot,
        out: Slot,
    ) -> Result<Vec<Dispatch>, EngineError> {
        if inputs == 0 || weight.len() != inputs * outputs {
            return Err(EngineError::Internal(format!("linear: {} weights for {inputs} → {outputs}", weight.len())));
        }
        let bytes_per_row = (inputs * 4) as u64;
        let limit = self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size);
        let rows_per_part = (limit / bytes_per_row).max(1) as usize;
        if rows_per_part == 0 || bytes_per_row > limit {
            return Err(EngineError::Device(format!(
                "a linear layer's row of {inputs} weights exceeds this adapter's storage binding limit"
            )));
        }
        let mut dispatches = Vec::new();
        let mut first = 0;
        while first < outputs {
            let rows = rows_per_part.min(outputs - first);
            let part = self.upload_f32(weight.iter().skip(first * inputs).take(rows * inputs).copied());
            let bias_slot = match bias {
                Some(b) => Slot::Weight(self.upload_f32(b.iter().skip(first).take(rows).copied())),
                None => Slot::Unused,
            };
            dispatches.push(Dispatch {
                key: PipelineKey::new("linear.wgsl", "linear").with("HAS_BIAS", u32::from(bias.is_some())),
                params: vec![w(inputs), w(rows), w(first), 0],
                bindings: vec![(1, x), (2, Slot::Weight(part)), (3, bias_slot), (4, out)],
                workgroups: fold(rows as u64)?,
            });
            first += rows;
        }
        Ok(dispatches)
    }
}

/// A count as a uniform word (shapes are validated by the graph builder; zoo sizes fit u32).
fn w(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The `ACT` pipeline constant of common.wgsl.
pub(crate) fn activation_code(a: Option<Activation>) -> u32 {
    match a {
        None => 0,
        Some(Activation::Relu) => 1,
        Some(Activation::Relu6) => 2,
        Some(Activation::HardSigmoid) => 3,
        Some(Activation::HardSwish) => 4,
        Some(Activation::Sigmoid) => 5,
        Some(Activation::Silu) => 6,
    }
}

/// channels.wgsl's uniform `Channels`, field for field.
#[derive(Clone, Copy, Debug, Default)]
struct Channels {
    len: u32,
    plane: u32,
    channels: u32,
    groups: u32,
    src_offset: u32,
    dst_offset: u32,
    kernel: u32,
    stride: u32,
    pad: u32,
    depth: u32,
    branches: u32,
    size: u32,
    alpha: f32,
    beta: f32,
    k: f32,
    scale: f32,
    init_a: [f32; 2],
    init_b: [f32; 2],
    /// The shuffle's first output channel (a slice of the shuffled map).
    base: u32,
}

impl Channels {
    /// `len` output values computed from a `[c, h, w]` input.
    fn new(len: usize, x: Shape) -> Self {
        Self { len: w(len), plane: w(x.h * x.w), channels: w(x.c), groups: 1, ..Self::default() }
    }

    fn words(&self) -> Vec<u32> {
        let mut words = vec![
            self.len,
            self.plane,
            self.channels,
            self.groups,
            self.src_offset,
            self.dst_offset,
            self.kernel,
            self.stride,
            self.pad,
            self.depth,
            self.branches,
            self.size,
        ];
        words.extend([self.alpha, self.beta, self.k, self.scale].map(f32::to_bits));
        words.extend(self.init_a.iter().chain(&self.init_b).map(|v| v.to_bits()));
        words.push(self.base);
        words
    }
}

fn copy(from: Slot, src_offset: usize, to: Slot, dst_offset: usize, len: usize) -> Result<Dispatch, EngineError> {
    let p =
        Channels { src_offset: w(src_offset), dst_offset: w(dst_offset), ..Channels::new(len, Shape::map(1, 1, 1)) };
    flat(PipelineKey::new("channels.wgsl", "copy"), p.words(), vec![(1, from), (4, to)], len)
}

/// A channel shuffle's output channels `r.base..` (as many as `to_shape` has), from the map `from`
/// (`r.channels` channels of `to_shape`'s size) into `to`: the shuffle itself, or its remap copied into a
/// concatenation or slice.
fn shuffled_copy(from: (Slot, usize), to: (Slot, usize), to_shape: Shape, r: Remap) -> Result<Dispatch, EngineError> {
    let len = to_shape.checked_numel().ok_or_else(|| EngineError::Internal("shuffle size".into()))?;
    // The groups are the pipeline's constant.
    let p = Channels {
        src_offset: w(from.1),
        dst_offset: w(to.1),
        base: w(r.base),
        ..Channels::new(len, Shape::map(r.channels, to_shape.h, to_shape.w))
    };
    let plane = (to_shape.h * to_shape.w) as u64;
    if plane.div_ceil(FLAT_WORKGROUP) > 65_535 || to_shape.c > 65_535 {
        return Err(EngineError::Device(format!(
            "a shuffle of {to_shape} needs more workgroups than a dispatch holds"
        )));
    }
    Ok(Dispatch {
        key: PipelineKey::new("channels.wgsl", "shuffle").with("SHUFFLE_GROUPS", w(r.groups)),
        params: p.words(),
        bindings: vec![(1, from.0), (4, to.0)],
        workgroups: [plane.div_ceil(FLAT_WORKGROUP) as u32, w(to_shape.c), 1],
    })
}

/// A dispatch of a flat kernel (64 invocations a workgroup) over `items` items.
fn flat(key: PipelineKey, params: Vec<u32>, bindings: Vec<(u32, Slot)>, items: usize) -> Result<Dispatch, EngineError> {
    Ok(Dispatch { key, params, bindings, workgroups: fold((items as u64).div_ceil(FLAT_WORKGROUP))? })
}

/// `workgroups` folded into x and y, each at most 65 535 (WebGPU's default per-dimension limit):
/// kernels recover the linear index as `x + y · groups.x` (`flat_index`).
pub(crate) fn fold(workgroups: u64) -> Result<[u32; 3], EngineError> {
    const MAX: u64 = 65_535;
    let workgroups = workgroups.max(1);
    if workgroups <= MAX {
        return Ok([workgroups as u32, 1, 1]);
    }
    let y = workgroups.div_ceil(MAX);
    if y > MAX {
        return Err(EngineError::Device(format!("{workgroups} workgroups do not fit one dispatch")));
    }
    let x = workgroups.div_ceil(y);
    Ok([x as u32, y as u32, 1])
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folded_grids_cover_every_workgroup_once() {
        for n in [1u64, 64, 65_535, 65_536, 1_000_000, 65_535 * 3 + 1] {
            let [x, y, z] = fold(n).expect("fits");
            assert!(x <= 65_535 && y <= 65_535 && z == 1);
            assert!(u64::from(x) * u64::from(y) >= n, "{n}: {x}×{y}");
            assert!(u64::from(x) * (u64::from(y) - 1) < n, "{n}: a whole row of {x} is idle");
        }
    }
}
