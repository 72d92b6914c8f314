//! The `Tensor` type: shared storage plus a layout (shape, strides in elements, offset), as in
//! PyTorch. Clones and view ops (`reshape`, `transpose`, `narrow`, `expand` …) build a new
//! layout over the same storage and cost O(1); a write copies first when the storage is shared
//! (copy-on-write), so a `Tensor` behaves as a value.
//!
//! The storage's `Arc` is triomphe's: no weak count, so dropping a tensor is one atomic
//! operation and the uniqueness check before an in-place write is a plain load. The storage
//! also keeps the layout it was made with, which every fresh result uses: such a tensor is two
//! pointers (16 bytes), which the engine moves in registers rather than through memory.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

use triomphe::Arc;

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, ShapeBuilder};

use crate::buffer::Buffer;
use crate::element::{Element, Float};
use crate::error::{ok, Result, TensorError};
use crate::layout::{checked_numel, try_vec, Dims};

/// An n-dimensional array of `T` (`f32` by default), like `torch.Tensor` without autograd.
///
/// Cloning shares the data; the first write to a shared tensor copies it (copy-on-write).
///
/// ```
/// use antorcha_tensor::Tensor;
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
/// assert_eq!(x.shape(), &[2, 2]);
/// assert_eq!((&x + 1.0).to_vec(), vec![2.0, 3.0, 4.0, 5.0]);
/// ```
#[derive(Clone)]
pub struct Tensor<T: Element = f32> {
    storage: Arc<Storage<T>>,
    /// The layout when it is not the storage's own (a view): the shape, the strides
    /// (non-negative, in elements; 0 along an expanded dimension) and where the first element
    /// sits in the storage.
    layout: Option<Arc<Dims>>,
}

/// A tensor's elements and the layout they were made with.
#[derive(Clone)]
pub(crate) struct Storage<T: 'static> {
    dims: Dims,
    buf: Buffer<T>,
}

impl<T: 'static> Deref for Storage<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        &self.buf
    }
}

impl<T: 'static> DerefMut for Storage<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf
    }
}

impl<T: Element> Tensor<T> {
    /// A tensor over new storage, with the storage's own layout. The storage is written
    /// straight into its allocation: built on the stack and moved in, it cost a copy whose
    /// reads stalled on the writes just before them.
    #[inline(always)]
    fn new_storage(buf: Buffer<T>, dims: impl FnOnce() -> Dims) -> Self {
        let mut arc = triomphe::UniqueArc::<Storage<T>>::new_uninit();
        let storage = std::mem::MaybeUninit::as_mut_ptr(&mut *arc);
        // SAFETY: both fields of the allocated storage are written, in place, before it is
        // taken as initialised.
        let storage = unsafe {
            std::ptr::addr_of_mut!((*storage).dims).write(dims());
            std::ptr::addr_of_mut!((*storage).buf).write(buf);
            triomphe::UniqueArc::assume_init(arc).shareable()
        };
        Tensor {
            storage,
            layout: None,
        }
    }

    /// The layout: the tensor's own, or its storage's.
    #[inline]
    fn dims(&self) -> &Dims {
        match &self.layout {
            Some(dims) => dims,
            None => &self.storage.dims,
        }
    }

    /// Row-major data of `shape`, whose length the caller has made right.
    #[inline]
    pub(crate) fn from_contiguous(data: Vec<T>, shape: &[usize]) -> Self {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Self::new_storage(Buffer::new(data), || Dims::row_major(shape))
    }

