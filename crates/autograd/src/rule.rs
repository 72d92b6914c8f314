//! A node's backward rule. Every rule is written on vars, so that a `create_graph` backward
//! records it; the hot ops also give the same rule on plain tensors, which a backward that
//! records nothing runs without a var, a lock or a reference count per gradient.

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

/// A rule given both ways; the two must agree (the gradient tests run the tensor form at first
/// order and the var form through `create_graph`).
pub(crate) trait DualRule<T: Float>: Send + Sync {
    fn on_vars(&self, g: &Var<T>, saved: &[Option<Var<T>>], needs: &[bool]) -> Result<Grads<T>>;
    fn on_tensors(
        &self,
        g: Tensor<T>,
        saved: &[Option<Tensor<T>>],
        needs: &[bool],
    ) -> Result<TensorGrads<T>>;
}

/// A node's rule.
pub(crate) enum Rule<T: Float> {
    /// On vars only: a backward that records nothing wraps the gradient in a var for it.
    Vars(BackwardFn<T>),
    /// On vars and on plain tensors.
    Both(Box<dyn DualRule<T>>),
}

impl<T: Float> From<BackwardFn<T>> for Rule<T> {
    fn from(f: BackwardFn<T>) -> Self {
        Rule::Vars(f)
    }
}

/// The two forms share one context (the shapes and numbers the rule needs); the functions
/// capture nothing, so a rule without context allocates nothing.
struct Dual<C, V, P> {
    ctx: C,
    on_vars: V,
    on_tensors: P,
}

impl<T, C, V, P> DualRule<T> for Dual<C, V, P>
where
    T: Float,
    C: Send + Sync,
    V: Fn(&C, &Var<T>, &[Option<Var<T>>], &[bool]) -> Result<Grads<T>> + Send + Sync,
    P: Fn(&C, Tensor<T>, &[Option<Tensor<T>>], &[bool]) -> Result<TensorGrads<T>> + Send + Sync,
{
    fn on_vars(&self, g: &Var<T>, saved: &[Option<Var<T>>], needs: &[bool]) -> Result<Grads<T>> {
        (self.on_vars)(&self.ctx, g, saved, needs)
    }

    fn on_tensors(
        &self,
        g: Tensor<T>,
        saved: &[Option<Tensor<T>>],
        needs: &[bool],
    ) -> Result<TensorGrads<T>> {
        (self.on_tensors)(&self.ctx, g, saved, needs)
    }
}

/// A rule given on vars and on plain tensors, over a shared context.
pub(crate) fn dual<T, C, V, P>(ctx: C, on_vars: V, on_tensors: P) -> Rule<T>
where
    T: Float,
    C: Send + Sync + 'static,
    V: Fn(&C, &Var<T>, &[Option<Var<T>>], &[bool]) -> Result<Grads<T>> + Send + Sync + 'static,
    P: Fn(&C, Tensor<T>, &[Option<Tensor<T>>], &[bool]) -> Result<TensorGrads<T>>
        + Send
        + Sync
        + 'static,
{
    Rule::Both(Box::new(Dual {
        ctx,
        on_vars,
        on_tensors,
    }))
}

/// `f` on every element of an owned gradient, in place (copied first only if it is shared).
pub(crate) fn apply<T: Float>(mut g: Tensor<T>, f: impl Fn(T) -> T) -> Tensor<T> {
    let a = g.array_mut();
    match a.as_slice_mut() {
        Some(xs) => xs.iter_mut().for_each(|x| *x = f(*x)),
        None => a.mapv_inplace(f),
    }
    g
}

/// `g[i] = f(g[i], x[i])` in place, `x` broadcast to `g`'s shape (the forward checked it can
/// be).
pub(crate) fn zip_apply<T: Float>(
    mut g: Tensor<T>,
    x: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Tensor<T> {
    let xv = x.array();
    let a = g.array_mut();
    if a.shape() == xv.shape() {
        if let (Some(gs), Some(xs)) = (a.as_slice_mut(), xv.as_slice()) {
            gs.iter_mut().zip(xs).for_each(|(g, &x)| *g = f(*g, x));
            return g;
        }
    }
    antorcha_tensor::ndarray::Zip::from(a)
        .and_broadcast(xv)
        .for_each(|g, &x| *g = f(*g, x));
    g
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
