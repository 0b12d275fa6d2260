use crate::Shape;

/// Why a graph cannot be built. Every variant names the node it happened at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("{node}: {channels} {what} channels are not divisible by {groups} groups")]
    NotDivisible { node: String, what: &'static str, channels: usize, groups: usize },

    #[error("{node}: {op} needs matching shapes, got {lhs} and {rhs}")]
    ShapeMismatch { node: String, op: &'static str, lhs: Shape, rhs: Shape },

    #[error("{node}: kernel {kernel_h}×{kernel_w} (dilated) is larger than the padded input {padded_h}×{padded_w}")]
    KernelTooLarge { node: String, kernel_h: usize, kernel_w: usize, padded_h: usize, padded_w: usize },

    #[error("{node}: {what} must be positive")]
    ZeroSize { node: String, what: &'static str },

    #[error("{node}: sizes overflow ({what})")]
    Overflow { node: String, what: &'static str },

    #[error("{node}: {message}")]
    Invalid { node: String, message: String },

    #[error("{node}: the name is used by another node already")]
    DuplicateName { node: String },

    #[error("{node}: input node #{input} does not exist")]
    UnknownInput { node: String, input: usize },

    #[error("the graph has no input node; call GraphBuilder::input first")]
    NoInput,
}
