//! Backward: one iterative topological sort of the graph, then each node's rule in order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use antorcha_tensor::ndarray::{Dimension, IxDyn};
use antorcha_tensor::{Float, Tensor};
use smallvec::SmallVec;

use crate::error::{AutogradError, Result};
use crate::grad_mode::{is_anomaly_enabled, set_grad_enabled};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use crate::flow::Flow;
use crate::node::{lock, Edge, Node, NodeArc};
use crate::rule::GradsOf;
use crate::var::{accumulate_into, Var, VarArc};

/// Options for a backward pass (`tensor.backward(gradient, retain_graph, create_graph)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BackwardOptions {
    /// Keep the saved values so that backward can run through this graph again.
    pub retain_graph: bool,
    /// Record the backward itself, so that gradients can be differentiated again (implies
    /// `retain_graph`).
    pub create_graph: bool,
}

/// A vertex of the backward graph: an op's node, or a leaf's `AccumulateGrad`. Borrowed from
/// the root's graph, which outlives the pass: no reference counts change while walking it.
enum Vertex<'g, T: Float> {
    Node(&'g NodeArc<T>),
    Leaf(&'g VarArc<T>),
}

impl<T: Float> Clone for Vertex<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Float> Copy for Vertex<'_, T> {}

impl<'g, T: Float> Vertex<'g, T> {
    fn key(&self) -> usize {
        match self {
            Vertex::Node(n) => NodeArc::as_ptr(n) as usize,
            Vertex::Leaf(v) => VarArc::as_ptr(v) as usize,
        }
    }

    /// The value's shape, which its gradient must have.
    fn shape(&self) -> &'g IxDyn {
        match self {
            Vertex::Node(n) => &n.shape,
            Vertex::Leaf(v) => &v.shape,
        }
    }

    fn from_edge(e: &'g Edge<T>) -> Option<Vertex<'g, T>> {
        match e {
            Edge::None => None,
            Edge::Leaf(v) => Some(Vertex::Leaf(v)),
            Edge::Node(n) => Some(Vertex::Node(n)),
        }
    }
}

/// Hashes the pointer keys of the graph's vertices (already unique and well spread) cheaply.
#[derive(Default)]
struct PtrHasher(u64);

impl Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, x: usize) {
        self.0 = (x as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_right(17);
    }
}

type PtrMap<V> = HashMap<usize, V, BuildHasherDefault<PtrHasher>>;

/// Vertex key -> position: a short fixed array searched in place for small graphs (the
/// notebook's have a handful of vertices), a hash map once it outgrows that.
struct KeyIndex {
    small: [(usize, usize); KeyIndex::SMALL],
    len: usize,
    large: Option<PtrMap<usize>>,
}

impl KeyIndex {
    const SMALL: usize = 16;

    #[inline]
    fn new() -> Self {
        KeyIndex {
            small: [(0, 0); Self::SMALL],
            len: 0,
            large: None,
        }
    }

    /// The entries of the small array in use.
    #[inline]
    fn entries(&mut self) -> &mut [(usize, usize)] {
        &mut self.small[..self.len]
    }

    #[inline]
    fn get(&self, key: usize) -> Option<usize> {
        match &self.large {
            None => self.small[..self.len]
                .iter()
                .find(|(k, _)| *k == key)
                .map(|&(_, i)| i),
            Some(m) => m.get(&key).copied(),
        }
    }

    /// Inserts `key -> value` unless `key` is present; says whether it inserted.
    #[inline]
    fn insert_new(&mut self, key: usize, value: usize) -> bool {
        if let Some(m) = &mut self.large {
            return match m.entry(key) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(value);
                    true
                }
            };
        }
        if self.entries().iter().any(|(k, _)| *k == key) {
            return false;
        }
        if self.len < Self::SMALL {
            self.small[self.len] = (key, value);
            self.len += 1;
        } else {
            let mut m: PtrMap<usize> =
                PtrMap::with_capacity_and_hasher(8 * Self::SMALL, Default::default());
            m.extend(self.small.iter().copied());
            m.insert(key, value);
            self.large = Some(m);
        }
        true
    }

    #[inline]
    fn set(&mut self, key: usize, value: usize) {
        match &mut self.large {
            None => {
                if let Some(slot) = self.entries().iter_mut().find(|(k, _)| *k == key) {
                    slot.1 = value;
                }
            }
            Some(m) => {
                m.insert(key, value);
            }
        }
    }

    fn map_values(&mut self, f: impl Fn(usize) -> usize) {
        match &mut self.large {
            None => self.small[..self.len]
                .iter_mut()
                .for_each(|(_, i)| *i = f(*i)),
            Some(m) => m.values_mut().for_each(|i| *i = f(*i)),
        }
    }
}