    /// A one-element tensor of `shape` (all 1s, or none), its element kept inline in the
    /// storage (one allocation).
    #[inline]
    pub(crate) fn from_one(value: T, shape: &[usize]) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), 1);
        Self::new_storage(Buffer::One(value), || Dims::row_major(shape))
    }

    /// A tensor sharing this one's storage with another layout; the caller keeps every
    /// reachable element inside the storage.
    #[inline]
    pub(crate) fn with_layout(&self, shape: &[usize], strides: &[usize], offset: usize) -> Self {
        // `view` reads through raw pointers, so every layout must stay inside its storage.
        assert!(
            shape.contains(&0)
                || offset + crate::layout::max_offset(shape, strides) < self.storage.len(),
            "layout {shape:?}/{strides:?}+{offset} outside a storage of {}",
            self.storage.len()
        );
        let dims = Dims::new(shape, strides, offset);
        let layout = (!dims.same(&self.storage.dims)).then(|| Arc::new(dims));
        Tensor {
            storage: self.storage.clone(),
            layout,
        }
    }

    /// Wraps an ndarray array without copying it (its layout is kept when its strides are
    /// non-negative).
    pub fn from_array(array: ArrayD<T>) -> Self {
        let shape = array.shape().to_vec();
        let n = array.len();
        if array.is_standard_layout() || array.is_empty() {
            let data = if array.is_empty() {
                Vec::new()
            } else {
                let (mut data, offset) = array.into_raw_vec_and_offset();
                let offset = offset.unwrap_or(0);
                if offset != 0 || data.len() != n {
                    data.drain(..offset);
                    data.truncate(n);
                }
                data
            };
            return Self::from_contiguous(data, &shape);
        }
        if array.strides().iter().any(|&s| s < 0) {
            return Self::from_array(array.as_standard_layout().into_owned());
        }
        let strides: Vec<usize> = array.strides().iter().map(|&s| s as usize).collect();
        let (data, offset) = array.into_raw_vec_and_offset();
        Self::new_storage(Buffer::new(data), || {
            Dims::new(&shape, &strides, offset.unwrap_or(0))
        })
    }

    /// Builds a tensor from row-major data and a shape.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`; [`Tensor::try_from_vec`] returns the error.
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        ok(Self::try_from_vec(data, shape))
    }

    /// Builds a tensor from row-major data and a shape, or says why the two do not fit.
    pub fn try_from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        let expected = checked_numel("from_vec", shape)?;
        if data.len() != expected {
            return Err(TensorError::DataLength {
                op: "from_vec",
                len: data.len(),
                shape: shape.to_vec(),
                expected,
            });
        }
        Ok(Self::from_contiguous(data, shape))
    }

    /// A 0-d tensor holding one value, like `torch.tensor(3.0)`.
    pub fn scalar(value: T) -> Self {
        Self::from_one(value, &[])
    }

    /// A tensor of `shape` with every element equal to `value`.
    ///
    /// # Panics
    /// If the shape's size overflows or cannot be allocated; [`Tensor::try_full`] returns the
    /// error.
    #[track_caller]
    pub fn full(shape: &[usize], value: T) -> Self {
        ok(Self::try_full(shape, value))
    }

    /// `full` returning an error for a shape whose size overflows or cannot be allocated (as
    /// PyTorch raises), instead of aborting the process.
    pub fn try_full(shape: &[usize], value: T) -> Result<Self> {
        let n = checked_numel("full", shape)?;
        if n == 1 {
            return Ok(Self::from_one(value, shape));
        }
        let mut data = try_vec("full", shape, n)?;
        data.resize(n, value);
        Ok(Self::from_contiguous(data, shape))
    }

    /// A tensor of the same shape as `self` filled with `value`.
    pub fn full_like(&self, value: T) -> Self {
        Self::full(self.shape(), value)
    }

    /// The size of each dimension.
    #[inline]
    pub fn shape(&self) -> &[usize] {
        self.dims().shape()
    }

    /// The step in elements between neighbours along each dimension, like `tensor.stride()`
    /// (0 along an expanded dimension).
    #[inline]
    pub fn strides(&self) -> &[usize] {
        self.dims().strides()
    }

    /// Where the first element sits in the storage, like `tensor.storage_offset()`.
    #[inline]
    pub fn storage_offset(&self) -> usize {
        self.dims().offset()
    }

    /// The shape as ndarray's dimension type (no allocation for up to 4 dims).
    #[inline]
    pub fn raw_dim(&self) -> IxDyn {
        IxDyn(self.shape())
    }

    /// The number of dimensions (0 for a scalar).
    #[inline]
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// The number of elements.
    #[inline]
    pub fn numel(&self) -> usize {
        self.dims().numel()
    }

    /// The size of dimension `dim` (negative counts from the end).
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn size(&self, dim: isize) -> usize {
        let d = ok(self.dim_index("size", dim));
        self.shape()[d]
    }

    /// PyTorch's dtype name of the elements (`float32`, `int64`, …).
    pub fn dtype(&self) -> &'static str {
        T::DTYPE
    }

    /// A read-only ndarray view of the elements, with this tensor's layout (no copy).
    #[inline]
    pub fn view(&self) -> ArrayViewD<'_, T> {
        if self.numel() == 0 {
            return ArrayViewD::from_shape(self.raw_dim(), &[] as &[T]).expect("no elements");
        }
        // SAFETY: every index reachable through shape and strides lies inside the storage
        // (each view op checks its bounds), the strides are non-negative, and the storage
        // outlives the borrow of `self`. Zero strides alias, which read-only views allow.
        unsafe {
            ArrayViewD::from_shape_ptr(
                self.raw_dim().strides(IxDyn(self.strides())),
                self.storage[..].as_ptr().add(self.dims().offset()),
            )
        }
    }

    /// The elements as one row-major slice, when they are laid out that way.
    #[inline]
    pub fn as_slice(&self) -> Option<&[T]> {
        if !self.dims().is_contiguous() {
            // (Empty layouts count as contiguous.)
            return None;
        }
        match self.numel() {
            // An empty view's offset may lie past the end of its storage, as in PyTorch.
            0 => Some(&[]),
            n => {
                let offset = self.dims().offset();
                Some(&self.storage[offset..offset + n])
            }
        }
    }

    /// The elements in row-major order: borrowed when they are laid out that way, copied
    /// otherwise.
    #[inline]
    pub fn row_major(&self) -> Cow<'_, [T]> {
        match self.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.collect_strided(|x| x.clone())),
        }
    }

    /// Walks the elements in row-major order by runs ([`crate::layout::for_each_run`]);
    /// `false` (nothing done) for layouts with too many dims to walk this way.
    pub(crate) fn for_each_run<'a>(&'a self, f: impl FnMut(crate::layout::Run<'a, T>)) -> bool {
        crate::layout::for_each_run(
            &self.storage,
            self.shape(),
            self.strides(),
            self.dims().offset(),
            f,
        )
    }

    /// `f` of every element in row-major order, walking the layout by runs (see
    /// [`crate::layout::for_each_run`]); a repeated (stride-0) element is mapped once.
    fn collect_strided<U: Clone + 'static>(&self, mut f: impl FnMut(&T) -> U) -> Vec<U> {
        use crate::layout::Run;
        let mut out = crate::buffer::with_capacity(self.numel());
        let walked = self.for_each_run(|run| match run {
            Run::Slice(xs) => out.extend(xs.iter().map(&mut f)),
            Run::Repeat(x, n) => out.extend(std::iter::repeat_n(f(x), n)),
            Run::Step(xs, step) => out.extend(xs.iter().step_by(step).map(&mut f)),
        });
        if !walked {
            out.extend(self.view().iter().map(f));
        }
        out
    }

    /// Whether the elements sit in row-major (C) order, like `tensor.is_contiguous()`.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.dims().is_contiguous()
    }

    /// Whether the storage is this tensor's alone and holds exactly its elements in row-major
    /// order: then writes go straight to it.
    #[inline]
    pub(crate) fn owns_contiguous(&self) -> bool {
        self.dims().offset() == 0
            && self.storage.len() == self.numel()
            && self.is_contiguous()
            && self.storage.is_unique()
    }

    /// The whole storage, made this tensor's own first (copied whole if shared, so the layout
    /// holds): for writes at an explicit layout.
    pub(crate) fn storage_mut(&mut self) -> &mut [T] {
        &mut Arc::make_mut(&mut self.storage)[..]
    }

    /// How many elements the storage holds (a layout may reach fewer).
    pub(crate) fn storage_len(&self) -> usize {
        self.storage.len()
    }

    /// Makes the storage this tensor's own, in row-major order (copying if it is shared or laid
    /// out otherwise), and gives its elements.
    pub fn as_slice_mut(&mut self) -> &mut [T] {
        if !self.owns_contiguous() {
            let data = self.to_vec();
            *self = Self::from_contiguous(data, self.shape());
        }
        Arc::get_mut(&mut self.storage).expect("unique storage")
    }

    /// The elements as a mutable row-major slice when this tensor is the only owner of its
    /// whole storage (no copy, like `Arc::get_mut`); `None` otherwise.
    pub fn get_mut(&mut self) -> Option<&mut [T]> {
        if self.owns_contiguous() {
            Arc::get_mut(&mut self.storage).map(|v| &mut v[..])
        } else {
            None
        }
    }

    /// A mutable view; copies the data first if another tensor shares it or if it is laid out
    /// otherwise than row-major.
    #[inline]
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        let shape = self.raw_dim();
        ArrayViewMutD::from_shape(shape, self.as_slice_mut()).expect("row-major elements")
    }

    /// Takes the elements out as an ndarray array, without copying when this tensor owns its
    /// whole storage in row-major order.
    pub fn into_array(self) -> ArrayD<T> {
        let shape = self.raw_dim();
        ArrayD::from_shape_vec(shape, self.into_vec()).expect("row-major elements")
    }

    /// The elements in row-major order, taken without a copy when this tensor owns its whole
    /// storage in that order.
    pub fn into_vec(self) -> Vec<T> {
        if self.owns_contiguous() {
            return match Arc::try_unwrap(self.storage) {
                Ok(storage) => storage.buf.into_vec(),
                Err(shared) => shared.to_vec(),
            };
        }
        self.to_vec()
    }

    /// `f` applied to every element, keeping the shape (the result is row-major).
    #[inline]
    pub(crate) fn map_same(&self, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
        match self.as_slice() {
            Some(xs) => crate::broadcast::collect(self.shape(), xs.len(), |r| {
                xs[r].iter().map(|x| f(x.clone()))
            }),
            None => self.map_strided(f),
        }
    }

    /// [`Tensor::map_same`] of a layout that is not row-major, out of line.
    #[cold]
    #[inline(never)]
    fn map_strided(&self, f: impl Fn(T) -> T) -> Tensor<T> {
        self.map(|x| f(x.clone()))
    }

    /// The element where the layout starts: the only one of a one-element tensor.
    #[inline]
    pub(crate) fn first(&self) -> T {
        self.storage[self.dims().offset()].clone()
    }

    /// Whether two tensors share the same storage.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        match self.as_slice() {
            Some(s) => s.to_vec(),
            None => self.row_major().into_owned(),
        }
    }

    /// The single element of a one-element tensor, like `tensor.item()`.
    ///
    /// # Panics
    /// If the tensor does not hold exactly one element.
    #[track_caller]
    pub fn item(&self) -> T {
        ok(self.try_item())
    }

    /// The single element, or an error naming the shape.
    pub fn try_item(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(TensorError::invalid(
                "item",
                format!(
                    "a tensor with {} elements (shape {:?}) cannot be converted to a number; only one-element tensors can",
                    self.numel(),
                    self.shape()
                ),
            ));
        }
        Ok(self.first())
    }

    /// Applies `f` to every element, giving a new row-major tensor (of any element type).
    pub fn map<U: Element>(&self, f: impl FnMut(&T) -> U) -> Tensor<U> {
        let data = match self.as_slice() {
            Some(xs) => {
                let mut data = crate::buffer::with_capacity(xs.len());
                data.extend(xs.iter().map(f));
                data
            }
            None => self.collect_strided(f),
        };
        Tensor::from_contiguous(data, self.shape())
    }

    /// Turns a dimension that may be negative into an index in `0..ndim`.
    pub(crate) fn dim_index(&self, op: &'static str, dim: isize) -> Result<usize> {
        normalize_dim(op, dim, self.shape())
    }
}

