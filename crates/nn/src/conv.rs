//! `Conv2d` and `conv2d`, like PyTorch's: stride, padding (numbers, `"same"` or `"valid"`),
//! dilation, groups and bias, as one fused op (`ConvolutionBackward0`) whose kernels live in
//! the tensor crate (im2col into GEMM, both cores, reused scratch buffers).

use std::fmt;

use antorcha_autograd::tensor::{with_global_rng, Conv2dOptions, Float, Generator};
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
    pub(crate) fn repr(self) -> String {
        format!("({}, {})", self.0, self.1)
    }

    fn pair(self) -> [usize; 2] {
        [self.0, self.1]
    }
}

/// A convolution's padding, as PyTorch's `padding` argument takes it: zeros on each side
/// (`1`, `(1, 2)`), `"valid"` (none) or `"same"` (the output as large as the input; only with
/// stride 1; an even kernel gets the extra zero at the bottom and right, as PyTorch pads).
///
/// ```
/// use antorcha_nn::Padding;
/// assert_eq!(Padding::from("same"), Padding::Same);
/// assert_eq!(Padding::from((1, 2)), Padding::Size(antorcha_nn::Size2(1, 2)));
/// assert_eq!(Padding::from("full"), Padding::Unknown("full".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Padding {
    /// Zeros added on both sides of height and width.
    Size(Size2),
    /// `"same"`: the output has the input's height and width.
    Same,
    /// `"valid"`: no padding.
    Valid,
    /// A string PyTorch rejects; using it is an error naming the valid ones.
    Unknown(String),
}

impl From<usize> for Padding {
    fn from(n: usize) -> Self {
        Padding::Size(Size2(n, n))
    }
}

impl From<(usize, usize)> for Padding {
    fn from(p: (usize, usize)) -> Self {
        Padding::Size(p.into())
    }
}

impl From<Size2> for Padding {
    fn from(p: Size2) -> Self {
        Padding::Size(p)
    }
}

impl From<&str> for Padding {
    fn from(s: &str) -> Self {
        match s {
            "same" => Padding::Same,
            "valid" => Padding::Valid,
            other => Padding::Unknown(other.to_string()),
        }
    }
}

impl fmt::Display for Padding {
    /// As PyTorch's repr shows it: `(1, 1)`, `same`, `valid`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Padding::Size(s) => f.write_str(&s.repr()),
            Padding::Same => f.write_str("same"),
            Padding::Valid => f.write_str("valid"),
            Padding::Unknown(s) => write!(f, "{s:?}"),
        }
    }
}

impl Padding {
    /// PyTorch's checks of a padding string and of `"same"` with a stride.
    fn check(&self, op: &'static str, stride: Size2) -> Result<()> {
        match self {
            Padding::Unknown(s) => Err(NnError::invalid(
                op,
                format!("Invalid padding string '{s}', should be one of {{'same', 'valid'}}"),
            )),
            Padding::Same if stride != Size2(1, 1) => Err(NnError::invalid(
                op,
                "padding='same' is not supported for strided convolutions",
            )),
            _ => Ok(()),
        }
    }
}

/// The tensor kernel's options for a kernel of `kernel` taps, and the zeros to add after the
/// input's last rows and columns first: `"same"` splits `dilation·(k - 1)` zeros as PyTorch
/// does (the smaller half first) and, where the halves differ, convolves with the smaller on
/// both sides after padding the input by the difference (`ConstantPadNdBackward0`, as PyTorch
/// records it).
fn resolve(
    op: &'static str,
    kernel: Size2,
    stride: Size2,
    padding: &Padding,
    dilation: Size2,
    groups: usize,
) -> Result<(Conv2dOptions, Option<[isize; 4]>)> {
    padding.check(op, stride)?;
    let o = Conv2dOptions::new()
        .stride(stride.pair())
        .dilation(dilation.pair())
        .groups(groups);
    Ok(match padding {
        Padding::Size(p) => (o.padding(p.pair()), None),
        Padding::Valid | Padding::Unknown(_) => (o, None),
        Padding::Same => {
            let total = |k: usize, d: usize| {
                k.saturating_sub(1)
                    .checked_mul(d)
                    .filter(|&t| t <= isize::MAX as usize)
                    .ok_or_else(|| {
                        NnError::invalid(
                            op,
                            format!("dilation {d} times kernel size {k} overflows"),
                        )
                    })
            };
            let (th, tw) = (total(kernel.0, dilation.0)?, total(kernel.1, dilation.1)?);
            let extra = [0, (tw % 2) as isize, 0, (th % 2) as isize];
            (
                o.padding([th / 2, tw / 2]),
                (th % 2 + tw % 2 > 0).then_some(extra),
            )
        }
    })
}

