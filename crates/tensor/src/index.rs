//! Indexing: `narrow`, `slice`, `select`, `index_select`, `gather`, `masked_fill`, and the
//! scatter ops that put their gradients back (`index_add`, `scatter_add`, `slice_scatter`,
//! `select_scatter`).
//!
//! Everything works on row-major slices viewed as `[outer, size, inner]` around the indexed
//! dimension, so picking a row is one `memcpy` of `inner` elements.

use crate::broadcast::zip_map;
use crate::element::{Element, Float};
use crate::error::{ok, Result, TensorError};
use crate::index_arg::IndexArg;
use crate::shape::{split_at_dim, standard_strides};
use crate::tensor::Tensor;

/// Rows `start, start + step, …` (`count` of them) of a dimension.
#[derive(Clone, Copy, Debug)]
struct Rows {
    start: usize,
    count: usize,
    step: usize,
}

impl Rows {
    fn iter(self) -> impl Iterator<Item = usize> {
        (0..self.count).map(move |j| self.start + j * self.step)
    }
}

/// Python's slice `start:end:step` of a dimension of `size`: negative bounds count from the
/// end, out-of-range bounds are clamped.
fn python_slice(size: usize, start: isize, end: isize, step: usize) -> Rows {
    let clamp = |i: isize| -> usize {
        let i = if i < 0 { i + size as isize } else { i };
        i.clamp(0, size as isize) as usize
    };
    let (s, e) = (clamp(start), clamp(end));
    let count = if e > s { (e - s).div_ceil(step) } else { 0 };
    Rows {
        start: s,
        count,
        step,
    }
}

/// For each outer index, the rows `indices` (each `inner` long) of a `[outer, size, inner]`
/// slice.
fn take_indexed<T: Element>(
    src: &[T],
    outer: usize,
    size: usize,
    inner: usize,
    indices: &[usize],
) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        let block = &src[o * size * inner..(o + 1) * size * inner];
        if inner == 1 {
            out.extend(indices.iter().map(|&i| block[i].clone()));
        } else {
            for &i in indices {
                out.extend_from_slice(&block[i * inner..(i + 1) * inner]);
            }
        }
    }
    out
}

/// Calls `f(k, a, b)` for every position of `shape` in row-major order, `k` counting from 0 and
/// `a`, `b` the offsets `sum(ix[d] * strides_x[d])` for the two stride vectors.
fn walk(
    shape: &[usize],
    strides_a: &[usize],
    strides_b: &[usize],
    mut f: impl FnMut(usize, usize, usize) -> Result<()>,
) -> Result<()> {
    let n = shape.len();
    if shape.contains(&0) {
        return Ok(());
    }
    if n == 0 {
        return f(0, 0, 0);
    }
    let (len, sa, sb) = (shape[n - 1], strides_a[n - 1], strides_b[n - 1]);
    let mut ix = vec![0usize; n - 1];
    let (mut a, mut b, mut k) = (0usize, 0usize, 0usize);
    loop {
        for j in 0..len {
            f(k, a + j * sa, b + j * sb)?;
            k += 1;
        }
        let mut d = n - 1;
        loop {
            if d == 0 {
                return Ok(());
            }
            d -= 1;
            ix[d] += 1;
            a += strides_a[d];
            b += strides_b[d];
            if ix[d] < shape[d] {
                break;
            }
            a -= strides_a[d] * shape[d];
            b -= strides_b[d] * shape[d];
            ix[d] = 0;
        }
    }
}

/// The row-major strides of `shape` with dimension `d`'s set to 0, and `d`'s stride.
fn strides_but(shape: &[usize], d: usize) -> (Vec<usize>, usize) {
    let mut strides = standard_strides(shape);
    let dim_stride = strides.get_mut(d).map_or(0, std::mem::take);
    (strides, dim_stride)
}

/// An index out of range error for dimension `dim` of `shape`.
pub(crate) fn out_of_range(
    op: &'static str,
    index: i64,
    dim: usize,
    shape: &[usize],
) -> TensorError {
    TensorError::IndexOutOfRange {
        op,
        index,
        dim,
        size: shape.get(dim).copied().unwrap_or(1),
        shape: shape.to_vec(),
    }
}

/// Checks `gather`/`scatter_add`'s shape rules: `index` has the rank of `data`, and fits inside
/// `data` in every dimension but `d` (and inside `src` in every dimension, if given).
fn check_index_shape(
    op: &'static str,
    data: &[usize],
    index: &[usize],
    src: Option<&[usize]>,
    d: usize,
) -> Result<()> {
    let mismatch = |other: &[usize], reason: String| TensorError::shapes(op, other, index, reason);
    if index.len() != data.len() {
        return Err(mismatch(
            data,
            format!(
                "index must have the same number of dimensions ({}) as the input",
                data.len()
            ),
        ));
    }
    if let Some(k) = (0..index.len()).find(|&k| k != d && index[k] > data[k]) {
        return Err(mismatch(
            data,
            format!("index is larger than the input in dimension {k}"),
        ));
    }
    if let Some(src) = src {
        if src.len() != index.len() || (0..index.len()).any(|k| index[k] > src[k]) {
            return Err(mismatch(
                src,
                "index must fit inside src in every dimension".into(),
            ));
        }
    }
    Ok(())
}

