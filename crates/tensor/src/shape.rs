//! Shape ops: `reshape`, `squeeze`/`unsqueeze`, `flatten`, `broadcast_to`, `transpose`/
//! `permute`/`t` and `contiguous`.
//!
//! Each is a view: a new layout over the same storage, O(1) whatever the size, as in PyTorch.
//! Only `reshape` of a layout that no strides can show in the new shape copies (as
//! `torch.reshape` does), and `contiguous` copies a tensor that is not in row-major order.

use ndarray::{Dimension, IxDyn};

use crate::element::Element;
use crate::error::{ok, Result, TensorError};
use crate::layout::{self, view_strides};
use crate::tensor::Tensor;

/// `(outer, size, inner)`: the product of the sizes before `d`, the size of `d` and the product
/// of the sizes after `d`. A 0-d shape counts as `[1]`.
pub(crate) fn split_at_dim(shape: &[usize], d: usize) -> (usize, usize, usize) {
    if shape.is_empty() {
        return (1, 1, 1);
    }
    (
        shape[..d].iter().product(),
        shape[d],
        shape[d + 1..].iter().product(),
    )
}

/// Row-major strides (in elements) of a standard-layout array of `shape`.
pub(crate) fn standard_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    layout::standard_strides(shape, &mut strides);
    strides
}

/// The concrete shape `shape` (with at most one `-1`) stands for, for `numel` elements.
fn infer_shape(shape: &[isize], numel: usize, from: &[usize]) -> Result<Vec<usize>> {
    let invalid = |why: String| {
        TensorError::invalid(
            "reshape",
            format!("cannot reshape a tensor of shape {from:?} ({numel} elements) into shape {shape:?}: {why}"),
        )
    };
    let mut inferred = None;
    let mut known = 1usize;
    for (i, &s) in shape.iter().enumerate() {
        if s == -1 {
            if inferred.is_some() {
                return Err(invalid("only one dimension can be -1".into()));
            }
            inferred = Some(i);
        } else if s < 0 {
            return Err(invalid(format!("invalid size {s}")));
        } else {
            known = known
                .checked_mul(s as usize)
                .ok_or_else(|| invalid("the sizes overflow".into()))?;
        }
    }
    let mut out: Vec<usize> = shape.iter().map(|&s| s.max(0) as usize).collect();
    match inferred {
        Some(i) => {
            if known == 0 {
                return Err(invalid(
                    "the size of -1 is ambiguous next to a size 0".into(),
                ));
            }
            if numel / known * known != numel {
                return Err(invalid(format!("{numel} is not a multiple of {known}")));
            }
            out[i] = numel / known;
        }
        None if known != numel => {
            return Err(invalid(format!("that shape holds {known} elements")));
        }
        None => {}
    }
    Ok(out)
}

impl<T: Element> Tensor<T> {
    /// The same elements in row-major order with a new shape; one size may be `-1` and is
    /// inferred, like `tensor.reshape`. A view of the same storage (O(1)) whenever strides
    /// can show the new shape, a copy otherwise, as in PyTorch.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 6.0, 1.0);
    /// let y = x.reshape(&[-1, 3]);
    /// assert_eq!(y.shape(), &[2, 3]);
    /// assert_eq!(y.to_vec(), x.to_vec());
    /// assert!(y.ptr_eq(&x)); // a view
    /// ```
    ///
    /// # Panics
    /// If the shape does not hold `numel` elements; [`Tensor::try_reshape`] returns the error.
    #[track_caller]
    pub fn reshape(&self, shape: &[isize]) -> Tensor<T> {
        ok(self.try_reshape(shape))
    }

    /// `reshape` returning an error that names both shapes.
    pub fn try_reshape(&self, shape: &[isize]) -> Result<Tensor<T>> {
        let new = infer_shape(shape, self.numel(), self.shape())?;
        if new == self.shape() {
            return Ok(self.clone());
        }
        Ok(match view_strides(self.shape(), self.strides(), &new) {
            Some(strides) => self.with_layout(&new, &strides, self.storage_offset()),
            None => Tensor::from_contiguous(self.to_vec(), &new),
        })
    }

