//! Every model of the zoo with its default variant, input spec and published numbers.

use convscope_graph::{BuildError, Graph};

/// The knobs every model understands. Models ignore what they cannot vary (see [`ModelEntry::width`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Variant {
    /// Width multiplier α applied to every layer's channels (1.0 = the paper's base model).
    pub width: f64,
    /// Input side in pixels (square input).
    pub resolution: usize,
    pub num_classes: usize,
    /// Groups of the grouped convolutions, for models that offer a choice ([`ModelEntry::groups`]).
    pub groups: Option<usize>,
    /// Compute every multiplying convolution with Mitchell's logarithmic multiplication (any network).
    pub mitchell: bool,
    /// `[in, out]` channels of a stand-alone block ([`ModelEntry::block`]); networks ignore it.
    pub channels: Option<[usize; 2]>,
    /// Expansion ratio t of the expanding blocks, for models with [`ModelEntry::expansion`] (None: the
    /// paper's).
    pub expansion: Option<usize>,
    /// Ghost module ratio s and cheap-operation kernel d, for models with [`ModelEntry::ghost`] (None: 2, 3).
    pub ghost: Option<[usize; 2]>,
    /// EfficientNet depth coefficient d (stage repeats × d, rounded up), for models with
    /// [`ModelEntry::compound`] (None: the released model's). See [`crate::compound_scaling`].
    pub depth: Option<f64>,
}

impl Default for Variant {
    /// A 1.0× ImageNet network at 224².
    fn default() -> Self {
        imagenet(1.0, 224)
    }
}

/// How an image becomes the network input: resize the shorter side, centre-crop, normalize.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputSpec {
    pub resolution: usize,
    /// Shorter side after resizing, before the centre crop.
    pub resize: usize,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl InputSpec {
    /// torchvision's ImageNet preprocessing: resize 256 (scaled with the crop), crop, ImageNet mean/std.
    pub const fn imagenet(resolution: usize, resize: usize) -> Self {
        Self { resolution, resize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }
    }
}

/// A number a paper or an official repository prints for this model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Published {
    pub resolution: usize,
    pub params: Option<f64>,
    /// Whether `params` leaves out BN's affine weights (TensorFlow's count, e.g. MobileNetV2's 3.47M).
    pub params_without_bn: bool,
    /// Multiply-accumulates (what most of these papers call FLOPs).
    pub macs: Option<f64>,
    pub top1: Option<f64>,
    /// Paper table or repository file.
    pub source: &'static str,
}

/// Pretrained weights a model runs with by default, converted by the set-up step into `assets/weights/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pretrained {
    /// File name under `assets/weights/`.
    pub asset: &'static str,
    /// Where the weights come from, for the UI and the NOTICE.
    pub source: &'static str,
    pub license: &'static str,
}

/// One model of the zoo.
pub struct ModelEntry {
    /// The id the CLI and the app use (torchvision's or timm's name where they have the model).
    pub id: &'static str,
    pub title: &'static str,
    pub family: &'static str,
    /// The paper, e.g. "Sandler et al. 2018, arXiv:1801.04381".
    pub paper: &'static str,
    /// The implementation whose structure and names the graph follows.
    pub reference: &'static str,
    pub default: Variant,
    /// Whether [`Variant::width`] changes the network.
    pub width: bool,
    /// The values [`Variant::groups`] may take (empty: the model has no groups knob).
    pub groups: &'static [usize],
    /// A stand-alone block (input `[in, r, r]` → output, no classifier) rather than a whole network.
    pub block: bool,
    /// The paper's expansion ratio t, where [`Variant::expansion`] can change it.
    pub expansion: Option<usize>,
    /// The paper's Ghost ratio s and cheap kernel d, where [`Variant::ghost`] can change them.
    pub ghost: Option<[usize; 2]>,
    /// Whether EfficientNet compound scaling applies: φ sets width, [`Variant::depth`] and resolution.
    pub compound: bool,
    pub input: InputSpec,
    pub published: Option<Published>,
    /// Default pretrained weights (None: the model runs with seeded weights, labelled "untrained").
    pub pretrained: Option<Pretrained>,
    /// Builds the graph; `row` tells table-driven families which row of their table this entry is.
    pub(crate) builder: fn(&Variant, usize) -> Result<Graph, BuildError>,
    pub(crate) row: usize,
}

/// The defaults every entry starts from: a whole ImageNet network at 224², no knobs, no published numbers.
/// Entries name what differs and take the rest with `..NETWORK`.
pub(crate) const NETWORK: ModelEntry = ModelEntry {
    id: "",
    title: "",
    family: "",
    paper: "",
    reference: "",
    default: imagenet(1.0, 224),
    width: false,
    groups: &[],
    block: false,
    expansion: None,
    ghost: None,
    compound: false,
    input: InputSpec::imagenet(224, 256),
    published: None,
    pretrained: None,
    builder: unset_builder,
    row: 0,
};

