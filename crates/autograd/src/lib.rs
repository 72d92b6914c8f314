//! `antorcha-autograd`: a define-by-run graph with PyTorch's semantics on `antorcha-tensor`.
//!
//! Ops on [`Var`]s record what they did; `backward()` walks the record once, in topological
//! order, and accumulates gradients into the leaves that require grad.
//!
//! ```
//! use antorcha_autograd::{no_grad, Var};
//! let x = Var::from_vec(vec![0.0f32, 1.0, 2.0], &[3, 1]);
//! let y = Var::from_vec(vec![1.0f32, 3.0, 5.0], &[3, 1]); // y = 1 + 2x
//! let a = Var::from_vec(vec![0.0f32], &[1]).requires_grad();
//! let b = Var::from_vec(vec![0.0f32], &[1]).requires_grad();
//! for _ in 0..500 {
//!     let loss = (&y - (&a + &b * &x)).powf(2.0).mean();
//!     loss.backward().unwrap();
//!     let _guard = no_grad();
//!     a.sub_(&(a.grad().unwrap() * 0.1)).unwrap();
//!     b.sub_(&(b.grad().unwrap() * 0.1)).unwrap();
//!     a.zero_grad();
//!     b.zero_grad();
//! }
//! assert!((a.item() - 1.0).abs() < 1e-3 && (b.item() - 2.0).abs() < 1e-3);
//! ```

#![warn(missing_docs)]

mod engine;
mod error;
mod flow;
mod grad_mode;
mod graph;
mod in_place;
mod node;
mod ops;
mod rule;
mod var;

pub use engine::{grad, BackwardOptions};
pub use error::{AutogradError, Result};
pub use grad_mode::{
    detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad, set_grad_enabled,
    with_no_grad, AnomalyGuard, GradModeGuard,
};
pub use graph::{Input, LeafRef, NodeRef, SavedInfo};
pub use node::{live_nodes, Attr};
pub use ops::Reduction;
pub use var::Var;

/// The tensor crate this one is built on.
pub use antorcha_tensor as tensor;
pub use antorcha_tensor::Tensor;
