//! `MaxPool2d` and `max_pool2d`: one fused op (`MaxPool2DWithIndicesBackward0`) with every
//! option of PyTorch's (kernel, stride, padding, dilation, ceil_mode, return_indices).

use antorcha_autograd::tensor::Float;
use antorcha_autograd::{Tensor, Var};

use crate::conv::Size2;
use crate::error::{NnError, Result};
use crate::module::{Module, Training};

fn max_pool2d_with<T: Float>(
    x: &Var<T>,
    kernel: Size2,
    stride: Size2,
    padding: Size2,
    dilation: Size2,
    ceil_mode: bool,
) -> Result<(Var<T>, Tensor<i64>)> {
    if !matches!(x.ndim(), 3 | 4) {
        return Err(NnError::InputShape {
            module: "max_pool2d",
            shape: x.shape(),
            message: "expected a 4-D [N, C, H, W] or 3-D [C, H, W] input".into(),
        });
    }
    let pair = |s: Size2| [s.0, s.1];
    Ok(x.try_max_pool2d_with_indices(
        pair(kernel),
        pair(stride),
        pair(padding),
        pair(dilation),
        ceil_mode,
    )?)
}

/// The largest element of each `kernel` window of `x` (`[N, C, H, W]` or `[C, H, W]`),
/// moving by `stride`, with implicit `-inf` padding, like
/// `torch.nn.functional.max_pool2d(x, kernel_size, stride, padding)`. The gradient goes to
/// the (first) largest element of each window.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::functional::max_pool2d;
/// let x = Var::from_vec((0..16).map(|v| v as f32).collect(), &[1, 1, 4, 4]);
/// let y = max_pool2d(&x, 2, 2, 0);
/// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
/// ```
///
/// # Panics
/// When [`try_max_pool2d`] returns an error.
#[track_caller]
pub fn max_pool2d<T: Float>(
    x: &Var<T>,
    kernel_size: impl Into<Size2>,
    stride: impl Into<Size2>,
    padding: impl Into<Size2>,
) -> Var<T> {
    crate::error::ok(try_max_pool2d(x, kernel_size, stride, padding))
}

/// `max_pool2d`, or an error for a bad input shape, kernel or padding.
pub fn try_max_pool2d<T: Float>(
    x: &Var<T>,
    kernel_size: impl Into<Size2>,
    stride: impl Into<Size2>,
    padding: impl Into<Size2>,
) -> Result<Var<T>> {
    let (y, _) = max_pool2d_with(
        x,
        kernel_size.into(),
        stride.into(),
        padding.into(),
        Size2(1, 1),
        false,
    )?;
    Ok(y)
}

/// Max pooling with every option and the indices, like
/// `torch.nn.functional.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode,
/// return_indices=True)`: the output (`MaxPool2DWithIndicesBackward0`) and the index of each
/// maximum within its `H x W` plane.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::functional::max_pool2d_with_indices;
/// let x = Var::from_vec((0..25).map(f64::from).collect(), &[1, 1, 5, 5]);
/// let (y, idx) = max_pool2d_with_indices(&x, 2, 2, 0, 1, true).unwrap();
/// assert_eq!(y.to_vec(), vec![6.0, 8.0, 9.0, 16.0, 18.0, 19.0, 21.0, 23.0, 24.0]);
/// assert_eq!(idx.to_vec(), vec![6, 8, 9, 16, 18, 19, 21, 23, 24]);
/// ```
pub fn max_pool2d_with_indices<T: Float>(
    x: &Var<T>,
    kernel_size: impl Into<Size2>,
    stride: impl Into<Size2>,
    padding: impl Into<Size2>,
    dilation: impl Into<Size2>,
    ceil_mode: bool,
) -> Result<(Var<T>, Tensor<i64>)> {
    max_pool2d_with(
        x,
        kernel_size.into(),
        stride.into(),
        padding.into(),
        dilation.into(),
        ceil_mode,
    )
}

/// Max pooling over 2-D windows, like `torch.nn.MaxPool2d(kernel_size, stride=kernel_size,
/// padding=0, dilation=1, ceil_mode=False)`; [`MaxPool2d::forward_with_indices`] also gives
/// the indices (`return_indices=True`). Records `MaxPool2DWithIndicesBackward0`.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{MaxPool2d, Module};
/// let pool = MaxPool2d::new(2);
/// assert_eq!(pool.forward(&Var::<f32>::zeros(&[8, 16, 28, 28])).shape(), vec![8, 16, 14, 14]);
/// ```
#[derive(Debug)]
pub struct MaxPool2d {
    kernel: Size2,
    stride: Size2,
    padding: Size2,
    dilation: Size2,
    ceil_mode: bool,
    training: Training,
}

