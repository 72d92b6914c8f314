//! In-place changes in the graph, as PyTorch records them: a change to a value computed by an
//! op becomes that value's new `grad_fn` (`AddBackward0`, `MulBackward0`, …); a change through
//! a view becomes `CopySlices` on its base, and every view of that base then reads its
//! gradient back out of the base's (`AsStridedBackward0`), made when first asked for.

use std::panic::Location;
use std::sync::atomic::Ordering;

use antorcha_tensor::ndarray::{Dimension, IxDyn};
use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use crate::node::{lock, Attr, Attrs, Node, NodeArc, Saved, SavedList};
use crate::rule::Rule;
use crate::var::{Value, Var};

/// An in-place op's effect on the gradient of the value it changed (its operand is a constant).
pub(crate) enum InPlace<T: Float> {
    Add,
    Sub,
    Mul(Tensor<T>),
    Zero,
    Copy,
}

impl<T: Float> InPlace<T> {
    fn name(&self) -> &'static str {
        match self {
            InPlace::Add => "AddBackward0",
            InPlace::Sub => "SubBackward0",
            InPlace::Mul(_) => "MulBackward0",
            InPlace::Zero => "ZeroBackward0",
            InPlace::Copy => "CopyBackwards",
        }
    }

    fn attrs(&self) -> Attrs {
        match self {
            InPlace::Add | InPlace::Sub => smallvec![("alpha", Attr::Int(1))],
            _ => smallvec![],
        }
    }

    fn saved(&self) -> SavedList<T> {
        match self {
            InPlace::Mul(other) => smallvec![
                ("other", Some(Saved::var(&Var::new(other.clone())))),
                ("self", None)
            ],
            _ => smallvec![],
        }
    }

    /// The gradient of the old value from the new one's.
    fn backward(&self, g: &Var<T>) -> Var<T> {
        match self {
            InPlace::Add | InPlace::Sub => g.clone(),
            InPlace::Mul(other) => g * &Var::new(other.clone()),
            InPlace::Zero | InPlace::Copy => Var::zeros(&g.shape()),
        }
    }
}

/// A layout in a storage: shape, strides, offset.
#[derive(Clone)]
struct Geometry {
    shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
}

impl Geometry {
    fn of<T: Float>(t: &Tensor<T>) -> Self {
        Geometry {
            shape: t.shape().to_vec(),
            strides: t.strides().to_vec(),
            offset: t.storage_offset(),
        }
    }

    /// One past the last storage element the layout reaches.
    fn end(&self) -> usize {
        let last: usize = self
            .shape
            .iter()
            .zip(&self.strides)
            .map(|(&n, &s)| n.saturating_sub(1) * s)
            .sum();
        self.offset + last + 1
    }

    /// The storage position of each element, in row-major order (1-d).
    fn positions(&self, len: usize) -> Tensor<i64> {
        let at = Tensor::from_vec((0..len as i64).collect(), &[len])
            .try_as_strided(&self.shape, &self.strides, self.offset)
            .expect("a layout inside its storage")
            .to_vec();
        Tensor::from(at)
    }

    fn isize_shape(&self) -> Vec<isize> {
        self.shape.iter().map(|&d| d as isize).collect()
    }
}

/// The gradient of a base from a gradient `g` laid out in its storage (a flat var of `len`).
fn storage_to_base<T: Float>(storage: &Var<T>, base: &Geometry, len: usize) -> Var<T> {
    storage
        .index_select(0, &base.positions(len))
        .reshape(&base.isize_shape())
}

impl<T: Float> Var<T> {
    /// The node that made the current value (`tensor.grad_fn`): the op's, unless in-place ops
    /// rewrote the graph since.
    #[inline]
    pub(crate) fn node(&self) -> Option<NodeArc<T>> {
        let inner = &self.inner;
        match &inner.value {
            Value::Own(_) if inner.epoch.load(Ordering::Acquire) == 0 => inner.grad_fn.clone(),
            _ => self.rewritten_node(),
        }
    }