impl<T: Element> Tensor<T> {
    /// The dimension `dim` of a tensor that must have one (not 0-d).
    fn indexed_dim(&self, op: &'static str, dim: isize) -> Result<usize> {
        if self.ndim() == 0 {
            return Err(TensorError::invalid(
                op,
                "cannot be applied to a 0-d tensor",
            ));
        }
        self.dim_index(op, dim)
    }

    /// The chosen `rows` of dimension `d`: a view (O(1)).
    fn take(&self, d: usize, rows: Rows) -> Tensor<T> {
        if rows.count == self.shape()[d] && rows.step == 1 {
            return self.clone();
        }
        let (mut shape, mut strides) = (self.shape().to_vec(), self.strides().to_vec());
        let offset = if rows.count == 0 {
            self.storage_offset()
        } else {
            self.storage_offset() + rows.start * strides[d]
        };
        shape[d] = rows.count;
        strides[d] *= rows.step;
        self.with_layout(&shape, &strides, offset)
    }

    /// The `length` elements of dimension `dim` from `start` (negative counts from the end),
    /// like `tensor.narrow(dim, start, length)`: a view.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![0, 1, 2, 3, 4, 5i64], &[3, 2]);
    /// assert_eq!(x.narrow(0, 1, 2).to_vec(), vec![2, 3, 4, 5]);
    /// assert_eq!(x.narrow(-1, -1, 1).to_vec(), vec![1, 3, 5]);
    /// ```
    ///
    /// # Panics
    /// If the range does not fit inside the dimension; [`Tensor::try_narrow`] returns the error.
    #[track_caller]
    pub fn narrow(&self, dim: isize, start: isize, length: usize) -> Tensor<T> {
        ok(self.try_narrow(dim, start, length))
    }

    /// `narrow` returning an error naming the range, the dimension and its size.
    pub fn try_narrow(&self, dim: isize, start: isize, length: usize) -> Result<Tensor<T>> {
        let d = self.indexed_dim("narrow", dim)?;
        let size = self.shape()[d];
        let s = if start < 0 {
            start + size as isize
        } else {
            start
        };
        if s < 0 || s as usize > size {
            return Err(out_of_range("narrow", start as i64, d, self.shape()));
        }
        let s = s as usize;
        if length > size - s {
            return Err(TensorError::invalid(
                "narrow",
                format!(
                    "start {s} + length {length} exceeds the size {size} of dimension {d} (shape {:?})",
                    self.shape()
                ),
            ));
        }
        Ok(self.take(
            d,
            Rows {
                start: s,
                count: length,
                step: 1,
            },
        ))
    }

    /// Python's `x[start:end:step]` along dimension `dim` (negative bounds count from the end,
    /// bounds past the ends are clamped, `isize::MAX` means "to the end"): a view.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![0, 1, 2, 3, 4, 5i64], &[6]);
    /// assert_eq!(x.slice(0, 1, isize::MAX, 2).to_vec(), vec![1, 3, 5]);
    /// assert_eq!(x.slice(0, -2, 100, 1).to_vec(), vec![4, 5]);
    /// ```
    ///
    /// # Panics
    /// If `step` is 0 or the tensor is 0-d; [`Tensor::try_slice`] returns the error.
    #[track_caller]
    pub fn slice(&self, dim: isize, start: isize, end: isize, step: usize) -> Tensor<T> {
        ok(self.try_slice(dim, start, end, step))
    }

    /// `slice` returning an error for a zero step, a 0-d tensor or a dimension out of range.
    pub fn try_slice(
        &self,
        dim: isize,
        start: isize,
        end: isize,
        step: usize,
    ) -> Result<Tensor<T>> {
        let (d, rows) = self.slice_rows("slice", dim, start, end, step)?;
        Ok(self.take(d, rows))
    }

    fn slice_rows(
        &self,
        op: &'static str,
        dim: isize,
        start: isize,
        end: isize,
        step: usize,
    ) -> Result<(usize, Rows)> {
        let d = self.indexed_dim(op, dim)?;
        if step == 0 {
            return Err(TensorError::invalid(op, "step must be at least 1"));
        }
        Ok((d, python_slice(self.shape()[d], start, end, step)))
    }

    /// The index `index` (negative counts from the end) of dimension `dim`, which is dropped,
    /// like `tensor.select(dim, index)` or `x[index]` for `dim = 0`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![0, 1, 2, 3, 4, 5i64], &[2, 3]);
    /// assert_eq!(x.select(0, 1).to_vec(), vec![3, 4, 5]);
    /// assert_eq!(x.select(1, -1).to_vec(), vec![2, 5]);
    /// ```
    ///
    /// # Panics
    /// If `index` is out of range; [`Tensor::try_select`] returns the error.
    #[track_caller]
    pub fn select(&self, dim: isize, index: isize) -> Tensor<T> {
        ok(self.try_select(dim, index))
    }

