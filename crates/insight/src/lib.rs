//! The numbers behind the insight views, shared by the app and the CLI (`convscope shuffle`, `dsc`,
//! `similarity`, `ghost`), computed here once and tested against the papers' formulas and PyTorch:
//!
//! - [`anatomy`]: a block's ops as a layered diagram (boxes, shapes on the edges), as DOT or SVG;
//! - [`formulas`]: each block family's cost formula from its paper, with one block's numbers;
//! - [`shuffle`]: the channel-shuffle permutation and what two stacked group convolutions connect,
//!   with and without it;
//! - [`connectivity`]: which input channels each output channel of any unit depends on, traced through
//!   the graph's own ops, with or without its channel shuffles;
//! - [`separable`]: standard vs depthwise-separable convolution cost (MobileNet V1, Section 3.1);
//! - [`similarity`]: the pairwise cosine similarity of a map's channels, near-duplicate pairs and the
//!   share of channels with a twin (GhostNet's motivating observation);
//! - [`ghost`]: the Ghost modules of a graph, which intrinsic map each ghost map is made from, and the
//!   cost a module saves against the plain convolution it replaces.

pub mod anatomy;
pub mod connectivity;
pub mod formulas;
pub mod ghost;
pub mod separable;
pub mod shuffle;
pub mod similarity;

/// A request the numbers cannot be computed for (zero sizes, groups not dividing channels…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InsightError(pub String);

pub type Result<T> = std::result::Result<T, InsightError>;

pub(crate) fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(InsightError(message.into()))
}
