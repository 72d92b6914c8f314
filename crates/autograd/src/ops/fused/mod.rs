//! Fused ops of the nn layers: each records one node with PyTorch's name whose backward gives
//! the closed-form gradients (batch norm, layer norm, average pools).

mod norm;
mod pool;