/// Turns a possibly negative `dim` into an index for `shape`, PyTorch style.
pub(crate) fn normalize_dim(op: &'static str, dim: isize, shape: &[usize]) -> Result<usize> {
    let n = shape.len() as isize;
    // A 0-d tensor accepts dims -1 and 0, as in PyTorch.
    let bound = n.max(1);
    if dim < -bound || dim >= bound {
        return Err(TensorError::DimOutOfRange {
            op,
            dim,
            shape: shape.to_vec(),
        });
    }
    Ok(if dim < 0 { dim + bound } else { dim } as usize)
}

impl<T: Float> Tensor<T> {
    /// A tensor of zeros.
    ///
    /// # Panics
    /// If the shape's size overflows or cannot be allocated ([`Tensor::try_full`]).
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    ///
    /// # Panics
    /// If the shape's size overflows or cannot be allocated ([`Tensor::try_full`]).
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// Zeros with the shape of `self`.
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.shape())
    }

    /// Ones with the shape of `self`.
    pub fn ones_like(&self) -> Self {
        Self::ones(self.shape())
    }

    /// `start, start + step, …` up to but not including `end`, like `torch.arange`.
    ///
    /// # Panics
    /// If `step` is zero or has the wrong sign for the range.
    #[track_caller]
    pub fn arange(start: T, end: T, step: T) -> Self {
        ok(Self::try_arange(start, end, step))
    }

    /// `torch.arange` returning an error for a zero or wrong-signed step, a bound that is not
    /// finite, or a length that cannot be allocated.
    pub fn try_arange(start: T, end: T, step: T) -> Result<Self> {
        let (s, e, st) = (start.as_f64(), end.as_f64(), step.as_f64());
        if !(s.is_finite() && e.is_finite()) {
            return Err(TensorError::invalid(
                "arange",
                format!("unsupported range: {s} -> {e} (the bounds must be finite)"),
            ));
        }
        if st == 0.0 || !st.is_finite() || (e - s) * st < 0.0 {
            return Err(TensorError::invalid(
                "arange",
                format!("step {st} cannot go from {s} to {e}"),
            ));
        }
        let len = ((e - s) / st).ceil().max(0.0);
        if len >= usize::MAX as f64 {
            return Err(TensorError::invalid(
                "arange",
                format!("{len} elements from {s} to {e} by {st} is too many"),
            ));
        }
        let n = len as usize;
        let mut data = try_vec("arange", &[n], n)?;
        data.extend((0..n).map(|i| T::cast(s + i as f64 * st)));
        Ok(Self::from_contiguous(data, &[n]))
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive, like `torch.linspace`.
    ///
    /// # Panics
    /// If `steps` elements cannot be allocated.
    #[track_caller]
    pub fn linspace(start: T, end: T, steps: usize) -> Self {
        let (s, e) = (start.as_f64(), end.as_f64());
        let mut data = ok(try_vec("linspace", &[steps], steps));
        match steps {
            0 => {}
            1 => data.push(start),
            _ => {
                let step = (e - s) / (steps - 1) as f64;
                // PyTorch fills the second half from the end so that the last value is exact.
                let half = steps / 2;
                data.extend((0..steps).map(|i| {
                    if i < half {
                        T::cast(s + step * i as f64)
                    } else {
                        T::cast(e - step * (steps - 1 - i) as f64)
                    }
                }));
            }
        }
        Self::from_contiguous(data, &[steps])
    }

    /// The `n x n` identity matrix.
    ///
    /// # Panics
    /// If `n * n` overflows or cannot be allocated.
    #[track_caller]
    pub fn eye(n: usize) -> Self {
        let mut t = Self::zeros(&[n, n]);
        t.as_slice_mut()
            .iter_mut()
            .step_by(n + 1)
            .for_each(|x| *x = T::one());
        t
    }

    /// Whether every element is within `atol + rtol * |other|` of `other`'s (same shape, and
    /// NaNs never close), like `torch.allclose`.
    pub fn allclose(&self, other: &Self, rtol: f64, atol: f64) -> bool {
        self.shape() == other.shape()
            && self.view().iter().zip(other.view().iter()).all(|(&a, &b)| {
                let (a, b) = (a.as_f64(), b.as_f64());
                a == b || (a - b).abs() <= atol + rtol * b.abs()
            })
    }

    /// Converts the elements to another float type (`f32` <-> `f64`).
    pub fn cast<U: Float>(&self) -> Tensor<U> {
        self.map(|&x| U::cast(x.as_f64()))
    }
}

