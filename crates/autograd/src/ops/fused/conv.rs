//! 2-D convolution (`ConvolutionBackward0`): one node whose backward runs the tensor crate's
//! fused gradient kernels (input, weight, bias in one call).
//!
//! The convolution is bilinear in its input and weight, and so are its two gradients, so a
//! `create_graph` backward records them as nodes of their own (`ConvolutionBackwardBackward0`)
//! whose gradients are again convolutions or convolution gradients: with `conv(x, w)`,
//! `gi(g, w)` (the input's gradient) and `gw(x, g)` (the weight's),
//! `<gg, gi(g, w)> = <conv(gg, w), g>` and `<gg, gw(x, g)> = <conv(x, gg), g>` give every
//! derivative of every order.

use antorcha_tensor::{Conv2dOptions, Float, Tensor};
use smallvec::smallvec;

use crate::error::{AutogradError, Result};
use crate::grad_mode::is_grad_enabled;
use crate::node::{Attr, Attrs, Saved};
use crate::rule::Grads;
use crate::var::{needs_graph, Var};

const DOUBLE: &str = "ConvolutionBackwardBackward0";

/// PyTorch's attributes of a `ConvolutionBackward0` node (as torchviz lists them).
fn conv_attrs(o: &Conv2dOptions, bias: Option<usize>) -> Attrs {
    let ints = |v: [usize; 2]| Attr::Ints(v.iter().map(|&d| d as i64).collect());
    smallvec![
        (
            "bias_sym_sizes_opt",
            Attr::Ints(vec![bias.unwrap_or(0) as i64])
        ),
        ("dilation", ints(o.dilation)),
        ("groups", Attr::Int(o.groups as i64)),
        ("output_padding", Attr::Ints(vec![0, 0])),
        ("padding", ints(o.padding)),
        ("stride", ints(o.stride)),
        ("transposed", Attr::Bool(false)),
    ]
}

/// The convolution of a 4-D `x` with `w` (and `bias`), recorded as `ConvolutionBackward0`.
#[track_caller]
fn conv<T: Float>(
    x: &Var<T>,
    w: &Var<T>,
    bias: Option<&Var<T>>,
    o: Conv2dOptions,
) -> Result<Var<T>> {
    let b = bias.map(|b| b.data());
    let value = x.data().try_conv2d(&w.data(), b.as_ref(), &o)?;
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    if !needs_graph(&inputs) {
        return Ok(Var::new(value));
    }
    let (x_shape, w_shape) = (x.shape(), w.shape());
    let has_bias = bias.is_some();
    Ok(Var::from_op(
        value,
        "ConvolutionBackward0",
        &inputs,
        smallvec![
            ("input", Some(Saved::var(x))),
            ("weight", Some(Saved::var(w)))
        ],
        conv_attrs(&o, bias.map(|_| w_shape[0])),
        Box::new(move |g, saved, needs| {
            let x = saved[0].as_ref().expect("saved input");
            let w = saved[1].as_ref().expect("saved weight");
            let need_b = has_bias && needs[2];
            let mut out = Grads::new();
            if !is_grad_enabled() {
                // Nothing is recorded: one call for the three gradients.
                let (gx, gw, gb) = Tensor::conv2d_backward(
                    &g.data(),
                    &x.data(),
                    &w.data(),
                    &o,
                    [needs[0], needs[1], need_b],
                )?;
                out.push(gx.map(Var::new));
                out.push(gw.map(Var::new));
                if has_bias {
                    out.push(gb.map(Var::new));
                }
                return Ok(out);
            }
            out.push(if needs[0] {
                Some(grad_input(g, w, &x_shape, o)?)
            } else {
                None
            });
            out.push(if needs[1] {
                Some(grad_weight(x, g, &w_shape, o)?)
            } else {
                None
            });
            if has_bias {
                out.push(if need_b {
                    Some(
                        g.try_sum_dim(3, false)?
                            .try_sum_dim(2, false)?
                            .try_sum_dim(0, false)?,
                    )
                } else {
                    None
                });
            }
            Ok(out)
        }),
    ))
}

