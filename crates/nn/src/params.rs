//! What `Linear` and `Conv2d` share: PyTorch's default init of a weight and a bias, and the
//! shape checks on weights and biases given from outside.

use antorcha_autograd::tensor::{Float, Generator};
use antorcha_autograd::Tensor;

use crate::error::{NnError, Result};
use crate::init::{calculate_gain, Nonlinearity};

/// PyTorch's `reset_parameters` of `Linear` and `Conv2d`: a weight of `shape` drawn by
/// `kaiming_uniform_(weight, a=sqrt(5))` (bound `sqrt(3)·gain/sqrt(fan_in)`, about
/// `1/sqrt(fan_in)`), then, with `bias`, a bias `[shape[0]]` uniform in `±1/sqrt(fan_in)`,
/// where `fan_in` is the product of `shape[1..]`. Same draws, same order and same bounds as
/// PyTorch, so after `manual_seed` the values are PyTorch's bit for bit. An empty weight is
/// not drawn (PyTorch skips it); a bias with `fan_in = 0` is drawn in `±0`.
pub(crate) fn default_weight_and_bias<T: Float>(
    shape: &[usize],
    bias: bool,
    g: &mut Generator,
) -> (Tensor<T>, Option<Tensor<T>>) {
    let fan_in: usize = shape[1..].iter().product();
    let weight = if shape.contains(&0) {
        Tensor::zeros(shape)
    } else {
        let gain = calculate_gain(Nonlinearity::LeakyRelu, Some(5f64.sqrt()));
        let bound = 3f64.sqrt() * (gain / (fan_in as f64).sqrt());
        Tensor::uniform_from(shape, -bound, bound, g)
    };
    let bound = if fan_in > 0 {
        1.0 / (fan_in as f64).sqrt()
    } else {
        0.0
    };
    let bias = bias.then(|| Tensor::uniform_from(&[shape[0]], -bound, bound, g));
    (weight, bias)
}

/// An error unless `weight` has the `layout`'s rank (`layout` names its dims, e.g.
/// `["out_features", "in_features"]`) and `bias`, if any, is `[weight.shape()[0]]`.
pub(crate) fn check_weight_and_bias<T: Float>(
    module: &'static str,
    layout: &[&str],
    weight: &Tensor<T>,
    bias: Option<&Tensor<T>>,
) -> Result<()> {
    if weight.ndim() != layout.len() {
        return Err(NnError::invalid(
            module,
            format!(
                "weight must be {}-D [{}], got shape {:?}",
                layout.len(),
                layout.join(", "),
                weight.shape()
            ),
        ));
    }
    if let Some(b) = bias {
        if b.shape() != [weight.shape()[0]] {
            return Err(NnError::invalid(
                module,
                format!(
                    "bias must have shape [{}] to fit weight {:?}, got {:?}",
                    weight.shape()[0],
                    weight.shape(),
                    b.shape()
                ),
            ));
        }
    }
    Ok(())
}
