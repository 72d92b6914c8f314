//! Max pooling with indices (`MaxPool2DWithIndicesBackward0`): each output is the largest
//! element of a (dilated) window of its plane, and the index of that element within the plane
//! is kept, so the backward sends each gradient to it.

use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use crate::error::{AutogradError, Result};
use crate::grad_mode::is_grad_enabled;
use crate::node::Attr;
use crate::var::{needs_graph, Var};

/// One dim's output size, as PyTorch's `pooling_output_shape` computes it, or an error.
fn out_size(
    op: &'static str,
    n: usize,
    k: usize,
    s: usize,
    p: usize,
    d: usize,
    ceil_mode: bool,
) -> Result<usize> {
    let bad = |message: String| AutogradError::Invalid { op, message };
    if k == 0 || s == 0 || d == 0 {
        return Err(bad(format!(
            "kernel_size {k}, stride {s} and dilation {d} must be positive"
        )));
    }
    if p > k / 2 {
        return Err(bad(format!(
            "pad should be at most half of effective kernel size, but got pad={p} and kernel_size={k}"
        )));
    }
    let span = (k - 1)
        .checked_mul(d)
        .and_then(|e| e.checked_add(1))
        .ok_or_else(|| bad(format!("dilation {d} times kernel_size {k} overflows")))?;
    let padded = p
        .checked_mul(2)
        .and_then(|p2| p2.checked_add(n))
        .ok_or_else(|| bad(format!("padding {p} overflows")))?;
    if padded < span {
        return Err(bad(format!(
            "given an input of size {n} with padding {p}, the dilated kernel of size {span} does not fit: output size is too small"
        )));
    }
    // `(padded - span + (ceil ? s - 1 : 0)) / s + 1` without overflow for any stride.
    let rest = padded - span;
    let mut out = rest / s + 1 + usize::from(ceil_mode && !rest.is_multiple_of(s));
    if ceil_mode && (out - 1) * s >= n + p {
        out -= 1;
    }
    Ok(out)
}

/// The input positions of output `o` along one dim: `o*s - p + i*d` for the taps `i < k` that
/// land inside `0..n` (computed as a range of `i`, so a huge kernel costs nothing).
fn taps(o: usize, n: usize, k: usize, s: usize, p: usize, d: usize) -> Vec<usize> {
    let start = o * s; // the position of tap 0, plus p
                       // First tap with start + i*d >= p, last with start + i*d < n + p.
    let first = p.saturating_sub(start).div_ceil(d);
    let Some(limit) = (n + p).checked_sub(start + 1) else {
        return Vec::new();
    };
    let last = (limit / d).min(k - 1);
    (first..=last)
        .filter_map(|i| (start + i * d).checked_sub(p))
        .collect()
}