/// A graph's vertices in order; the notebook's graphs fit without allocating.
type Vertices<'g, T> = SmallVec<[Vertex<'g, T>; 16]>;

/// Fills `post` with the vertices reachable from `root`, each before every vertex it depends
/// on, and `index` with the position of each vertex by its key (both start empty; filled in
/// place, as they are large inline buffers).
fn topological_order<'g, T: Float>(
    root: Vertex<'g, T>,
    post: &mut Vertices<'g, T>,
    index: &mut KeyIndex,
) {
    // Key -> position in `post` (usize::MAX while the vertex is still on the stack).
    index.insert_new(root.key(), usize::MAX);
    // (vertex, index of the next input to visit)
    let mut stack: SmallVec<[(Vertex<T>, usize); 16]> = SmallVec::new();
    stack.push((root, 0));
    while let Some((v, i)) = stack.pop() {
        let next = match v {
            Vertex::Node(n) => n.inputs.get(i).map(Vertex::from_edge),
            Vertex::Leaf(_) => None,
        };
        match next {
            None => {
                index.set(v.key(), post.len());
                post.push(v);
            }
            Some(child) => {
                stack.push((v, i + 1));
                if let Some(c) = child {
                    if index.insert_new(c.key(), usize::MAX) {
                        stack.push((c, 0));
                    }
                }
            }
        }
    }
    // Reverse post-order: consumers before producers.
    let n = post.len();
    post.reverse();
    index.map_values(|i| n - 1 - i);
}

fn check_finite<T: Float>(node: &Node<T>, input: usize, g: &Tensor<T>) -> Result<()> {
    let bad = g.view().iter().find_map(|x| {
        if x.is_nan() {
            Some("nan")
        } else if x.is_infinite() {
            Some("inf")
        } else {
            None
        }
    });
    match bad {
        None => Ok(()),
        Some(what) => Err(AutogradError::Anomaly {
            node: node.name,
            location: node.location_string(),
            input,
            what,
        }),
    }
}

/// `g` summed back to an input's `shape` (itself when it already has it).
fn sum_to_input<T: Float, F: Flow<T>>(g: F, shape: &IxDyn) -> F {
    // Compared in place: slice equality would call `memcmp` for every gradient.
    let same =
        |a: &[usize], b: &[usize]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y);
    if g.with_tensor(|t| same(t.shape(), shape.slice())) {
        g
    } else {
        g.sum_to(shape.slice())
    }
}

/// Runs the hooks on a gradient in order, each seeing the last one's replacement; a
/// replacement must keep the gradient's shape (PyTorch: "hook has changed the size of value").
/// Hooks are user code: they run on a copy of the list and a handle on the gradient, with no
/// lock held, so a hook may register hooks or read any var.
fn run_hooks<T: Float, F: Flow<T>>(
    hooks: &Mutex<Vec<crate::node::Hook<T>>>,
    mut g: F,
    whose: impl Fn() -> String,
) -> Result<F> {
    let hooks = lock(hooks).clone();
    for hook in hooks {
        let t = g.with_tensor(|t| t.clone());
        if let Some(new) = hook(&t) {
            if new.shape() != t.shape() {
                return Err(AutogradError::GradShape {
                    context: format!("the value a hook on {} returned", whose()),
                    grad: new.shape().to_vec(),
                    expected: t.shape().to_vec(),
                });
            }
            g = F::from_tensor(new);
        }
    }
    Ok(g)
}

/// Gives `grad` to each result of `grad()` that asked for the vertex `key`.
fn hand_out<T: Float, F: Flow<T>>(
    wanted: &PtrMap<Vec<usize>>,
    key: usize,
    grad: &F,
    results: &mut [Option<Var<T>>],
) {
    for &s in wanted.get(&key).into_iter().flatten() {
        results[s] = Some(grad.to_var());
    }
}

