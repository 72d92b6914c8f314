//! The gradient as the engine carries it: a `Var` when the backward is itself recorded
//! (`create_graph`), so it can be differentiated again; a plain `Tensor` otherwise, which
//! needs no var, lock or graph check per gradient and is updated in place when unshared.

use antorcha_tensor::{Float, Tensor};
use smallvec::SmallVec;

use crate::error::Result;
use crate::node::{Node, NodeArc, SavedList};
use crate::rule::Rule;
use crate::var::Var;

pub(crate) trait Flow<T: Float>: Sized {
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

impl<T: Float> Flow<T> for Var<T> {
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
        // In place only when no graph is being recorded and nothing else holds `acc`.
        g.with_data(|gt| acc.zip_grad_in_place(gt, |x, y| x + y))
            .unwrap_or_else(|| acc.add(&g))
    }

    fn run(
        node: &NodeArc<T>,
        rule: &Rule<T>,
        saved: &SavedList<T>,
        g: Self,
        needs: &[bool],
    ) -> Result<SmallVec<[Option<Self>; 2]>> {
        let saved = Node::unpack_saved(node, saved)?;
        match rule {
            Rule::Vars(f) => f(&g, &saved, needs),
            Rule::Both { ctx, on_vars, .. } => on_vars(ctx, &g, &saved, needs),
        }
    }
}

impl<T: Float> Flow<T> for Tensor<T> {
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
            Rule::Both {
                ctx, on_tensors, ..
            } => {
                let saved = node.unpack_saved_tensors(saved)?;
                on_tensors(ctx, g, &saved, needs)
            }
            Rule::Vars(f) => {
                let saved = Node::unpack_saved(node, saved)?;
                let grads = f(&Var::new(g), &saved, needs)?;
                Ok(grads.into_iter().map(|g| g.map(Var::into_data)).collect())
            }
        }
    }
}
