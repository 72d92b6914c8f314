//! `Conv2d`, built from differentiable ops so its gradients come from autograd: the windows of
//! the input are gathered with one `index_select` (im2col), then a matrix product; and
//! `MaxPool2d`, one fused op (`MaxPool2DWithIndicesBackward0`).

use std::sync::{Arc, Mutex};

use antorcha_autograd::tensor::{with_global_rng, Float, Generator};
use antorcha_autograd::{Tensor, Var};

use crate::error::{NnError, Result};
use crate::module::{Module, Training};
use crate::params::{check_weight_and_bias, default_weight_and_bias};

/// A size or step along height and width: one number for both (`3`) or a pair (`(3, 5)`),
/// like the `int or tuple` arguments of PyTorch's conv and pooling layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size2(pub usize, pub usize);

impl From<usize> for Size2 {
    fn from(n: usize) -> Self {
        Size2(n, n)
    }
}

impl From<(usize, usize)> for Size2 {
    fn from((h, w): (usize, usize)) -> Self {
        Size2(h, w)
    }
}

impl Size2 {
    fn repr(self) -> String {
        format!("({}, {})", self.0, self.1)
    }
}

/// The geometry of a sliding window over `[.., H, W]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    h: usize,
    w: usize,
    kernel: Size2,
    stride: Size2,
    padding: Size2,
    out_h: usize,
    out_w: usize,
}

impl Window {
    fn new(
        op: &'static str,
        shape: &[usize],
        kernel: Size2,
        stride: Size2,
        padding: Size2,
    ) -> Result<Self> {
        let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        if kernel.0 == 0 || kernel.1 == 0 || stride.0 == 0 || stride.1 == 0 {
            return Err(NnError::invalid(
                op,
                format!(
                    "kernel_size {} and stride {} must be positive",
                    kernel.repr(),
                    stride.repr()
                ),
            ));
        }
        // Checked: a padding or kernel near `usize::MAX` is an error, as in PyTorch ("expected
        // padding to be at most ..."), never a wrapped, wrong shape.
        let padded = |n: usize, p: usize| p.checked_mul(2).and_then(|p2| p2.checked_add(n));
        let (Some(ph), Some(pw)) = (padded(h, padding.0), padded(w, padding.1)) else {
            return Err(NnError::invalid(
                op,
                format!(
                    "padding {} on an input of {h} x {w} overflows the padded size",
                    padding.repr()
                ),
            ));
        };
        if ph < kernel.0 || pw < kernel.1 {
            return Err(NnError::InputShape {
                module: op,
                shape: shape.to_vec(),
                message: format!(
                    "the padded input ({ph} x {pw}) is smaller than the kernel {}",
                    kernel.repr()
                ),
            });
        }
        let win = Window {
            h,
            w,
            kernel,
            stride,
            padding,
            out_h: (ph - kernel.0) / stride.0 + 1,
            out_w: (pw - kernel.1) / stride.1 + 1,
        };
        win.index_count(op, 1)?;
        Ok(win)
    }

    /// How many indices the windows of `channels` planes take (`channels * taps * positions`),
    /// or an error naming `op` when that overflows what can be addressed.
    fn index_count(&self, op: &'static str, channels: usize) -> Result<usize> {
        [self.out_h, self.out_w, self.kernel.0, self.kernel.1]
            .iter()
            .try_fold(channels, |acc, &n| acc.checked_mul(n))
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(|| {
                NnError::invalid(
                    op,
                    format!(
                        "an output of {} x {} positions with a {} kernel over {channels} \
                         channels is too large (kernel_size {}, stride {}, padding {})",
                        self.out_h,
                        self.out_w,
                        self.kernel.repr(),
                        self.kernel.repr(),
                        self.stride.repr(),
                        self.padding.repr()
                    ),
                )
            })
    }

    /// An empty vector with room for `n` indices, or an error naming `op`.
    fn index_vec(op: &'static str, n: usize) -> Result<Vec<usize>> {
        let mut v = Vec::new();
        v.try_reserve_exact(n)
            .map_err(|_| NnError::invalid(op, format!("cannot allocate {n} window indices")))?;
        Ok(v)
    }

    fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    fn taps(&self) -> usize {
        self.kernel.0 * self.kernel.1
    }

    /// Calls `f(ki, kj, oh, ow, flat)` where `flat` is the index of input element
    /// `(oh*sh + ki - ph, ow*sw + kj - pw)` in a row-major `H x W` plane, or `None` in the
    /// padding.
    #[inline]
    fn source(&self, ki: usize, kj: usize, oh: usize, ow: usize) -> Option<usize> {
        let r = (oh * self.stride.0 + ki).checked_sub(self.padding.0)?;
        let c = (ow * self.stride.1 + kj).checked_sub(self.padding.1)?;
        (r < self.h && c < self.w).then_some(r * self.w + c)
    }

    /// im2col indices for `channels` planes: row `(c, ki, kj)`, column `(oh, ow)` picks
    /// element `c*H*W + …` of a flattened sample, or `channels*H*W` (a zero appended) in the
    /// padding.
    fn conv_indices(&self, channels: usize) -> Result<Vec<usize>> {
        let plane = self.h * self.w;
        let pad = channels * plane;
        let mut idx = Self::index_vec("conv2d", self.index_count("conv2d", channels)?)?;
        for c in 0..channels {
            for ki in 0..self.kernel.0 {
                for kj in 0..self.kernel.1 {
                    for oh in 0..self.out_h {
                        for ow in 0..self.out_w {
                            idx.push(self.source(ki, kj, oh, ow).map_or(pad, |s| c * plane + s));
                        }
                    }
                }
            }
        }
        Ok(idx)
    }

    fn padded(&self) -> bool {
        self.padding.0 > 0 || self.padding.1 > 0
    }
}

/// Indices cached by input shape, so a layer applied to batches of one shape computes them
/// once.
#[derive(Debug, Default)]
struct IndexCache(Mutex<Option<CachedIndices>>);

/// The input shape the indices were made for, and the indices.
type CachedIndices = (Vec<usize>, Arc<Vec<usize>>);

impl IndexCache {
    fn get(
        &self,
        shape: &[usize],
        make: impl FnOnce() -> Result<Vec<usize>>,
    ) -> Result<Arc<Vec<usize>>> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, idx)) = slot.as_ref() {
            if s == shape {
                return Ok(idx.clone());
            }
        }
        let idx = Arc::new(make()?);
        *slot = Some((shape.to_vec(), idx.clone()));
        Ok(idx)
    }
}

/// Takes `[N, C, H, W]` or an unbatched `[C, H, W]`; returns the batched var and whether a
/// batch dim was added.
fn to_batched<T: Float>(op: &'static str, x: &Var<T>) -> Result<(Var<T>, bool)> {
    match x.ndim() {
        4 => Ok((x.clone(), false)),
        3 => Ok((x.try_unsqueeze(0)?, true)),
        _ => Err(NnError::InputShape {
            module: op,
            shape: x.shape(),
            message: "expected a 4-D [N, C, H, W] or 3-D [C, H, W] input".into(),
        }),
    }
}

/// The inverse of [`to_batched`] for an op's result: `out` laid out as `[n, c, out_h, out_w]`,
/// without the batch dim again when the input had none.
fn from_batched<T: Float>(
    out: Var<T>,
    n: usize,
    c: usize,
    win: &Window,
    unbatched: bool,
) -> Result<Var<T>> {
    let out = out.try_reshape(&[
        n as isize,
        c as isize,
        win.out_h as isize,
        win.out_w as isize,
    ])?;
    Ok(if unbatched {
        out.try_squeeze_dim(0)?
    } else {
        out
    })
}