/// Runs backward from `root` seeded with `seed`. With `targets`, returns their gradients and
/// leaves `.grad` alone (`torch.autograd.grad`); without, accumulates into leaves' `.grad`.
pub(crate) fn run_backward<T: Float>(
    root: &Var<T>,
    seed: Tensor<T>,
    targets: Option<&[&Var<T>]>,
    options: BackwardOptions,
) -> Result<Vec<Option<Var<T>>>> {
    let _mode = set_grad_enabled(options.create_graph);
    let root_node = root.node();
    let root_vertex = match &root_node {
        Some(n) => Vertex::Node(n),
        None if root.needs_grad() => Vertex::Leaf(&root.inner),
        None => {
            return Err(AutogradError::NoGradFn {
                shape: root.shape(),
            })
        }
    };
    let (mut order, mut index) = (Vertices::new(), KeyIndex::new());
    topological_order(root_vertex, &mut order, &mut index);
    let pass = Pass {
        order: &order,
        index: &index,
        targets,
        retain: options.retain_graph || options.create_graph,
        anomaly: is_anomaly_enabled(),
    };
    if options.create_graph {
        pass.run::<Var<T>>(seed)
    } else {
        pass.run::<Tensor<T>>(seed)
    }
}

/// One backward pass over a sorted graph.
struct Pass<'p, 'g, T: Float> {
    order: &'p [Vertex<'g, T>],
    index: &'p KeyIndex,
    targets: Option<&'p [&'p Var<T>]>,
    retain: bool,
    anomaly: bool,
}

impl<T: Float> Pass<'_, '_, T> {
    fn run<F: Flow<T>>(&self, seed: Tensor<T>) -> Result<Vec<Option<Var<T>>>> {
        let targets = self.targets;
        // Gradients asked for by `grad()`, by the key of the vertex they arrive at.
        let mut wanted: PtrMap<Vec<usize>> = PtrMap::default();
        if let Some(ts) = targets {
            for (i, t) in ts.iter().enumerate() {
                let key = match &t.node() {
                    Some(n) => NodeArc::as_ptr(n) as usize,
                    None => VarArc::as_ptr(&t.inner) as usize,
                };
                wanted.entry(key).or_default().push(i);
            }
        }
        let mut results: Vec<Option<Var<T>>> = vec![None; targets.map_or(0, |t| t.len())];

        let mut pending_buf: SmallVec<[Option<F>; 16]> = SmallVec::new();
        pending_buf.resize_with(self.order.len(), || None);
        // Indexed as a plain slice: no inline-or-heap check per access.
        let pending = &mut pending_buf[..];
        pending[0] = Some(F::from_tensor(seed));

        for (i, vertex) in self.order.iter().enumerate() {
            let Some(mut grad) = pending[i].take() else {
                continue;
            };
            match vertex {
                Vertex::Leaf(leaf) => {
                    if let Some(extras) = leaf.extras_if_any() {
                        grad = run_hooks(&extras.hooks, grad, || "a leaf".into())?;
                    }
                    if !wanted.is_empty() {
                        hand_out(&wanted, vertex.key(), &grad, &mut results);
                    }
                    if targets.is_none() {
                        accumulate_into(&leaf.grad, grad.into_tensor());
                    }
                }
                Vertex::Node(node) => {
                    if let Some(extras) = node.extras_if_any() {
                        grad = run_hooks(&extras.hooks, grad, || {
                            format!("{} (created at {})", node.name, node.location_string())
                        })?;
                        if targets.is_none() && extras.retains_grad.load(Ordering::Acquire) {
                            accumulate_into(&extras.retained, grad.with_tensor(|t| t.clone()));
                        }
                    }
                    if !wanted.is_empty() {
                        hand_out(&wanted, vertex.key(), &grad, &mut results);
                    }
                    // Taken out of the rule's list in place (a gradient is moved once).
                    let mut grads = self.run_node(node, grad)?;
                    for (k, (edge, g)) in node.inputs.iter().zip(&mut grads).enumerate() {
                        let Some(input) = Vertex::from_edge(edge) else {
                            continue;
                        };
                        let Some(g) = g.take() else {
                            continue;
                        };
                        // A broadcast input's gradient comes at the output's shape: it is
                        // summed back to the input's here, in one place for every op.
                        let g = sum_to_input(g, input.shape());
                        if self.anomaly {
                            g.with_tensor(|t| check_finite(node, k, t))?;
                        }
                        let j = self
                            .index
                            .get(input.key())
                            .expect("every input was visited");
                        pending[j] = Some(match pending[j].take() {
                            None => g,
                            Some(acc) => F::accumulate(acc, g),
                        });
                    }
                }
            }
        }
        Ok(results)
    }