    /// `reshape` that only ever gives a view, like `tensor.view(shape)`: an error when the
    /// layout cannot show the new shape without a copy (call `contiguous` or `reshape`).
    pub fn try_view(&self, shape: &[isize]) -> Result<Tensor<T>> {
        let new = infer_shape(shape, self.numel(), self.shape())?;
        let strides = view_strides(self.shape(), self.strides(), &new).ok_or_else(|| {
            TensorError::invalid(
                "view",
                format!(
                    "view size {new:?} is not compatible with the input's size {:?} and strides {:?} (at least one dimension spans across two contiguous subspaces); use reshape instead",
                    self.shape(),
                    self.strides()
                ),
            )
        })?;
        Ok(self.with_layout(&new, &strides, self.storage_offset()))
    }

    /// `reshape` taking the tensor by value (kept for callers that own their tensor; the same
    /// O(1) view).
    ///
    /// # Panics
    /// If the shape does not hold `numel` elements.
    #[track_caller]
    pub fn into_reshape(self, shape: &[isize]) -> Tensor<T> {
        ok(self.try_reshape(shape))
    }

    /// `into_reshape` returning an error that names both shapes.
    pub fn try_into_reshape(self, shape: &[isize]) -> Result<Tensor<T>> {
        self.try_reshape(shape)
    }

    /// This tensor's layout without the dimensions `drop` picks (each of size 1).
    fn without_dims(&self, drop: impl Fn(usize) -> bool) -> Tensor<T> {
        let (mut shape, mut strides) = (Vec::new(), Vec::new());
        for (d, (&n, &s)) in self.shape().iter().zip(self.strides()).enumerate() {
            if !drop(d) {
                shape.push(n);
                strides.push(s);
            }
        }
        self.with_layout(&shape, &strides, self.storage_offset())
    }

    /// Removes every dimension of size 1, like `tensor.squeeze()`.
    pub fn squeeze(&self) -> Tensor<T> {
        self.without_dims(|d| self.shape()[d] == 1)
    }