impl<T: Float> Var<T> {
    /// The largest element of each `kernel_size` window of the last two dims of `x`
    /// (`[N, C, H, W]` or `[C, H, W]`), its taps `dilation` apart, moving by `stride`, with
    /// implicit `-inf` `padding`, like `torch.nn.functional.max_pool2d(x, kernel_size, stride,
    /// padding, dilation, ceil_mode, return_indices=True)`: also returns the index of each
    /// maximum within its `H x W` plane (the first one on ties; a NaN wins). Records
    /// `MaxPool2DWithIndicesBackward0`, whose backward sends each gradient to that element.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// let x = Var::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]);
    /// let (y, idx) = x.try_max_pool2d_with_indices([2, 2], [2, 2], [0, 0], [1, 1], false).unwrap();
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// assert_eq!(idx.to_vec(), vec![5, 7, 13, 15]);
    /// let (y, _) = x.try_max_pool2d_with_indices([2, 2], [1, 1], [0, 0], [2, 2], false).unwrap();
    /// assert_eq!(y.to_vec(), vec![10.0, 11.0, 14.0, 15.0]);
    /// ```
    #[track_caller]
    pub fn try_max_pool2d_with_indices(
        &self,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> Result<(Var<T>, Tensor<i64>)> {
        const OP: &str = "max_pool2d";
        let shape = self.shape();
        let nd = shape.len();
        if !(3..=4).contains(&nd) {
            return Err(AutogradError::Invalid {
                op: OP,
                message: format!(
                    "expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape {shape:?}"
                ),
            });
        }
        let (h, w) = (shape[nd - 2], shape[nd - 1]);
        let planes: usize = shape[..nd - 2].iter().product();
        let [kh, kw] = kernel_size;
        let [sh, sw] = stride;
        let [ph, pw] = padding;
        let [dh, dw] = dilation;
        let oh = out_size(OP, h, kh, sh, ph, dh, ceil_mode)?;
        let ow = out_size(OP, w, kw, sw, pw, dw, ceil_mode)?;
        let rows: Vec<Vec<usize>> = (0..oh).map(|o| taps(o, h, kh, sh, ph, dh)).collect();
        let cols: Vec<Vec<usize>> = (0..ow).map(|o| taps(o, w, kw, sw, pw, dw)).collect();
        let total = planes
            .checked_mul(oh * ow)
            .filter(|&n| n <= isize::MAX as usize / 8)
            .ok_or_else(|| AutogradError::Invalid {
                op: OP,
                message: format!("an output of {planes} x {oh} x {ow} is too large"),
            })?;
        let x = self.data();
        let xs = x.row_major();
        let mut values = Vec::with_capacity(total);
        let mut indices = Vec::with_capacity(total);
        for p in 0..planes {
            let plane = &xs[p * h * w..(p + 1) * h * w];
            for r in &rows {
                for c in &cols {
                    let mut best = T::neg_infinity();
                    let mut at = r.first().zip(c.first()).map_or(0, |(&a, &b)| a * w + b);
                    for &i in r {
                        for &j in c {
                            let v = plane[i * w + j];
                            if v > best || v.is_nan() {
                                best = v;
                                at = i * w + j;
                                if v.is_nan() {
                                    break;
                                }
                            }
                        }
                        if best.is_nan() {
                            break;
                        }
                    }
                    values.push(best);
                    indices.push(at as i64);
                }
            }
        }
        let mut out_shape = shape[..nd - 2].to_vec();
        out_shape.extend([oh, ow]);
        let value = Tensor::from_vec(values, &out_shape);
        let idx = Tensor::from_vec(indices, &out_shape);
        if !needs_graph(&[self]) {
            return Ok((Var::new(value), idx));
        }
        let ints = |v: [usize; 2]| Attr::Ints(v.iter().map(|&d| d as i64).collect());
        let flat_idx_vec = idx.to_vec();
        let flat_idx = Tensor::from_vec(flat_idx_vec.clone(), &[planes, oh * ow]);
        let y = Var::from_op(
            value,
            "MaxPool2DWithIndicesBackward0",
            &[self],
            smallvec![],
            smallvec![
                ("kernel_size", ints(kernel_size)),
                ("stride", ints(stride)),
                ("padding", ints(padding)),
                ("dilation", ints(dilation)),
                ("ceil_mode", Attr::Bool(ceil_mode)),
            ],
            Box::new(move |g, _, _| {
                if !is_grad_enabled() {
                    // Nothing is recorded: add each gradient at its maximum's index.
                    let (area, per) = (h * w, oh * ow);
                    let gd = g.data();
                    let gs = gd.row_major();
                    let mut dx = vec![T::zero(); planes * area];
                    for p in 0..planes {
                        let plane = &mut dx[p * area..(p + 1) * area];
                        for (&gv, &i) in gs[p * per..(p + 1) * per]
                            .iter()
                            .zip(&flat_idx_vec[p * per..(p + 1) * per])
                        {
                            plane[i as usize] += gv;
                        }
                    }
                    return Ok(smallvec![Some(Var::new(Tensor::from_vec(dx, &shape)))]);
                }
                let g = g.try_reshape(&[planes as isize, (oh * ow) as isize])?;
                let zeros = Var::new(Tensor::zeros(&[planes, h * w]));
                let dx = zeros.try_scatter_add(1, &flat_idx, &g)?;
                let in_shape: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
                Ok(smallvec![Some(dx.try_reshape(&in_shape)?)])
            }),
        );
        Ok((y, idx))
    }
}