    /// `select` returning an error naming the index, the dimension and its size.
    pub fn try_select(&self, dim: isize, index: isize) -> Result<Tensor<T>> {
        let (d, i) = self.select_index("select", dim, index)?;
        let offset = self.storage_offset() + i * self.strides()[d];
        let (mut shape, mut strides) = (self.shape().to_vec(), self.strides().to_vec());
        shape.remove(d);
        strides.remove(d);
        Ok(self.with_layout(&shape, &strides, offset))
    }

    fn select_index(&self, op: &'static str, dim: isize, index: isize) -> Result<(usize, usize)> {
        let d = self.indexed_dim(op, dim)?;
        let size = self.shape()[d] as isize;
        let i = if index < 0 { index + size } else { index };
        if i < 0 || i >= size {
            return Err(out_of_range(op, index as i64, d, self.shape()));
        }
        Ok((d, i as usize))
    }

    /// The entries `indices` of dimension `dim`, in that order (repeats allowed), like
    /// `tensor.index_select(dim, indices)`. Each picked row of contiguous data is one `memcpy`,
    /// so gathering a batch of rows is cheap.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![0, 1, 2, 3, 4, 5i64], &[3, 2]);
    /// assert_eq!(x.index_select(0, &[2, 0, 2]).to_vec(), vec![4, 5, 0, 1, 4, 5]);
    /// assert_eq!(x.index_select(-1, &[1]).to_vec(), vec![1, 3, 5]);
    /// ```
    ///
    /// # Panics
    /// If an index is out of range; [`Tensor::try_index_select`] returns the error.
    #[track_caller]
    pub fn index_select(&self, dim: isize, indices: &(impl IndexArg + ?Sized)) -> Tensor<T> {
        ok(self.try_index_select(dim, indices))
    }

    /// `index_select` returning an error naming the bad index, the dimension and its size.
    /// A 0-d tensor accepts the single index `[0]`, as in PyTorch.
    pub fn try_index_select(
        &self,
        dim: isize,
        indices: &(impl IndexArg + ?Sized),
    ) -> Result<Tensor<T>> {
        let d = self.dim_index("index_select", dim)?;
        let indices = indices.to_positions("index_select", d, self.shape())?;
        let indices = &*indices;
        let mut shape = self.shape().to_vec();
        let (outer, size, inner) = split_at_dim(&shape, d);
        check_indices("index_select", indices, d, self.shape(), size)?;
        if self.ndim() == 0 {
            if indices.len() != 1 {
                return Err(TensorError::invalid(
                    "index_select",
                    format!(
                        "a 0-d tensor takes exactly one index, got {}",
                        indices.len()
                    ),
                ));
            }
            return Ok(self.clone());
        }
        let src = self.row_major();
        let data = take_indexed(&src, outer, size, inner, indices);
        shape[d] = indices.len();
        Ok(Tensor::from_vec(data, &shape))
    }

    /// Picks, along `dim`, the element `index` names for every position of `index`, like
    /// `torch.gather`: `out[i][j] = self[index[i][j]][j]` for `dim = 0`. The result has
    /// `index`'s shape.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let idx = Tensor::from_vec(vec![1i64, 0], &[2, 1]);
    /// assert_eq!(x.gather(1, &idx).to_vec(), vec![2.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit or an index is out of range; [`Tensor::try_gather`] returns the
    /// error.
    #[track_caller]
    pub fn gather(&self, dim: isize, index: &(impl IndexArg + ?Sized)) -> Tensor<T> {
        ok(self.try_gather(dim, index))
    }

    /// `gather` returning an error for shapes that do not fit or an index out of range.
    pub fn try_gather(&self, dim: isize, index: &(impl IndexArg + ?Sized)) -> Result<Tensor<T>> {
        let index = index.to_index_tensor();
        let index = &*index;
        let d = self.dim_index("gather", dim)?;
        check_index_shape("gather", self.shape(), index.shape(), None, d)?;
        let src = self.row_major();
        let src = &*src;
        let idx = index.row_major();
        let idx = &*idx;
        let shape = self.shape();
        let size = shape.get(d).copied().unwrap_or(1);
        let (strides, dim_stride) = strides_but(shape, d);
        let mut out = Vec::with_capacity(idx.len());
        walk(index.shape(), &strides, &strides, |k, off, _| {
            let i = idx[k];
            if i < 0 || i as usize >= size {
                return Err(out_of_range("gather", i, d, shape));
            }
            out.push(src[off + i as usize * dim_stride].clone());
            Ok(())
        })?;
        Ok(Tensor::from_vec(out, index.shape()))
    }