    /// Removes dimension `dim` if its size is 1 and otherwise returns the tensor unchanged,
    /// like `tensor.squeeze(dim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn squeeze_dim(&self, dim: isize) -> Tensor<T> {
        ok(self.try_squeeze_dim(dim))
    }

    /// `squeeze_dim` returning an error for a dimension out of range.
    pub fn try_squeeze_dim(&self, dim: isize) -> Result<Tensor<T>> {
        let d = self.dim_index("squeeze", dim)?;
        if self.ndim() == 0 || self.shape()[d] != 1 {
            return Ok(self.clone());
        }
        Ok(self.without_dims(|i| i == d))
    }

    /// Inserts a dimension of size 1 at `dim` (in `-(ndim + 1)..=ndim`), like
    /// `tensor.unsqueeze(dim)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::<f32>::zeros(&[2, 3]);
    /// assert_eq!(x.unsqueeze(0).shape(), &[1, 2, 3]);
    /// assert_eq!(x.unsqueeze(-1).shape(), &[2, 3, 1]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn unsqueeze(&self, dim: isize) -> Tensor<T> {
        ok(self.try_unsqueeze(dim))
    }

    /// `unsqueeze` returning an error for a dimension out of range.
    pub fn try_unsqueeze(&self, dim: isize) -> Result<Tensor<T>> {
        let d = new_dim_index("unsqueeze", dim, self.shape())?;
        let mut shape = self.shape().to_vec();
        let mut strides = self.strides().to_vec();
        // PyTorch's stride for the new dim: what a contiguous tensor would have there.
        let stride = if d < shape.len() {
            shape[d] * strides[d]
        } else {
            1
        };
        shape.insert(d, 1);
        strides.insert(d, stride);
        Ok(self.with_layout(&shape, &strides, self.storage_offset()))
    }

    /// Merges dimensions `start_dim..=end_dim` into one, like `torch.flatten`; a 0-d tensor
    /// becomes shape `[1]`. A view when the merged dimensions are contiguous with each other.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::<f32>::zeros(&[2, 3, 4]);
    /// assert_eq!(x.flatten(1, -1).shape(), &[2, 12]);
    /// assert_eq!(x.flatten(0, -1).shape(), &[24]);
    /// ```
    ///
    /// # Panics
    /// If a dimension is out of range or `start_dim` comes after `end_dim`.
    #[track_caller]
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Tensor<T> {
        ok(self.try_flatten(start_dim, end_dim))
    }

    /// `flatten` returning an error for dimensions out of range or in the wrong order.
    pub fn try_flatten(&self, start_dim: isize, end_dim: isize) -> Result<Tensor<T>> {
        let s = self.dim_index("flatten", start_dim)?;
        let e = self.dim_index("flatten", end_dim)?;
        if s > e {
            return Err(TensorError::invalid(
                "flatten",
                format!(
                    "start_dim {start_dim} comes after end_dim {end_dim} (shape {:?})",
                    self.shape()
                ),
            ));
        }
        if self.ndim() == 0 {
            return self.try_reshape(&[1]);
        }
        let shape = self.shape();
        let mut new: Vec<isize> = shape[..s].iter().map(|&n| n as isize).collect();
        new.push(shape[s..=e].iter().product::<usize>() as isize);
        new.extend(shape[e + 1..].iter().map(|&n| n as isize));
        self.try_reshape(&new)
    }

    /// The tensor expanded to `shape` by NumPy's broadcasting rules, like
    /// `tensor.broadcast_to(shape)`: a view whose broadcast dimensions have stride 0 (O(1);
    /// write to a copy, e.g. `contiguous()`).
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1]);
    /// assert_eq!(x.broadcast_to(&[2, 3]).to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If the tensor does not broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor<T> {
        ok(self.try_broadcast_to(shape))
    }

    /// `broadcast_to` returning an error that names both shapes.
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Tensor<T>> {
        if crate::layout::same_shape(self.shape(), shape) {
            return Ok(self.clone());
        }
        let error = || TensorError::Broadcast {
            op: "broadcast_to",
            lhs: self.shape().to_vec(),
            rhs: shape.to_vec(),
        };
        let n = shape.len();
        let lead = n.checked_sub(self.ndim()).ok_or_else(error)?;
        // Inline up to 4 dims: a small op's gradient is expanded every backward.
        let mut strides = IxDyn::zeros(n);
        for d in 0..self.ndim() {
            let (have, want) = (self.shape()[d], shape[lead + d]);
            if have == want {
                strides[lead + d] = self.strides()[d];
            } else if have != 1 {
                return Err(error());
            }
        }
        crate::layout::checked_numel("broadcast_to", shape)?;
        Ok(self.with_layout(shape, strides.slice(), self.storage_offset()))
    }

    /// `broadcast_to` with PyTorch's `expand` sizes: `-1` keeps a dimension's size, and new
    /// leading dimensions may be added.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1, 2, 3i64], &[3, 1]);
    /// assert_eq!(x.expand(&[2, -1, 2]).shape(), &[2, 3, 2]);
    /// ```
    ///
    /// # Panics
    /// If the sizes do not fit the tensor's; [`Tensor::try_expand`] returns the error.
    #[track_caller]
    pub fn expand(&self, sizes: &[isize]) -> Tensor<T> {
        ok(self.try_expand(sizes))
    }

    /// `expand` returning an error that names the shape and the sizes.
    pub fn try_expand(&self, sizes: &[isize]) -> Result<Tensor<T>> {
        let lead = sizes.len().checked_sub(self.ndim()).ok_or_else(|| {
            TensorError::invalid(
                "expand",
                format!(
                    "the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({})",
                    sizes.len(),
                    self.ndim()
                ),
            )
        })?;
        let mut shape = Vec::with_capacity(sizes.len());
        for (i, &s) in sizes.iter().enumerate() {
            shape.push(match s {
                -1 if i >= lead => self.shape()[i - lead],
                s if s >= 0 => s as usize,
                _ => {
                    return Err(TensorError::invalid(
                        "expand",
                        format!(
                            "invalid size {s} at dimension {i} for shape {:?}",
                            self.shape()
                        ),
                    ))
                }
            });
        }
        self.try_broadcast_to(&shape).map_err(|_| {
            TensorError::invalid(
                "expand",
                format!(
                    "the expanded size {sizes:?} must match the existing size {:?} at each non-singleton dimension",
                    self.shape()
                ),
            )
        })
    }

    /// Swaps dimensions `dim0` and `dim1`, like `tensor.transpose(dim0, dim1)`: a view.
    ///
    /// # Panics
    /// If a dimension is out of range.
    #[track_caller]
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Tensor<T> {
        ok(self.try_transpose(dim0, dim1))
    }

    /// `transpose` returning an error for a dimension out of range.
    pub fn try_transpose(&self, dim0: isize, dim1: isize) -> Result<Tensor<T>> {
        let a = self.dim_index("transpose", dim0)?;
        let b = self.dim_index("transpose", dim1)?;
        if a == b || self.ndim() == 0 {
            return Ok(self.clone());
        }
        let (mut shape, mut strides) = (self.shape().to_vec(), self.strides().to_vec());
        shape.swap(a, b);
        strides.swap(a, b);
        Ok(self.with_layout(&shape, &strides, self.storage_offset()))
    }

    /// The matrix transpose, like `tensor.t()`: 0-d and 1-d tensors come back unchanged, 2-d
    /// ones swap their dimensions.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1, 2, 3, 4, 5, 6i64], &[2, 3]);
    /// assert_eq!(x.t().shape(), &[3, 2]);
    /// assert_eq!(x.t().to_vec(), vec![1, 4, 2, 5, 3, 6]);
    /// ```
    ///
    /// # Panics
    /// If the tensor has more than 2 dimensions (use `transpose` or `permute`).
    #[track_caller]
    pub fn t(&self) -> Tensor<T> {
        ok(self.try_t())
    }

    /// `t` returning an error for tensors with more than 2 dimensions.
    pub fn try_t(&self) -> Result<Tensor<T>> {
        match self.ndim() {
            0 | 1 => Ok(self.clone()),
            2 => self.try_transpose(0, 1),
            _ => Err(TensorError::invalid(
                "t",
                format!(
                    "expects a tensor with <= 2 dimensions, but got shape {:?} (use transpose or permute)",
                    self.shape()
                ),
            )),
        }
    }

    /// Reorders the dimensions: dimension `i` of the result is dimension `dims[i]` of `self`,
    /// like `tensor.permute(dims)`: a view.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::<f32>::zeros(&[2, 3, 4]);
    /// assert_eq!(x.permute(&[2, 0, 1]).shape(), &[4, 2, 3]);
    /// assert_eq!(x.permute(&[-1, 0, 1]).shape(), &[4, 2, 3]);
    /// ```
    ///
    /// # Panics
    /// If `dims` is not a permutation of the dimensions.
    #[track_caller]
    pub fn permute(&self, dims: &[isize]) -> Tensor<T> {
        ok(self.try_permute(dims))
    }

    /// `permute` returning an error when `dims` is not a permutation of the dimensions.
    pub fn try_permute(&self, dims: &[isize]) -> Result<Tensor<T>> {
        let n = self.ndim();
        let not_permutation = || {
            TensorError::invalid(
                "permute",
                format!(
                    "dims {dims:?} are not a permutation of the {n} dimensions of shape {:?}",
                    self.shape()
                ),
            )
        };
        if dims.len() != n {
            return Err(not_permutation());
        }
        let (mut shape, mut strides) = (vec![0; n], vec![0; n]);
        let mut seen = vec![false; n];
        for (i, &dim) in dims.iter().enumerate() {
            let d = self.dim_index("permute", dim)?;
            if seen[d] {
                return Err(not_permutation());
            }
            seen[d] = true;
            shape[i] = self.shape()[d];
            strides[i] = self.strides()[d];
        }
        Ok(self.with_layout(&shape, &strides, self.storage_offset()))
    }

    /// `permute` taking the tensor by value (the same O(1) view).
    ///
    /// # Panics
    /// If `dims` is not a permutation of the dimensions.
    #[track_caller]
    pub fn into_permute(self, dims: &[isize]) -> Tensor<T> {
        ok(self.try_permute(dims))
    }

    /// `into_permute` returning an error when `dims` is not a permutation of the dimensions.
    pub fn try_into_permute(self, dims: &[isize]) -> Result<Tensor<T>> {
        self.try_permute(dims)
    }

    /// The tensor with its elements in row-major order: itself (shared, no copy) when it
    /// already is, like `tensor.contiguous()`.
    pub fn contiguous(&self) -> Tensor<T> {
        if self.is_contiguous() {
            return self.clone();
        }
        Tensor::from_contiguous(self.to_vec(), self.shape())
    }
}

