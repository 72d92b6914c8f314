//! `antorcha-optim`: PyTorch's optimizers, learning-rate schedulers and gradient clipping for
//! `antorcha-autograd`, with PyTorch's update formulas, defaults and messages.
//!
//! - [`Optimizer`]: `step`, `zero_grad`, learning rates per parameter group, state export and
//!   restore ([`OptimizerState`]).
//! - [`SGD`] (momentum, dampening, Nesterov, weight decay, maximize), [`Adam`] (AMSGrad),
//!   [`AdamW`], [`RMSprop`] (momentum, centered), [`Adagrad`] (lr decay), generic over `f32`/`f64`.
//! - Schedulers ([`LrScheduler`]): [`StepLR`], [`MultiStepLR`], [`ExponentialLR`],
//!   [`CosineAnnealingLR`], [`LinearLR`], and [`ReduceLROnPlateau`].
//! - [`clip_grad_norm_`], [`clip_grad_value_`].
//!
//! The notebook's training loop (Example 3: `optimizer = optim.SGD([a, b], lr=lr)`):
//!
//! ```
//! use antorcha_autograd::Var;
//! use antorcha_optim::{Optimizer, SGD};
//! let x = Var::from_vec(vec![0.1f32, 0.4, 0.5, 0.9], &[4, 1]);
//! let y = &(&x * 2.0) + 1.0;                       // y = 1 + 2x
//! let a = Var::from_vec(vec![0.0f32], &[1]).requires_grad();
//! let b = Var::from_vec(vec![0.0f32], &[1]).requires_grad();
//! let lr = 0.1;
//! let mut optimizer = SGD::new(vec![a.clone(), b.clone()], lr).unwrap();
//! for _epoch in 0..3000 {
//!     let yhat = &a + &b * &x;
//!     let loss = (&y - &yhat).powf(2.0).mean();
//!     loss.backward().unwrap();
//!     optimizer.step().unwrap();
//!     optimizer.zero_grad();
//! }
//! assert!((a.item() - 1.0).abs() < 1e-3 && (b.item() - 2.0).abs() < 1e-3);
//! ```

#![warn(missing_docs)]

mod adagrad;
mod adam;
mod clip;
mod error;
mod optimizer;
mod rmsprop;
mod scheduler;
mod sgd;
#[cfg(test)]
mod test_util;

pub use adagrad::{Adagrad, AdagradOptions};
pub use adam::{Adam, AdamOptions, AdamW, AdamWOptions};
pub use clip::{clip_grad_norm_, clip_grad_value_, try_clip_grad_norm_};
pub use error::{OptimError, Result};
pub use optimizer::{
    GroupOptions, GroupState, Hyper, Optimizer, OptimizerState, ParamGroup, ParamState, StateBuffer,
};
pub use rmsprop::{RMSprop, RmspropOptions};
pub use scheduler::{
    CosineAnnealingLR, ExponentialLR, LinearLR, LrScheduler, MultiStepLR, PlateauMode,
    PlateauOptions, ReduceLROnPlateau, StepLR, ThresholdMode,
};
pub use sgd::{SgdOptions, SGD};