    /// `value` where `mask` is true and `self` elsewhere; `mask` and `self` broadcast together,
    /// like `tensor.masked_fill(mask, value)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let m = Tensor::from_vec(vec![false, true], &[2]);
    /// assert_eq!(x.masked_fill(&m, 0.0).to_vec(), vec![1.0, 0.0, 3.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not broadcast; [`Tensor::try_masked_fill`] returns the error.
    #[track_caller]
    pub fn masked_fill(&self, mask: &Tensor<bool>, value: T) -> Tensor<T> {
        ok(self.try_masked_fill(mask, value))
    }

    /// `masked_fill` returning an error when the shapes do not broadcast.
    pub fn try_masked_fill(&self, mask: &Tensor<bool>, value: T) -> Result<Tensor<T>> {
        zip_map(
            "masked_fill",
            self,
            mask,
            |x: T, m: bool| {
                if m {
                    value.clone()
                } else {
                    x
                }
            },
        )
    }

    /// A copy of `self` with `src` written into the slice `start:end:step` of dimension `dim`
    /// (Python slice rules as in [`Tensor::slice`]), like `torch.slice_scatter`: the gradient
    /// of `slice`/`narrow` is `zeros.slice_scatter(grad, …)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let z = Tensor::<f32>::zeros(&[5]);
    /// let g = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// assert_eq!(z.slice_scatter(&g, 0, 1, 5, 2).to_vec(), vec![0.0, 1.0, 0.0, 2.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `src` does not have the slice's shape; [`Tensor::try_slice_scatter`] returns the error.
    #[track_caller]
    pub fn slice_scatter(
        &self,
        src: &Tensor<T>,
        dim: isize,
        start: isize,
        end: isize,
        step: usize,
    ) -> Tensor<T> {
        ok(self.try_slice_scatter(src, dim, start, end, step))
    }

    /// `slice_scatter` returning an error when `src` does not have the slice's shape.
    pub fn try_slice_scatter(
        &self,
        src: &Tensor<T>,
        dim: isize,
        start: isize,
        end: isize,
        step: usize,
    ) -> Result<Tensor<T>> {
        let (d, rows) = self.slice_rows("slice_scatter", dim, start, end, step)?;
        let mut expected = self.shape().to_vec();
        expected[d] = rows.count;
        self.scatter_rows("slice_scatter", d, rows, src, &expected)
    }

    /// A copy of `self` with `src` written at index `index` of dimension `dim` (which `src`
    /// lacks), like `torch.select_scatter`: the gradient of `select`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let z = Tensor::<f32>::zeros(&[2, 2]);
    /// let g = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// assert_eq!(z.select_scatter(&g, 1, -1).to_vec(), vec![0.0, 1.0, 0.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If `index` is out of range or `src` has the wrong shape; [`Tensor::try_select_scatter`]
    /// returns the error.
    #[track_caller]
    pub fn select_scatter(&self, src: &Tensor<T>, dim: isize, index: isize) -> Tensor<T> {
        ok(self.try_select_scatter(src, dim, index))
    }

    /// `select_scatter` returning an error for an index out of range or a wrong `src` shape.
    pub fn try_select_scatter(
        &self,
        src: &Tensor<T>,
        dim: isize,
        index: isize,
    ) -> Result<Tensor<T>> {
        let (d, i) = self.select_index("select_scatter", dim, index)?;
        let mut expected = self.shape().to_vec();
        expected.remove(d);
        let rows = Rows {
            start: i,
            count: 1,
            step: 1,
        };
        self.scatter_rows("select_scatter", d, rows, src, &expected)
    }

    /// A copy of `self` with `rows` of dimension `d` replaced by `src` (of shape `expected`).
    fn scatter_rows(
        &self,
        op: &'static str,
        d: usize,
        rows: Rows,
        src: &Tensor<T>,
        expected: &[usize],
    ) -> Result<Tensor<T>> {
        if src.shape() != expected {
            return Err(TensorError::shapes(
                op,
                self.shape(),
                src.shape(),
                format!("src must have shape {expected:?}"),
            ));
        }
        let (outer, size, inner) = split_at_dim(self.shape(), d);
        let mut out = self.contiguous();
        let s = src.row_major();
        let s = &*s;
        let dst = out.as_slice_mut();
        for o in 0..outer {
            for (j, r) in rows.iter().enumerate() {
                dst[(o * size + r) * inner..(o * size + r + 1) * inner].clone_from_slice(
                    &s[(o * rows.count + j) * inner..(o * rows.count + j + 1) * inner],
                );
            }
        }
        Ok(out)
    }
}

/// Checks that every index is below `size`.
fn check_indices(
    op: &'static str,
    indices: &[usize],
    d: usize,
    shape: &[usize],
    size: usize,
) -> Result<()> {
    match indices.iter().find(|&&i| i >= size) {
        Some(&i) => Err(out_of_range(op, i as i64, d, shape)),
        None => Ok(()),
    }
}

