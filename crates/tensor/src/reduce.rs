//! Reductions: sums, means, maxima and minima with their indices, variance, and `sum_to`, the
//! reduction that undoes a broadcast (autograd uses it for every broadcast gradient).
//!
//! Standard-layout (row-major) inputs are reduced with slice walks over an `(outer, n, inner)`
//! split of the shape, which needs no index arithmetic per element. Sums over other layouts use
//! ndarray's `sum_axis` without copying; the other reductions copy such inputs to row-major first.

use ndarray::{ArrayD, Axis, IxDyn};

use crate::element::Float;
use crate::error::{ok, Result, TensorError};
use crate::shape::split_at_dim;
use crate::tensor::Tensor;

/// The shape left after reducing `axis` (kept as size 1 with `keepdim`); a 0-d shape stays 0-d.
pub(crate) fn reduced_shape(shape: &[usize], axis: usize, keepdim: bool) -> Vec<usize> {
    let mut out = shape.to_vec();
    if out.is_empty() {
        return out;
    }
    if keepdim {
        out[axis] = 1;
    } else {
        out.remove(axis);
    }
    out
}

/// Maximum or minimum, as a type, so that each reduction is compiled (and vectorized) for it.
pub(crate) trait Extreme {
    /// Whether `x` is strictly beyond `acc` (false when either is NaN).
    fn beyond<T: Float>(x: T, acc: T) -> bool;
}

/// The [`Extreme`] of `max`, `argmax`, `softmax`'s shift.
pub(crate) struct Max;

/// The [`Extreme`] of `min`, `argmin`.
pub(crate) struct Min;

impl Extreme for Max {
    #[inline(always)]
    fn beyond<T: Float>(x: T, acc: T) -> bool {
        x > acc
    }
}

impl Extreme for Min {
    #[inline(always)]
    fn beyond<T: Float>(x: T, acc: T) -> bool {
        x < acc
    }
}

/// The running extreme of values with NaN propagation: a NaN replaces the accumulator and
/// stays (`x > NaN` is false). A select, not a branch, so loops over it vectorize.
#[inline(always)]
pub(crate) fn keep_extreme<E: Extreme, T: Float>(x: T, acc: T) -> T {
    if E::beyond(x, acc) | x.is_nan() {
        x
    } else {
        acc
    }
}

/// Whether `x` at a later position replaces `best` for `argmax`/`argmin`: strictly beyond it
/// (ties keep the first occurrence), or the first NaN, which then stays (PyTorch's rule).
#[inline(always)]
fn arg_beats<E: Extreme, T: Float>(x: T, best: T) -> bool {
    !best.is_nan() & (E::beyond(x, best) | x.is_nan())
}

/// The NaN-propagating extreme of a non-empty slice, in eight independent accumulators so the
/// loop has no carried dependency and vectorizes.
#[inline]
pub(crate) fn slice_extreme<E: Extreme, T: Float>(xs: &[T]) -> T {
    let mut acc = [xs[0]; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = keep_extreme::<E, T>(x, *a);
        }
    }
    let mut m = acc[0];
    for &x in acc[1..].iter().chain(rest) {
        m = keep_extreme::<E, T>(x, m);
    }
    m
}

/// The maximum of a non-empty slice, NaN if it holds a NaN.
#[inline]
pub(crate) fn slice_max<T: Float>(xs: &[T]) -> T {
    slice_extreme::<Max, T>(xs)
}

/// Sum of a slice with ndarray's unrolled (eight-accumulator) loop: faster and more accurate
/// than a plain left fold.
#[inline]
fn slice_sum<T: Float>(xs: &[T]) -> T {
    ndarray::aview1(xs).sum()
}

/// The sum of every element: ndarray's own sum, through the contiguous slice when there is one
/// (the same unrolled loop, same result, without building a view and ndarray's `IxDyn`
/// contiguity check, which cost more than summing a small tensor).
fn sum_elements<T: Float>(t: &Tensor<T>) -> T {
    match t.as_slice() {
        Some(xs) => slice_sum(xs),
        None => t.view().sum(),
    }
}

/// Sums the row-major `data` over the dims whose `keep` is false, giving the keepdim-shaped
/// result in row-major order, in one pass.
///
/// Size-1 dims are dropped and neighbouring dims that are both kept or both reduced are merged,
/// so `[N, C] -> [1, C]` is `N` slice additions and `[N, C] -> [N, 1]` is `N` slice sums.
fn sum_keep_contiguous<T: Float>(data: &[T], shape: &[usize], keep: &[bool]) -> Vec<T> {
    let out_len: usize = shape
        .iter()
        .zip(keep)
        .map(|(&s, &k)| if k { s } else { 1 })
        .product();
    let mut out = vec![T::zero(); out_len];
    if data.is_empty() || out_len == 0 {
        return out;
    }
    let mut groups: Vec<(usize, bool)> = Vec::with_capacity(shape.len());
    for (&s, &k) in shape.iter().zip(keep) {
        if s == 1 {
            continue;
        }
        match groups.last_mut() {
            Some((len, gk)) if *gk == k => *len *= s,
            _ => groups.push((s, k)),
        }
    }
    sum_walk(&groups, data, &mut out);
    out
}

