//! 2-D max pooling with indices, as PyTorch's `max_pool2d_with_indices` and its backward: each
//! output is the largest element of a (dilated) window of its `H x W` plane, with the index of
//! that element within the plane (the first one on ties; the last NaN, if any), and the backward
//! adds each gradient at its index. The common 2x2 window with stride 2 has loops of its own
//! ([`two_by_two`]). Large inputs are split over two threads by planes.

#[cfg(test)]
mod equivalence_tests;
mod two_by_two;

use std::mem::MaybeUninit;

use crate::element::Float;
use crate::error::{Result, TensorError};
use crate::parallel::{join, num_threads};
use crate::tensor::Tensor;

/// The window of a 2-D max pool, as `torch.nn.functional.max_pool2d` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2dOptions {
    /// The window's height and width.
    pub kernel_size: [usize; 2],
    /// The step between windows.
    pub stride: [usize; 2],
    /// Implicit `-inf` rows and columns on each side (at most half the kernel).
    pub padding: [usize; 2],
    /// The step between the window's taps.
    pub dilation: [usize; 2],
    /// Whether a last, partial window (starting inside the input or its left padding) counts.
    pub ceil_mode: bool,
}

/// One dim's output size, as PyTorch's `pooling_output_shape` computes it, or an error.
fn out_size(
    op: &'static str,
    n: usize,
    k: usize,
    s: usize,
    p: usize,
    d: usize,
    ceil: bool,
) -> Result<usize> {
    let bad = |message: String| TensorError::invalid(op, message);
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
    let mut out = rest / s + 1 + usize::from(ceil && !rest.is_multiple_of(s));
    if ceil && (out - 1) * s >= n + p {
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

/// Whether `v`, at a later tap, replaces `best` as its window's maximum: larger, or a NaN (so
/// the first maximum wins on ties, and the last NaN wins), as PyTorch's CPU kernel
/// (`val > maxval || std::isnan(val)`). Without short-circuits, so the callers' selects compile
/// without branches (which random data mispredicts).
#[inline(always)]
fn beats<T: Float>(v: T, best: T) -> bool {
    (v > best) | v.is_nan()
}

/// Any windows of one plane, given by the input rows and columns of each output row and column
/// ([`taps`]), into `vals`/`idx` (all written).
fn pool_any<T: Float>(
    plane: &[T],
    w: usize,
    (rows, cols): (&[Vec<usize>], &[Vec<usize>]),
    vals: &mut [MaybeUninit<T>],
    idx: &mut [MaybeUninit<i64>],
) {
    let windows = rows.iter().flat_map(|r| cols.iter().map(move |c| (r, c)));
    for ((r, c), (v_out, i_out)) in windows.zip(vals.iter_mut().zip(idx.iter_mut())) {
        let mut best = T::neg_infinity();
        let mut at = r.first().zip(c.first()).map_or(0, |(&a, &b)| a * w + b);
        for &i in r {
            for &j in c {
                let v = plane[i * w + j];
                let take = beats(v, best);
                best = if take { v } else { best };
                at = if take { i * w + j } else { at };
            }
        }
        v_out.write(best);
        i_out.write(at as i64);
    }
}

/// The gradient of the planes (`area > 0` elements each) of `dx` from their `per` output
/// gradients `gs` and indices `is`, as PyTorch computes it: each plane zeroed, then each
/// gradient added at its index, in order (zeroing a plane just before its scatter keeps it in
/// cache); or an error naming the first index outside its plane.
fn unpool<T: Float>(
    (gs, is): (&[T], &[i64]),
    (area, per): (usize, usize),
    dx: &mut [MaybeUninit<T>],
) -> Result<()> {
    for (p, plane) in dx.chunks_exact_mut(area).enumerate() {
        for v in plane.iter_mut() {
            v.write(T::zero());
        }
        // SAFETY: every element was just written; MaybeUninit<T> has T's layout.
        let plane = unsafe { &mut *(plane as *mut [MaybeUninit<T>] as *mut [T]) };
        let (g, idx) = (&gs[p * per..(p + 1) * per], &is[p * per..(p + 1) * per]);
        for (&g, &i) in g.iter().zip(idx) {
            let slot = usize::try_from(i)
                .ok()
                .and_then(|i| plane.get_mut(i))
                .ok_or_else(|| {
                    TensorError::invalid(
                        "max_pool2d_backward",
                        format!("index {i} is outside a plane of {area} elements"),
                    )
                })?;
            *slot += g;
        }
    }
    Ok(())
}

/// Below this many outputs a pool stays on one thread (the split costs a wake-up).
const PAR_MIN_OUTPUTS: usize = 1 << 15;

/// Below this many input elements a pool's backward stays on one thread.
const PAR_MIN_INPUTS: usize = 1 << 16;

impl<T: Float> Tensor<T> {
    /// The largest element of each window of the last two dims of `self` (`[N, C, H, W]` or
    /// `[C, H, W]`) and its index within its `H x W` plane, like
    /// `torch.nn.functional.max_pool2d(x, …, return_indices=True)`; or an error naming the
    /// shape or the option that does not fit.
    ///
    /// ```
    /// use antorcha_tensor::{MaxPool2dOptions, Tensor};
    /// let x = Tensor::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]);
    /// let o = MaxPool2dOptions { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceil_mode: false };
    /// let (y, idx) = x.try_max_pool2d_with_indices(&o).unwrap();
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// assert_eq!(idx.to_vec(), vec![5, 7, 13, 15]);
    /// ```
    pub fn try_max_pool2d_with_indices(
        &self,
        options: &MaxPool2dOptions,
    ) -> Result<(Tensor<T>, Tensor<i64>)> {
        const OP: &str = "max_pool2d";
        let shape = self.shape();
        let nd = shape.len();
        if !(3..=4).contains(&nd) {
            return Err(TensorError::invalid(
                OP,
                format!("expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape {shape:?}"),
            ));
        }
        let (h, w) = (shape[nd - 2], shape[nd - 1]);
        if h == 0 || w == 0 {
            return Err(TensorError::invalid(
                OP,
                format!("expected a non-empty height and width, got shape {shape:?}"),
            ));
        }
        let planes: usize = shape[..nd - 2].iter().product();
        let MaxPool2dOptions {
            kernel_size: [kh, kw],
            stride: [sh, sw],
            padding: [ph, pw],
            dilation: [dh, dw],
            ceil_mode,
        } = *options;
        let oh = out_size(OP, h, kh, sh, ph, dh, ceil_mode)?;
        let ow = out_size(OP, w, kw, sw, pw, dw, ceil_mode)?;
        let total = planes
            .checked_mul(oh * ow)
            .filter(|&n| n <= isize::MAX as usize / 8)
            .ok_or_else(|| {
                TensorError::invalid(
                    OP,
                    format!("an output of {planes} x {oh} x {ow} is too large"),
                )
            })?;
        let mut out_shape = shape[..nd - 2].to_vec();
        out_shape.extend([oh, ow]);
        let xs = self.row_major();
        let mut values = crate::layout::try_vec(OP, &out_shape, total)?;
        let mut indices = crate::layout::try_vec(OP, &out_shape, total)?;
        let simple = options.kernel_size == [2, 2]
            && options.stride == [2, 2]
            && options.padding == [0, 0]
            && options.dilation == [1, 1]
            && !ceil_mode;
        let rows: Vec<Vec<usize>> = (0..oh).map(|o| taps(o, h, kh, sh, ph, dh)).collect();
        let cols: Vec<Vec<usize>> = (0..ow).map(|o| taps(o, w, kw, sw, pw, dw)).collect();
        let (area, per) = (h * w, oh * ow);
        // Each plane's windows into its `per` outputs (all written).
        let run = |xs: &[T], vals: &mut [MaybeUninit<T>], idx: &mut [MaybeUninit<i64>]| {
            if simple {
                two_by_two::forward(xs, (h, w), vals, idx);
                return;
            }
            for (p, (vals, idx)) in vals
                .chunks_exact_mut(per)
                .zip(idx.chunks_exact_mut(per))
                .enumerate()
            {
                let plane = &xs[p * area..(p + 1) * area];
                pool_any(plane, w, (&rows, &cols), vals, idx);
            }
        };
        let (vals, idx) = (
            &mut values.spare_capacity_mut()[..total],
            &mut indices.spare_capacity_mut()[..total],
        );
        if planes >= 2 && total >= PAR_MIN_OUTPUTS && num_threads() >= 2 {
            let half = planes / 2;
            let (x0, x1) = xs.split_at(half * area);
            let (v0, v1) = vals.split_at_mut(half * per);
            let (i0, i1) = idx.split_at_mut(half * per);
            join(|| run(x0, v0, i0), || run(x1, v1, i1));
        } else {
            run(&xs, vals, idx);
        }
        // SAFETY: `run` wrote all `per` outputs of every plane (`join` resumes a panic before
        // this line).
        unsafe {
            values.set_len(total);
            indices.set_len(total);
        }
        Ok((
            Tensor::try_from_vec(values, &out_shape)?,
            Tensor::try_from_vec(indices, &out_shape)?,
        ))
    }

    /// The gradient of [`Tensor::try_max_pool2d_with_indices`]: a tensor of `input_shape`,
    /// zero but for each of `self`'s gradients added at its index within its plane (PyTorch's
    /// `max_pool2d_with_indices_backward`).
    pub fn try_max_pool2d_backward(
        &self,
        indices: &Tensor<i64>,
        input_shape: &[usize],
    ) -> Result<Tensor<T>> {
        const OP: &str = "max_pool2d_backward";
        let nd = input_shape.len();
        if !(3..=4).contains(&nd)
            || self.shape() != indices.shape()
            || self.ndim() != nd
            || self.shape()[..nd - 2] != input_shape[..nd - 2]
        {
            return Err(TensorError::invalid(
                OP,
                format!(
                    "the gradient {:?} and indices {:?} do not fit an input of shape {input_shape:?}",
                    self.shape(),
                    indices.shape()
                ),
            ));
        }
        let (h, w) = (input_shape[nd - 2], input_shape[nd - 1]);
        let (area, per) = (h * w, self.shape()[nd - 2] * self.shape()[nd - 1]);
        let planes: usize = input_shape[..nd - 2].iter().product();
        let total = crate::layout::checked_numel(OP, input_shape)?;
        let (gs, is) = (self.row_major(), indices.row_major());
        if area == 0 {
            // No plane to write: the first index of a plane, if any, is outside it.
            if let (true, Some(&i)) = (planes > 0, is.first()) {
                return Err(TensorError::invalid(
                    OP,
                    format!("index {i} is outside a plane of {area} elements"),
                ));
            }
            return Tensor::try_from_vec(Vec::new(), input_shape);
        }
        let mut dx = crate::layout::try_vec(OP, input_shape, total)?;
        let slots = &mut dx.spare_capacity_mut()[..total];
        let run =
            |gs: &[T], is: &[i64], dx: &mut [MaybeUninit<T>]| unpool((gs, is), (area, per), dx);
        if planes >= 2 && total >= PAR_MIN_INPUTS && num_threads() >= 2 {
            let half = planes / 2;
            let (g0, g1) = gs.split_at(half * per);
            let (i0, i1) = is.split_at(half * per);
            let (d0, d1) = slots.split_at_mut(half * area);
            let (mut r0, mut r1) = (Ok(()), Ok(()));
            join(|| r0 = run(g0, i0, d0), || r1 = run(g1, i1, d1));
            r0.and(r1)?;
        } else {
            run(&gs, &is, slots)?;
        }
        // SAFETY: `unpool` wrote every element of every plane, or returned an error above.
        unsafe { dx.set_len(total) };
        Tensor::try_from_vec(dx, input_shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(k: usize, s: usize, p: usize, d: usize, ceil_mode: bool) -> MaxPool2dOptions {
        MaxPool2dOptions {
            kernel_size: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [d, d],
            ceil_mode,
        }
    }

    /// The 2x2 loop agrees with the general one (which ceil_mode takes) on values with ties,
    /// infinities and NaNs, on even and odd sizes.
    #[test]
    fn the_two_by_two_loop_equals_the_general_one() {
        let specials = [0.5, 0.5, f64::NAN, -f64::INFINITY, 2.0, f64::INFINITY, -1.0];
        let data: Vec<f64> = (0..2 * 3 * 6 * 8)
            .map(|i| specials[(i * 7 + i / 5) % specials.len()])
            .collect();
        let x = Tensor::from_vec(data, &[2, 3, 6, 8]);
        let (a, ia) = x
            .try_max_pool2d_with_indices(&opts(2, 2, 0, 1, false))
            .unwrap();
        let (b, ib) = x
            .try_max_pool2d_with_indices(&opts(2, 2, 0, 1, true))
            .unwrap();
        assert_eq!(ia.to_vec(), ib.to_vec());
        let bits = |t: &Tensor<f64>| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
    }

    #[test]
    fn the_backward_adds_at_the_indices_and_checks_them() {
        let g = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 1, 3]);
        let idx = Tensor::from_vec(vec![0, 0, 4], &[1, 1, 3]);
        let dx = g.try_max_pool2d_backward(&idx, &[1, 2, 3]).unwrap();
        assert_eq!(dx.to_vec(), vec![3.0, 0.0, 0.0, 0.0, 3.0, 0.0]);
        let bad = Tensor::from_vec(vec![0, 6, 4], &[1, 1, 3]);
        assert!(g.try_max_pool2d_backward(&bad, &[1, 2, 3]).is_err());
        assert!(g.try_max_pool2d_backward(&idx, &[2, 2, 3]).is_err());
    }
}
