//! The gradient as the engine carries it: a `Var` when the backward is itself recorded
//! (`create_graph`), so it can be differentiated again; a plain `Tensor` otherwise, which
//! needs no var, lock or graph check per gradient and is updated in place when unshared.

use antorcha_tensor::{Float, Tensor};
use smallvec::SmallVec;

use crate::error::Result;
use crate::node::{Node, NodeArc, SavedList};
use crate::rule::{Grads, Rule};
use crate::var::Var;

/// The gradient's carrier, and the ops that rules written once ([`crate::rule::RuleFn`]) use:
/// recorded var ops for a `create_graph` backward, tensor kernels that reuse an unshared
/// gradient's buffer otherwise.
pub(crate) trait Flow<T: Float>: Sized + Clone {
    /// Summed back to `shape` (a broadcast input's gradient).
    fn sum_to(self, shape: &[usize]) -> Self;
    /// Broadcast to `shape`.
    fn expand(self, shape: &[usize]) -> Self;
    /// `-g`.
    fn neg(self) -> Self;
    /// `g * s`.
    fn scale(self, s: T) -> Self;
    /// `g / s`.
    fn div_by(self, s: T) -> Self;
    /// `g * x`, `x` broadcast to `g`'s shape.
    fn mul(self, x: &Self) -> Self;
    /// `g * (e · x^(e-1))`, the power rule (`g * (x · 2)` for a square, `g * 0` for `e = 0`).
    fn mul_pow_grad(self, x: &Self, e: T) -> Self;
    /// `g` where `x > threshold`, zero elsewhere (a NaN `x` lets `g` through), like PyTorch's
    /// `threshold_backward`: ReLU's backward.
    fn threshold_backward(self, x: &Self, threshold: T) -> Self;

    fn from_tensor(t: Tensor<T>) -> Self;
    fn with_tensor<R>(&self, f: impl FnOnce(&Tensor<T>) -> R) -> R;
    fn into_tensor(self) -> Tensor<T>;
    /// A var handle on this gradient (what `grad()` returns).
    fn to_var(&self) -> Var<T>;
    /// `acc + g`, in place when nothing else can see `acc`.
    fn accumulate(acc: Self, g: Self) -> Self;
    /// Runs `node`'s rule on the gradient of its output.
    fn run(
        node: &NodeArc<T>,
        rule: &Rule<T>,
        saved: &SavedList<T>,
        g: Self,
        needs: &[bool],
    ) -> Result<SmallVec<[Option<Self>; 2]>>;
}

/// The saved values as vars, the op's own result re-attached to its node.
fn unpack_vars<T: Float>(node: &NodeArc<T>, saved: &SavedList<T>) -> Result<Grads<T>> {
    let mut out = SmallVec::new();
    Node::unpack_saved(
        node,
        saved,
        Var::clone,
        |t, n| Var::from_saved_output(t.clone(), n.clone()),
        &mut out,
    )?;
    Ok(out)
}

impl<T: Float> Flow<T> for Var<T> {
    fn sum_to(self, shape: &[usize]) -> Self {
        Var::sum_to(&self, shape)
    }

    fn expand(self, shape: &[usize]) -> Self {
        self.broadcast_to(shape)
    }

    fn neg(self) -> Self {
        Var::neg(&self)
    }

    fn scale(self, s: T) -> Self {
        self.mul_scalar(s)
    }

    fn div_by(self, s: T) -> Self {
        self.div_scalar(s)
    }

    fn mul(self, x: &Self) -> Self {
        Var::mul(&self, x)
    }

    fn mul_pow_grad(self, x: &Self, e: T) -> Self {
        let two = T::cast(2.0);
        if e == T::zero() {
            self.mul_scalar(e)
        } else if e == two {
            Var::mul(&self, &x.mul_scalar(two))
        } else {
            Var::mul(&self, &x.powf(e - T::one()).mul_scalar(e))
        }
    }

    fn threshold_backward(self, x: &Self, threshold: T) -> Self {
        crate::ops::threshold_backward(&self, x, threshold)
    }

    fn from_tensor(t: Tensor<T>) -> Self {
        Var::new(t)
    }

    fn with_tensor<R>(&self, f: impl FnOnce(&Tensor<T>) -> R) -> R {
        self.with_data(f)
    }

    fn into_tensor(self) -> Tensor<T> {
        self.into_data()
    }

    fn to_var(&self) -> Var<T> {
        self.clone()
    }

    fn accumulate(acc: Self, g: Self) -> Self {
        acc.add(&g)
    }

    fn run(
        node: &NodeArc<T>,
        rule: &Rule<T>,
        saved: &SavedList<T>,
        g: Self,
        needs: &[bool],
    ) -> Result<SmallVec<[Option<Self>; 2]>> {
        let saved = unpack_vars(node, saved)?;
        match rule {
            Rule::Vars(f) => f(&g, &saved, needs),
            Rule::Generic { ctx, on_vars, .. } => on_vars(ctx, g, &saved, needs),
        }
    }
}

impl<T: Float> Flow<T> for Tensor<T> {
    fn sum_to(self, shape: &[usize]) -> Self {
        Tensor::sum_to(&self, shape)
    }

    fn expand(self, shape: &[usize]) -> Self {
        self.broadcast_to(shape)
    }

    fn neg(mut self) -> Self {
        self.apply_(|x| -x);
        self
    }

    fn scale(mut self, s: T) -> Self {
        self.apply_(|x| x * s);
        self
    }

    fn div_by(mut self, s: T) -> Self {
        self.apply_(|x| x / s);
        self
    }

    fn mul(mut self, x: &Self) -> Self {
        self.zip_apply_(x, |g, x| g * x);
        self
    }

    fn mul_pow_grad(mut self, x: &Self, e: T) -> Self {
        let two = T::cast(2.0);
        if e == T::zero() {
            self.apply_(|g| g * e);
        } else if e == two {
            self.zip_apply_(x, |g, x| g * (x * two));
        } else {
            let e1 = e - T::one();
            self.zip_apply_(x, |g, x| g * (x.powf(e1) * e));
        }
        self
    }

    fn threshold_backward(mut self, x: &Self, threshold: T) -> Self {
        self.zip_apply_(x, |g, x| if x <= threshold { T::zero() } else { g });
        self
    }

    fn from_tensor(t: Tensor<T>) -> Self {
        t
    }

    fn with_tensor<R>(&self, f: impl FnOnce(&Tensor<T>) -> R) -> R {
        f(self)
    }

    fn into_tensor(self) -> Tensor<T> {
        self
    }

    fn to_var(&self) -> Var<T> {
        Var::new(self.clone())
    }

    fn accumulate(mut acc: Self, g: Self) -> Self {
        // Both are gradients of one vertex, so the shapes agree; a shared `acc` is copied
        // first (copy-on-write), never changed under another holder.
        acc.add_(&g);
        acc
    }

    fn run(
        node: &NodeArc<T>,
        rule: &Rule<T>,
        saved: &SavedList<T>,
        g: Self,
        needs: &[bool],
    ) -> Result<SmallVec<[Option<Self>; 2]>> {
        match rule {
            Rule::Generic {
                ctx, on_tensors, ..
            } => {
                let mut values = SmallVec::new();
                Node::unpack_saved(node, saved, Var::data, |t, _| t.clone(), &mut values)?;
                on_tensors(ctx, g, &values, needs)
            }
            Rule::Vars(f) => {
                let saved = unpack_vars(node, saved)?;
                let grads = f(&Var::new(g), &saved, needs)?;
                Ok(grads.into_iter().map(|g| g.map(Var::into_data)).collect())
            }
        }
    }
}
