//! A node's backward rule. Every rule is written on vars, so that a `create_graph` backward
//! records it; the hot ops also give the same rule on plain tensors, which a backward that
//! records nothing runs without a var, a lock or a reference count per gradient.

use antorcha_tensor::ndarray::{Dimension, IxDyn};
use antorcha_tensor::{Float, Tensor};
use smallvec::SmallVec;

use crate::error::Result;
use crate::var::Var;

/// The gradient of each input of an op (most ops have one or two: no allocation).
pub(crate) type Grads<T> = SmallVec<[Option<Var<T>>; 2]>;
/// The same, as plain tensors.
pub(crate) type TensorGrads<T> = SmallVec<[Option<Tensor<T>>; 2]>;
/// Saved values unpacked as plain tensors.
pub(crate) type SavedTensors<T> = SmallVec<[Option<Tensor<T>>; 4]>;

/// A rule on vars: from the output's gradient and the unpacked saved values, the gradient of
/// each input (`None` where `needs[i]` is false or the gradient is zero by construction).
pub(crate) type BackwardFn<T> =
    Box<dyn Fn(&Var<T>, &[Option<Var<T>>], &[bool]) -> Result<Grads<T>> + Send + Sync>;

/// What a rule given both ways keeps from its forward, inline in the node (no allocation).
pub(crate) enum Ctx<T> {
    None,
    Shape(IxDyn),
    Shapes(IxDyn, IxDyn),
    Number(T),
}

impl<T: Float> Ctx<T> {
    /// The one input shape a reduction kept.
    pub(crate) fn shape(&self) -> &IxDyn {
        match self {
            Ctx::Shape(s) => s,
            _ => unreachable!("the rule was recorded with one shape"),
        }
    }

    /// The two input shapes a binary op kept.
    pub(crate) fn shapes(&self) -> (&[usize], &[usize]) {
        match self {
            Ctx::Shapes(a, b) => (a.slice(), b.slice()),
            _ => unreachable!("the rule was recorded with two shapes"),
        }
    }

    /// The number a scalar op kept.
    pub(crate) fn number(&self) -> T {
        match self {
            Ctx::Number(x) => *x,
            _ => unreachable!("the rule was recorded with a number"),
        }
    }
}

/// The var form of a rule given both ways.
pub(crate) type OnVars<T> = fn(&Ctx<T>, &Var<T>, &[Option<Var<T>>], &[bool]) -> Result<Grads<T>>;
/// The tensor form of a rule given both ways.
pub(crate) type OnTensors<T> =
    fn(&Ctx<T>, Tensor<T>, &[Option<Tensor<T>>], &[bool]) -> Result<TensorGrads<T>>;

/// A node's rule.
pub(crate) enum Rule<T: Float> {
    /// On vars only: a backward that records nothing wraps the gradient in a var for it.
    Vars(BackwardFn<T>),
    /// On vars and on plain tensors (the two must agree: the gradient tests run the tensor
    /// form at first order and the var form through `create_graph`).
    Both {
        ctx: Ctx<T>,
        on_vars: OnVars<T>,
        on_tensors: OnTensors<T>,
    },
}

/// A rule given on vars and on plain tensors, over what the forward kept.
pub(crate) fn dual<T: Float>(ctx: Ctx<T>, on_vars: OnVars<T>, on_tensors: OnTensors<T>) -> Rule<T> {
    Rule::Both {
        ctx,
        on_vars,
        on_tensors,
    }
}

/// `f` on every element of an owned gradient, in place (copied first only if it is shared).
pub(crate) fn apply<T: Float>(mut g: Tensor<T>, f: impl Fn(T) -> T) -> Tensor<T> {
    apply_in_place(&mut g, f);
    g
}

/// `t[i] = f(t[i])` for every element (copied first only if `t`'s storage is shared).
pub(crate) fn apply_in_place<T: Float>(t: &mut Tensor<T>, f: impl Fn(T) -> T) {
    t.apply_(f)
}

/// `g[i] = f(g[i], x[i])` in place, `x` broadcast to `g`'s shape (the forward checked it can
/// be).
pub(crate) fn zip_apply<T: Float>(
    mut g: Tensor<T>,
    x: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Tensor<T> {
    zip_in_place(&mut g, x, f);
    g
}

/// `t[i] = f(t[i], x[i])` for every element, `x` broadcast to `t`'s shape (copied first only
/// if `t`'s storage is shared).
pub(crate) fn zip_in_place<T: Float>(t: &mut Tensor<T>, x: &Tensor<T>, f: impl Fn(T, T) -> T) {
    t.zip_apply_(x, f)
}

/// An owned gradient summed back to an input's `shape` (itself when the shapes agree).
pub(crate) fn sum_to<T: Float>(g: Tensor<T>, shape: &[usize]) -> Tensor<T> {
    if g.shape() == shape {
        g
    } else {
        g.sum_to(shape)
    }
}

/// The gradients of a two-input op from one owned gradient: `a` and `b` each take it where
/// their input needs it (shared only when both do).
pub(crate) fn split2<T: Float>(
    g: Tensor<T>,
    needs: &[bool],
    a: impl FnOnce(Tensor<T>) -> Tensor<T>,
    b: impl FnOnce(Tensor<T>) -> Tensor<T>,
) -> TensorGrads<T> {
    match (needs[0], needs[1]) {
        (true, true) => smallvec::smallvec![Some(a(g.clone())), Some(b(g))],
        (true, false) => smallvec::smallvec![Some(a(g)), None],
        (false, true) => smallvec::smallvec![None, Some(b(g))],
        (false, false) => smallvec::smallvec![None, None],
    }
}