/// Adds `data` (shaped by `groups`: (length, kept?) from outer to inner) into `out` (the kept
/// lengths only).
fn sum_walk<T: Float>(groups: &[(usize, bool)], data: &[T], out: &mut [T]) {
    match groups {
        [] => out[0] += data[0],
        [(_, true)] => out.iter_mut().zip(data).for_each(|(o, &x)| *o += x),
        [(_, false)] => out[0] += slice_sum(data),
        [(len, keep), rest @ ..] => {
            let dstep = data.len() / len;
            if *keep {
                let ostep = out.len() / len;
                for (d, o) in data.chunks_exact(dstep).zip(out.chunks_exact_mut(ostep)) {
                    sum_walk(rest, d, o);
                }
            } else {
                for d in data.chunks_exact(dstep) {
                    sum_walk(rest, d, out);
                }
            }
        }
    }
}

/// Sums `t` over the dims whose `keep` is false, as a tensor of `shape`: the keepdim shape, or
/// one with the same row-major data (fewer size-1 dims).
fn sum_keep<T: Float>(t: &Tensor<T>, keep: &[bool], shape: &[usize]) -> Tensor<T> {
    if let Some(data) = t.as_slice() {
        return Tensor::from_contiguous(sum_keep_contiguous(data, t.shape(), keep), shape);
    }
    // Other layouts: ndarray's sum_axis walks any strides without copying the input.
    let a = t.view();
    let mut r: Option<ArrayD<T>> = None;
    for axis in (0..keep.len()).rev().filter(|&d| !keep[d]) {
        let summed = match &r {
            Some(src) => src.sum_axis(Axis(axis)),
            None => a.sum_axis(Axis(axis)),
        };
        r = Some(summed.insert_axis(Axis(axis)));
    }
    let r = r.unwrap_or_else(|| a.to_owned());
    let r = if r.is_standard_layout() {
        r
    } else {
        r.as_standard_layout().into_owned()
    };
    Tensor::from_array(
        r.into_shape_with_order(IxDyn(shape))
            .expect("row-major result"),
    )
}

/// The extreme of each `n`-long lane of the row-major `data` split as `(outer, n, inner)`, and
/// its index (first occurrence on ties, first NaN if any). `n` must be positive.
fn arg_reduce<E: Extreme, T: Float>(
    data: &[T],
    (outer, n, inner): (usize, usize, usize),
) -> (Vec<T>, Vec<i64>) {
    let mut vals = Vec::with_capacity(outer * inner);
    let mut idx = Vec::with_capacity(outer * inner);
    if inner == 1 {
        // Two vectorizable passes beat one branchy pass: the value, then where it first is.
        for lane in data.chunks_exact(n) {
            let m = slice_extreme::<E, T>(lane);
            let i = if m.is_nan() {
                lane.iter().position(|x| x.is_nan())
            } else {
                lane.iter().position(|&x| x == m)
            };
            vals.push(m);
            idx.push(i.expect("the extreme is in the lane") as i64);
        }
    } else if inner > 0 {
        // Row by row, every column at once.
        for block in data.chunks_exact(n * inner) {
            let start = vals.len();
            vals.extend_from_slice(&block[..inner]);
            idx.resize(start + inner, 0);
            let (bv, bi) = (&mut vals[start..], &mut idx[start..]);
            for (j, row) in block.chunks_exact(inner).enumerate().skip(1) {
                let j = j as i64;
                for ((v, i), &x) in bv.iter_mut().zip(bi.iter_mut()).zip(row) {
                    let take = arg_beats::<E, T>(x, *v);
                    *v = if take { x } else { *v };
                    *i = if take { j } else { *i };
                }
            }
        }
    }
    (vals, idx)
}

impl<T: Float> Tensor<T> {
    /// The sum of all elements as a 0-d tensor (0 for an empty tensor), like `torch.sum(x)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(x.sum().item(), 10.0);
    /// ```
    pub fn sum(&self) -> Tensor<T> {
        Tensor::scalar(sum_elements(self))
    }

    /// The sum over `dim` (negative counts from the end), keeping it as size 1 with `keepdim`,
    /// like `torch.sum(x, dim, keepdim)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(x.sum_dim(0, false).to_vec(), vec![5.0, 7.0, 9.0]);
    /// assert_eq!(x.sum_dim(-1, true).shape(), &[2, 1]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range; [`Tensor::try_sum_dim`] returns the error.
    #[track_caller]
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Tensor<T> {
        ok(self.try_sum_dim(dim, keepdim))
    }

    /// `sum_dim` returning an error for a dim out of range.
    pub fn try_sum_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor<T>> {
        self.sum_dims_impl("sum_dim", &[dim], keepdim)
    }

    /// The sum over several dims at once, like `torch.sum(x, dims, keepdim)`. As in PyTorch, an
    /// empty `dims` sums over every dim.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::<f32>::ones(&[2, 3, 4]);
    /// assert_eq!(x.sum_dims(&[0, -1], false).to_vec(), vec![8.0, 8.0, 8.0]);
    /// ```
    ///
    /// # Panics
    /// If a dim is out of range or repeated; [`Tensor::try_sum_dims`] returns the error.
    #[track_caller]
    pub fn sum_dims(&self, dims: &[isize], keepdim: bool) -> Tensor<T> {
        ok(self.try_sum_dims(dims, keepdim))
    }

