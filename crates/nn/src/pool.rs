//! Average pooling layers: `AvgPool2d` and `AdaptiveAvgPool2d`, each one fused op in the graph
//! (`AvgPool2DBackward0`, `AdaptiveAvgPool2DBackward0`).

use antorcha_autograd::tensor::Float;
use antorcha_autograd::Var;

use crate::conv::Size2;
use crate::error::Result;
use crate::module::{Module, Training};

/// `2` for a square size, `(3, 2)` otherwise, as PyTorch prints an int or a tuple argument.
fn show(s: Size2) -> String {
    if s.0 == s.1 {
        s.0.to_string()
    } else {
        format!("({}, {})", s.0, s.1)
    }
}

/// Average pooling over 2-D windows, like `torch.nn.AvgPool2d(kernel_size,
/// stride=kernel_size, padding=0, ceil_mode=False, count_include_pad=True,
/// divisor_override=None)`; see [`Var::try_avg_pool2d`] for each option.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{AvgPool2d, Module};
/// let x = Var::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]);
/// assert_eq!(AvgPool2d::new(2).forward(&x).to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
/// let pool = AvgPool2d::new(3).stride(2).padding(1).count_include_pad(false);
/// assert_eq!(pool.forward(&x).to_vec()[0], 2.5); // (0 + 1 + 4 + 5) / 4
/// ```
#[derive(Debug, Clone)]
pub struct AvgPool2d {
    kernel: Size2,
    stride: Size2,
    padding: Size2,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
    training: Training,
}

impl AvgPool2d {
    /// Pooling over `kernel_size` windows with stride `kernel_size` (non-overlapping).
    pub fn new(kernel_size: impl Into<Size2>) -> Self {
        let k = kernel_size.into();
        AvgPool2d {
            kernel: k,
            stride: k,
            padding: Size2(0, 0),
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
            training: Training::new(),
        }
    }

    /// Sets the step between windows.
    pub fn stride(mut self, stride: impl Into<Size2>) -> Self {
        self.stride = stride.into();
        self
    }

    /// Sets the implicit zero padding on each side (at most half the kernel).
    pub fn padding(mut self, padding: impl Into<Size2>) -> Self {
        self.padding = padding.into();
        self
    }

    /// With `true`, the output size is rounded up: a last, partial window is kept when it
    /// starts inside the input or its left padding.
    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    /// With `false`, each window's mean counts only the input elements it covers, not the
    /// padding (default `true`).
    pub fn count_include_pad(mut self, count: bool) -> Self {
        self.count_include_pad = count;
        self
    }

    /// Divides every window's sum by `divisor` instead of its size.
    pub fn divisor_override(mut self, divisor: Option<usize>) -> Self {
        self.divisor_override = divisor;
        self
    }
}

impl<T: Float> Module<T> for AvgPool2d {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let pair = |s: Size2| [s.0, s.1];
        Ok(x.try_avg_pool2d(
            pair(self.kernel),
            pair(self.stride),
            pair(self.padding),
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )?)
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }

    fn extra_repr(&self) -> String {
        format!(
            "kernel_size={}, stride={}, padding={}",
            show(self.kernel),
            show(self.stride),
            show(self.padding)
        )
    }
}

/// The output size of an adaptive pool: one number for both dims (`3`), a pair (`(2, 3)`), or
/// a pair of options where `None` keeps that dim of the input (`(None, 2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveSize {
    h: Option<usize>,
    w: Option<usize>,
    one: bool,
}

impl From<usize> for AdaptiveSize {
    fn from(n: usize) -> Self {
        AdaptiveSize {
            h: Some(n),
            w: Some(n),
            one: true,
        }
    }
}

impl From<(usize, usize)> for AdaptiveSize {
    fn from((h, w): (usize, usize)) -> Self {
        AdaptiveSize {
            h: Some(h),
            w: Some(w),
            one: false,
        }
    }
}

impl From<(Option<usize>, Option<usize>)> for AdaptiveSize {
    fn from((h, w): (Option<usize>, Option<usize>)) -> Self {
        AdaptiveSize { h, w, one: false }
    }
}

impl AdaptiveSize {
    fn repr(self) -> String {
        let one = |v: Option<usize>| v.map_or("None".to_string(), |v| v.to_string());
        if self.one {
            one(self.h)
        } else {
            format!("({}, {})", one(self.h), one(self.w))
        }
    }
}

