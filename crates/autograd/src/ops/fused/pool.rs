//! Average pooling (`AvgPool2DBackward0`) and adaptive average pooling
//! (`AdaptiveAvgPool2DBackward0`) over the last two dims: each output is the sum of a
//! rectangle of its plane divided by a number. Both are linear, so the backward spreads each
//! gradient back over its rectangle, and the backward of that is the pooling again: a
//! `create_graph` backward records the pair.

use std::sync::Arc;

use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use crate::error::{AutogradError, Result};
use crate::node::Attr;
use crate::var::{needs_graph, Var};

/// The rectangles of a pooling: `rows[oh]` and `cols[ow]` are half-open input ranges, `div` the
/// divisor of each output position (row-major `out_h x out_w`).
#[derive(Debug)]
struct Windows {
    h: usize,
    w: usize,
    rows: Vec<(usize, usize)>,
    cols: Vec<(usize, usize)>,
    div: Vec<f64>,
}

/// The node names of a pooling and of its backward.
#[derive(Clone, Copy)]
struct Names {
    forward: &'static str,
    backward: &'static str,
}

/// One dim of an average pool: each output's clipped input range and its size counting the
/// padding (PyTorch's `pooling_output_shape` and `avg_pool2d` window bounds).
fn avg_dim(
    op: &'static str,
    n: usize,
    k: usize,
    s: usize,
    p: usize,
    ceil_mode: bool,
) -> Result<Vec<(usize, usize, usize)>> {
    let bad = |m: String| AutogradError::Invalid { op, message: m };
    if k == 0 || s == 0 {
        return Err(bad(format!(
            "kernel_size {k} and stride {s} must be positive"
        )));
    }
    if p > k / 2 {
        return Err(bad(format!(
            "pad should be at most half of effective kernel size, but got pad={p} and kernel_size={k}"
        )));
    }
    let padded = n
        .checked_add(
            p.checked_mul(2)
                .ok_or_else(|| bad("padding overflows".into()))?,
        )
        .ok_or_else(|| bad("padding overflows".into()))?;
    if padded < k {
        return Err(bad(format!(
            "the padded input size {padded} is smaller than the kernel size {k}"
        )));
    }
    // `(padded - k + (ceil ? s - 1 : 0)) / s + 1` without overflow for any stride.
    let rest = padded - k;
    let mut out = rest / s + 1 + usize::from(ceil_mode && !rest.is_multiple_of(s));
    // With ceil_mode the last window must start inside the input or its left padding.
    if ceil_mode && (out - 1) * s >= n + p {
        out -= 1;
    }
    Ok((0..out)
        .map(|o| {
            let start = (o * s) as isize - p as isize;
            let end = (start + k as isize).min((n + p) as isize);
            let pool = (end - start) as usize;
            let (a, b) = (start.max(0) as usize, end.min(n as isize).max(0) as usize);
            (a, b.max(a), pool)
        })
        .collect())
}

/// One dim of an adaptive pool: output `o` covers `[floor(o*n/out), ceil((o+1)*n/out))`.
fn adaptive_dim(n: usize, out: usize) -> Vec<(usize, usize)> {
    (0..out)
        .map(|o| ((o * n) / out, ((o + 1) * n).div_ceil(out)))
        .collect()
}

/// `[.., H, W]` with at least the two pooled dims and one more: the number of planes, H and W.
fn planes(op: &'static str, shape: &[usize]) -> Result<(usize, usize, usize)> {
    if !(3..=4).contains(&shape.len()) {
        return Err(AutogradError::Invalid {
            op,
            message: format!(
                "expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape {shape:?}"
            ),
        });
    }
    let nd = shape.len();
    Ok((
        shape[..nd - 2].iter().product(),
        shape[nd - 2],
        shape[nd - 1],
    ))
}

/// Sums each rectangle of each plane of `x` (`planes x h x w`) divided by its divisor.
fn pool_values<T: Float>(x: &[T], planes: usize, win: &Windows) -> Vec<T> {
    let (ow, area) = (win.cols.len(), win.h * win.w);
    let mut out = Vec::with_capacity(planes * win.rows.len() * ow);
    for p in 0..planes {
        let plane = &x[p * area..(p + 1) * area];
        for (i, &(r0, r1)) in win.rows.iter().enumerate() {
            for (j, &(c0, c1)) in win.cols.iter().enumerate() {
                let mut acc = T::zero();
                for r in r0..r1 {
                    acc = plane[r * win.w + c0..r * win.w + c1]
                        .iter()
                        .fold(acc, |a, &v| a + v);
                }
                out.push(acc / T::cast(win.div[i * ow + j]));
            }
        }
    }
    out
}

