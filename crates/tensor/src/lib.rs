//! `antorcha-tensor`: n-dimensional arrays on `ndarray` with PyTorch's broadcasting, ops,
//! errors and printing.
//!
//! ```
//! use antorcha_tensor::Tensor;
//! let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0], &[3, 1]);
//! let y = &x * 2.0 + 1.0;
//! assert_eq!(y.to_vec(), vec![3.0, 5.0, 7.0]);
//! ```

#![warn(missing_docs)]

mod batch_norm;
mod binary;
mod broadcast;
pub mod buffer;
mod compare;
mod conv;
mod dispatch;
mod display;
mod element;
mod error;
mod index;
mod index_arg;
mod join;
mod layout;
mod matmul;
mod max_pool;
mod mt19937;
mod ops;
mod optim_kernels;
mod pad;
mod parallel;
mod random;
mod reduce;
mod shape;
mod softmax;
mod strided;
mod tensor;
mod unary;

pub use batch_norm::BatchNormOutput;
pub use broadcast::broadcast_shapes;
pub use conv::Conv2dOptions;
pub use element::{Element, Float};
pub use error::{Result, TensorError};
pub use index_arg::{IndexArg, IndexElement};
pub use max_pool::MaxPool2dOptions;
pub use mt19937::Mt19937;
pub use optim_kernels::{AdagradStep, AdamStep, RmspropStep, SgdStep, StepParam};
pub use parallel::{join, num_threads, set_num_threads};
pub use random::{manual_seed, with_global_rng, Generator};
pub use tensor::Tensor;

/// The ndarray version this crate is built on, for conversions.
pub use ndarray;