/// Average pooling to a fixed output size whatever the input's, like
/// `torch.nn.AdaptiveAvgPool2d(output_size)`: output `(i, j)` averages input rows
/// `floor(i*H/oh)..ceil((i+1)*H/oh)` and the same for columns.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{AdaptiveAvgPool2d, Module};
/// let gap = AdaptiveAvgPool2d::new(1);
/// assert_eq!(gap.forward(&Var::<f32>::ones(&[8, 16, 7, 7])).shape(), vec![8, 16, 1, 1]);
/// let keep_h = AdaptiveAvgPool2d::new((None, Some(2)));
/// assert_eq!(keep_h.forward(&Var::<f32>::ones(&[1, 5, 7])).shape(), vec![1, 5, 2]);
/// ```
#[derive(Debug, Clone)]
pub struct AdaptiveAvgPool2d {
    size: AdaptiveSize,
    training: Training,
}

impl AdaptiveAvgPool2d {
    /// Pooling to `output_size`.
    pub fn new(output_size: impl Into<AdaptiveSize>) -> Self {
        AdaptiveAvgPool2d {
            size: output_size.into(),
            training: Training::new(),
        }
    }
}

impl<T: Float> Module<T> for AdaptiveAvgPool2d {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        Ok(x.try_adaptive_avg_pool2d([self.size.h, self.size.w])?)
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }

    fn extra_repr(&self) -> String {
        format!("output_size={}", self.size.repr())
    }
}

/// The mean of each `kernel_size` window of `x` (`[N, C, H, W]` or `[C, H, W]`), moving by
/// `stride`, with zero `padding` counted in the mean, like
/// `torch.nn.functional.avg_pool2d(x, kernel_size, stride, padding)`; [`AvgPool2d`] has the
/// other options.
///
/// # Panics
/// When [`try_avg_pool2d`] returns an error.
#[track_caller]
pub fn avg_pool2d<T: Float>(
    x: &Var<T>,
    kernel_size: impl Into<Size2>,
    stride: impl Into<Size2>,
    padding: impl Into<Size2>,
) -> Var<T> {
    crate::error::ok(try_avg_pool2d(x, kernel_size, stride, padding))
}

/// `avg_pool2d`, or an error for a bad input shape, kernel or padding.
pub fn try_avg_pool2d<T: Float>(
    x: &Var<T>,
    kernel_size: impl Into<Size2>,
    stride: impl Into<Size2>,
    padding: impl Into<Size2>,
) -> Result<Var<T>> {
    let layer = AvgPool2d::new(kernel_size).stride(stride).padding(padding);
    layer.try_forward(x)
}

/// Adaptive average pooling of `x` to `output_size`, like
/// `torch.nn.functional.adaptive_avg_pool2d(x, output_size)`.
///
/// # Panics
/// When [`try_adaptive_avg_pool2d`] returns an error.
#[track_caller]
pub fn adaptive_avg_pool2d<T: Float>(x: &Var<T>, output_size: impl Into<AdaptiveSize>) -> Var<T> {
    crate::error::ok(try_adaptive_avg_pool2d(x, output_size))
}

/// `adaptive_avg_pool2d`, or an error for a bad input shape.
pub fn try_adaptive_avg_pool2d<T: Float>(
    x: &Var<T>,
    output_size: impl Into<AdaptiveSize>,
) -> Result<Var<T>> {
    let s = output_size.into();
    Ok(x.try_adaptive_avg_pool2d([s.h, s.w])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprs_and_errors() {
        let pool = AvgPool2d::new((3, 2)).stride(2).padding((1, 0));
        assert_eq!(
            Module::<f32>::repr(&pool),
            "AvgPool2d(kernel_size=(3, 2), stride=2, padding=(1, 0))"
        );
        assert_eq!(
            Module::<f32>::repr(&AdaptiveAvgPool2d::new((None, Some(2)))),
            "AdaptiveAvgPool2d(output_size=(None, 2))"
        );
        assert_eq!(
            Module::<f32>::extra_repr(&AdaptiveAvgPool2d::new(3)),
            "output_size=3"
        );
        let x = Var::<f64>::zeros(&[1, 1, 3, 3]);
        let err = try_avg_pool2d(&x, 2, 1, 2).unwrap_err().to_string();
        assert!(err.contains("at most half"), "{err}");
        assert!(try_avg_pool2d(&x, 4, 1, 0).is_err());
        assert!(try_avg_pool2d(&Var::<f64>::zeros(&[3, 3]), 1, 1, 0).is_err());
        let zero = AvgPool2d::new(2).divisor_override(Some(0));
        assert!(Module::<f64>::try_forward(&zero, &x).is_err());
        assert!(try_adaptive_avg_pool2d(&Var::<f64>::zeros(&[1, 0, 3]), 2).is_err());
    }
}
