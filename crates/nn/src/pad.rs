//! `F.pad` in its constant mode.

use antorcha_autograd::tensor::Float;
use antorcha_autograd::Var;

use crate::error::Result;

/// `x` padded with `value`: `pad[2i]` elements before and `pad[2i + 1]` after dim
/// `ndim - 1 - i` (pairs from the last dim backwards; negative numbers crop), like
/// `torch.nn.functional.pad(x, pad, mode="constant", value=value)` (`ConstantPadNdBackward0`).
/// The other modes (reflect, replicate, circular) are not here.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::functional::pad;
/// let x = Var::<f64>::ones(&[1, 2, 2]);
/// let y = pad(&x, &[1, 1, 0, 1], 0.0); // width 2 -> 4, height 2 -> 3
/// assert_eq!(y.shape(), vec![1, 3, 4]);
/// assert_eq!(y.to_vec()[..4], [0.0, 1.0, 1.0, 0.0]);
/// ```
///
/// # Panics
/// When [`try_pad`] returns an error.
#[track_caller]
pub fn pad<T: Float>(x: &Var<T>, pad: &[isize], value: T) -> Var<T> {
    crate::error::ok(try_pad(x, pad, value))
}

/// `pad`, or PyTorch's error for an odd number of pads, more pairs than dims, or a dim the
/// pads would make negative.
pub fn try_pad<T: Float>(x: &Var<T>, pad: &[isize], value: T) -> Result<Var<T>> {
    Ok(x.try_constant_pad_nd(pad, value)?)
}