    /// [`Var::node`] once in-place ops rewrote the graph, or for a view.
    #[cold]
    fn rewritten_node(&self) -> Option<NodeArc<T>> {
        let inner = &self.inner;
        match &inner.value {
            Value::Own(_) => inner.extras_if_any().and_then(|x| lock(&x.rebased).clone()),
            Value::View(v) => {
                let now = v.base.epoch.load(Ordering::Acquire);
                if now == v.epoch {
                    return inner.grad_fn.clone();
                }
                let mut slot = lock(&inner.extras().rebased);
                if slot.is_none() || inner.epoch.load(Ordering::Acquire) != now {
                    let base = Var {
                        inner: v.base.clone(),
                    };
                    let geometry = Geometry {
                        shape: base.shape(),
                        strides: v.base_strides.slice().to_vec(),
                        offset: v.base_offset,
                    };
                    let view = Geometry {
                        shape: self.shape(),
                        strides: v.strides.slice().to_vec(),
                        offset: v.offset,
                    };
                    *slot = base
                        .node()
                        .map(|node| as_strided_node(node, geometry, view));
                    inner.epoch.store(now, Ordering::Release);
                }
                slot.clone()
            }
        }
    }

    /// Records the in-place change `op` just made (under the storage's write lock, `data` being
    /// the tensor that holds the value): the new `grad_fn` of this var, or of its base.
    #[track_caller]
    pub(crate) fn record_in_place(&self, data: &Tensor<T>, op: InPlace<T>) {
        let location = Location::caller();
        match &self.inner.value {
            Value::Own(_) => {
                let node = Node::new_arc(
                    op.name(),
                    location,
                    self.inner.shape.clone(),
                    [self.edge()],
                    op.saved(),
                    op.attrs(),
                    Rule::Vars(Box::new(move |g, _, _| Ok(smallvec![Some(op.backward(g))]))),
                );
                rebase(&self.inner, node);
            }
            Value::View(v) => {
                let base = Var {
                    inner: v.base.clone(),
                };
                let base_geometry = Geometry::of(data);
                let view = Geometry {
                    shape: self.shape(),
                    strides: v.strides.slice().to_vec(),
                    offset: v.offset,
                };
                let saved = op.saved();
                let len = base_geometry.end().max(view.end());
                let node = Node::new_arc(
                    "CopySlices",
                    location,
                    IxDyn(&base_geometry.shape),
                    [base.edge()],
                    saved,
                    smallvec![],
                    Rule::Vars(Box::new(move |g, _, _| {
                        // g in the storage; the view's part replaced by the op's backward of it.
                        let at_base = base_geometry.positions(len);
                        let at_view = view.positions(len);
                        let storage = Var::zeros(&[len]).index_add(0, &at_base, &g.reshape(&[-1]));
                        let part = storage.index_select(0, &at_view);
                        let changed = op.backward(&part.reshape(&view.isize_shape()));
                        let storage =
                            storage.index_add(0, &at_view, &(&changed.reshape(&[-1]) - &part));
                        Ok(smallvec![Some(storage_to_base(
                            &storage,
                            &base_geometry,
                            len
                        ))])
                    })),
                );
                rebase(&v.base, node);
            }
        }
    }
}

/// Makes `node` the base's `grad_fn`; its views make theirs anew when next asked.
fn rebase<T: Float>(base: &crate::var::VarArc<T>, node: NodeArc<T>) {
    *lock(&base.extras().rebased) = Some(node);
    base.epoch.fetch_add(1, Ordering::AcqRel);
}

/// `AsStridedBackward0`: a view's gradient taken back into its base's, whose node is `base`.
fn as_strided_node<T: Float>(base: NodeArc<T>, geometry: Geometry, view: Geometry) -> NodeArc<T> {
    let attrs: Attrs = smallvec![
        ("size", Attr::shape(&view.shape)),
        ("storage_offset", Attr::Int(view.offset as i64)),
        ("stride", Attr::shape(&view.strides)),
    ];
    let len = geometry.end().max(view.end());
    Node::new_arc(
        "AsStridedBackward0",
        Location::caller(),
        IxDyn(&view.shape),
        [crate::node::Edge::Node(base)],
        smallvec![],
        attrs,
        Rule::Vars(Box::new(move |g, _, _| {
            // Overlapping elements (an expanded view) add up, as in PyTorch.
            let storage = Var::zeros(&[len]).index_add(0, &view.positions(len), &g.reshape(&[-1]));
            Ok(smallvec![Some(storage_to_base(&storage, &geometry, len))])
        })),
    )
}
