//! Fused ops of the nn layers: each records one node with PyTorch's name whose backward gives
//! the closed-form gradients (convolution, batch norm, layer norm, average pools, max pooling
//! with indices, the negative log-likelihood).

mod conv;
mod max_pool;
mod nll;
mod norm;
mod pool;

pub use nll::Reduction;