/// The adjoint of [`pool_values`]: each output's value divided by its divisor, added to every
/// element of its rectangle.
fn unpool_values<T: Float>(g: &[T], planes: usize, win: &Windows) -> Vec<T> {
    let (ow, area) = (win.cols.len(), win.h * win.w);
    let per = win.rows.len() * ow;
    let mut out = vec![T::zero(); planes * area];
    for p in 0..planes {
        let plane = &mut out[p * area..(p + 1) * area];
        let gp = &g[p * per..(p + 1) * per];
        for (i, &(r0, r1)) in win.rows.iter().enumerate() {
            for (j, &(c0, c1)) in win.cols.iter().enumerate() {
                let v = gp[i * ow + j] / T::cast(win.div[i * ow + j]);
                for r in r0..r1 {
                    for e in &mut plane[r * win.w + c0..r * win.w + c1] {
                        *e += v;
                    }
                }
            }
        }
    }
    out
}

/// Records the pooling of `x` over `win` (or returns it unrecorded).
#[track_caller]
fn pool<T: Float>(x: &Var<T>, win: Arc<Windows>, names: Names, attrs: PoolAttrs) -> Var<T> {
    let shape = x.shape();
    let nd = shape.len();
    let np: usize = shape[..nd - 2].iter().product();
    let value = pool_values(&x.data().row_major(), np, &win);
    let mut out_shape = shape[..nd - 2].to_vec();
    out_shape.extend([win.rows.len(), win.cols.len()]);
    let value = Tensor::from_vec(value, &out_shape);
    if !needs_graph(&[x]) {
        return Var::new(value);
    }
    Var::from_op(
        value,
        names.forward,
        &[x],
        smallvec![],
        attrs,
        Box::new(move |g, _, _| Ok(smallvec![Some(unpool(g, win.clone(), names, &shape))])),
    )
}

/// Records the adjoint of [`pool`]: `g` spread back to an input of `in_shape`.
#[track_caller]
fn unpool<T: Float>(g: &Var<T>, win: Arc<Windows>, names: Names, in_shape: &[usize]) -> Var<T> {
    let nd = in_shape.len();
    let np: usize = in_shape[..nd - 2].iter().product();
    let value = Tensor::from_vec(unpool_values(&g.data().row_major(), np, &win), in_shape);
    if !needs_graph(&[g]) {
        return Var::new(value);
    }
    let attrs = smallvec![("self_sym_sizes", Attr::shape(in_shape))];
    Var::from_op(
        value,
        names.backward,
        &[g],
        smallvec![],
        attrs,
        Box::new(move |gg, _, _| Ok(smallvec![Some(pool(gg, win.clone(), names, smallvec![]))])),
    )
}

type PoolAttrs = crate::node::Attrs;

impl<T: Float> Var<T> {
    /// The mean of each `kernel` window of the last two dims of `x` (`[N, C, H, W]` or
    /// `[C, H, W]`), moving by `stride`, with implicit zero `padding`, like
    /// `torch.nn.functional.avg_pool2d(x, kernel_size, stride, padding, ceil_mode,
    /// count_include_pad, divisor_override)`: `ceil_mode` rounds the output size up (a last,
    /// partial window that starts inside the input or its left padding), `count_include_pad`
    /// counts the padding in each window's divisor, and `divisor_override` replaces it.
    /// Records `AvgPool2DBackward0`.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// let x = Var::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]);
    /// let y = x.try_avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None).unwrap();
    /// assert_eq!(y.to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
    /// ```
    #[track_caller]
    pub fn try_avg_pool2d(
        &self,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        ceil_mode: bool,
        count_include_pad: bool,
        divisor_override: Option<usize>,
    ) -> Result<Var<T>> {
        const OP: &str = "avg_pool2d";
        let shape = self.shape();
        let (_, h, w) = planes(OP, &shape)?;
        if divisor_override == Some(0) {
            return Err(AutogradError::Invalid {
                op: OP,
                message: "divisor must be not zero".into(),
            });
        }
        let rows = avg_dim(OP, h, kernel_size[0], stride[0], padding[0], ceil_mode)?;
        let cols = avg_dim(OP, w, kernel_size[1], stride[1], padding[1], ceil_mode)?;
        let mut div = Vec::with_capacity(rows.len() * cols.len());
        for &(r0, r1, rp) in &rows {
            for &(c0, c1, cp) in &cols {
                div.push(match divisor_override {
                    Some(d) => d as f64,
                    None if count_include_pad => (rp * cp) as f64,
                    None => ((r1 - r0) * (c1 - c0)) as f64,
                });
            }
        }
        let win = Windows {
            h,
            w,
            rows: rows.iter().map(|&(a, b, _)| (a, b)).collect(),
            cols: cols.iter().map(|&(a, b, _)| (a, b)).collect(),
            div,
        };
        let ints = |v: [usize; 2]| Attr::Ints(v.iter().map(|&d| d as i64).collect());
        let attrs = smallvec![
            ("kernel_size", ints(kernel_size)),
            ("stride", ints(stride)),
            ("padding", ints(padding)),
            ("ceil_mode", Attr::Bool(ceil_mode)),
            ("count_include_pad", Attr::Bool(count_include_pad)),
            (
                "divisor_override",
                divisor_override.map_or(Attr::None, |d| Attr::Int(d as i64))
            ),
        ];
        let names = Names {
            forward: "AvgPool2DBackward0",
            backward: "AvgPool2DBackwardBackward0",
        };
        Ok(pool(self, Arc::new(win), names, attrs))
    }