/// The input's gradient `gi(g, w)`, recorded when `g` or `w` needs a graph.
#[track_caller]
fn grad_input<T: Float>(
    g: &Var<T>,
    w: &Var<T>,
    x_shape: &[usize],
    o: Conv2dOptions,
) -> Result<Var<T>> {
    let value = g.data().try_conv2d_grad_input(&w.data(), x_shape, &o)?;
    if !needs_graph(&[g, w]) {
        return Ok(Var::new(value));
    }
    let w_shape = w.shape();
    Ok(Var::from_op(
        value,
        DOUBLE,
        &[g, w],
        smallvec![
            ("grad_output", Some(Saved::var(g))),
            ("weight", Some(Saved::var(w)))
        ],
        smallvec![],
        Box::new(move |gg, saved, needs| {
            let (g, w) = (
                saved[0].as_ref().expect("saved"),
                saved[1].as_ref().expect("saved"),
            );
            let dg = if needs[0] {
                Some(conv(gg, w, None, o)?)
            } else {
                None
            };
            let dw = if needs[1] {
                Some(grad_weight(gg, g, &w_shape, o)?)
            } else {
                None
            };
            Ok(smallvec![dg, dw])
        }),
    ))
}

/// The weight's gradient `gw(x, g)`, recorded when `x` or `g` needs a graph.
#[track_caller]
fn grad_weight<T: Float>(
    x: &Var<T>,
    g: &Var<T>,
    w_shape: &[usize],
    o: Conv2dOptions,
) -> Result<Var<T>> {
    let value = g.data().try_conv2d_grad_weight(&x.data(), w_shape, &o)?;
    if !needs_graph(&[x, g]) {
        return Ok(Var::new(value));
    }
    let x_shape = x.shape();
    Ok(Var::from_op(
        value,
        DOUBLE,
        &[x, g],
        smallvec![
            ("input", Some(Saved::var(x))),
            ("grad_output", Some(Saved::var(g)))
        ],
        smallvec![],
        Box::new(move |gg, saved, needs| {
            let (x, g) = (
                saved[0].as_ref().expect("saved"),
                saved[1].as_ref().expect("saved"),
            );
            let dx = if needs[0] {
                Some(grad_input(g, gg, &x_shape, o)?)
            } else {
                None
            };
            let dg = if needs[1] {
                Some(conv(x, gg, None, o)?)
            } else {
                None
            };
            Ok(smallvec![dx, dg])
        }),
    ))
}

impl<T: Float> Var<T> {
    /// A 2-D convolution (cross-correlation) of `self` (`[N, C, H, W]`, or unbatched
    /// `[C, H, W]`) with `weight` (`[O, C/groups, kH, kW]`) plus an optional `bias` (`[O]`),
    /// like `torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation,
    /// groups)` with numeric padding (`options.padding_end` may differ from `padding`, as
    /// `padding="same"` with an even kernel needs). Records one `ConvolutionBackward0` with
    /// PyTorch's attributes; its backward gives the input's, weight's and bias's gradients,
    /// and a `create_graph` backward records them (`ConvolutionBackwardBackward0`).
    ///
    /// ```
    /// use antorcha_autograd::{tensor::Conv2dOptions, Var};
    /// let x = Var::<f64>::ones(&[1, 1, 3, 3]).requires_grad();
    /// let w = Var::ones(&[1, 1, 2, 2]).requires_grad();
    /// let y = x.try_conv2d(&w, None, &Conv2dOptions::new()).unwrap();
    /// assert_eq!(y.to_vec(), vec![4.0; 4]);
    /// assert_eq!(y.grad_fn_name(), Some("ConvolutionBackward0"));
    /// y.sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn try_conv2d(
        &self,
        weight: &Var<T>,
        bias: Option<&Var<T>>,
        options: &Conv2dOptions,
    ) -> Result<Var<T>> {
        match self.ndim() {
            4 => conv(self, weight, bias, *options),
            3 => conv(&self.try_unsqueeze(0)?, weight, bias, *options)?.try_squeeze_dim(0),
            _ => Err(AutogradError::Invalid {
                op: "conv2d",
                message: format!(
                    "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: {:?}",
                    self.shape()
                ),
            }),
        }
    }
}