/// The convolution of `x` by `weight`, with the weight's kernel size.
fn conv_forward<T: Float>(
    op: &'static str,
    x: &Var<T>,
    weight: &Var<T>,
    bias: Option<&Var<T>>,
    (stride, padding, dilation, groups): (Size2, &Padding, Size2, usize),
) -> Result<Var<T>> {
    let ws = weight.shape();
    let kernel = match ws[..] {
        [_, _, kh, kw] => Size2(kh, kw),
        _ => {
            return Err(NnError::invalid(
                op,
                format!("expected a 4-D weight [out_channels, in_channels/groups, kH, kW], got shape {ws:?}"),
            ))
        }
    };
    let (options, extra) = resolve(op, kernel, stride, padding, dilation, groups)?;
    // (An input of another rank gets the convolution's own error, about its shape as given.)
    let Some(pad) = extra.filter(|_| matches!(x.ndim(), 3 | 4)) else {
        return Ok(x.try_conv2d(weight, bias, &options)?);
    };
    // PyTorch batches an unbatched input before it pads it.
    let unbatched = x.ndim() == 3;
    let x = if unbatched {
        x.try_unsqueeze(0)?
    } else {
        x.clone()
    };
    let y = x
        .try_constant_pad_nd(&pad, T::zero())?
        .try_conv2d(weight, bias, &options)?;
    Ok(if unbatched { y.try_squeeze_dim(0)? } else { y })
}

/// A 2-D convolution (cross-correlation, as in PyTorch) of `x` (`[N, C, H, W]` or
/// `[C, H, W]`) with `weight` (`[O, C, kh, kw]`) plus an optional `bias` (`[O]`), like
/// `torch.nn.functional.conv2d(x, weight, bias, stride, padding)`; zero padding.
/// [`conv2d_with`] takes every option (dilation, groups, `"same"`/`"valid"`).
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
    let padding = Padding::Size(padding.into());
    conv_forward(
        "conv2d",
        x,
        weight,
        bias,
        (stride.into(), &padding, Size2(1, 1), 1),
    )
}

/// `torch.nn.functional.conv2d(x, weight, bias, stride, padding, dilation, groups)` with every
/// option: `padding` is a number, a pair, `"same"` or `"valid"`; `weight` is
/// `[O, C/groups, kh, kw]`. Records one `ConvolutionBackward0`.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::functional::conv2d_with;
/// let x = Var::<f64>::ones(&[1, 4, 5, 5]);
/// let w = Var::<f64>::ones(&[2, 2, 2, 2]); // 2 groups of 2 channels
/// let y = conv2d_with(&x, &w, None, 1, "same", 2, 2).unwrap();
/// assert_eq!(y.shape(), vec![1, 2, 5, 5]);
/// assert_eq!(y.grad_fn_name(), None); // nothing required grad
/// ```
pub fn conv2d_with<T: Float>(
    x: &Var<T>,
    weight: &Var<T>,
    bias: Option<&Var<T>>,
    stride: impl Into<Size2>,
    padding: impl Into<Padding>,
    dilation: impl Into<Size2>,
    groups: usize,
) -> Result<Var<T>> {
    conv_forward(
        "conv2d",
        x,
        weight,
        bias,
        (stride.into(), &padding.into(), dilation.into(), groups),
    )
}

