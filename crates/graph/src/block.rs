/// Index of a [`Block`] in [`crate::Graph::blocks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub usize);

/// A labelled group of nodes: a stage, a block inside it, a branch inside that.
///
/// `kind` says what it is in the paper's words ("InvertedResidual", "Fire", "GhostBottleneck", "stage");
/// `name` is the reference implementation's module path ("features.3").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub kind: String,
    pub name: String,
    pub parent: Option<BlockId>,
    /// 0 for top-level blocks.
    pub depth: usize,
}