fn conv2d_with<T: Float>(
    x: &Var<T>,
    weight: &Var<T>,
    bias: Option<&Var<T>>,
    stride: Size2,
    padding: Size2,
    cache: Option<&IndexCache>,
) -> Result<Var<T>> {
    let (x, unbatched) = to_batched("conv2d", x)?;
    let shape = x.shape();
    let ws = weight.shape();
    if ws.len() != 4 || ws[1] != shape[1] {
        return Err(NnError::InputShape {
            module: "conv2d",
            shape,
            message: format!(
                "weight of shape {ws:?} needs an input with {} channels",
                ws.get(1).copied().unwrap_or(0)
            ),
        });
    }
    if let Some(b) = bias {
        if b.shape() != [ws[0]] {
            return Err(NnError::invalid(
                "conv2d",
                format!("bias must have shape [{}], got {:?}", ws[0], b.shape()),
            ));
        }
    }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
    let (o, kernel) = (ws[0], Size2(ws[2], ws[3]));
    let win = Window::new("conv2d", &shape, kernel, stride, padding)?;
    let make = || win.conv_indices(c);
    let idx = match cache {
        Some(cache) => cache.get(&shape, make)?,
        None => Arc::new(make()?),
    };
    let ckk = c * win.taps();
    let l = win.positions();
    let mut flat = x.try_reshape(&[n as isize, (c * h * w) as isize])?;
    if win.padded() {
        flat = Var::try_cat(&[&flat, &Var::zeros(&[n, 1])], 1)?;
    }
    let cols =
        flat.try_index_select(1, &idx[..])?
            .try_reshape(&[n as isize, ckk as isize, l as isize])?;
    let mut out = weight
        .try_reshape(&[o as isize, ckk as isize])?
        .try_matmul(&cols)?;
    if let Some(b) = bias {
        out = out.try_add(&b.try_reshape(&[o as isize, 1])?)?;
    }
    from_batched(out, n, o, &win, unbatched)
}

/// A 2-D convolution (cross-correlation, as in PyTorch) of `x` (`[N, C, H, W]` or
/// `[C, H, W]`) with `weight` (`[O, C, kh, kw]`) plus an optional `bias` (`[O]`), like
/// `torch.nn.functional.conv2d(x, weight, bias, stride, padding)`; zero padding.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::functional::conv2d;
/// let x = Var::<f64>::ones(&[1, 1, 3, 3]);
/// let w = Var::<f64>::ones(&[1, 1, 2, 2]);
/// let y = conv2d(&x, &w, None, 1, 1);
/// assert_eq!(y.shape(), vec![1, 1, 4, 4]);
/// assert_eq!(y.to_vec()[..4], [1.0, 2.0, 2.0, 1.0]);
/// ```
///
/// # Panics
/// When [`try_conv2d`] returns an error (shapes that do not fit).
#[track_caller]
pub fn conv2d<T: Float>(
    x: &Var<T>,
    weight: &Var<T>,
    bias: Option<&Var<T>>,
    stride: impl Into<Size2>,
    padding: impl Into<Size2>,
) -> Var<T> {
    crate::error::ok(try_conv2d(x, weight, bias, stride, padding))
}

/// `conv2d`, or an error naming the shapes that do not fit.
pub fn try_conv2d<T: Float>(
    x: &Var<T>,
    weight: &Var<T>,
    bias: Option<&Var<T>>,
    stride: impl Into<Size2>,
    padding: impl Into<Size2>,
) -> Result<Var<T>> {
    conv2d_with(x, weight, bias, stride.into(), padding.into(), None)
}

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

/// A 2-D convolution layer, like `torch.nn.Conv2d(in_channels, out_channels, kernel_size,
/// stride=1, padding=0, bias=True)`: weight `[out, in, kh, kw]` and bias `[out]`, both
/// uniform in `±1/sqrt(in*kh*kw)` (PyTorch's default init).
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Conv2d, Module};
/// let conv = Conv2d::<f32>::new(1, 8, 3).padding(1);
/// assert_eq!(conv.forward(&Var::zeros(&[2, 1, 28, 28])).shape(), vec![2, 8, 28, 28]);
/// let strided = Conv2d::<f32>::new(1, 4, (3, 5)).stride(2);
/// assert_eq!(strided.forward(&Var::zeros(&[2, 1, 28, 28])).shape(), vec![2, 4, 13, 12]);
/// ```
#[derive(Debug)]
pub struct Conv2d<T: Float = f32> {
    weight: Var<T>,
    bias: Option<Var<T>>,
    stride: Size2,
    padding: Size2,
    training: Training,
    cache: IndexCache,
}