    /// The mean over `output_size` adaptive windows of the last two dims of `x`
    /// (`[N, C, H, W]` or `[C, H, W]`), like
    /// `torch.nn.functional.adaptive_avg_pool2d(x, output_size)`: output `(i, j)` averages
    /// rows `floor(i*H/oh)..ceil((i+1)*H/oh)` and the same for columns; `None` keeps that
    /// dim's input size. Records `AdaptiveAvgPool2DBackward0` (`MeanBackward1` for a 1 x 1
    /// output, as PyTorch computes that one as a mean).
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// let x = Var::from_vec((0..6).map(f64::from).collect(), &[1, 2, 3]);
    /// let y = x.try_adaptive_avg_pool2d([Some(1), Some(2)]).unwrap();
    /// assert_eq!(y.to_vec(), vec![2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn try_adaptive_avg_pool2d(&self, output_size: [Option<usize>; 2]) -> Result<Var<T>> {
        const OP: &str = "adaptive_avg_pool2d";
        let shape = self.shape();
        let (_, h, w) = planes(OP, &shape)?;
        let (oh, ow) = (output_size[0].unwrap_or(h), output_size[1].unwrap_or(w));
        if h == 0 || w == 0 {
            return Err(AutogradError::Invalid {
                op: OP,
                message: format!("expected non-empty H and W, got input of shape {shape:?}"),
            });
        }
        let fits = shape[..shape.len() - 2]
            .iter()
            .try_fold(oh.max(1), |a, &d| a.checked_mul(d.max(1)))
            .and_then(|a| a.checked_mul(ow.max(1)))
            .is_some_and(|n| n <= isize::MAX as usize / 16)
            && oh.checked_add(1).and_then(|o| o.checked_mul(h)).is_some()
            && ow.checked_add(1).and_then(|o| o.checked_mul(w)).is_some();
        if !fits {
            return Err(AutogradError::Invalid {
                op: OP,
                message: format!(
                    "output_size ({oh}, {ow}) on an input of shape {shape:?} is too large"
                ),
            });
        }
        let rows = adaptive_dim(h, oh);
        let cols = adaptive_dim(w, ow);
        let mut div = Vec::with_capacity(oh * ow);
        for &(r0, r1) in &rows {
            for &(c0, c1) in &cols {
                div.push(((r1 - r0) * (c1 - c0)) as f64);
            }
        }
        let win = Windows {
            h,
            w,
            rows,
            cols,
            div,
        };
        // Like PyTorch's CPU kernel, a 1 x 1 output is the mean over the last two dims
        // (`MeanBackward1`, whose backward expands the gradient).
        let (names, attrs) = if oh == 1 && ow == 1 {
            let names = Names {
                forward: "MeanBackward1",
                backward: "ExpandBackward0",
            };
            let attrs = smallvec![
                ("dim", Attr::Ints(vec![-1, -2])),
                ("keepdim", Attr::Bool(true)),
                ("self_sym_sizes", Attr::shape(&shape)),
            ];
            (names, attrs)
        } else {
            let names = Names {
                forward: "AdaptiveAvgPool2DBackward0",
                backward: "AdaptiveAvgPool2DBackwardBackward0",
            };
            (names, smallvec![("self_sym_sizes", Attr::shape(&shape))])
        };
        Ok(pool(self, Arc::new(win), names, attrs))
    }
}
