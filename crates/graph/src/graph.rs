use crate::{Block, BlockId, Op, Shape};

/// Index of a [`Node`] in [`Graph::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// One operation with its inputs and inferred output shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The reference implementation's state-dict prefix ("features.3.conv.1.0"); unique in the graph.
    pub name: String,
    pub op: Op,
    /// Producers of this node's inputs, all earlier in [`Graph::nodes`].
    pub inputs: Vec<NodeId>,
    pub output: Shape,
    /// The innermost block this node belongs to.
    pub block: Option<BlockId>,
}

/// A network as built by [`crate::GraphBuilder`]: nodes in topological order, the first one the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub blocks: Vec<Block>,
}

impl Graph {
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    pub fn block(&self, id: BlockId) -> Option<&Block> {
        self.blocks.get(id.0)
    }

    /// The shape of the network input.
    pub fn input_shape(&self) -> Shape {
        self.nodes.first().map_or(Shape::map(0, 0, 0), |node| node.output)
    }

    /// The last node: the network output.
    pub fn output(&self) -> Option<&Node> {
        self.nodes.last()
    }

    /// Shapes of `node`'s inputs.
    pub fn input_shapes(&self, node: &Node) -> Vec<Shape> {
        node.inputs.iter().filter_map(|&id| self.node(id)).map(|input| input.output).collect()
    }

    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|node| node.name == name).map(NodeId)
    }

    /// The chain of blocks from the outermost down to `block`.
    pub fn block_path(&self, block: Option<BlockId>) -> Vec<BlockId> {
        let mut path = Vec::new();
        let mut current = block;
        while let Some(id) = current {
            path.push(id);
            current = self.block(id).and_then(|b| b.parent);
        }
        path.reverse();
        path
    }

    /// The same network with every multiplying convolution computed with `arithmetic` instead (e.g.
    /// Mitchell's logarithmic multiplication); adder convolutions stay adders. Shapes and parameters are
    /// unchanged; the cost's additions, multiplications and shifts follow the new arithmetic.
    #[must_use]
    pub fn with_conv_arithmetic(mut self, arithmetic: crate::Arithmetic) -> Self {
        for node in &mut self.nodes {
            if let crate::Op::Conv2d(conv) = &mut node.op
                && conv.arithmetic == crate::Arithmetic::Multiply
            {
                conv.arithmetic = arithmetic;
            }
        }
        self
    }

    /// Whether `node` lies inside `block` (directly or in a nested block).
    pub fn is_in_block(&self, node: &Node, block: BlockId) -> bool {
        self.block_path(node.block).contains(&block)
    }
}