impl<T: Float> Tensor<T> {
    /// A copy of `self` with row `k` of `source` added to row `indices[k]` of dimension `dim`
    /// (repeated indices accumulate), like `tensor.index_add(dim, index, source)`: the gradient
    /// of `index_select`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let z = Tensor::<f32>::zeros(&[3]);
    /// let g = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]);
    /// assert_eq!(z.index_add(0, &[2, 0, 2], &g).to_vec(), vec![2.0, 0.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If an index is out of range or `source` has the wrong shape; [`Tensor::try_index_add`]
    /// returns the error.
    #[track_caller]
    pub fn index_add(
        &self,
        dim: isize,
        indices: &(impl IndexArg + ?Sized),
        source: &Tensor<T>,
    ) -> Tensor<T> {
        ok(self.try_index_add(dim, indices, source))
    }

    /// `index_add` returning an error for an index out of range or a wrong `source` shape.
    pub fn try_index_add(
        &self,
        dim: isize,
        indices: &(impl IndexArg + ?Sized),
        source: &Tensor<T>,
    ) -> Result<Tensor<T>> {
        let mut out = self.contiguous();
        out.try_index_add_(dim, indices, source)?;
        Ok(out)
    }

    /// In-place [`Tensor::index_add`], like `tensor.index_add_`: accumulates a gradient without
    /// a new allocation when `self` owns its data.
    ///
    /// # Panics
    /// If an index is out of range or `source` has the wrong shape.
    #[track_caller]
    pub fn index_add_(
        &mut self,
        dim: isize,
        indices: &(impl IndexArg + ?Sized),
        source: &Tensor<T>,
    ) {
        ok(self.try_index_add_(dim, indices, source))
    }

    /// In-place `index_add` returning an error for an index out of range or a wrong `source`
    /// shape (then `self` is unchanged).
    pub fn try_index_add_(
        &mut self,
        dim: isize,
        indices: &(impl IndexArg + ?Sized),
        source: &Tensor<T>,
    ) -> Result<()> {
        let d = self.dim_index("index_add", dim)?;
        let indices = indices.to_positions("index_add", d, self.shape())?;
        let indices = &*indices;
        let (outer, size, inner) = split_at_dim(self.shape(), d);
        let mut expected = self.shape().to_vec();
        match expected.get_mut(d) {
            Some(s) => *s = indices.len(),
            // A 0-d tensor takes a 0-d source and the single index 0.
            None if indices.len() == 1 => {}
            None => expected = vec![indices.len()],
        }
        if source.shape() != expected {
            return Err(TensorError::shapes(
                "index_add",
                self.shape(),
                source.shape(),
                format!(
                    "source must have shape {expected:?} for {} indices along dimension {d}",
                    indices.len()
                ),
            ));
        }
        check_indices("index_add", indices, d, self.shape(), size)?;
        let src = source.row_major();
        let src = &*src;
        let dst = self.as_slice_mut();
        let n = indices.len();
        for o in 0..outer {
            for (k, &i) in indices.iter().enumerate() {
                let row = &mut dst[(o * size + i) * inner..(o * size + i + 1) * inner];
                let add = &src[(o * n + k) * inner..(o * n + k + 1) * inner];
                row.iter_mut().zip(add).for_each(|(x, &y)| *x += y);
            }
        }
        Ok(())
    }

    /// A copy of `self` with each element of `src` added at the position `index` names along
    /// `dim` (`out[index[i][j]][j] += src[i][j]` for `dim = 0`), like `torch.scatter_add`: the
    /// gradient of `gather`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let z = Tensor::<f32>::zeros(&[2, 2]);
    /// let idx = Tensor::from_vec(vec![1i64, 1], &[2, 1]);
    /// let g = Tensor::from_vec(vec![5.0f32, 7.0], &[2, 1]);
    /// assert_eq!(z.scatter_add(1, &idx, &g).to_vec(), vec![0.0, 5.0, 0.0, 7.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit or an index is out of range; [`Tensor::try_scatter_add`]
    /// returns the error.
    #[track_caller]
    pub fn scatter_add(
        &self,
        dim: isize,
        index: &(impl IndexArg + ?Sized),
        src: &Tensor<T>,
    ) -> Tensor<T> {
        ok(self.try_scatter_add(dim, index, src))
    }

    /// `scatter_add` returning an error for shapes that do not fit or an index out of range.
    pub fn try_scatter_add(
        &self,
        dim: isize,
        index: &(impl IndexArg + ?Sized),
        src: &Tensor<T>,
    ) -> Result<Tensor<T>> {
        let mut out = self.contiguous();
        out.try_scatter_add_(dim, index, src)?;
        Ok(out)
    }

    /// In-place [`Tensor::scatter_add`], like `tensor.scatter_add_`.
    ///
    /// # Panics
    /// If the shapes do not fit or an index is out of range.
    #[track_caller]
    pub fn scatter_add_(&mut self, dim: isize, index: &(impl IndexArg + ?Sized), src: &Tensor<T>) {
        ok(self.try_scatter_add_(dim, index, src))
    }

