//! The operations the seed networks need (ARCHITECTURE-SKETCH "Ops the seeds need").

/// Per-side zero padding of a convolution or pooling window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

impl Padding {
    /// The same padding on every side (PyTorch's `padding=p`).
    pub const fn uniform(p: usize) -> Self {
        Self { top: p, bottom: p, left: p, right: p }
    }

    /// PyTorch's `padding=(ph, pw)`.
    pub const fn symmetric(ph: usize, pw: usize) -> Self {
        Self { top: ph, bottom: ph, left: pw, right: pw }
    }

    /// TensorFlow "SAME" padding for an input of `size`: output = ceil(size / stride); the extra pixel of
    /// an odd total goes to the bottom/right (TF's rule, used by timm's `*_tf_*` and EfficientNet-Lite).
    pub fn tf_same(size: [usize; 2], kernel: [usize; 2], stride: [usize; 2], dilation: [usize; 2]) -> Self {
        let total = |size: usize, k: usize, s: usize, d: usize| {
            let s = s.max(1);
            let out = size.div_ceil(s);
            let effective = k.saturating_sub(1) * d + 1;
            (out.saturating_sub(1) * s + effective).saturating_sub(size)
        };
        let th = total(size[0], kernel[0], stride[0], dilation[0]);
        let tw = total(size[1], kernel[1], stride[1], dilation[1]);
        Self { top: th / 2, bottom: th - th / 2, left: tw / 2, right: tw - tw / 2 }
    }
}

/// How a convolution combines inputs and weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Arithmetic {
    /// Ordinary multiply-accumulate.
    #[default]
    Multiply,
    /// AdderNet (Chen et al. CVPR 2020): output = −Σ|x − w|, additions only.
    Adder,
    /// Mitchell's logarithmic multiplication (Mitchell 1962): each product approximated as
    /// antilog(log₂|x| + log₂|w|) with piecewise-linear logs, i.e. shifts and additions.
    Mitchell,
}

