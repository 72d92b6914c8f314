//! `antorcha-nn`: PyTorch's `torch.nn` on Antorcha's autograd: the [`Module`] trait, layers,
//! activations, losses, [`init`], weights saved as safetensors that PyTorch reads, and
//! PyTorch's own `.pt` checkpoints read ([`pt`]).
//!
//! ```
//! use antorcha_autograd::{no_grad, Tensor, Var};
//! use antorcha_nn::{CrossEntropyLoss, Linear, Module, ReLU, Sequential};
//!
//! let model = Sequential::new().add(Linear::new(2, 8)).add(ReLU::new()).add(Linear::new(8, 2));
//! let x = Var::from_vec(vec![0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]);
//! let y = Tensor::from_vec(vec![0i64, 1, 1, 0], &[4]);
//! let loss_fn = CrossEntropyLoss::new();
//! let loss = loss_fn.forward(&model.forward(&x), &y);
//! loss.backward().unwrap();
//! let _guard = no_grad();
//! for p in model.parameters() {
//!     let g = p.grad().unwrap();
//!     p.update_(|t| t.add_scaled_(&g, -0.1)).unwrap();
//! }
//! ```

#![warn(missing_docs)]

mod activation;
mod atomic_write;
mod conv;
mod dropout;
mod error;
pub mod init;
mod linear;
mod loss;
mod max_pool;
pub mod metrics;
mod module;
mod norm;
mod pad;
mod params;
mod pool;
pub mod pt;
mod sequential;
mod serialize;

pub use activation::{Dropout, Flatten, Identity, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh};
pub use atomic_write::write_atomic;
pub use conv::{Conv2d, Conv2dConfig, Padding, Size2};
pub use dropout::Dropout2d;
pub use error::{NnError, Result, StateDictMismatch};
pub use linear::Linear;
pub use loss::{BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss, Reduction};
pub use max_pool::MaxPool2d;
pub use module::{Buffer, Module, Training};
pub use norm::{BatchNorm1d, BatchNorm2d, LayerNorm};
pub use pool::{AdaptiveAvgPool2d, AdaptiveSize, AvgPool2d};
pub use pt::{load_pt, read_pt, read_pt_bytes};
pub use sequential::Sequential;
pub use serialize::{
    decode_safetensors, load_safetensors, load_safetensors_bytes, read_safetensors,
    save_safetensors, write_safetensors,
};

/// Functions behind the layers and losses, like `torch.nn.functional` (`F.conv2d`,
/// `F.cross_entropy`, …): each has a panicking form and a `try_` form.
pub mod functional {
    pub use crate::activation::{dropout, try_dropout};
    pub use crate::conv::{conv2d, conv2d_with, try_conv2d};
    pub use crate::dropout::{dropout2d, try_dropout2d};
    pub use crate::loss::{
        binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss, nll_loss,
        try_binary_cross_entropy_with_logits, try_cross_entropy, try_l1_loss, try_mse_loss,
        try_nll_loss,
    };
    pub use crate::max_pool::{max_pool2d, max_pool2d_with_indices, try_max_pool2d};
    pub use crate::pad::{pad, try_pad};
    pub use crate::pool::{
        adaptive_avg_pool2d, avg_pool2d, try_adaptive_avg_pool2d, try_avg_pool2d,
    };
}