    /// `sum_dims` returning an error for a dim out of range or repeated.
    pub fn try_sum_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        self.sum_dims_impl("sum_dims", dims, keepdim)
    }

    /// Which dims `dims` names (all of them when empty), as a "kept" mask.
    fn keep_mask(&self, op: &'static str, dims: &[isize]) -> Result<Vec<bool>> {
        let n = self.ndim();
        if dims.is_empty() {
            return Ok(vec![false; n]);
        }
        let mut keep = vec![true; n.max(1)];
        for &d in dims {
            let i = self.dim_index(op, d)?;
            if !keep[i] {
                return Err(TensorError::invalid(
                    op,
                    format!(
                        "dim {i} appears multiple times in the list of dims {dims:?} (shape {:?})",
                        self.shape()
                    ),
                ));
            }
            keep[i] = false;
        }
        keep.truncate(n);
        Ok(keep)
    }

    fn sum_dims_impl(&self, op: &'static str, dims: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        let keep = self.keep_mask(op, dims)?;
        if keep.iter().all(|&k| k) {
            // Nothing to reduce: a 0-d tensor summed over its dim 0 / -1 is itself.
            return Ok(self.clone());
        }
        let shape: Vec<usize> = self
            .shape()
            .iter()
            .zip(&keep)
            .filter(|&(_, &k)| k || keepdim)
            .map(|(&s, &k)| if k { s } else { 1 })
            .collect();
        Ok(sum_keep(self, &keep, &shape))
    }

    /// Sums a tensor that was broadcast from `shape` back to `shape`: over the leading dims
    /// `shape` lacks and over the dims where `shape` has 1 and `self` does not. This is the
    /// gradient of a broadcast (`sum_to_size` in PyTorch). Returns a cheap clone when the shapes
    /// already agree, and reduces in one pass otherwise.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let g = Tensor::<f32>::ones(&[4, 2, 3]);
    /// let b = g.sum_to(&[2, 1]);
    /// assert_eq!(b.shape(), &[2, 1]);
    /// assert_eq!(b.to_vec(), vec![12.0, 12.0]);
    /// ```
    ///
    /// # Panics
    /// If `self` could not have been broadcast from `shape`; [`Tensor::try_sum_to`] returns the
    /// error.
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Tensor<T> {
        ok(self.try_sum_to(shape))
    }

    /// `sum_to` returning an error when `shape` does not broadcast to `self`'s shape.
    pub fn try_sum_to(&self, shape: &[usize]) -> Result<Tensor<T>> {
        let own = self.shape();
        if crate::layout::same_shape(own, shape) {
            return Ok(self.clone());
        }
        let lead = own.len().wrapping_sub(shape.len());
        let fits = shape.len() <= own.len()
            && shape
                .iter()
                .zip(&own[lead..])
                .all(|(&s, &o)| s == o || s == 1);
        if !fits {
            return Err(TensorError::shapes(
                "sum_to",
                own,
                shape,
                format!(
                    "a tensor of shape {own:?} cannot have been broadcast from shape {shape:?}"
                ),
            ));
        }
        // A gradient summed to one element (a scalar parameter's): one pass, no bookkeeping.
        if shape.iter().all(|&s| s == 1) {
            return Ok(Tensor::full(shape, sum_elements(self)));
        }
        let keep: Vec<bool> = (0..own.len())
            .map(|i| i >= lead && shape[i - lead] == own[i])
            .collect();
        // The keepdim result differs from `shape` only by leading 1s: same row-major data.
        Ok(sum_keep(self, &keep, shape))
    }

    /// The mean of all elements as a 0-d tensor (NaN for an empty tensor, as in PyTorch), like
    /// `torch.mean(x)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// assert_eq!(Tensor::from_vec(vec![1.0, 2.0, 6.0], &[3]).mean().item(), 3.0);
    /// ```
    pub fn mean(&self) -> Tensor<T> {
        let n = T::cast(self.numel() as f64);
        Tensor::scalar(sum_elements(self) / n)
    }

    /// The mean over `dim`, like `torch.mean(x, dim, keepdim)` (NaN where `dim` has size 0).
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 5.0], &[2, 2]);
    /// assert_eq!(x.mean_dim(1, false).to_vec(), vec![1.5, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range; [`Tensor::try_mean_dim`] returns the error.
    #[track_caller]
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Tensor<T> {
        ok(self.try_mean_dim(dim, keepdim))
    }

    /// `mean_dim` returning an error for a dim out of range.
    pub fn try_mean_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor<T>> {
        self.mean_dims_impl("mean_dim", &[dim], keepdim)
    }

    /// The mean over several dims (every dim when `dims` is empty), like
    /// `torch.mean(x, dims, keepdim)`.
    ///
    /// # Panics
    /// If a dim is out of range or repeated; [`Tensor::try_mean_dims`] returns the error.
    #[track_caller]
    pub fn mean_dims(&self, dims: &[isize], keepdim: bool) -> Tensor<T> {
        ok(self.try_mean_dims(dims, keepdim))
    }

    /// `mean_dims` returning an error for a dim out of range or repeated.
    pub fn try_mean_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        self.mean_dims_impl("mean_dims", dims, keepdim)
    }

    fn mean_dims_impl(&self, op: &'static str, dims: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        let keep = self.keep_mask(op, dims)?;
        let count: usize = self
            .shape()
            .iter()
            .zip(&keep)
            .filter(|(_, &k)| !k)
            .map(|(&s, _)| s)
            .product();
        let mut s = self.sum_dims_impl(op, dims, keepdim)?;
        let n = T::cast(count as f64);
        s.as_slice_mut().iter_mut().for_each(|x| *x /= n);
        Ok(s)
    }

    /// The largest element as a 0-d tensor (NaN if any element is NaN), like `torch.max(x)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// assert_eq!(Tensor::from_vec(vec![1.0, 7.0, 3.0], &[3]).max().item(), 7.0);
    /// ```
    ///
    /// # Panics
    /// If the tensor is empty; [`Tensor::try_max`] returns the error.
    #[track_caller]
    pub fn max(&self) -> Tensor<T> {
        ok(self.try_max())
    }

    /// `max` returning an error for an empty tensor.
    pub fn try_max(&self) -> Result<Tensor<T>> {
        let (v, _) = self.arg_all::<Max>("max")?;
        Ok(Tensor::scalar(v))
    }

    /// The smallest element as a 0-d tensor (NaN if any element is NaN), like `torch.min(x)`.
    ///
    /// # Panics
    /// If the tensor is empty; [`Tensor::try_min`] returns the error.
    #[track_caller]
    pub fn min(&self) -> Tensor<T> {
        ok(self.try_min())
    }

    /// `min` returning an error for an empty tensor.
    pub fn try_min(&self) -> Result<Tensor<T>> {
        let (v, _) = self.arg_all::<Min>("min")?;
        Ok(Tensor::scalar(v))
    }

    /// The flat (row-major) index of the largest element as a 0-d `i64` tensor, first one on
    /// ties, the first NaN if any, like `torch.argmax(x)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 9.0, 9.0, 3.0], &[2, 2]);
    /// assert_eq!(x.argmax().item(), 1);
    /// ```
    ///
    /// # Panics
    /// If the tensor is empty; [`Tensor::try_argmax`] returns the error.
    #[track_caller]
    pub fn argmax(&self) -> Tensor<i64> {
        ok(self.try_argmax())
    }

    /// `argmax` returning an error for an empty tensor.
    pub fn try_argmax(&self) -> Result<Tensor<i64>> {
        let (_, i) = self.arg_all::<Max>("argmax")?;
        Ok(Tensor::scalar(i))
    }

    /// The flat index of the smallest element as a 0-d `i64` tensor, like `torch.argmin(x)`.
    ///
    /// # Panics
    /// If the tensor is empty; [`Tensor::try_argmin`] returns the error.
    #[track_caller]
    pub fn argmin(&self) -> Tensor<i64> {
        ok(self.try_argmin())
    }

    /// `argmin` returning an error for an empty tensor.
    pub fn try_argmin(&self) -> Result<Tensor<i64>> {
        let (_, i) = self.arg_all::<Min>("argmin")?;
        Ok(Tensor::scalar(i))
    }

    fn arg_all<E: Extreme>(&self, op: &'static str) -> Result<(T, i64)> {
        if self.numel() == 0 {
            return Err(TensorError::invalid(
                op,
                format!(
                    "cannot reduce an empty tensor (shape {:?}) without a dim; specify the reduction dim",
                    self.shape()
                ),
            ));
        }
        let data = &*self.row_major();
        let (v, i) = arg_reduce::<E, T>(data, (1, data.len(), 1));
        Ok((v[0], i[0]))
    }

    /// The largest value over `dim` and its index, like `torch.max(x, dim, keepdim)`: first
    /// occurrence on ties; a lane holding NaN gives NaN and the first NaN's index.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 4.0, 0.0, 6.0], &[2, 3]);
    /// let (v, i) = x.max_dim(1, false);
    /// assert_eq!(v.to_vec(), vec![5.0, 6.0]);
    /// assert_eq!(i.to_vec(), vec![1, 2]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or has size 0; [`Tensor::try_max_dim`] returns the error.
    #[track_caller]
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Tensor<T>, Tensor<i64>) {
        ok(self.try_max_dim(dim, keepdim))
    }

    /// `max_dim` returning an error for a dim out of range or of size 0.
    pub fn try_max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor<T>, Tensor<i64>)> {
        self.arg_dim::<Max>("max_dim", dim, keepdim)
    }

    /// The smallest value over `dim` and its index, like `torch.min(x, dim, keepdim)`.
    ///
    /// # Panics
    /// If `dim` is out of range or has size 0; [`Tensor::try_min_dim`] returns the error.
    #[track_caller]
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> (Tensor<T>, Tensor<i64>) {
        ok(self.try_min_dim(dim, keepdim))
    }

    /// `min_dim` returning an error for a dim out of range or of size 0.
    pub fn try_min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor<T>, Tensor<i64>)> {
        self.arg_dim::<Min>("min_dim", dim, keepdim)
    }

    /// The index of the largest value over `dim`, like `torch.argmax(x, dim, keepdim)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let logits = Tensor::from_vec(vec![0.1, 0.7, 0.2, 0.9, 0.05, 0.05], &[2, 3]);
    /// assert_eq!(logits.argmax_dim(-1, false).to_vec(), vec![1, 0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or has size 0; [`Tensor::try_argmax_dim`] returns the error.
    #[track_caller]
    pub fn argmax_dim(&self, dim: isize, keepdim: bool) -> Tensor<i64> {
        ok(self.try_argmax_dim(dim, keepdim))
    }

    /// `argmax_dim` returning an error for a dim out of range or of size 0.
    pub fn try_argmax_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor<i64>> {
        Ok(self.arg_dim::<Max>("argmax_dim", dim, keepdim)?.1)
    }

    /// The index of the smallest value over `dim`, like `torch.argmin(x, dim, keepdim)`.
    ///
    /// # Panics
    /// If `dim` is out of range or has size 0; [`Tensor::try_argmin_dim`] returns the error.
    #[track_caller]
    pub fn argmin_dim(&self, dim: isize, keepdim: bool) -> Tensor<i64> {
        ok(self.try_argmin_dim(dim, keepdim))
    }

    /// `argmin_dim` returning an error for a dim out of range or of size 0.
    pub fn try_argmin_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor<i64>> {
        Ok(self.arg_dim::<Min>("argmin_dim", dim, keepdim)?.1)
    }

    fn arg_dim<E: Extreme>(
        &self,
        op: &'static str,
        dim: isize,
        keepdim: bool,
    ) -> Result<(Tensor<T>, Tensor<i64>)> {
        let axis = self.dim_index(op, dim)?;
        let (outer, n, inner) = split_at_dim(self.shape(), axis);
        if n == 0 {
            return Err(TensorError::invalid(
                op,
                format!(
                    "expected reduction dim {axis} to have non-zero size (shape {:?})",
                    self.shape()
                ),
            ));
        }
        let out_shape = reduced_shape(self.shape(), axis, keepdim);
        let data = &*self.row_major();
        let (vals, idx) = arg_reduce::<E, T>(data, (outer, n, inner));
        Ok((
            Tensor::from_vec(vals, &out_shape),
            Tensor::from_vec(idx, &out_shape),
        ))
    }

    /// The variance of all elements with Bessel's `correction` (PyTorch's default is 1, the
    /// unbiased estimate; 0 gives the population variance), like `torch.var(x, correction=c)`.
    /// The divisor is `max(numel - correction, 0)`, so too few elements give NaN or infinity.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4]);
    /// assert_eq!(x.var(1).item(), 5.0 / 3.0);
    /// assert_eq!(x.var(0).item(), 1.25);
    /// ```
    pub fn var(&self, correction: usize) -> Tensor<T> {
        let a = self.view();
        let n = a.len();
        let mean = a.sum() / T::cast(n as f64);
        let sq = |acc: T, &x: &T| acc + (x - mean) * (x - mean);
        let ss = match a.as_slice_memory_order() {
            Some(s) => s.iter().fold(T::zero(), sq),
            None => a.fold(T::zero(), sq),
        };
        Tensor::scalar(ss / T::cast(n.saturating_sub(correction) as f64))
    }

    /// The variance over `dim` with Bessel's `correction` (PyTorch's default is 1), like
    /// `torch.var(x, dim, correction=c, keepdim=k)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 3.0, 2.0, 2.0], &[2, 2]);
    /// assert_eq!(x.var_dim(1, 1, false).to_vec(), vec![2.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range; [`Tensor::try_var_dim`] returns the error.
    #[track_caller]
    pub fn var_dim(&self, dim: isize, correction: usize, keepdim: bool) -> Tensor<T> {
        ok(self.try_var_dim(dim, correction, keepdim))
    }

    /// `var_dim` returning an error for a dim out of range.
    pub fn try_var_dim(&self, dim: isize, correction: usize, keepdim: bool) -> Result<Tensor<T>> {
        let axis = self.dim_index("var_dim", dim)?;
        let (outer, n, inner) = split_at_dim(self.shape(), axis);
        let out_shape = reduced_shape(self.shape(), axis, keepdim);
        let divisor = T::cast(n.saturating_sub(correction) as f64);
        let nf = T::cast(n as f64);
        if n == 0 {
            let nan = T::nan();
            return Ok(Tensor::full(&out_shape, nan));
        }
        let data = &*self.row_major();
        let mut out = Vec::with_capacity(outer * inner);
        if inner == 1 {
            for lane in data.chunks_exact(n) {
                let mean = slice_sum(lane) / nf;
                let ss = lane
                    .iter()
                    .fold(T::zero(), |acc, &x| acc + (x - mean) * (x - mean));
                out.push(ss / divisor);
            }
        } else if inner > 0 {
            let mut means = vec![T::zero(); inner];
            for block in data.chunks_exact(n * inner) {
                means.iter_mut().for_each(|m| *m = T::zero());
                for row in block.chunks_exact(inner) {
                    means.iter_mut().zip(row).for_each(|(m, &x)| *m += x);
                }
                means.iter_mut().for_each(|m| *m /= nf);
                let start = out.len();
                out.resize(start + inner, T::zero());
                let acc = &mut out[start..];
                for row in block.chunks_exact(inner) {
                    for ((s, &m), &x) in acc.iter_mut().zip(&means).zip(row) {
                        *s += (x - m) * (x - m);
                    }
                }
                acc.iter_mut().for_each(|s| *s /= divisor);
            }
        }
        Ok(Tensor::from_vec(out, &out_shape))
    }

    /// The standard deviation of all elements with Bessel's `correction` (PyTorch's default is
    /// 1), like `torch.std(x, correction=c)`.
    pub fn std(&self, correction: usize) -> Tensor<T> {
        self.var(correction).sqrt()
    }

    /// The standard deviation over `dim` with Bessel's `correction`, like
    /// `torch.std(x, dim, correction=c, keepdim=k)`.
    ///
    /// # Panics
    /// If `dim` is out of range; [`Tensor::try_std_dim`] returns the error.
    #[track_caller]
    pub fn std_dim(&self, dim: isize, correction: usize, keepdim: bool) -> Tensor<T> {
        ok(self.try_std_dim(dim, correction, keepdim))
    }

    /// `std_dim` returning an error for a dim out of range.
    pub fn try_std_dim(&self, dim: isize, correction: usize, keepdim: bool) -> Result<Tensor<T>> {
        Ok(self.try_var_dim(dim, correction, keepdim)?.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s)
    }

    /// `arange(0, n)` laid out in `shape`.
    fn iota(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        t(&(0..n).map(|i| i as f64).collect::<Vec<_>>(), shape)
    }

    fn x23() -> Tensor<f64> {
        t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])
    }

    const EMPTY: &[usize] = &[];

    #[test]
    fn sum_all_and_over_dims() {
        let x = x23();
        assert_eq!(x.sum().item(), 21.0);
        assert_eq!(x.sum().shape(), EMPTY);
        assert_eq!(x.sum_dim(0, false).to_vec(), vec![5.0, 7.0, 9.0]);
        assert_eq!(x.sum_dim(1, false).to_vec(), vec![6.0, 15.0]);
        assert_eq!(x.sum_dim(-1, false).to_vec(), vec![6.0, 15.0]);
        assert_eq!(x.sum_dim(-2, true).shape(), &[1, 3]);
        assert_eq!(x.sum_dim(-1, true).shape(), &[2, 1]);
        assert_eq!(x.sum_dims(&[0, 1], false).shape(), EMPTY);
        assert_eq!(x.sum_dims(&[1, 0], true).to_vec(), vec![21.0]);
        assert_eq!(x.sum_dims(&[1, 0], true).shape(), &[1, 1]);
        // Empty dims list: every dim, as in PyTorch.
        assert_eq!(x.sum_dims(&[], false).item(), 21.0);
        let y = iota(&[2, 3, 4]);
        // sum over dims 0 and 2 of arange(24).view(2,3,4): [0+..+3 + 12+..+15, ...]
        assert_eq!(y.sum_dims(&[0, 2], false).to_vec(), vec![60.0, 92.0, 124.0]);
        assert_eq!(y.sum_dims(&[-1, 0], true).shape(), &[1, 3, 1]);
        assert_eq!(y.sum_dim(1, false).to_vec()[..4], [12.0, 15.0, 18.0, 21.0]);
    }

    #[test]
    fn sum_column_and_row_shapes() {
        let col = t(&[1.0, 2.0, 3.0, 4.0], &[4, 1]);
        assert_eq!(col.sum_dim(0, true).to_vec(), vec![10.0]);
        assert_eq!(col.sum_dim(0, true).shape(), &[1, 1]);
        assert_eq!(col.sum_dim(1, false).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(col.sum_dim(1, false).shape(), &[4]);
    }

    #[test]
    fn sum_of_scalar_and_empty() {
        let s = Tensor::scalar(3.0f64);
        assert_eq!(s.sum().item(), 3.0);
        assert_eq!(s.sum_dim(0, false).shape(), EMPTY);
        assert_eq!(s.sum_dim(-1, true).item(), 3.0);
        assert!(s.try_sum_dim(1, false).is_err());
        let e = Tensor::<f64>::zeros(&[0, 3]);
        assert_eq!(e.sum().item(), 0.0);
        assert_eq!(e.sum_dim(0, false).to_vec(), vec![0.0; 3]);
        assert_eq!(e.sum_dim(1, false).shape(), &[0]);
        assert_eq!(e.sum_dim(1, true).shape(), &[0, 1]);
    }

    #[test]
    fn sum_errors_name_the_op() {
        let x = x23();
        let err = x.try_sum_dim(2, false).unwrap_err().to_string();
        assert!(err.contains("sum_dim") && err.contains("[2, 3]"), "{err}");
        let err = x.try_sum_dims(&[1, -1], false).unwrap_err().to_string();
        assert!(err.contains("appears multiple times"), "{err}");
    }

    #[test]
    #[should_panic(expected = "dimension -3 out of range")]
    fn sum_dim_panics_with_message() {
        let _ = x23().sum_dim(-3, false);
    }

    #[test]
    fn sums_of_transposed_layout_agree() {
        let arr = ndarray::Array2::from_shape_vec((3, 2), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0])
            .unwrap()
            .into_dyn();
        // Logically [[1,2,3],[4,5,6]] in column-major storage.
        let x = Tensor::from_array(arr.reversed_axes());
        assert!(x.view().as_slice().is_none());
        assert_eq!(x.sum_dim(0, false).to_vec(), vec![5.0, 7.0, 9.0]);
        assert_eq!(x.sum_dim(1, true).to_vec(), vec![6.0, 15.0]);
        assert_eq!(x.sum_to(&[3]).to_vec(), vec![5.0, 7.0, 9.0]);
        assert_eq!(x.sum_to(&[2, 1]).to_vec(), vec![6.0, 15.0]);
        assert_eq!(x.max_dim(0, false).1.to_vec(), vec![1, 1, 1]);
        assert_eq!(x.var_dim(1, 1, false).to_vec(), vec![1.0, 1.0]);
    }

    #[test]
    fn sum_to_undoes_broadcasting() {
        let g = iota(&[2, 3, 4]);
        let same = g.sum_to(&[2, 3, 4]);
        assert!(same.ptr_eq(&g));
        assert_eq!(g.sum_to(&[]).item(), 276.0);
        assert_eq!(g.sum_to(&[4]).to_vec(), vec![60.0, 66.0, 72.0, 78.0]);
        assert_eq!(g.sum_to(&[3, 1]).to_vec(), vec![60.0, 92.0, 124.0]);
        assert_eq!(g.sum_to(&[3, 1]).shape(), &[3, 1]);
        assert_eq!(g.sum_to(&[2, 1, 1]).to_vec(), vec![66.0, 210.0]);
        assert_eq!(g.sum_to(&[1, 3, 4]).shape(), &[1, 3, 4]);
        assert_eq!(g.sum_to(&[1, 3, 4]).to_vec()[0], 12.0);
        // [80, 1] gradient of a broadcast [1] parameter.
        let col = Tensor::<f64>::ones(&[80, 1]);
        assert_eq!(col.sum_to(&[1]).to_vec(), vec![80.0]);
        assert_eq!(col.sum_to(&[]).shape(), EMPTY);
        assert_eq!(
            Tensor::<f64>::zeros(&[0, 3]).sum_to(&[3]).to_vec(),
            vec![0.0; 3]
        );
    }

    #[test]
    fn sum_to_rejects_shapes_that_do_not_broadcast() {
        let g = Tensor::<f64>::zeros(&[2, 3]);
        for bad in [&[2][..], &[3, 3], &[1, 2, 3], &[2, 2]] {
            let err = g.try_sum_to(bad).unwrap_err().to_string();
            assert!(err.contains("sum_to") && err.contains("[2, 3]"), "{err}");
        }
    }

    #[test]
    fn mean_hand_checked_and_empty_is_nan() {
        let x = x23();
        assert_eq!(x.mean().item(), 3.5);
        assert_eq!(x.mean_dim(0, false).to_vec(), vec![2.5, 3.5, 4.5]);
        assert_eq!(x.mean_dim(-1, true).to_vec(), vec![2.0, 5.0]);
        assert_eq!(x.mean_dim(-1, true).shape(), &[2, 1]);
        assert_eq!(x.mean_dims(&[0, 1], false).item(), 3.5);
        assert!(Tensor::<f64>::zeros(&[0]).mean().item().is_nan());
        let m = Tensor::<f64>::zeros(&[0, 2]).mean_dim(0, false);
        assert_eq!(m.shape(), &[2]);
        assert!(m.to_vec().iter().all(|v| v.is_nan()));
        assert_eq!(Tensor::scalar(4.0f64).mean().item(), 4.0);
    }

    #[test]
    fn max_min_and_indices() {
        let x = t(&[3.0, 1.0, 3.0, -1.0, 5.0, 5.0], &[2, 3]);
        assert_eq!(x.max().item(), 5.0);
        assert_eq!(x.min().item(), -1.0);
        assert_eq!(x.argmax().item(), 4);
        assert_eq!(x.argmin().item(), 3);
        let (v, i) = x.max_dim(1, false);
        assert_eq!(v.to_vec(), vec![3.0, 5.0]);
        assert_eq!(i.to_vec(), vec![0, 1]); // first occurrence on ties
        let (v, i) = x.min_dim(0, true);
        assert_eq!(v.shape(), &[1, 3]);
        assert_eq!(v.to_vec(), vec![-1.0, 1.0, 3.0]);
        assert_eq!(i.to_vec(), vec![1, 0, 0]);
        assert_eq!(x.argmax_dim(-2, false).to_vec(), vec![0, 1, 1]);
        assert_eq!(x.argmin_dim(-1, true).to_vec(), vec![1, 0]);
        assert_eq!(x.argmin_dim(-1, true).shape(), &[2, 1]);
        assert_eq!(x.argmax().dtype(), "int64");
    }

    #[test]
    fn max_propagates_nan_with_its_index() {
        let x = t(&[1.0, f64::NAN, 7.0, f64::NAN, 2.0, 0.0], &[2, 3]);
        assert!(x.max().item().is_nan());
        assert!(x.min().item().is_nan());
        assert_eq!(x.argmax().item(), 1);
        assert_eq!(x.argmin().item(), 1);
        let (v, i) = x.max_dim(1, false);
        assert!(v.to_vec().iter().all(|v| v.is_nan()));
        assert_eq!(i.to_vec(), vec![1, 0]);
        let (v, i) = x.min_dim(0, false);
        assert!(v.to_vec()[0].is_nan() && v.to_vec()[1].is_nan());
        assert_eq!(v.to_vec()[2], 0.0);
        assert_eq!(i.to_vec(), vec![1, 0, 1]);
    }

    #[test]
    fn long_lanes_use_every_accumulator() {
        // 21 values: the eight-lane loop plus a remainder.
        let mut v: Vec<f64> = (0..21).map(|i| ((i * 7) % 11) as f64).collect();
        // Largest 10.0 first at i = 3 (21 % 11 = 10) and again at i = 14; smallest 0 at 0, 11.
        assert_eq!(t(&v, &[21]).argmax().item(), 3);
        assert_eq!(t(&v, &[21]).argmin().item(), 0);
        assert_eq!(t(&v, &[21]).max().item(), 10.0);
        v[20] = 99.0; // in the remainder
        assert_eq!(t(&v, &[21]).argmax().item(), 20);
        v[13] = f64::NAN;
        v[17] = f64::NAN;
        let x = t(&v, &[21]);
        assert!(x.max().item().is_nan() && x.min().item().is_nan());
        assert_eq!((x.argmax().item(), x.argmin().item()), (13, 13));
        // The same values down a column (inner > 1 path): [21, 2] with a constant column.
        let mut w = Vec::new();
        for &a in &v {
            w.extend([a, 1.0]);
        }
        let (mv, mi) = t(&w, &[21, 2]).max_dim(0, false);
        assert!(mv.to_vec()[0].is_nan());
        assert_eq!(mv.to_vec()[1], 1.0);
        assert_eq!(mi.to_vec(), vec![13, 0]);
        let single = t(&[f64::NAN], &[1]);
        assert_eq!(single.argmax().item(), 0);
        assert_eq!(t(&[-0.0, 0.0, 0.0], &[3]).argmax().item(), 0);
    }

    #[test]
    fn max_of_scalar_and_empty() {
        let s = Tensor::scalar(2.0f64);
        assert_eq!(s.max().item(), 2.0);
        assert_eq!(s.argmax().item(), 0);
        let (v, i) = s.max_dim(-1, true);
        assert_eq!((v.shape(), i.shape()), (EMPTY, EMPTY));
        assert_eq!((v.item(), i.item()), (2.0, 0));
        let e = Tensor::<f64>::zeros(&[0, 3]);
        let err = e.try_max().unwrap_err().to_string();
        assert!(err.contains("max") && err.contains("[0, 3]"), "{err}");
        assert!(e.try_argmin().is_err());
        assert!(e.try_max_dim(0, false).is_err());
        let (v, i) = e.max_dim(1, false);
        assert_eq!((v.shape(), i.shape()), (&[0][..], &[0][..]));
    }

    #[test]
    #[should_panic(expected = "non-zero size")]
    fn argmax_dim_of_empty_dim_panics() {
        let _ = Tensor::<f64>::zeros(&[2, 0]).argmax_dim(1, false);
    }

    #[test]
    fn variance_and_std() {
        let x = t(&[1.0, 2.0, 3.0, 4.0], &[4]);
        assert_eq!(x.var(1).item(), 5.0 / 3.0);
        assert_eq!(x.var(0).item(), 1.25);
        assert_eq!(x.std(0).item(), 1.25f64.sqrt());
        let y = t(&[1.0, 5.0, 2.0, 2.0, 3.0, 8.0], &[3, 2]);
        assert_eq!(y.var_dim(1, 1, false).to_vec(), vec![8.0, 0.0, 12.5]);
        assert_eq!(y.var_dim(0, 0, true).shape(), &[1, 2]);
        assert_eq!(y.var_dim(-2, 0, true).to_vec(), vec![2.0 / 3.0, 6.0]);
        assert_eq!(y.std_dim(1, 1, false).to_vec()[0], 8f64.sqrt());
        // Too few elements for the correction: NaN (0/0) as in PyTorch.
        assert!(Tensor::scalar(3.0f64).var(1).item().is_nan());
        assert_eq!(Tensor::scalar(3.0f64).var(0).item(), 0.0);
        assert!(y.var_dim(1, 2, false).to_vec()[1].is_nan());
        assert!(Tensor::<f64>::zeros(&[0]).var(1).item().is_nan());
        let e = Tensor::<f64>::zeros(&[0, 2]).var_dim(0, 1, false);
        assert_eq!(e.shape(), &[2]);
        assert!(e.to_vec().iter().all(|v| v.is_nan()));
        assert!(x.try_var_dim(1, 1, false).is_err());
    }

    #[test]
    fn f32_reductions() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(x.sum().item(), 10.0f32);
        assert_eq!(x.sum_to(&[2]).to_vec(), vec![4.0f32, 6.0]);
        assert_eq!(x.mean_dim(0, false).to_vec(), vec![2.0f32, 3.0]);
    }
}