impl MaxPool2d {
    /// Pooling over `kernel_size` windows with stride `kernel_size` (non-overlapping).
    pub fn new(kernel_size: impl Into<Size2>) -> Self {
        let k = kernel_size.into();
        MaxPool2d {
            kernel: k,
            stride: k,
            padding: Size2(0, 0),
            dilation: Size2(1, 1),
            ceil_mode: false,
            training: Training::new(),
        }
    }

    /// Sets the step between the taps of a window (default 1).
    pub fn dilation(mut self, dilation: impl Into<Size2>) -> Self {
        self.dilation = dilation.into();
        self
    }

    /// With `true`, the output size is rounded up: a last, partial window is kept when it
    /// starts inside the input or its left padding.
    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    /// The output and the index of each maximum within its `H x W` plane, as PyTorch's
    /// `MaxPool2d(..., return_indices=True)` returns them.
    pub fn forward_with_indices<T: Float>(&self, x: &Var<T>) -> Result<(Var<T>, Tensor<i64>)> {
        max_pool2d_with(
            x,
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
        )
    }

    /// Sets the step between windows.
    pub fn stride(mut self, stride: impl Into<Size2>) -> Self {
        self.stride = stride.into();
        self
    }

    /// Sets the implicit `-inf` padding on each side (at most half the kernel).
    pub fn padding(mut self, padding: impl Into<Size2>) -> Self {
        self.padding = padding.into();
        self
    }
}

impl<T: Float> Module<T> for MaxPool2d {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        Ok(self.forward_with_indices(x)?.0)
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }

    fn extra_repr(&self) -> String {
        let one = |s: Size2| {
            if s.0 == s.1 {
                s.0.to_string()
            } else {
                s.repr()
            }
        };
        format!(
            "kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}",
            one(self.kernel),
            one(self.stride),
            one(self.padding),
            one(self.dilation),
            if self.ceil_mode { "True" } else { "False" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_picks_window_maxima() {
        let x = Var::from_vec((0..9).map(|v| v as f64).collect(), &[1, 1, 3, 3]);
        // -inf padding: the corner windows see one real element.
        let y = max_pool2d(&x, 2, 1, 1);
        assert_eq!(
            y.to_vec(),
            vec![0., 1., 2., 2., 3., 4., 5., 5., 6., 7., 8., 8., 6., 7., 8., 8.]
        );
        let pool = MaxPool2d::new((1, 3)).stride((1, 2));
        assert_eq!(pool.forward(&x).to_vec(), vec![2.0, 5.0, 8.0]);
        // Unbatched, and channels pool separately.
        let x2 = Var::from_vec(vec![1.0, -1.0, -2.0, -3.0, 5.0, 6.0, 7.0, 8.0], &[2, 2, 2]);
        assert_eq!(MaxPool2d::new(2).forward(&x2).to_vec(), vec![1.0, 8.0]);
        assert_eq!(
            Module::<f32>::extra_repr(&MaxPool2d::new(2)),
            "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False"
        );
    }

    #[test]
    fn max_pool_gradient_goes_to_the_maximum() {
        let x = Var::from_vec(vec![1.0f64, 4.0, 3.0, 2.0], &[1, 1, 2, 2]).requires_grad();
        max_pool2d(&x, 2, 2, 0).sum().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
        // Overlapping windows accumulate.
        let x = Var::from_vec(vec![0.0f64, 9.0, 0.0, 0.0, 0.0, 0.0], &[1, 1, 2, 3]).requires_grad();
        max_pool2d(&x, 2, 1, 0).sum().backward().unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec(),
            vec![0.0, 2.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn max_pool_errors() {
        let x = Var::<f32>::zeros(&[1, 1, 3, 3]);
        assert!(try_max_pool2d(&x, 2, 2, 2)
            .unwrap_err()
            .to_string()
            .contains("at most half"));
        assert!(try_max_pool2d(&x, 4, 1, 0).is_err());
        assert!(try_max_pool2d(&Var::<f32>::zeros(&[9]), 1, 1, 0).is_err());
    }
}