impl<T: Float> Conv2d<T> {
    /// A layer with a bias, stride 1 and no padding, initialised from the global generator.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: impl Into<Size2>) -> Self {
        with_global_rng(|g| Self::with_generator(in_channels, out_channels, kernel_size, true, g))
    }

    /// A layer with or without a bias, initialised from `g` as PyTorch's `reset_parameters`
    /// does (PyTorch's values bit for bit for the same generator state).
    pub fn with_generator(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Size2>,
        bias: bool,
        g: &mut Generator,
    ) -> Self {
        let k = kernel_size.into();
        let shape = [out_channels, in_channels, k.0, k.1];
        let (weight, bias) = default_weight_and_bias(&shape, bias, g);
        Self::from_parts(weight, bias).expect("shapes made to fit")
    }

    /// A layer with the given weight `[out, in, kh, kw]` and optional bias `[out]`.
    pub fn from_parts(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Result<Self> {
        check_weight_and_bias("Conv2d", &["out", "in", "kh", "kw"], &weight, bias.as_ref())?;
        Ok(Conv2d {
            weight: Var::new(weight).requires_grad(),
            bias: bias.map(|b| Var::new(b).requires_grad()),
            stride: Size2(1, 1),
            padding: Size2(0, 0),
            training: Training::new(),
            cache: IndexCache::default(),
        })
    }

    /// Sets the step between windows (default 1).
    pub fn stride(mut self, stride: impl Into<Size2>) -> Self {
        self.stride = stride.into();
        self
    }

    /// Sets the zero padding added on each side (default 0).
    pub fn padding(mut self, padding: impl Into<Size2>) -> Self {
        self.padding = padding.into();
        self
    }

    /// The weight, `[out_channels, in_channels, kh, kw]`.
    pub fn weight(&self) -> &Var<T> {
        &self.weight
    }

    /// The bias, `[out_channels]`, if the layer has one.
    pub fn bias(&self) -> Option<&Var<T>> {
        self.bias.as_ref()
    }
}