    /// Runs a node's rule. Without `retain`, its rule and saved values are freed after it.
    fn run_node<F: Flow<T>>(&self, node: &NodeArc<T>, grad: F) -> Result<GradsOf<F>> {
        // Which inputs need a gradient: inline for the usual one or two inputs.
        let mut few = [false; 2];
        let many: Vec<bool>;
        let needs = match node.inputs.len() {
            n @ 0..=2 => {
                for (need, e) in few.iter_mut().zip(&node.inputs) {
                    *need = !matches!(e, Edge::None);
                }
                &few[..n]
            }
            _ => {
                many = node
                    .inputs
                    .iter()
                    .map(|e| !matches!(e, Edge::None))
                    .collect();
                &many[..]
            }
        };
        // The rule runs under the node's lock: it is this crate's code and never reaches back
        // into the node, and the rule and saved values stay in place (no copy of either).
        let mut state = lock(&node.state);
        let Some(rule) = state.backward.as_ref() else {
            return Err(AutogradError::FreedGraph {
                node: node.name,
                location: node.location_string(),
            });
        };
        // Returned as the rule gave it (no unwrapping and rewrapping of the list).
        let grads = F::run(node, rule, &state.saved, grad, needs);
        if grads.is_ok() && !self.retain {
            // Freed once used, as PyTorch frees them; after an error the node stays as it
            // was, so the error can be fixed and backward rerun.
            state.backward = None;
            state.saved.clear();
        }
        grads
    }
}

impl<T: Float> Var<T> {
    /// Computes the gradient of this one-element output with respect to every leaf that
    /// requires grad and adds it into their `.grad` (`loss.backward()`). The graph's saved
    /// values are freed: a second backward through it is an error.
    pub fn backward(&self) -> Result<()> {
        self.backward_opts(None, BackwardOptions::default())
    }

    /// Backward seeded with `gradient` (the output's gradient, same shape as the output), for
    /// outputs that are not scalars (`out.backward(gradient)`).
    pub fn backward_with(&self, gradient: &Tensor<T>) -> Result<()> {
        self.backward_opts(Some(gradient), BackwardOptions::default())
    }

    /// Backward with every option: an optional output gradient, `retain_graph`, `create_graph`.
    /// With `create_graph`, `.grad` receives the gradient's value; use [`grad`] to get
    /// gradients that are themselves differentiable.
    pub fn backward_opts(
        &self,
        gradient: Option<&Tensor<T>>,
        options: BackwardOptions,
    ) -> Result<()> {
        let seed = seed_for(self, gradient)?;
        run_backward(self, seed, None, options).map(|_| ())
    }
}

fn seed_for<T: Float>(output: &Var<T>, gradient: Option<&Tensor<T>>) -> Result<Tensor<T>> {
    match gradient {
        Some(g) if output.with_data(|t| t.shape() == g.shape()) => Ok(g.clone()),
        Some(g) => Err(AutogradError::GradShape {
            context: "backward: the output gradient".into(),
            grad: g.shape().to_vec(),
            expected: output.shape(),
        }),
        None => match output.with_data(|t| (t.numel() == 1).then(|| t.full_like(T::one()))) {
            Some(seed) => Ok(seed),
            None => Err(AutogradError::NonScalarOutput {
                shape: output.shape(),
            }),
        },
    }
}

/// The gradients of `output` with respect to each of `inputs`, without touching any `.grad`
/// (`torch.autograd.grad(output, inputs, grad_outputs, create_graph=…)`). An input that
/// `output` does not depend on gets `None` (PyTorch's `allow_unused=True`). With
/// `create_graph`, the returned gradients carry their own graph, so they can be differentiated
/// again (Hessian-vector products).
///
/// ```
/// use antorcha_autograd::{grad, BackwardOptions, Var};
/// let x = Var::from_vec(vec![3.0f64], &[1]).requires_grad();
/// let y = (&x * &x * &x).sum(); // x³
/// let opts = BackwardOptions { create_graph: true, ..Default::default() };
/// let dy = grad(&y, &[&x], None, opts).unwrap()[0].clone().unwrap(); // 3x² = 27
/// assert_eq!(dy.to_vec(), vec![27.0]);
/// let d2y = grad(&dy.sum(), &[&x], None, Default::default()).unwrap()[0].clone().unwrap();
/// assert_eq!(d2y.to_vec(), vec![18.0]); // 6x
/// assert!(x.grad().is_none());
/// ```
pub fn grad<T: Float>(
    output: &Var<T>,
    inputs: &[&Var<T>],
    grad_output: Option<&Tensor<T>>,
    options: BackwardOptions,
) -> Result<Vec<Option<Var<T>>>> {
    let seed = seed_for(output, grad_output)?;
    run_backward(output, seed, Some(inputs), options)
}