/// The index of a new dimension `dim` in `-(ndim + 1)..=ndim` (for `unsqueeze` and `stack`).
pub(crate) fn new_dim_index(op: &'static str, dim: isize, shape: &[usize]) -> Result<usize> {
    let n = shape.len() as isize;
    if dim < -(n + 1) || dim > n {
        return Err(TensorError::invalid(
            op,
            format!(
                "dimension {dim} out of range for a new dimension of a tensor of shape {shape:?} (expected {}..={n})",
                -(n + 1)
            ),
        ));
    }
    Ok(if dim < 0 { dim + n + 1 } else { dim } as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_to_copies_rows_like_ndarrays_broadcast_view() {
        for (from, to) in [
            (vec![2, 1, 3], vec![2, 4, 3]),
            (vec![3], vec![2, 3]),
            (vec![2, 1], vec![2, 3]),
            (vec![1, 3, 1], vec![2, 3, 4]),
            (vec![4], vec![4]),
            (vec![2, 2], vec![3, 2, 2]),
        ] {
            let n: usize = from.iter().product();
            let x = Tensor::from_vec((0..n).map(|i| i as f64).collect(), &from);
            let want: Vec<f64> = x
                .view()
                .broadcast(IxDyn(&to))
                .unwrap()
                .iter()
                .copied()
                .collect();
            let got = x.broadcast_to(&to);
            assert_eq!(got.shape(), to.as_slice());
            assert_eq!(got.to_vec(), want, "{from:?} -> {to:?}");
        }
        // A single element fills; an empty target stays empty.
        assert_eq!(
            Tensor::scalar(2.0f32).broadcast_to(&[2, 2]).to_vec(),
            vec![2.0; 4]
        );
        assert_eq!(
            Tensor::<f32>::zeros(&[1, 3]).broadcast_to(&[0, 3]).shape(),
            &[0, 3]
        );
    }

    fn seq(shape: &[usize]) -> Tensor<f64> {
        let n = shape.iter().product::<usize>();
        Tensor::from_vec((0..n).map(|i| i as f64).collect(), shape)
    }

    #[test]
    fn reshape_infers_one_dim_and_keeps_order() {
        let x = seq(&[2, 3]);
        assert_eq!(x.reshape(&[3, -1]).shape(), &[3, 2]);
        assert_eq!(
            x.reshape(&[-1]).to_vec(),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(x.reshape(&[6, 1, 1]).shape(), &[6, 1, 1]);
        // 0-d <-> one element.
        let s = Tensor::scalar(7i64);
        assert_eq!(s.reshape(&[1, 1]).to_vec(), vec![7]);
        assert_eq!(s.reshape(&[1, 1]).reshape(&[]).shape(), &[] as &[usize]);
        // Empty tensors.
        let e = Tensor::<f64>::zeros(&[0, 3]);
        assert_eq!(e.reshape(&[3, 0]).shape(), &[3, 0]);
        assert_eq!(e.reshape(&[-1, 3]).shape(), &[0, 3]);
    }

    #[test]
    fn reshape_of_a_transpose_is_row_major_of_the_transpose() {
        let x = seq(&[2, 3]).t();
        assert!(!x.is_contiguous());
        // x = [[0, 3], [1, 4], [2, 5]]
        assert_eq!(
            x.reshape(&[-1]).to_vec(),
            vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
        );
        assert_eq!(
            x.reshape(&[2, 3]).to_vec(),
            vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
        );
        assert!(x.reshape(&[2, 3]).is_contiguous());
    }

    #[test]
    fn view_ops_share_storage_with_pytorchs_strides() {
        // Strides and offsets checked against PyTorch 2.x (`.stride()`, `.storage_offset()`).
        type Case<'a> = (Tensor<f64>, &'a [usize], &'a [usize], usize);
        let x = seq(&[2, 3, 4]);
        let cases: Vec<Case> = vec![
            (x.reshape(&[6, 4]), &[6, 4], &[4, 1], 0),
            (x.transpose(0, 2), &[4, 3, 2], &[1, 4, 12], 0),
            (x.permute(&[1, 2, 0]), &[3, 4, 2], &[4, 1, 12], 0),
            (x.unsqueeze(1), &[2, 1, 3, 4], &[12, 12, 4, 1], 0),
            (x.unsqueeze(3), &[2, 3, 4, 1], &[12, 4, 1, 1], 0),
            (x.narrow(2, 1, 2), &[2, 3, 2], &[12, 4, 1], 1),
            (x.select(1, 2), &[2, 4], &[12, 1], 8),
            (x.slice(2, 0, 4, 2), &[2, 3, 2], &[12, 4, 2], 0),
            (seq(&[3, 1]).expand(&[2, 3, 4]), &[2, 3, 4], &[0, 1, 0], 0),
            (
                x.transpose(0, 1).reshape(&[3, 2, 2, 2]),
                &[3, 2, 2, 2],
                &[4, 12, 2, 1],
                0,
            ),
            (x.flatten(1, 2), &[2, 12], &[12, 1], 0),
        ];
        for (i, (v, shape, strides, offset)) in cases.into_iter().enumerate() {
            assert_eq!(v.shape(), shape, "case {i}");
            assert_eq!(v.strides(), strides, "case {i}");
            assert_eq!(v.storage_offset(), offset, "case {i}");
            if i < 8 || i == 9 || i == 10 {
                assert!(v.ptr_eq(&x), "case {i} is a view");
            }
        }
        // A reshape the strides cannot show copies, as torch.reshape does; view refuses.
        let t = x.transpose(0, 2);
        assert!(!t.reshape(&[-1]).ptr_eq(&x));
        assert_eq!(t.reshape(&[-1]).to_vec(), t.contiguous().to_vec());
        let e = t.try_view(&[-1]).unwrap_err().to_string();
        assert!(e.contains("view") && e.contains("reshape"), "{e}");
        assert!(x.try_view(&[4, 6]).unwrap().ptr_eq(&x));
    }

    #[test]
    fn writes_to_a_view_copy_first() {
        // Tensors are values: a write to a view (or to its base) leaves the other unchanged.
        let x = seq(&[2, 3]);
        let mut v = x.t();
        v.add_(&Tensor::scalar(10.0));
        assert_eq!(x.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(v.to_vec(), vec![10.0, 13.0, 11.0, 14.0, 12.0, 15.0]);
        // A sole owner is written in place, without a copy.
        let mut y = seq(&[2, 3]);
        let before = y.view().as_ptr();
        y.mul_(&Tensor::scalar(2.0));
        assert_eq!(y.view().as_ptr(), before);
    }

    #[test]
    fn reshape_errors_name_both_shapes() {
        let x = seq(&[2, 3]);
        let e = x.try_reshape(&[4, -1]).unwrap_err().to_string();
        assert!(e.contains("[2, 3]") && e.contains("[4, -1]"), "{e}");
        let e = x.try_reshape(&[-1, -1]).unwrap_err().to_string();
        assert!(e.contains("only one dimension"), "{e}");
        let e = x.try_reshape(&[5]).unwrap_err().to_string();
        assert!(e.contains("[2, 3]") && e.contains("[5]"), "{e}");
        assert!(x.try_reshape(&[-2, -3]).is_err());
        assert!(Tensor::<f64>::zeros(&[0])
            .try_reshape(&[0, -1])
            .unwrap_err()
            .to_string()
            .contains("ambiguous"));
    }

    #[test]
    fn squeeze_and_unsqueeze() {
        let x = seq(&[1, 2, 1, 3]);
        assert_eq!(x.squeeze().shape(), &[2, 3]);
        assert_eq!(x.squeeze_dim(0).shape(), &[2, 1, 3]);
        assert_eq!(x.squeeze_dim(-2).shape(), &[1, 2, 3]);
        // Not size 1: unchanged, as in PyTorch.
        assert_eq!(x.squeeze_dim(1).shape(), &[1, 2, 1, 3]);
        assert!(x.try_squeeze_dim(4).is_err());
        assert_eq!(
            Tensor::scalar(1.0f64).squeeze_dim(0).shape(),
            &[] as &[usize]
        );
        assert_eq!(seq(&[1, 1]).squeeze().shape(), &[] as &[usize]);
        let y = seq(&[2, 3]);
        assert_eq!(y.unsqueeze(1).shape(), &[2, 1, 3]);
        assert_eq!(y.unsqueeze(2).shape(), &[2, 3, 1]);
        assert_eq!(y.unsqueeze(-3).shape(), &[1, 2, 3]);
        assert_eq!(y.unsqueeze(1).to_vec(), y.to_vec());
        let e = y.try_unsqueeze(3).unwrap_err().to_string();
        assert!(e.contains("-3..=2") && e.contains("[2, 3]"), "{e}");
        assert!(y.try_unsqueeze(-4).is_err());
        assert_eq!(Tensor::scalar(true).unsqueeze(0).shape(), &[1]);
        assert_eq!(Tensor::scalar(true).unsqueeze(-1).shape(), &[1]);
        // A strided tensor stays correct through squeeze/unsqueeze.
        let t = seq(&[2, 1, 3]).transpose(0, 2);
        assert_eq!(t.squeeze().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }

    #[test]
    fn flatten_ranges() {
        let x = seq(&[2, 3, 4]);
        assert_eq!(x.flatten(0, 1).shape(), &[6, 4]);
        assert_eq!(x.flatten(-2, -1).shape(), &[2, 12]);
        assert_eq!(x.flatten(1, 1).shape(), &[2, 3, 4]);
        assert_eq!(x.flatten(0, -1).to_vec(), x.to_vec());
        assert_eq!(Tensor::scalar(2i64).flatten(0, -1).shape(), &[1]);
        assert!(x.try_flatten(2, 1).is_err());
        assert!(x.try_flatten(0, 3).is_err());
        assert_eq!(
            Tensor::<f64>::zeros(&[2, 0, 3]).flatten(1, 2).shape(),
            &[2, 0]
        );
    }

    #[test]
    fn broadcast_to_is_a_stride_0_view() {
        let x = seq(&[3]);
        let b = x.broadcast_to(&[2, 3]);
        assert_eq!(b.to_vec(), vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
        assert!(!b.is_contiguous() && b.ptr_eq(&x));
        assert_eq!(b.strides(), &[0, 1]);
        assert!(b.contiguous().is_contiguous());
        assert!(x.try_expand(&[2, 2]).is_err());
        assert!(x.try_expand(&[-1]).is_ok());
        assert!(x.try_expand(&[-1, 3]).is_err());
        assert_eq!(Tensor::scalar(5i64).broadcast_to(&[2]).to_vec(), vec![5, 5]);
        assert_eq!(seq(&[1, 3]).broadcast_to(&[0, 3]).shape(), &[0, 3]);
        let e = x.try_broadcast_to(&[2, 2]).unwrap_err().to_string();
        assert_eq!(e, "cannot broadcast [3] with [2, 2] in broadcast_to");
        // Fewer dims than the input: not broadcastable.
        assert!(seq(&[2, 3]).try_broadcast_to(&[3]).is_err());
    }

    #[test]
    fn transpose_permute_t() {
        let x = seq(&[2, 3]);
        let t = x.transpose(0, -1);
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(t.contiguous().to_vec(), t.to_vec());
        assert!(t.contiguous().is_contiguous());
        assert_eq!(x.t(), t);
        assert_eq!(seq(&[3]).t().shape(), &[3]);
        assert_eq!(Tensor::scalar(1.0f64).t().shape(), &[] as &[usize]);
        let e = seq(&[2, 2, 2]).try_t().unwrap_err().to_string();
        assert!(e.contains("[2, 2, 2]"), "{e}");
        let y = seq(&[2, 3, 4]);
        let p = y.permute(&[1, 2, 0]);
        assert_eq!(p.shape(), &[3, 4, 2]);
        // p[i, j, k] = y[k, i, j]; y[1, 2, 3] = 23 sits at p[2, 3, 1].
        assert_eq!(p.view()[[2, 3, 1]], 23.0);
        assert_eq!(p.permute(&[2, 0, 1]), y);
        assert!(y.try_permute(&[0, 1]).is_err());
        assert!(y.try_permute(&[0, 1, 1]).is_err());
        assert!(y.try_permute(&[0, 1, 3]).is_err());
        assert!(y.try_transpose(0, 3).is_err());
        assert_eq!(Tensor::scalar(1.0f64).permute(&[]).shape(), &[] as &[usize]);
        let b = Tensor::from_vec(vec![true, false], &[1, 2]).t();
        assert_eq!(b.to_vec(), vec![true, false]);
    }

    #[test]
    fn contiguous_shares_standard_data() {
        let x = seq(&[2, 3]);
        assert!(x.contiguous().ptr_eq(&x));
    }
}