    /// In-place `scatter_add` returning an error for shapes that do not fit or an index out
    /// of range (then `self` is unchanged).
    pub fn try_scatter_add_(
        &mut self,
        dim: isize,
        index: &(impl IndexArg + ?Sized),
        src: &Tensor<T>,
    ) -> Result<()> {
        let index = index.to_index_tensor();
        let index = &*index;
        let d = self.dim_index("scatter_add", dim)?;
        let shape = self.shape().to_vec();
        check_index_shape("scatter_add", &shape, index.shape(), Some(src.shape()), d)?;
        let size = shape.get(d).copied().unwrap_or(1);
        let idx = index.row_major();
        let idx = &*idx;
        // Check every index first, so that an error leaves `self` unchanged.
        if let Some(&bad) = idx.iter().find(|&&i| i < 0 || i as usize >= size) {
            return Err(out_of_range("scatter_add", bad, d, &shape));
        }
        let s = src.row_major();
        let s = &*s;
        let src_strides = standard_strides(src.shape());
        let (dst_strides, dim_stride) = strides_but(&shape, d);
        let dst = self.as_slice_mut();
        walk(index.shape(), &dst_strides, &src_strides, |k, off, soff| {
            dst[off + idx[k] as usize * dim_stride] += s[soff];
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(shape: &[usize]) -> Tensor<f64> {
        let n = shape.iter().product::<usize>();
        Tensor::from_vec((0..n).map(|i| i as f64).collect(), shape)
    }

    fn i64s(v: &[i64], shape: &[usize]) -> Tensor<i64> {
        Tensor::from_vec(v.to_vec(), shape)
    }

    #[test]
    fn narrow_ranges_and_errors() {
        let x = seq(&[3, 4]);
        assert_eq!(
            x.narrow(1, 1, 2).to_vec(),
            vec![1.0, 2.0, 5.0, 6.0, 9.0, 10.0]
        );
        assert_eq!(x.narrow(0, -1, 1).to_vec(), vec![8.0, 9.0, 10.0, 11.0]);
        assert_eq!(x.narrow(0, 3, 0).shape(), &[0, 4]);
        assert_eq!(x.narrow(0, 0, 3), x);
        let e = x.try_narrow(1, 3, 2).unwrap_err().to_string();
        assert!(
            e.contains("start 3 + length 2 exceeds the size 4 of dimension 1"),
            "{e}"
        );
        let e = x.try_narrow(0, -4, 1).unwrap_err().to_string();
        assert_eq!(
            e,
            "narrow: index -4 out of range for dimension 0 of size 3 (shape [3, 4])"
        );
        assert!(Tensor::scalar(1.0f64).try_narrow(0, 0, 1).is_err());
        // Strided input.
        assert_eq!(x.t().narrow(0, 1, 1).to_vec(), vec![1.0, 5.0, 9.0]);
    }

    #[test]
    fn slice_follows_python() {
        let x = seq(&[6]);
        let v = |s, e, st| x.slice(0, s, e, st).to_vec();
        assert_eq!(v(1, 4, 1), vec![1.0, 2.0, 3.0]);
        assert_eq!(v(0, 6, 2), vec![0.0, 2.0, 4.0]);
        assert_eq!(v(1, 6, 2), vec![1.0, 3.0, 5.0]);
        assert_eq!(v(-3, -1, 1), vec![3.0, 4.0]);
        assert_eq!(v(-100, 2, 1), vec![0.0, 1.0]);
        assert_eq!(v(4, 100, 3), vec![4.0]);
        assert_eq!(v(4, 2, 1), Vec::<f64>::new());
        assert_eq!(v(7, 9, 1), Vec::<f64>::new());
        assert_eq!(v(0, isize::MAX, 5), vec![0.0, 5.0]);
        let y = seq(&[2, 3]);
        assert_eq!(y.slice(-1, 0, 3, 2).to_vec(), vec![0.0, 2.0, 3.0, 5.0]);
        assert_eq!(y.slice(0, 1, 2, 1).shape(), &[1, 3]);
        assert!(y
            .try_slice(0, 0, 1, 0)
            .unwrap_err()
            .to_string()
            .contains("step"));
        assert!(y.try_slice(2, 0, 1, 1).is_err());
        let b = Tensor::from_vec(vec![true, false, true], &[3]);
        assert_eq!(b.slice(0, 0, 3, 2).to_vec(), vec![true, true]);
    }

    #[test]
    fn select_drops_the_dim() {
        let x = seq(&[2, 3, 2]);
        let s = x.select(1, 2);
        assert_eq!(s.shape(), &[2, 2]);
        assert_eq!(s.to_vec(), vec![4.0, 5.0, 10.0, 11.0]);
        assert_eq!(
            x.select(-1, -2).to_vec(),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        let r = seq(&[3]).select(0, 1);
        assert_eq!((r.shape(), r.item()), (&[] as &[usize], 1.0));
        let e = x.try_select(1, 3).unwrap_err().to_string();
        assert_eq!(
            e,
            "select: index 3 out of range for dimension 1 of size 3 (shape [2, 3, 2])"
        );
        assert!(x.try_select(0, -3).is_err());
        assert!(Tensor::scalar(1i64).try_select(0, 0).is_err());
    }

    #[test]
    fn index_select_rows_columns_and_repeats() {
        let x = seq(&[3, 2]);
        assert_eq!(
            x.index_select(0, &[2, 2, 0]).to_vec(),
            vec![4.0, 5.0, 4.0, 5.0, 0.0, 1.0]
        );
        assert_eq!(
            x.index_select(1, &[1, 0]).to_vec(),
            vec![1.0, 0.0, 3.0, 2.0, 5.0, 4.0]
        );
        assert_eq!(x.index_select(0, &[] as &[usize]).shape(), &[0, 2]);
        assert_eq!(x.t().index_select(0, &[1]).to_vec(), vec![1.0, 3.0, 5.0]);
        let e = x.try_index_select(-2, &[0, 3]).unwrap_err().to_string();
        assert_eq!(
            e,
            "index_select: index 3 out of range for dimension 0 of size 3 (shape [3, 2])"
        );
        let labels = i64s(&[7, 8, 9], &[3]);
        assert_eq!(labels.index_select(0, &[2, 0]).to_vec(), vec![9, 7]);
        let s = Tensor::scalar(4.0f64);
        assert_eq!(s.index_select(0, &[0]).shape(), &[] as &[usize]);
        assert!(s.try_index_select(0, &[1]).is_err());
        assert!(s.try_index_select(0, &[0, 0]).is_err());
    }

    #[test]
    fn index_select_of_many_rows_is_a_row_copy() {
        let x = seq(&[100, 7]);
        let idx: Vec<usize> = (0..64).map(|i| (i * 37) % 100).collect();
        let y = x.index_select(0, &idx);
        for (k, &i) in idx.iter().enumerate() {
            assert_eq!(y.select(0, k as isize), x.select(0, i as isize));
        }
    }

    #[test]
    fn gather_like_torch() {
        // torch.gather(tensor([[1, 2], [3, 4]]), 1, tensor([[0, 0], [1, 0]])) = [[1, 1], [4, 3]]
        let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
        let idx = i64s(&[0, 0, 1, 0], &[2, 2]);
        assert_eq!(x.gather(1, &idx).to_vec(), vec![1.0, 1.0, 4.0, 3.0]);
        // dim 0: out[i][j] = x[idx[i][j]][j]
        assert_eq!(x.gather(0, &idx).to_vec(), vec![1.0, 2.0, 3.0, 2.0]);
        // Smaller index than input, and the negative dim.
        let y = seq(&[2, 3]);
        let idx = i64s(&[2, 0], &[2, 1]);
        assert_eq!(y.gather(-1, &idx).to_vec(), vec![2.0, 3.0]);
        let e = y
            .try_gather(1, &i64s(&[3, 0], &[2, 1]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "gather: index 3 out of range for dimension 1 of size 3 (shape [2, 3])"
        );
        assert!(y.try_gather(1, &i64s(&[-1, 0], &[2, 1])).is_err());
        assert!(y.try_gather(1, &i64s(&[0, 0, 0], &[3, 1])).is_err());
        assert!(y.try_gather(1, &i64s(&[0, 0], &[2])).is_err());
        assert_eq!(y.gather(1, &i64s(&[], &[2, 0])).shape(), &[2, 0]);
        let s = Tensor::scalar(5i64);
        assert_eq!(s.gather(0, &Tensor::scalar(0i64)).to_vec(), vec![5]);
        assert!(s.try_gather(0, &Tensor::scalar(1i64)).is_err());
        assert_eq!(y.t().gather(0, &i64s(&[1], &[1, 1])).to_vec(), vec![1.0]);
    }

    #[test]
    fn masked_fill_broadcasts() {
        let x = seq(&[2, 3]);
        let m = Tensor::from_vec(vec![true, false, true], &[3]);
        assert_eq!(
            x.masked_fill(&m, -1.0).to_vec(),
            vec![-1.0, 1.0, -1.0, -1.0, 4.0, -1.0]
        );
        assert_eq!(
            x.masked_fill(&Tensor::scalar(true), 9.0).to_vec(),
            vec![9.0; 6]
        );
        // The mask may widen the result, as in PyTorch.
        let col = Tensor::from_vec(vec![false, true], &[2, 1]);
        assert_eq!(seq(&[3]).masked_fill(&col, 7.0).shape(), &[2, 3]);
        assert!(x
            .try_masked_fill(&Tensor::from_vec(vec![true; 2], &[2]), 0.0)
            .is_err());
        assert_eq!(
            i64s(&[1, 2], &[2])
                .masked_fill(&Tensor::from_vec(vec![false, true], &[2]), 0)
                .to_vec(),
            vec![1, 0]
        );
    }

    #[test]
    fn index_add_accumulates_repeats() {
        let z = Tensor::<f64>::zeros(&[3, 2]);
        let g = seq(&[3, 2]) + 1.0; // rows [1, 2], [3, 4], [5, 6]
        let r = z.index_add(0, &[2, 0, 2], &g);
        assert_eq!(r.to_vec(), vec![3.0, 4.0, 0.0, 0.0, 6.0, 8.0]);
        let c = Tensor::<f64>::ones(&[2, 2]).index_add(-1, &[1], &seq(&[2, 1]));
        assert_eq!(c.to_vec(), vec![1.0, 1.0, 1.0, 2.0]);
        assert!(z
            .try_index_add(0, &[3], &seq(&[1, 2]))
            .unwrap_err()
            .to_string()
            .contains("index 3"));
        let e = z
            .try_index_add(0, &[0], &seq(&[2, 2]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[1, 2]") && e.contains("[2, 2]"), "{e}");
        // In place, and into a strided tensor.
        let mut t = seq(&[2, 2]).t(); // [[0, 2], [1, 3]]
        t.index_add_(1, &[0, 0], &Tensor::ones(&[2, 2]));
        assert_eq!(t.to_vec(), vec![2.0, 2.0, 3.0, 3.0]);
        let s = Tensor::scalar(1.0f64).index_add(0, &[0], &Tensor::scalar(2.0));
        assert_eq!(s.item(), 3.0);
    }

    #[test]
    fn scatter_add_like_torch() {
        // torch.zeros(2, 3).scatter_add(1, tensor([[0, 0], [2, 1]]), ones(2, 2))
        let z = Tensor::<f64>::zeros(&[2, 3]);
        let idx = i64s(&[0, 0, 2, 1], &[2, 2]);
        let r = z.scatter_add(1, &idx, &Tensor::ones(&[2, 2]));
        assert_eq!(r.to_vec(), vec![2.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
        // dim 0 with src larger than index: only the index's part of src is used.
        let src = seq(&[2, 3]) + 1.0;
        let r = z.scatter_add(0, &i64s(&[1, 0], &[1, 2]), &src);
        assert_eq!(r.to_vec(), vec![0.0, 2.0, 0.0, 1.0, 0.0, 0.0]);
        let mut bad = z.clone();
        let e = bad
            .try_scatter_add_(-1, &i64s(&[0, 3], &[1, 2]), &src)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "scatter_add: index 3 out of range for dimension 1 of size 3 (shape [2, 3])"
        );
        assert_eq!(bad, z);
        assert!(z.try_scatter_add(0, &i64s(&[0; 4], &[1, 4]), &src).is_err());
        assert!(z
            .try_scatter_add(0, &i64s(&[0; 2], &[1, 2]), &seq(&[1, 1]))
            .is_err());
    }

    #[test]
    fn slice_and_select_scatter() {
        let z = Tensor::<f64>::zeros(&[3, 2]);
        let r = z.slice_scatter(&seq(&[2, 2]), 0, -2, isize::MAX, 1);
        assert_eq!(r.to_vec(), vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
        let r = z.slice_scatter(&seq(&[3, 1]), 1, 1, 2, 1);
        assert_eq!(r.to_vec(), vec![0.0, 0.0, 0.0, 1.0, 0.0, 2.0]);
        // Rows 0 and 2.
        let r = z.slice_scatter(&seq(&[2, 2]), 0, 0, 3, 2);
        assert_eq!(r.to_vec(), vec![0.0, 1.0, 0.0, 0.0, 2.0, 3.0]);
        let e = z
            .try_slice_scatter(&seq(&[2, 2]), 0, 0, 3, 1)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "slice_scatter: shapes [3, 2] and [2, 2] do not fit: src must have shape [3, 2]"
        );
        assert!(z.try_slice_scatter(&seq(&[3, 2]), 0, 0, 3, 2).is_err());
        let r = z.select_scatter(&seq(&[2]), 0, 1);
        assert_eq!(r.to_vec(), vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        let r = z.select_scatter(&seq(&[3]), -1, 0);
        assert_eq!(r.to_vec(), vec![0.0, 0.0, 1.0, 0.0, 2.0, 0.0]);
        assert!(z.try_select_scatter(&seq(&[2]), 0, 3).is_err());
        assert!(z.try_select_scatter(&seq(&[3]), 0, 0).is_err());
        // The original is untouched (copy-on-write).
        assert_eq!(z.to_vec(), vec![0.0; 6]);
        let b = Tensor::from_vec(vec![false; 4], &[4]);
        let r = b.slice_scatter(&Tensor::from_vec(vec![true, true], &[2]), 0, 0, 4, 3);
        assert_eq!(r.to_vec(), vec![true, false, false, true]);
    }
}