fn unset_builder(_: &Variant, _: usize) -> Result<Graph, BuildError> {
    Err(BuildError::Invalid { node: "registry".to_owned(), message: "this entry has no builder".to_owned() })
}

impl ModelEntry {
    pub fn build(&self, variant: &Variant) -> Result<Graph, BuildError> {
        // Checked once here for every expanding block: make_divisible would round t = 0 up to 8 channels.
        if variant.expansion == Some(0) {
            return Err(BuildError::ZeroSize { node: self.id.to_owned(), what: "expansion ratio" });
        }
        // Every builder scales channels by the width: a non-finite one would round to usize::MAX.
        if !(variant.width.is_finite() && variant.width > 0.0) {
            return Err(BuildError::Invalid {
                node: self.id.to_owned(),
                message: format!("the width multiplier must be a positive number, not {}", variant.width),
            });
        }
        if let Some(d) = variant.depth.filter(|d| !(d.is_finite() && *d > 0.0)) {
            return Err(BuildError::Invalid {
                node: self.id.to_owned(),
                message: format!("the depth coefficient must be a positive number, not {d}"),
            });
        }
        let graph = (self.builder)(variant, self.row)?;
        Ok(if variant.mitchell { graph.with_conv_arithmetic(convscope_graph::Arithmetic::Mitchell) } else { graph })
    }

    pub fn build_default(&self) -> Result<Graph, BuildError> {
        self.build(&self.default)
    }
}

impl std::fmt::Debug for ModelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelEntry").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Every model, in the order the picker shows them.
pub fn registry() -> Vec<ModelEntry> {
    let mut models = Vec::new();
    models.extend(crate::squeezenet::models());
    models.extend(crate::squeezenext::models());
    models.extend(crate::mobilenet_v1::models());
    models.extend(crate::mobilenet_v2::models());
    models.extend(crate::mobilenet_v3::models());
    models.extend(crate::shufflenet_v1::models());
    models.extend(crate::shufflenet_v2::models());
    models.extend(crate::igcv1::models());
    models.extend(crate::igcv2::models());
    models.extend(crate::channelnet::models());
    models.extend(crate::efficientnet::models());
    models.extend(crate::efficientnet_lite::models());
    models.extend(crate::efficientnet_v2::models());
    models.extend(crate::ghostnet::models());
    models.extend(crate::g_ghostnet::models());
    models.extend(crate::micronet::models());
    models.extend(crate::condensenet::models());
    models.extend(crate::alexnet::models());
    models.extend(crate::resnet::models());
    models.extend(crate::googlenet::models());
    models.extend(crate::inception_v3::models());
    models.extend(crate::vgg::models());
    models.extend(crate::xception::models());
    models.extend(crate::swap::models());
    models.extend(crate::blocks::models());
    models
}

pub fn find(id: &str) -> Option<ModelEntry> {
    registry().into_iter().find(|entry| entry.id == id)
}

/// Row `row` of a family's table, or an error naming the family (a registry bug, never a user's).
pub(crate) fn table_row<'a, T>(table: &'a [T], row: usize, family: &str) -> Result<&'a T, BuildError> {
    table.get(row).ok_or_else(|| BuildError::Invalid {
        node: family.to_owned(),
        message: format!("the registry names row {row} of a {}-row table", table.len()),
    })
}

/// A variant with the usual 1000 ImageNet classes.
pub(crate) const fn imagenet(width: f64, resolution: usize) -> Variant {
    Variant {
        width,
        resolution,
        num_classes: 1000,
        groups: None,
        mitchell: false,
        channels: None,
        expansion: None,
        ghost: None,
        depth: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `cargo xtask fuzz graph_variants` (input e8 fe 36 fc 00 04 08: an infinite width, which
    /// overflowed `make_divisible`): widths and depths that are not positive finite numbers are refused by
    /// every model, never built.
    #[test]
    fn non_finite_or_negative_widths_and_depths_are_refused() {
        for entry in crate::registry() {
            for width in [f64::INFINITY, f64::NAN, -1.0, 0.0] {
                let variant = Variant { width, ..entry.default };
                assert!(entry.build(&variant).is_err(), "{} at width {width}", entry.id);
            }
            for depth in [f64::INFINITY, f64::NAN, -2.0] {
                let variant = Variant { depth: Some(depth), ..entry.default };
                assert!(entry.build(&variant).is_err(), "{} at depth {depth}", entry.id);
            }
        }
    }
}