/// The options of a [`Conv2d`] beyond its channels, as `torch.nn.Conv2d`'s keyword arguments:
/// `Conv2dConfig::new(3).stride(2).padding("same").dilation(1).groups(1).bias(true)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2dConfig {
    kernel_size: Size2,
    stride: Size2,
    padding: Padding,
    dilation: Size2,
    groups: usize,
    bias: bool,
}

impl Conv2dConfig {
    /// `kernel_size`, stride 1, padding 0, dilation 1, one group, with a bias.
    pub fn new(kernel_size: impl Into<Size2>) -> Self {
        Conv2dConfig {
            kernel_size: kernel_size.into(),
            stride: Size2(1, 1),
            padding: Padding::Size(Size2(0, 0)),
            dilation: Size2(1, 1),
            groups: 1,
            bias: true,
        }
    }

    /// Sets the stride.
    pub fn stride(mut self, stride: impl Into<Size2>) -> Self {
        self.stride = stride.into();
        self
    }

    /// Sets the padding: a number, a pair, `"same"` or `"valid"`.
    pub fn padding(mut self, padding: impl Into<Padding>) -> Self {
        self.padding = padding.into();
        self
    }

    /// Sets the dilation.
    pub fn dilation(mut self, dilation: impl Into<Size2>) -> Self {
        self.dilation = dilation.into();
        self
    }

    /// Sets the number of groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// With or without a bias.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
}