impl<T: Element> From<ArrayD<T>> for Tensor<T> {
    fn from(array: ArrayD<T>) -> Self {
        Self::from_array(array)
    }
}

impl<T: Element> From<Tensor<T>> for ArrayD<T> {
    fn from(t: Tensor<T>) -> Self {
        t.into_array()
    }
}

impl<T: Element> From<Vec<T>> for Tensor<T> {
    /// A 1-d tensor of the values.
    fn from(v: Vec<T>) -> Self {
        let n = v.len();
        Self::from_contiguous(v, &[n])
    }
}

impl<T: Element> PartialEq for Tensor<T> {
    /// Same shape and the same elements.
    fn eq(&self, other: &Self) -> bool {
        self.view() == other.view()
    }
}

impl<T: Element> Default for Tensor<T> {
    /// A 0-d tensor holding `T::default()`.
    fn default() -> Self {
        Self::scalar(T::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tensor_with_its_storages_layout_is_two_pointers() {
        assert_eq!(std::mem::size_of::<Tensor<f32>>(), 16);
        assert_eq!(std::mem::size_of::<Option<Tensor<f64>>>(), 16);
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert!(x.layout.is_none());
        // A view keeps its own layout; one that lands back on the storage's does not.
        let t = x.t();
        assert!(t.layout.is_some());
        assert_eq!(t.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let back = t.t();
        assert!(back.layout.is_none() && back.ptr_eq(&x));
        assert_eq!(back.to_vec(), x.to_vec());
    }
}