impl<T: Float> Module<T> for Conv2d<T> {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        conv2d_with(
            x,
            &self.weight,
            self.bias.as_ref(),
            self.stride,
            self.padding,
            Some(&self.cache),
        )
    }

    fn visit_parameters(&self, f: &mut dyn FnMut(&str, &Var<T>)) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }

    fn extra_repr(&self) -> String {
        let s = self.weight.shape();
        let mut r = format!(
            "{}, {}, kernel_size={}, stride={}",
            s[1],
            s[0],
            Size2(s[2], s[3]).repr(),
            self.stride.repr()
        );
        if self.padding != Size2(0, 0) {
            r.push_str(&format!(", padding={}", self.padding.repr()));
        }
        if self.bias.is_none() {
            r.push_str(", bias=False");
        }
        r
    }
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
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Direct loops: the definition of PyTorch's conv2d.
    #[allow(clippy::too_many_arguments)]
    fn naive_conv(
        x: &[f64],
        (n, c, h, w): (usize, usize, usize, usize),
        wt: &[f64],
        (o, kh, kw): (usize, usize, usize),
        b: &[f64],
        (sh, sw): (usize, usize),
        (ph, pw): (usize, usize),
    ) -> Vec<f64> {
        let oh = (h + 2 * ph - kh) / sh + 1;
        let ow = (w + 2 * pw - kw) / sw + 1;
        let mut out = vec![0.0; n * o * oh * ow];
        for ni in 0..n {
            for oi in 0..o {
                for y in 0..oh {
                    for z in 0..ow {
                        let mut acc = b[oi];
                        for ci in 0..c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let r = (y * sh + i) as isize - ph as isize;
                                    let s = (z * sw + j) as isize - pw as isize;
                                    if r >= 0 && s >= 0 && (r as usize) < h && (s as usize) < w {
                                        acc += x[((ni * c + ci) * h + r as usize) * w + s as usize]
                                            * wt[((oi * c + ci) * kh + i) * kw + j];
                                    }
                                }
                            }
                        }
                        out[((ni * o + oi) * oh + y) * ow + z] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn conv_of_ones_counts_the_overlap() {
        let x = Var::<f64>::ones(&[1, 1, 3, 3]);
        let w = Var::<f64>::ones(&[1, 1, 2, 2]);
        let y = conv2d(&x, &w, None, 1, 1);
        assert_eq!(
            y.to_vec(),
            vec![1., 2., 2., 1., 2., 4., 4., 2., 2., 4., 4., 2., 1., 2., 2., 1.]
        );
        let b = Var::from_vec(vec![10.0], &[1]);
        assert_eq!(conv2d(&x, &w, Some(&b), 2, 0).to_vec(), vec![14.0]);
    }

    #[test]
    fn conv_matches_direct_loops() {
        let mut rng = StdRng::seed_from_u64(3);
        for &(n, c, h, w, o, kh, kw, s, p) in &[
            (2, 3, 5, 6, 4, 3, 2, (1, 1), (0, 0)),
            (1, 2, 7, 5, 3, 3, 3, (2, 1), (1, 2)),
            (3, 1, 4, 4, 2, 4, 4, (3, 3), (1, 1)),
            (1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0)),
        ] {
            let x = Tensor::<f64>::randn_with(&[n, c, h, w], &mut rng);
            let wt = Tensor::<f64>::randn_with(&[o, c, kh, kw], &mut rng);
            let b = Tensor::<f64>::randn_with(&[o], &mut rng);
            let conv = Conv2d::from_parts(wt.clone(), Some(b.clone()))
                .unwrap()
                .stride(s)
                .padding(p);
            let y = conv.forward(&Var::new(x.clone()));
            let expected = naive_conv(
                &x.to_vec(),
                (n, c, h, w),
                &wt.to_vec(),
                (o, kh, kw),
                &b.to_vec(),
                s,
                p,
            );
            assert_eq!(y.shape()[..2], [n, o]);
            for (a, e) in y.to_vec().iter().zip(&expected) {
                assert!((a - e).abs() < 1e-12, "{a} vs {e}");
            }
            // The cached indices serve a second call.
            assert_eq!(conv.forward(&Var::new(x)).to_vec(), y.to_vec());
        }
    }

    #[test]
    fn unbatched_input_and_layer_bookkeeping() {
        let conv = Conv2d::<f32>::new(2, 3, 3).padding(1);
        assert_eq!(conv.forward(&Var::zeros(&[2, 4, 4])).shape(), vec![3, 4, 4]);
        let names: Vec<String> = conv
            .named_parameters()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["weight", "bias"]);
        assert_eq!(
            conv.extra_repr(),
            "2, 3, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)"
        );
        let bound = 1.0 / (18f32).sqrt();
        assert!(conv.weight().to_vec().iter().all(|v| v.abs() < bound));
        let nb = Conv2d::<f32>::with_generator(1, 1, (1, 2), false, &mut Generator::new(0));
        assert!(nb.bias().is_none());
        assert!(nb.extra_repr().ends_with("bias=False"));
    }

    #[test]
    fn conv_errors_name_the_problem() {
        let conv = Conv2d::<f32>::new(3, 2, 3);
        let err = conv
            .try_forward(&Var::zeros(&[1, 2, 5, 5]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 channels"), "{err}");
        let err = conv
            .try_forward(&Var::zeros(&[1, 3, 2, 5]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("smaller than the kernel"), "{err}");
        assert!(conv.try_forward(&Var::zeros(&[3, 5])).is_err());
        let zero_stride = Conv2d::<f32>::new(1, 1, 1).stride(0);
        assert!(zero_stride.try_forward(&Var::zeros(&[1, 1, 2, 2])).is_err());
        assert!(Conv2d::<f32>::from_parts(Tensor::zeros(&[2, 2, 2]), None).is_err());
        assert!(
            Conv2d::<f32>::from_parts(Tensor::zeros(&[2, 1, 2, 2]), Some(Tensor::zeros(&[3])))
                .is_err()
        );
        let x = Var::<f32>::zeros(&[1, 1, 3, 3]);
        let w = Var::<f32>::zeros(&[1, 1, 2, 2]);
        assert!(try_conv2d(&x, &w, Some(&Var::zeros(&[2])), 1, 0).is_err());
    }

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
