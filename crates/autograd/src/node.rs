//! A node of the backward graph: one recorded op, its backward rule, the values it saved and
//! the edges to its inputs' nodes. Dropping a graph is iterative, so chains of any length drop
//! without recursion.

use std::panic::Location;
use std::ptr::addr_of_mut;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use antorcha_tensor::ndarray::IxDyn;
use antorcha_tensor::{Float, Tensor};
use smallvec::SmallVec;

use crate::error::{AutogradError, Result};
use crate::rule::Rule;
use crate::var::{Var, VarArc};

/// A shared node. triomphe's `Arc` has no weak count (nodes never need one): freeing a node
/// is one atomic operation instead of two, and the unique-owner check when a graph is dropped
/// is a plain load.
pub(crate) type NodeArc<T> = triomphe::Arc<Node<T>>;

/// The edges to an op's inputs.
pub(crate) type Inputs<T> = SmallVec<[Edge<T>; 2]>;
/// The values an op saved, by PyTorch's name.
pub(crate) type SavedList<T> = SmallVec<[(&'static str, Option<Saved<T>>); 2]>;
/// An op's attributes, by PyTorch's name.
pub(crate) type Attrs = SmallVec<[(&'static str, Attr); 2]>;

/// A hook on the gradient flowing into a var: it may return a replacement. Shared, so backward
/// can copy a var's list out and run the hooks with no lock held.
pub(crate) type Hook<T> = std::sync::Arc<dyn Fn(&Tensor<T>) -> Option<Tensor<T>> + Send + Sync>;

/// Where an input's gradient goes.
pub(crate) enum Edge<T: Float> {
    /// The input does not require grad.
    None,
    /// A leaf that requires grad: its gradient is accumulated into `.grad` (`AccumulateGrad`).
    Leaf(VarArc<T>),
    /// An interior value: its gradient flows on into the op that made it.
    Node(NodeArc<T>),
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
    /// backward sees it as the differentiable function it is. Its version is the result's at
    /// the op, compared at backward with the node's `output_version`.
    /// Boxed, as `Index`: both are rare, and every saved slot of every node is as large as
    /// the largest kind.
    Output { value: Box<Tensor<T>>, version: u64 },
    /// Integers the op kept (class targets), shown in pictures; a rule that needs them holds
    /// its own handle, so they unpack as `None`. Tensors never change, so no version.
    Index(Box<Tensor<i64>>),
}

impl<T: Float> Saved<T> {
    pub(crate) fn var(var: &Var<T>) -> Self {
        Saved::Var {
            var: var.clone(),
            version: var.version(),
        }
    }

    /// The op's own result, saved at its version now (0: just made).
    pub(crate) fn output(value: &Tensor<T>) -> Self {
        Saved::Output {
            value: Box::new(value.clone()),
            version: 0,
        }
    }

    /// The saved value's shape (for pictures).
    pub(crate) fn shape(&self) -> Vec<usize> {
        match self {
            Saved::Var { var, .. } => var.shape(),
            Saved::Output { value, .. } => value.shape().to_vec(),
            Saved::Index(value) => value.shape().to_vec(),
        }
    }

    /// A stable identity for the saved value (for pictures).
    pub(crate) fn id(&self) -> usize {
        match self {
            Saved::Var { var, .. } => var.id(),
            Saved::Output { value, .. } => value.view().as_ptr() as usize,
            Saved::Index(value) => value.view().as_ptr() as usize,
        }
    }
}

/// A non-tensor attribute of an op, shown by `make_dot(…, show_attrs)` as PyTorch shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// An integer, e.g. `alpha: 1`, `dim: 0`.
    Int(i64),
    /// An integer PyTorch shows unsigned: `ignore_index: 18446744073709551516` for `-100`.
    UInt(u64),
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
    pub(crate) backward: Option<Rule<T>>,
    /// Saved values by PyTorch's name; `None` for a value the op did not need to keep.
    pub(crate) saved: SavedList<T>,
}

/// Nodes made minus nodes dropped, counted per thread: each thread writes only its own cell with
/// a plain load and store (no atomic read-modify-write, which costs as much as a small op), and
/// `live_nodes` adds the cells up. A thread's count moves to `RETIRED` when the thread ends.
static CELLS: Mutex<Vec<Arc<AtomicIsize>>> = Mutex::new(Vec::new());
static RETIRED: AtomicIsize = AtomicIsize::new(0);

struct CountCell(Arc<AtomicIsize>);

impl CountCell {
    fn register() -> Self {
        let cell = Arc::new(AtomicIsize::new(0));
        lock(&CELLS).push(cell.clone());
        CountCell(cell)
    }
}

impl Drop for CountCell {
    fn drop(&mut self) {
        let mut cells = lock(&CELLS);
        cells.retain(|c| !Arc::ptr_eq(c, &self.0));
        RETIRED.fetch_add(self.0.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

thread_local! {
    static COUNT: CountCell = CountCell::register();
}

fn count_nodes(delta: isize) {
    let counted = COUNT.try_with(|c| {
        let cell = &c.0;
        cell.store(cell.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
    });
    if counted.is_err() {
        // This thread's cell is gone (a graph dropped while the thread exits).
        RETIRED.fetch_add(delta, Ordering::Relaxed);
    }
}

/// The number of graph nodes alive in the process: a training loop's count must stay flat.
pub fn live_nodes() -> usize {
    let cells = lock(&CELLS);
    let live: isize = cells.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    (live + RETIRED.load(Ordering::Relaxed)).max(0) as usize
}

/// One recorded op.
pub struct Node<T: Float> {
    pub(crate) name: &'static str,
    pub(crate) location: &'static Location<'static>,
    pub(crate) shape: IxDyn,
    pub(crate) inputs: Inputs<T>,
    pub(crate) attrs: Attrs,
    pub(crate) state: Mutex<NodeState<T>>,
    /// The version of the var this node made, kept here by its in-place ops so that a saved
    /// result can be checked without a handle back to that var.
    pub(crate) output_version: AtomicU64,
    /// Hooks and a retained gradient, made by the first `register_hook` or `retain_grad` on
    /// the var this node made (rare: most nodes never pay for them).
    extras: OnceLock<Box<NodeExtras<T>>>,
}

/// What a node keeps only once asked to.
pub(crate) struct NodeExtras<T: Float> {
    pub(crate) hooks: Mutex<Vec<Hook<T>>>,
    /// Set by `retain_grad()` on the var this node made.
    pub(crate) retained: Mutex<Option<Tensor<T>>>,
    /// Whether `retain_grad()` was called on the var this node made.
    pub(crate) retains_grad: AtomicBool,
}

/// Locks a mutex, recovering the data if a panic poisoned it (the data stay consistent: every
/// critical section here is a single assignment).
pub(crate) fn lock<M>(m: &Mutex<M>) -> MutexGuard<'_, M> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<T: Float> Node<T> {
    /// A new shared node. It is written straight into its allocation, field by field: a node
    /// is several hundred bytes, and building it on the stack first and moving it in cost a
    /// copy or more per recorded op.
    #[inline(always)]
    pub(crate) fn new_arc(
        name: &'static str,
        location: &'static Location<'static>,
        shape: IxDyn,
        inputs: impl IntoIterator<Item = Edge<T>>,
        saved: SavedList<T>,
        attrs: Attrs,
        backward: Rule<T>,
    ) -> NodeArc<T> {
        count_nodes(1);
        let mut arc = triomphe::UniqueArc::<Node<T>>::new_uninit();
        let node = std::mem::MaybeUninit::as_mut_ptr(&mut *arc);
        // SAFETY: each field of the allocated node is written once, in place (a whole `Node`
        // written at once is built on the stack and copied), and then it is initialised
        // (`new_arc_writes_every_field` keeps this list whole).
        unsafe {
            addr_of_mut!((*node).name).write(name);
            addr_of_mut!((*node).location).write(location);
            addr_of_mut!((*node).shape).write(shape);
            // The edges are pushed where they stay (a collected list is moved in whole).
            let edges = addr_of_mut!((*node).inputs);
            edges.write(Inputs::new());
            for e in inputs {
                (*edges).push(e);
            }
            addr_of_mut!((*node).attrs).write(attrs);
            addr_of_mut!((*node).state).write(Mutex::new(NodeState {
                backward: Some(backward),
                saved,
            }));
            addr_of_mut!((*node).output_version).write(AtomicU64::new(0));
            addr_of_mut!((*node).extras).write(OnceLock::new());
            triomphe::UniqueArc::assume_init(arc).shareable()
        }
    }

    /// Never called: names every field of `Node` without `..`, so adding a field stops the
    /// build until [`Node::new_arc`] writes it too (its in-place writes rely on that).
    #[allow(dead_code)]
    fn new_arc_writes_every_field(node: &Node<T>) {
        let Node {
            name: _,
            location: _,
            shape: _,
            inputs: _,
            attrs: _,
            state: _,
            output_version: _,
            extras: _,
        } = node;
    }

    /// The node's hooks and retained gradient, made on first use.
    pub(crate) fn extras(&self) -> &NodeExtras<T> {
        self.extras.get_or_init(|| {
            Box::new(NodeExtras {
                hooks: Mutex::new(Vec::new()),
                retained: Mutex::new(None),
                retains_grad: AtomicBool::new(false),
            })
        })
    }

    /// The hooks and retained gradient, if anything ever asked for them.
    pub(crate) fn extras_if_any(&self) -> Option<&NodeExtras<T>> {
        self.extras.get().map(|x| &**x)
    }

    /// Where the gradient of the var this node made is kept, once `retain_grad` asked for it.
    pub(crate) fn retained_slot(&self) -> Option<&Mutex<Option<Tensor<T>>>> {
        self.extras_if_any()
            .filter(|x| x.retains_grad.load(Ordering::Acquire))
            .map(|x| &x.retained)
    }

    pub(crate) fn location_string(&self) -> String {
        format!("{}:{}", self.location.file(), self.location.line())
    }

    /// Unpacks the saved values as vars (for a recorded backward, `F` = [`Var`]) or plain
    /// tensors, checking that none was changed in place. The op's own result is re-attached
    /// to this node as a var, so a `create_graph` backward sees it as the function it is.
    /// They are pushed onto `out`, which the caller keeps: a list returned inside a `Result`
    /// is moved through memory once more.
    pub(crate) fn unpack_saved<F>(
        this: &NodeArc<T>,
        saved: &SavedList<T>,
        var: impl Fn(&Var<T>) -> F,
        output: impl Fn(&Tensor<T>, &NodeArc<T>) -> F,
        out: &mut SmallVec<[Option<F>; 2]>,
    ) -> Result<()> {
        for (name, saved) in saved {
            out.push(match saved {
                None => None,
                Some(s) => {
                    this.check_unchanged(name, s)?;
                    match s {
                        Saved::Var { var: v, .. } => Some(var(v)),
                        Saved::Output { value, .. } => Some(output(value, this)),
                        Saved::Index(_) => None,
                    }
                }
            });
        }
        Ok(())
    }

    /// An error unless the saved value still has the version it was saved at.
    fn check_unchanged(&self, name: &'static str, saved: &Saved<T>) -> Result<()> {
        let (expected, found) = match saved {
            Saved::Var { var, version } => (*version, var.version()),
            Saved::Output { version, .. } => {
                (*version, self.output_version.load(Ordering::Acquire))
            }
            Saved::Index(_) => return Ok(()),
        };
        if found == expected {
            return Ok(());
        }
        Err(AutogradError::SavedValueModified {
            node: self.name,
            location: self.location_string(),
            saved: name,
            shape: saved.shape(),
            expected,
            found,
        })
    }
}

/// What a graph hands to its dropper: nodes and vars whose last reference may be here.
enum Droppable<T: Float> {
    Node(NodeArc<T>),
    Var(VarArc<T>),
}

/// The dropper's work list: a small graph is unlinked without allocating.
type Stack<T> = SmallVec<[Droppable<T>; 16]>;

fn push_edges<T: Float>(stack: &mut Stack<T>, node: &mut Node<T>) {
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
        count_nodes(-1);
        if self.inputs.is_empty() {
            let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
            if state.saved.is_empty() {
                // Already unlinked (by an outer drop, or a freed leaf-only node): nothing to walk.
                return;
            }
        }
        let mut stack: Stack<T> = SmallVec::new();
        push_edges(&mut stack, self);
        // Unlink the rest of the graph one level at a time: whatever this was the last owner
        // of is emptied here before it drops, so no drop recurses more than one level. Sole
        // owners are emptied in place (`get_mut`), which avoids moving the value out.
        while let Some(item) = stack.pop() {
            match item {
                Droppable::Node(mut n) => {
                    if let Some(node) = NodeArc::get_mut(&mut n) {
                        push_edges(&mut stack, node);
                    }
                }
                Droppable::Var(mut v) => {
                    if let Some(inner) = VarArc::get_mut(&mut v) {
                        let rebased = inner.extras.get_mut().and_then(|x| {
                            x.rebased
                                .get_mut()
                                .unwrap_or_else(|p| p.into_inner())
                                .take()
                        });
                        for n in [inner.grad_fn.take(), rebased].into_iter().flatten() {
                            stack.push(Droppable::Node(n));
                        }
                    }
                }
            }
        }
    }
}
