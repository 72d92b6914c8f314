//! Helpers the optimizers' unit tests share.

use antorcha_autograd::{Tensor, Var};

/// A 1-d f64 parameter that requires grad.
pub(crate) fn param(v: Vec<f64>) -> Var<f64> {
    let n = v.len();
    Var::from_vec(v, &[n]).requires_grad()
}

/// Sets `p`'s gradient to `g` (shaped like `p`).
pub(crate) fn set_grad(p: &Var<f64>, g: Vec<f64>) {
    p.set_grad(Some(Tensor::from_vec(g, &p.shape())));
}
