//! What `Linear` and `Conv2d` share: PyTorch's default init of a weight and a bias, and the
//! shape checks on weights and biases given from outside.

use antorcha_autograd::tensor::Float;
use antorcha_autograd::Tensor;
use rand::Rng;

use crate::error::{NnError, Result};

/// PyTorch's `reset_parameters`: a weight of `shape` and, with `bias`, a bias `[shape[0]]`,
/// both uniform in `±1/sqrt(fan_in)` where `fan_in` is the product of `shape[1..]` (bounds of
/// 0 when it is 0). The weight is drawn first, then the bias, as in PyTorch.
pub(crate) fn default_weight_and_bias<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    bias: bool,
    rng: &mut R,
) -> (Tensor<T>, Option<Tensor<T>>) {
    let fan_in: usize = shape[1..].iter().product();
    let bound = if fan_in > 0 {
        1.0 / (fan_in as f64).sqrt()
    } else {
        0.0
    };
    let (lo, hi) = (T::cast(-bound), T::cast(bound));
    let weight = Tensor::uniform_with(shape, lo, hi, rng);
    let bias = bias.then(|| Tensor::uniform_with(&[shape[0]], lo, hi, rng));
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
