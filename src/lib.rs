//! Antorcha: PyTorch's training core in small Rust crates. This facade re-exports each crate
//! as a module; depend on a single crate (`antorcha-tensor`, …) to use it alone.
//!
//! ```
//! use antorcha::tensor::Tensor;
//! let x = Tensor::<f32>::ones(&[2, 2]);
//! assert_eq!(x.numel(), 4);
//! ```

#![warn(missing_docs)]

pub use antorcha_autograd as autograd;
pub use antorcha_data as data;
pub use antorcha_nn as nn;
pub use antorcha_optim as optim;
pub use antorcha_tensor as tensor;
pub use antorcha_viz as viz;

/// Classification metrics (accuracy, confusion matrix, precision, recall), from `antorcha-nn`.
pub use antorcha_nn::metrics;

/// The README's Rust examples, compiled and run by `cargo test` so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Each crate's README example, run by `cargo test --doc` here (the facade depends on them all).
#[cfg(doctest)]
mod crate_readmes {
    #[doc = include_str!("../crates/tensor/README.md")]
    pub struct Tensor;
    #[doc = include_str!("../crates/autograd/README.md")]
    pub struct Autograd;
    #[doc = include_str!("../crates/optim/README.md")]
    pub struct Optim;
    #[doc = include_str!("../crates/data/README.md")]
    pub struct Data;
    #[doc = include_str!("../crates/nn/README.md")]
    pub struct Nn;
    #[doc = include_str!("../crates/viz/README.md")]
    pub struct Viz;
}
