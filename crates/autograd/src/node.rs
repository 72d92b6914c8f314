//! A node of the backward graph: one recorded op, its backward rule, the values it saved and
//! the edges to its inputs' nodes. Dropping a graph is iterative, so chains of any length drop
//! without recursion.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use antorcha_tensor::ndarray::IxDyn;
use antorcha_tensor::{Float, Tensor};
use smallvec::SmallVec;

use crate::error::{AutogradError, Result};
use crate::var::{Var, VarInner};

/// The gradient of each input of an op (most ops have one or two: no allocation).
pub(crate) type Grads<T> = SmallVec<[Option<Var<T>>; 2]>;
/// The edges to an op's inputs.
pub(crate) type Inputs<T> = SmallVec<[Edge<T>; 2]>;
/// The values an op saved, by PyTorch's name.
pub(crate) type SavedList<T> = SmallVec<[(&'static str, Option<Saved<T>>); 2]>;
/// An op's attributes, by PyTorch's name.
pub(crate) type Attrs = SmallVec<[(&'static str, Attr); 2]>;

/// A backward rule: from the output's gradient and the unpacked saved values, the gradient of
/// each input (`None` where `needs[i]` is false or the gradient is zero by construction).
pub(crate) type BackwardFn<T> =
    Box<dyn Fn(&Var<T>, &[Option<Var<T>>], &[bool]) -> Result<Grads<T>> + Send + Sync>;

/// A hook on the gradient flowing into a var: it may return a replacement.
pub(crate) type Hook<T> = Box<dyn Fn(&Tensor<T>) -> Option<Tensor<T>> + Send + Sync>;

/// Where an input's gradient goes.
pub(crate) enum Edge<T: Float> {
    /// The input does not require grad.
    None,
    /// A leaf that requires grad: its gradient is accumulated into `.grad` (`AccumulateGrad`).
    Leaf(Arc<VarInner<T>>),
    /// An interior value: its gradient flows on into the op that made it.
    Node(Arc<Node<T>>),
}

impl<T: Float> Clone for Edge<T> {
    fn clone(&self) -> Self {
        match self {
            Edge::None => Edge::None,
            Edge::Leaf(v) => Edge::Leaf(v.clone()),
            Edge::Node(n) => Edge::Node(n.clone()),
        }
    }
}

/// A value an op kept for its backward.
pub(crate) enum Saved<T: Float> {
    /// An input (or a constant operand), with its version when saved.
    Var { var: Var<T>, version: u64 },
    /// The op's own result: re-attached to this node when unpacked, so that `create_graph`
    /// backward sees it as the differentiable function it is.
    Output {
        value: Tensor<T>,
        var: Weak<VarInner<T>>,
        version: u64,
    },
}

impl<T: Float> Saved<T> {
    pub(crate) fn var(var: &Var<T>) -> Self {
        Saved::Var {
            var: var.clone(),
            version: var.version(),
        }
    }

    /// The saved value's shape (for pictures).
    pub(crate) fn shape(&self) -> Vec<usize> {
        match self {
            Saved::Var { var, .. } => var.shape(),
            Saved::Output { value, .. } => value.shape().to_vec(),
        }
    }

    /// A stable identity for the saved value (for pictures).
    pub(crate) fn id(&self) -> usize {
        match self {
            Saved::Var { var, .. } => var.id(),
            Saved::Output { value, .. } => value.array().as_ptr() as usize,
        }
    }
}

/// A non-tensor attribute of an op, shown by `make_dot(…, show_attrs)` as PyTorch shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// An integer, e.g. `alpha: 1`, `dim: 0`.
    Int(i64),
    /// A float, e.g. `exponent: 0.5`.
    Float(f64),
    /// A boolean, e.g. `keepdim: False`.
    Bool(bool),
    /// A shape or list of ints, printed as a tuple: `(80, 1)`.
    Ints(Vec<i64>),
    /// An unset optional value, printed `None`.
    None,
}

impl Attr {
    /// A shape attribute.
    pub fn shape(s: &[usize]) -> Attr {
        Attr::Ints(s.iter().map(|&d| d as i64).collect())
    }
}

pub(crate) struct NodeState<T: Float> {
    /// `None` once backward has run without `retain_graph`.
    pub(crate) backward: Option<BackwardFn<T>>,
    /// Saved values by PyTorch's name; `None` for a value the op did not need to keep.
    pub(crate) saved: SavedList<T>,
}

static LIVE_NODES: AtomicUsize = AtomicUsize::new(0);

/// The number of graph nodes alive in the process: a training loop's count must stay flat.
pub fn live_nodes() -> usize {
    LIVE_NODES.load(Ordering::Relaxed)
}

/// One recorded op.
pub struct Node<T: Float> {
    pub(crate) name: &'static str,
    pub(crate) location: &'static Location<'static>,
    pub(crate) shape: IxDyn,
    pub(crate) inputs: Inputs<T>,
    pub(crate) attrs: Attrs,
    pub(crate) state: Mutex<NodeState<T>>,
    pub(crate) hooks: Mutex<Vec<Hook<T>>>,
    /// Set by `retain_grad()` on the var this node made.
    pub(crate) retained: Mutex<Option<Weak<VarInner<T>>>>,
    /// Whether `hooks` or `retained` may be set: lets backward skip both locks.
    pub(crate) has_extras: AtomicBool,
}

/// Locks a mutex, recovering the data if a panic poisoned it (the data stay consistent: every
/// critical section here is a single assignment).
pub(crate) fn lock<M>(m: &Mutex<M>) -> MutexGuard<'_, M> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<T: Float> Node<T> {
    pub(crate) fn new(
        name: &'static str,
        location: &'static Location<'static>,
        shape: IxDyn,
        inputs: Inputs<T>,
        saved: SavedList<T>,
        attrs: Attrs,
        backward: BackwardFn<T>,
    ) -> Self {
        LIVE_NODES.fetch_add(1, Ordering::Relaxed);
        Node {
            name,
            location,
            shape,
            inputs,
            attrs,
            state: Mutex::new(NodeState {
                backward: Some(backward),
                saved,
            }),
            hooks: Mutex::new(Vec::new()),
            retained: Mutex::new(None),
            has_extras: AtomicBool::new(false),
        }
    }

    pub(crate) fn location_string(&self) -> String {
        format!("{}:{}", self.location.file(), self.location.line())
    }

    /// Unpacks the saved values for backward, checking that none was changed in place.
    pub(crate) fn unpack_saved(self: &Arc<Self>, state: &NodeState<T>) -> Result<Grads<T>> {
        let mut out = Grads::new();
        for (name, saved) in &state.saved {
            let unpacked = match saved {
                None => None,
                Some(Saved::Var { var, version }) => {
                    let found = var.version();
                    if found != *version {
                        return Err(self.modified(name, var.shape(), *version, found));
                    }
                    Some(var.clone())
                }
                Some(Saved::Output {
                    value,
                    var,
                    version,
                }) => {
                    if let Some(v) = var.upgrade() {
                        let found = v.version.load(Ordering::Relaxed);
                        if found != *version {
                            return Err(self.modified(
                                name,
                                value.shape().to_vec(),
                                *version,
                                found,
                            ));
                        }
                    }
                    Some(Var::from_saved_output(value.clone(), self.clone()))
                }
            };
            out.push(unpacked);
        }
        Ok(out)
    }

    fn modified(
        &self,
        saved: &'static str,
        shape: Vec<usize>,
        expected: u64,
        found: u64,
    ) -> AutogradError {
        AutogradError::SavedValueModified {
            node: self.name,
            location: self.location_string(),
            saved,
            shape,
            expected,
            found,
        }
    }
}

/// What a graph hands to its dropper: nodes and vars whose last reference may be here.
enum Droppable<T: Float> {
    Node(Arc<Node<T>>),
    Var(Arc<VarInner<T>>),
}

fn push_edges<T: Float>(stack: &mut Vec<Droppable<T>>, node: &mut Node<T>) {
    for e in node.inputs.drain(..) {
        match e {
            Edge::None => {}
            Edge::Leaf(v) => stack.push(Droppable::Var(v)),
            Edge::Node(n) => stack.push(Droppable::Node(n)),
        }
    }
    let state = node.state.get_mut().unwrap_or_else(|p| p.into_inner());
    state.backward = None;
    for (_, saved) in state.saved.drain(..) {
        if let Some(Saved::Var { var, .. }) = saved {
            stack.push(Droppable::Var(var.into_inner()));
        }
    }
}

impl<T: Float> Drop for Node<T> {
    fn drop(&mut self) {
        LIVE_NODES.fetch_sub(1, Ordering::Relaxed);
        if self.inputs.is_empty() {
            let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
            if state.saved.is_empty() {
                // Already unlinked (by an outer drop, or a freed leaf-only node): nothing to walk.
                return;
            }
        }
        let mut stack = Vec::with_capacity(8);
        push_edges(&mut stack, self);
        // Unlink the rest of the graph one level at a time: whatever this was the last owner
        // of is emptied here before it drops, so no drop recurses more than one level. Sole
        // owners are emptied in place (`get_mut`), which avoids moving the value out.
        while let Some(item) = stack.pop() {
            match item {
                Droppable::Node(mut n) => {
                    if let Some(node) = Arc::get_mut(&mut n) {
                        push_edges(&mut stack, node);
                    } else if let Some(mut node) = Arc::into_inner(n) {
                        push_edges(&mut stack, &mut node);
                    }
                }
                Droppable::Var(mut v) => {
                    if let Some(inner) = Arc::get_mut(&mut v) {
                        if let Some(n) = inner.grad_fn.take() {
                            stack.push(Droppable::Node(n));
                        }
                    } else if let Some(mut inner) = Arc::into_inner(v) {
                        if let Some(n) = inner.grad_fn.take() {
                            stack.push(Droppable::Node(n));
                        }
                    }
                }
            }
        }
    }
}