/// A 2-D convolution. Weights have shape `[out_channels, in_channels / groups, kernel[0], kernel[1]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2d {
    pub in_channels: usize,
    pub out_channels: usize,
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[sh, sw]`.
    pub stride: [usize; 2],
    pub padding: Padding,
    /// `[dh, dw]`.
    pub dilation: [usize; 2],
    pub groups: usize,
    pub bias: bool,
    pub arithmetic: Arithmetic,
}

impl Conv2d {
    /// A square `k×k` convolution with stride `s`, PyTorch padding `(k − 1) / 2`, no bias, no groups.
    pub fn new(in_channels: usize, out_channels: usize, k: usize, s: usize) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel: [k, k],
            stride: [s, s],
            padding: Padding::uniform((k.saturating_sub(1)) / 2),
            dilation: [1, 1],
            groups: 1,
            bias: false,
            arithmetic: Arithmetic::Multiply,
        }
    }

    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Depthwise: one group per input channel.
    pub fn depthwise(mut self) -> Self {
        self.groups = self.in_channels;
        self
    }

    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// Different strides along height and width (MicroNet's k×1 / 1×k convs).
    pub fn strides(mut self, sh: usize, sw: usize) -> Self {
        self.stride = [sh, sw];
        self
    }

    pub fn kernel(mut self, kh: usize, kw: usize) -> Self {
        self.kernel = [kh, kw];
        self
    }

    pub fn arithmetic(mut self, arithmetic: Arithmetic) -> Self {
        self.arithmetic = arithmetic;
        self
    }

    /// Number of weights (without bias).
    pub fn weight_count(&self) -> u64 {
        let per_group_in = (self.in_channels / self.groups.max(1)) as u64;
        self.out_channels as u64 * per_group_in * self.kernel[0] as u64 * self.kernel[1] as u64
    }
}

/// Element-wise activations, with PyTorch's definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    Relu,
    Relu6,
    HardSigmoid,
    HardSwish,
    Sigmoid,
    Silu,
}

impl Activation {
    pub const ALL: [Self; 6] = [Self::Relu, Self::Relu6, Self::HardSigmoid, Self::HardSwish, Self::Sigmoid, Self::Silu];

    /// Elementary operations per element, for FLOP conventions that count activations:
    /// ReLU = max(x, 0): 1; ReLU6 = min(max(x, 0), 6): 2; h-sigmoid = relu6(x + 3) / 6: 4;
    /// h-swish = x · h-sigmoid(x): 5; sigmoid = 1 / (1 + exp(−x)): 4; SiLU = x · sigmoid(x): 5.
    pub fn ops_per_element(self) -> u64 {
        match self {
            Self::Relu => 1,
            Self::Relu6 => 2,
            Self::HardSigmoid | Self::Sigmoid => 4,
            Self::HardSwish | Self::Silu => 5,
        }
    }

    /// The activation of `x`, with PyTorch's definitions (`nn.Hardsigmoid` is relu6(x + 3) / 6).
    pub fn apply(self, x: f32) -> f32 {
        let hard_sigmoid = |x: f32| (x + 3.0).clamp(0.0, 6.0) / 6.0;
        match self {
            Self::Relu => x.max(0.0),
            Self::Relu6 => x.clamp(0.0, 6.0),
            Self::HardSigmoid => hard_sigmoid(x),
            Self::HardSwish => x * hard_sigmoid(x),
            Self::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Self::Silu => x / (1.0 + (-x).exp()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Relu => "ReLU",
            Self::Relu6 => "ReLU6",
            Self::HardSigmoid => "Hardsigmoid",
            Self::HardSwish => "Hardswish",
            Self::Sigmoid => "Sigmoid",
            Self::Silu => "SiLU",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Max,
    /// `count_include_pad` as in PyTorch's AvgPool2d (default true).
    Avg {
        count_include_pad: bool,
    },
}

/// Max or average pooling over a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool {
    pub kind: PoolKind,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: Padding,
    pub ceil_mode: bool,
}

impl Pool {
    pub fn max(k: usize, s: usize, p: usize) -> Self {
        Self { kind: PoolKind::Max, kernel: [k, k], stride: [s, s], padding: Padding::uniform(p), ceil_mode: false }
    }

    pub fn avg(k: usize, s: usize, p: usize) -> Self {
        Self {
            kind: PoolKind::Avg { count_include_pad: true },
            kernel: [k, k],
            stride: [s, s],
            padding: Padding::uniform(p),
            ceil_mode: false,
        }
    }

    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }
}

/// One node's operation. Every variant has a shape rule (builder) and a cost rule (cost.rs); the `match`
/// statements there are exhaustive, so a new op cannot be added without both.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// The network input (an image after preprocessing).
    Input,
    Conv2d(Conv2d),
    /// Batch normalization over channels (affine, running statistics).
    BatchNorm {
        eps: f32,
    },
    Activation(Activation),
    /// Element-wise sum of two equal shapes (residual connections), or of a `[c, 1, 1]` second input
    /// broadcast over the first.
    Add,
    /// Element-wise product, broadcasting `[c, 1, 1]` over `[c, h, w]` (squeeze-and-excite gating).
    Mul,
    /// Concatenation along channels.
    Concat,
    /// Channels `start..end` of the input (ShuffleNet V2's split, Ghost's trim).
    ChannelSlice {
        start: usize,
        end: usize,
    },
    /// ShuffleNet's channel shuffle: view as `[groups, c / groups]`, transpose, flatten.
    ChannelShuffle {
        groups: usize,
    },
    Pool(Pool),
    /// Mean over all spatial positions: `[c, h, w]` → `[c, 1, 1]`.
    GlobalAvgPool,
    /// `[c, h, w]` → `[c·h·w]`.
    Flatten,
    /// Fully connected layer on a vector: weights `[out_features, in_features]`.
    Linear {
        in_features: usize,
        out_features: usize,
        bias: bool,
    },
    /// Identity at inference; kept so the graph mirrors the reference module list.
    Dropout {
        p: f32,
    },
    /// Softmax over the features of a vector.
    Softmax,
    /// MicroNet's dynamic Shift-Max (Li et al. ICCV 2021): with `x` the first input and `x̃` its channels
    /// permuted by one group and one channel within the group (`groups` groups), and per-channel
    /// coefficients `a₁ b₁ a₂ b₂` from the second input (a vector of `branches · 2 · c` values in [0, 1],
    /// mapped to `(v − 0.5) · scale` plus `init_a` / `init_b`), the output is `max(a₁x + b₁x̃, a₂x + b₂x̃)`
    /// with two branches, or `a₁x + b₁x̃` with one.
    DynamicShiftMax {
        groups: usize,
        branches: usize,
        scale: f32,
        init_a: [f32; 2],
        init_b: [f32; 2],
    },
    /// Select `channels` input channels (or features) by index, repeats allowed: CondenseNet's index layer
    /// (`torch.index_select(x, 1, index)`). The indices are data — learned, bound from the checkpoint's
    /// `<name>.index` buffer — so the graph only fixes how many there are.
    ChannelGather {
        channels: usize,
    },
    /// ChannelNet's channel-wise convolution (Gao et al. NeurIPS 2018): `out` filters of length `kernel`
    /// slide along the channel axis with `stride`, zero-padded by `padding` channels at both ends, and share
    /// their weights over every pixel. The results are stacked filter-major, `[out · d, h, w]` with
    /// `d = (c + 2·padding − kernel) / stride + 1` — pytorchcv's `ChannelwiseConv2d`, an `nn.Conv3d` with
    /// one input channel and weights `[out, 1, kernel, 1, 1]`, no bias.
    ChannelConv {
        out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    /// Local response normalization across `size` neighbouring channels (AlexNet):
    /// `x / (k + alpha / size · Σ x²)^beta`, PyTorch's `nn.LocalResponseNorm`.
    LocalResponseNorm {
        size: usize,
        alpha: f32,
        beta: f32,
        k: f32,
    },
}

impl Op {
    /// Short name for tables ("Conv2d 3×3 /2 dw").
    pub fn label(&self) -> String {
        match self {
            Self::Input => "Input".to_owned(),
            Self::Conv2d(conv) => {
                let mut label = match conv.arithmetic {
                    Arithmetic::Multiply => "Conv2d".to_owned(),
                    Arithmetic::Adder => "AdderConv2d".to_owned(),
                    Arithmetic::Mitchell => "MitchellConv2d".to_owned(),
                };
                label.push_str(&format!(" {}×{}", conv.kernel[0], conv.kernel[1]));
                if conv.stride != [1, 1] {
                    label.push_str(&format!(" /{}", conv.stride[0]));
                }
                if conv.groups > 1 && conv.groups == conv.in_channels {
                    label.push_str(" dw");
                } else if conv.groups > 1 {
                    label.push_str(&format!(" g{}", conv.groups));
                }
                label
            }
            Self::BatchNorm { .. } => "BatchNorm2d".to_owned(),
            Self::Activation(act) => act.name().to_owned(),
            Self::Add => "Add".to_owned(),
            Self::Mul => "Mul".to_owned(),
            Self::Concat => "Concat".to_owned(),
            Self::ChannelSlice { start, end } => format!("Slice {start}..{end}"),
            Self::ChannelShuffle { groups } => format!("Shuffle g{groups}"),
            Self::Pool(pool) => {
                let kind = match pool.kind {
                    PoolKind::Max => "MaxPool",
                    PoolKind::Avg { .. } => "AvgPool",
                };
                format!("{kind} {}×{} /{}", pool.kernel[0], pool.kernel[1], pool.stride[0])
            }
            Self::GlobalAvgPool => "GlobalAvgPool".to_owned(),
            Self::Flatten => "Flatten".to_owned(),
            Self::Linear { .. } => "Linear".to_owned(),
            Self::Dropout { .. } => "Dropout".to_owned(),
            Self::Softmax => "Softmax".to_owned(),
            Self::LocalResponseNorm { size, .. } => format!("LRN {size}"),
            Self::ChannelConv { out, kernel, stride, .. } => format!("ChannelConv {kernel} /{stride} ×{out}"),
            Self::ChannelGather { channels } => format!("IndexSelect {channels}"),
            Self::DynamicShiftMax { groups, branches, .. } => format!("DyShiftMax g{groups} ×{branches}"),
        }
    }
}
