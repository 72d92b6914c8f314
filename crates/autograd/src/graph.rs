//! A read-only view of the backward graph, for pictures (`viz`) and analysis.

use antorcha_tensor::ndarray::Dimension;
use antorcha_tensor::Float;

use crate::node::{lock, Attr, Edge, NodeArc};
use crate::var::{Var, VarArc};

/// A backward node (`tensor.grad_fn`): the op's PyTorch name, its inputs, attributes and
/// saved values.
pub struct NodeRef<T: Float> {
    node: NodeArc<T>,
}

impl<T: Float> Clone for NodeRef<T> {
    fn clone(&self) -> Self {
        NodeRef {
            node: self.node.clone(),
        }
    }
}

/// A leaf that requires grad, as seen from the graph (its `AccumulateGrad`).
pub struct LeafRef<T: Float> {
    var: VarArc<T>,
}

impl<T: Float> Clone for LeafRef<T> {
    fn clone(&self) -> Self {
        LeafRef {
            var: self.var.clone(),
        }
    }
}

/// Where one input of a node leads (PyTorch's `next_functions`).
#[derive(Clone)]
pub enum Input<T: Float> {
    /// An interior value: the node that made it.
    Node(NodeRef<T>),
    /// A leaf that requires grad (drawn as `AccumulateGrad` and the leaf).
    Leaf(LeafRef<T>),
}

/// A value an op saved for its backward (shown by `show_saved`).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedInfo {
    /// PyTorch's name for it (`self`, `other`, `result`, …).
    pub name: &'static str,
    /// Its shape, or `None` where the op did not need to keep it (shown as `None`).
    pub shape: Option<Vec<usize>>,
    /// An identity for the saved value (stable while the graph lives).
    pub id: usize,
}

impl<T: Float> NodeRef<T> {
    pub(crate) fn new(node: NodeArc<T>) -> Self {
        NodeRef { node }
    }

    /// PyTorch's name of this backward function (`MulBackward0`, …).
    pub fn name(&self) -> &'static str {
        self.node.name
    }

    /// An identity for this node, unique among the nodes alive (its address).
    pub fn id(&self) -> u64 {
        NodeArc::as_ptr(&self.node) as u64
    }

    /// The shape of the op's result.
    pub fn shape(&self) -> &[usize] {
        self.node.shape.slice()
    }

    /// The source location of the forward op that made this node.
    pub fn location(&self) -> String {
        self.node.location_string()
    }

    /// The inputs that gradients flow to, in order (inputs that do not require grad are left
    /// out, as in PyTorch's pictures).
    pub fn inputs(&self) -> Vec<Input<T>> {
        self.node
            .inputs
            .iter()
            .filter_map(|e| match e {
                Edge::None => None,
                Edge::Leaf(v) => Some(Input::Leaf(LeafRef { var: v.clone() })),
                Edge::Node(n) => Some(Input::Node(NodeRef { node: n.clone() })),
            })
            .collect()
    }

    /// The op's non-tensor attributes, by PyTorch's names (`alpha`, `exponent`, `self_sym_sizes`…).
    pub fn attrs(&self) -> Vec<(&'static str, Attr)> {
        self.node.attrs.to_vec()
    }

    /// The values saved for backward; empty once a backward freed them.
    pub fn saved(&self) -> Vec<SavedInfo> {
        lock(&self.node.state)
            .saved
            .iter()
            .map(|(name, s)| SavedInfo {
                name,
                shape: s.as_ref().map(|s| s.shape()),
                id: s.as_ref().map_or(0, |s| s.id()),
            })
            .collect()
    }

    /// Whether a backward already freed this node's saved values.
    pub fn is_freed(&self) -> bool {
        lock(&self.node.state).backward.is_none()
    }
}

impl<T: Float> LeafRef<T> {
    /// The leaf's name (`Var::named`), if it has one.
    pub fn name(&self) -> Option<String> {
        self.var.extras_if_any().and_then(|x| lock(&x.name).clone())
    }

    /// The leaf's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.var.shape()
    }

    /// The leaf's identity: equal to `Var::id` of the leaf.
    pub fn id(&self) -> usize {
        VarArc::as_ptr(&self.var) as usize
    }

    /// A handle on the leaf itself.
    pub fn var(&self) -> Var<T> {
        Var {
            inner: self.var.clone(),
        }
    }
}