/// A 2-D convolution layer, like `torch.nn.Conv2d(in_channels, out_channels, kernel_size,
/// stride=1, padding=0, dilation=1, groups=1, bias=True)`: weight
/// `[out, in/groups, kh, kw]` and bias `[out]`, both uniform in `±1/sqrt(in/groups·kh·kw)`
/// (PyTorch's default init). [`Conv2d::try_with_config`] takes every option at construction;
/// `stride`, `padding` and `dilation` can also be set afterwards.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Conv2d, Conv2dConfig, Module};
/// let conv = Conv2d::<f32>::new(1, 8, 3).padding(1);
/// assert_eq!(conv.forward(&Var::zeros(&[2, 1, 28, 28])).shape(), vec![2, 8, 28, 28]);
/// let strided = Conv2d::<f32>::new(1, 4, (3, 5)).stride(2);
/// assert_eq!(strided.forward(&Var::zeros(&[2, 1, 28, 28])).shape(), vec![2, 4, 13, 12]);
/// let grouped = Conv2d::<f32>::try_with_config(4, 6, Conv2dConfig::new(4).padding("same").groups(2)).unwrap();
/// assert_eq!(grouped.weight().shape(), vec![6, 2, 4, 4]);
/// assert_eq!(grouped.forward(&Var::zeros(&[1, 4, 9, 9])).shape(), vec![1, 6, 9, 9]);
/// assert_eq!(grouped.repr(), "Conv2d(4, 6, kernel_size=(4, 4), stride=(1, 1), padding=same, groups=2)");
/// ```
#[derive(Debug)]
pub struct Conv2d<T: Float = f32> {
    weight: Var<T>,
    bias: Option<Var<T>>,
    /// Stride, padding, dilation and groups (its kernel size and bias flag are the weights').
    options: Conv2dConfig,
    training: Training,
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
        let config = Conv2dConfig::new(kernel_size).bias(bias);
        Self::try_with_config_generator(in_channels, out_channels, config, g)
            .expect("one group fits any channels")
    }

    /// A layer with every option of `torch.nn.Conv2d`, initialised from the global generator;
    /// an error as PyTorch raises it for channels not divisible by `groups`, zero groups, an
    /// unknown padding string or `"same"` with a stride.
    pub fn try_with_config(
        in_channels: usize,
        out_channels: usize,
        config: Conv2dConfig,
    ) -> Result<Self> {
        with_global_rng(|g| Self::try_with_config_generator(in_channels, out_channels, config, g))
    }

    /// [`Conv2d::try_with_config`] drawing from `g`.
    pub fn try_with_config_generator(
        in_channels: usize,
        out_channels: usize,
        config: Conv2dConfig,
        g: &mut Generator,
    ) -> Result<Self> {
        const OP: &str = "Conv2d";
        let groups = config.groups;
        if groups == 0 {
            return Err(NnError::invalid(OP, "groups must be a positive integer"));
        }
        if !in_channels.is_multiple_of(groups) {
            return Err(NnError::invalid(
                OP,
                "in_channels must be divisible by groups",
            ));
        }
        if !out_channels.is_multiple_of(groups) {
            return Err(NnError::invalid(
                OP,
                "out_channels must be divisible by groups",
            ));
        }
        config.padding.check(OP, config.stride)?;
        let k = config.kernel_size;
        let shape = [out_channels, in_channels / groups, k.0, k.1];
        let (weight, bias) = default_weight_and_bias(&shape, config.bias, g);
        let mut layer = Self::from_parts(weight, bias)?;
        layer.options = config;
        Ok(layer)
    }

    /// A layer with the given weight `[out, in/groups, kh, kw]` and optional bias `[out]`
    /// (one group; [`Conv2d::groups`] sets more).
    pub fn from_parts(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Result<Self> {
        check_weight_and_bias("Conv2d", &["out", "in", "kh", "kw"], &weight, bias.as_ref())?;
        let s = weight.shape();
        let options = Conv2dConfig::new((s[2], s[3])).bias(bias.is_some());
        Ok(Conv2d {
            weight: Var::new(weight).requires_grad(),
            bias: bias.map(|b| Var::new(b).requires_grad()),
            options,
            training: Training::new(),
        })
    }

    /// Sets the step between windows (default 1).
    pub fn stride(mut self, stride: impl Into<Size2>) -> Self {
        self.options = self.options.stride(stride);
        self
    }

    /// Sets the padding (default 0): a number or pair of zeros added on each side, `"same"` or
    /// `"valid"`.
    pub fn padding(mut self, padding: impl Into<Padding>) -> Self {
        self.options = self.options.padding(padding);
        self
    }

    /// Sets the step between the kernel's taps (default 1).
    pub fn dilation(mut self, dilation: impl Into<Size2>) -> Self {
        self.options = self.options.dilation(dilation);
        self
    }

    /// Sets the number of groups of a layer made by [`Conv2d::from_parts`], whose weight is
    /// then `[out, in/groups, kh, kw]` (the weight is kept: the input must have
    /// `groups · weight.shape()[1]` channels).
    pub fn groups(mut self, groups: usize) -> Self {
        self.options = self.options.groups(groups);
        self
    }

    /// The weight, `[out_channels, in_channels/groups, kh, kw]`.
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
        let o = &self.options;
        conv_forward(
            "Conv2d",
            x,
            &self.weight,
            self.bias.as_ref(),
            (o.stride, &o.padding, o.dilation, o.groups),
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

    /// PyTorch's `Conv2d.extra_repr`: padding, dilation and groups only when not the default.
    fn extra_repr(&self) -> String {
        let s = self.weight.shape();
        let mut r = format!(
            "{}, {}, kernel_size={}, stride={}",
            s[1].saturating_mul(self.options.groups),
            s[0],
            Size2(s[2], s[3]).repr(),
            self.options.stride.repr()
        );
        if self.options.padding != Padding::Size(Size2(0, 0)) {
            r.push_str(&format!(", padding={}", self.options.padding));
        }
        if self.options.dilation != Size2(1, 1) {
            r.push_str(&format!(", dilation={}", self.options.dilation.repr()));
        }
        if self.options.groups != 1 {
            r.push_str(&format!(", groups={}", self.options.groups));
        }
        if self.bias.is_none() {
            r.push_str(", bias=False");
        }
        r
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
            // A second call gives the same values (scratch buffers reused).
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
        assert!(
            err.contains("Kernel size can't be greater than actual input size"),
            "{err}"
        );
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
        // "same" with an even kernel pads first, but a wrong rank is reported as given.
        for shape in [&[5, 5][..], &[5]] {
            let err = conv2d_with(&Var::<f32>::zeros(shape), &w, None, 1, "same", 1, 1)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("got input of size: {shape:?}")),
                "{err}"
            );
        }
    }
}
