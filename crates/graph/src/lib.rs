//! Graph IR for convolutional networks.
//!
//! A [`Graph`] is a list of [`Node`]s in topological order, each with an [`Op`], its inputs, and its output
//! [`Shape`] inferred when the node was added by the [`GraphBuilder`]. Nodes are named after the reference
//! implementation's state-dict prefixes (`features.3.conv.0.0`), so checkpoints bind by name, and carry
//! the [`Block`] they belong to (stage → block → op) for views and subtotals.
//!
//! [`cost`] computes parameters, MACs, FLOPs under switchable conventions, memory traffic and activation
//! memory from shapes alone: this crate never executes anything.

mod block;
mod builder;
pub mod cost;
mod error;
mod graph;
mod op;
pub mod report;
mod shape;

pub use block::{Block, BlockId};
pub use builder::GraphBuilder;
pub use cost::{Cost, FlopConvention, GraphCost};
pub use error::BuildError;
pub use graph::{Graph, Node, NodeId};
pub use op::{Activation, Arithmetic, Conv2d, Op, Padding, Pool, PoolKind};
pub use report::Report;
pub use shape::Shape;
