//! A node's backward rule, written once. Most rules are written on vars, so that a
//! `create_graph` backward records them; the hot ops write theirs generically over the
//! gradient's carrier ([`crate::flow::Flow`]), so that a backward that records nothing runs
//! the same rule on plain tensors, without a var, a lock or a reference count per gradient.

use antorcha_tensor::ndarray::IxDyn;
use antorcha_tensor::{Float, Tensor};
use smallvec::SmallVec;

use crate::error::Result;
use crate::var::Var;

/// The gradient of each input of an op, carried as `F` (most ops have one or two inputs: no
/// allocation).
pub(crate) type GradsOf<F> = SmallVec<[Option<F>; 2]>;
/// The same, as vars.
pub(crate) type Grads<T> = GradsOf<Var<T>>;

/// A rule on vars: from the output's gradient and the unpacked saved values, the gradient of
/// each input (`None` where `needs[i]` is false or the gradient is zero by construction).
pub(crate) type BackwardFn<T> =
    Box<dyn Fn(&Var<T>, &[Option<Var<T>>], &[bool]) -> Result<Grads<T>> + Send + Sync>;

/// What a rule given both ways keeps from its forward, inline in the node (no allocation).
pub(crate) enum Ctx<T> {
    None,
    Shape(IxDyn),
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

    /// The number a scalar op kept.
    pub(crate) fn number(&self) -> T {
        match self {
            Ctx::Number(x) => *x,
            _ => unreachable!("the rule was recorded with a number"),
        }
    }
}

/// A backward rule written once, over the gradient's carrier `F` ([`Flow`]: a var when the
/// backward is recorded, a plain tensor otherwise): from what the forward kept, the output's
/// gradient and the saved values, the gradient of each input.
pub(crate) type RuleFn<T, F> = fn(&Ctx<T>, F, &[Option<F>], &[bool]) -> Result<GradsOf<F>>;

/// A node's rule.
pub(crate) enum Rule<T: Float> {
    /// On vars only: a backward that records nothing wraps the gradient in a var for it.
    Vars(BackwardFn<T>),
    /// One generic rule ([`RuleFn`]), instantiated for vars and for plain tensors.
    Generic {
        ctx: Ctx<T>,
        on_vars: RuleFn<T, Var<T>>,
        on_tensors: RuleFn<T, Tensor<T>>,
    },
}

/// A [`Rule::Generic`] from one generic rule function and what the forward kept.
macro_rules! generic {
    ($ctx:expr, $rule:ident) => {
        $crate::rule::Rule::Generic {
            ctx: $ctx,
            on_vars: $rule,
            on_tensors: $rule,
        }
    };
}
pub(crate) use generic;

/// The gradients of a two-input op from one owned gradient: `a` and `b` each take it where
/// their input needs it (shared only when both do).
pub(crate) fn split2<G: Clone>(
    g: G,
    needs: &[bool],
    a: impl FnOnce(G) -> G,
    b: impl FnOnce(G) -> G,
) -> GradsOf<G> {
    match (needs[0], needs[1]) {
        (true, true) => smallvec::smallvec![Some(a(g.clone())), Some(b(g))],
        (true, false) => smallvec::smallvec![Some(a(g)), None],
        (false, true) => smallvec::smallvec![None, Some(b(g))],
        (false, false) => smallvec::smallvec![None, None],
    }
}
