//! The architecture zoo: every seed network as a [`convscope_graph::Graph`], built block by block with
//! node names equal to the reference implementation's state-dict prefixes.
//!
//! One file per family, each opening with the paper and the reference implementation it follows and its
//! known deviations. [`registry()`] lists every model with its default variant, input spec and published
//! numbers; the tests iterate over it, so a model is tested by being added.

mod alexnet;
mod blocks;
mod channelnet;
mod common;
mod condensenet;
mod efficientnet;
mod efficientnet_lite;
mod efficientnet_v2;
pub mod fit;
mod g_ghostnet;
mod ghostnet;
mod googlenet;
mod igcv1;
pub mod igcv2;
mod inception_v3;
mod micronet;
mod mobilenet_v1;
mod mobilenet_v2;
mod mobilenet_v3;
mod registry;
mod resnet;
mod shufflenet_v1;
mod shufflenet_v2;
mod squeezenet;
mod squeezenext;
pub mod swap;
mod vgg;
mod xception;

pub use common::make_divisible;
pub use efficientnet::compound_scaling;
pub use registry::{InputSpec, ModelEntry, Pretrained, Published, Variant, find, registry};

/// The 1000 ImageNet-1k class names in index order, from torchvision 0.29.2's
/// `torchvision.models._meta._IMAGENET_CATEGORIES` (written by tools/parity.py's environment; see
/// data/imagenet_classes.txt).
pub fn imagenet_classes() -> Vec<&'static str> {
    include_str!("../data/imagenet_classes.txt").lines().collect()
}

/// Build model `id` with `variant`, or say why not.
pub fn build(id: &str, variant: &Variant) -> Result<convscope_graph::Graph, ZooError> {
    let entry = find(id).ok_or_else(|| ZooError::UnknownModel(id.to_owned()))?;
    entry.build(variant).map_err(ZooError::Build)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZooError {
    UnknownModel(String),
    Build(convscope_graph::BuildError),
}

impl std::fmt::Display for ZooError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownModel(id) => write!(f, "no model named {id:?} in the zoo (`convscope list` shows them)"),
            Self::Build(err) => write!(f, "the model cannot be built with these settings: {err}"),
        }
    }
}

impl std::error::Error for ZooError {}
