//! The `Tensor` type: an `ndarray::ArrayD` behind an `Arc`, so clones are cheap and writes copy
//! only when the data is shared.
//!
//! The `Arc` is triomphe's: it has no weak count, so dropping a tensor is one atomic operation
//! instead of two and the uniqueness check before an in-place write is a plain load. Atomic
//! read-modify-writes cost ~8 ns each on the machines we measure, as much as a whole small op.

use triomphe::Arc;

use ndarray::{Array1, Array2, ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

use crate::element::{Element, Float};
use crate::error::{ok, Result, TensorError};

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
    data: Arc<ArrayD<T>>,
}

impl<T: Element> Tensor<T> {
    /// Wraps an ndarray array without copying it.
    pub fn from_array(array: ArrayD<T>) -> Self {
        Tensor {
            data: Arc::new(array),
        }
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
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(TensorError::DataLength {
                op: "from_vec",
                len: data.len(),
                shape: shape.to_vec(),
                expected,
            });
        }
        // Fixed-dimension constructors for the common ranks skip most of `IxDyn`'s overhead.
        let array = match *shape {
            [] => ndarray::arr0(data.into_iter().next().expect("length checked above")).into_dyn(),
            [_] => Array1::from_vec(data).into_dyn(),
            [a, b] => Array2::from_shape_vec((a, b), data)
                .expect("length checked above")
                .into_dyn(),
            _ => ArrayD::from_shape_vec(IxDyn(shape), data).expect("length checked above"),
        };
        Ok(Self::from_array(array))
    }

    /// A 0-d tensor holding one value, like `torch.tensor(3.0)`.
    pub fn scalar(value: T) -> Self {
        Self::from_array(ndarray::arr0(value).into_dyn())
    }

    /// A tensor of `shape` with every element equal to `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        // Fixed-dimension constructors for the common ranks skip most of `IxDyn`'s overhead.
        Self::from_array(match *shape {
            [] => ndarray::arr0(value).into_dyn(),
            [n] => Array1::from_elem(n, value).into_dyn(),
            [a, b] => Array2::from_elem((a, b), value).into_dyn(),
            _ => ArrayD::from_elem(IxDyn(shape), value),
        })
    }

    /// A tensor of the same shape as `self` filled with `value`.
    pub fn full_like(&self, value: T) -> Self {
        Self::full(self.shape(), value)
    }

    /// The size of each dimension.
    #[inline]
    pub fn shape(&self) -> &[usize] {
        self.data.shape()
    }

    /// The number of dimensions (0 for a scalar).
    #[inline]
    pub fn ndim(&self) -> usize {
        self.data.ndim()
    }

    /// The number of elements.
    #[inline]
    pub fn numel(&self) -> usize {
        self.data.len()
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

    /// The underlying array, read-only.
    #[inline]
    pub fn array(&self) -> &ArrayD<T> {
        &self.data
    }

    /// A read-only view of the data.
    #[inline]
    pub fn view(&self) -> ArrayViewD<'_, T> {
        self.data.view()
    }

    /// A mutable view; copies the data first if another tensor shares it.
    #[inline]
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        self.array_mut().view_mut()
    }

    /// The underlying array, mutable; copies the data first if another tensor shares it.
    #[inline]
    pub fn array_mut(&mut self) -> &mut ArrayD<T> {
        Arc::make_mut(&mut self.data)
    }

    /// Takes the array out, without copying when this is the only reference to it.
    pub fn into_array(self) -> ArrayD<T> {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| (*shared).clone())
    }

    /// `f` applied to every element, keeping the shape: copies the array and maps the copy in
    /// place, which for small tensors is much cheaper than building a new `IxDyn` array.
    #[inline]
    pub(crate) fn map_same(&self, f: impl Fn(T) -> T) -> Tensor<T> {
        let mut out = self.array().clone();
        match out.as_slice_mut() {
            Some(xs) => xs.iter_mut().for_each(|x| *x = f(x.clone())),
            None => out.mapv_inplace(f),
        }
        Tensor::from_array(out)
    }

    /// Whether two tensors share the same storage.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        match self.data.as_slice() {
            Some(s) => s.to_vec(),
            None => self.data.iter().cloned().collect(),
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
        Ok(self.data.iter().next().expect("one element").clone())
    }

    /// Applies `f` to every element, giving a new tensor (of any element type).
    pub fn map<U: Element>(&self, f: impl FnMut(&T) -> U) -> Tensor<U> {
        Tensor::from_array(self.data.map(f))
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
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
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

    /// `torch.arange` returning an error for a zero or wrong-signed step.
    pub fn try_arange(start: T, end: T, step: T) -> Result<Self> {
        let (s, e, st) = (start.as_f64(), end.as_f64(), step.as_f64());
        if st == 0.0 || !st.is_finite() || (e - s) * st < 0.0 {
            return Err(TensorError::invalid(
                "arange",
                format!("step {st} cannot go from {s} to {e}"),
            ));
        }
        let n = ((e - s) / st).ceil().max(0.0) as usize;
        let data = (0..n).map(|i| T::cast(s + i as f64 * st)).collect();
        Ok(Self::from_vec(data, &[n]))
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive, like `torch.linspace`.
    pub fn linspace(start: T, end: T, steps: usize) -> Self {
        let (s, e) = (start.as_f64(), end.as_f64());
        let data = match steps {
            0 => vec![],
            1 => vec![start],
            _ => {
                let step = (e - s) / (steps - 1) as f64;
                // PyTorch fills the second half from the end so that the last value is exact.
                let half = steps / 2;
                (0..steps)
                    .map(|i| {
                        if i < half {
                            T::cast(s + step * i as f64)
                        } else {
                            T::cast(e - step * (steps - 1 - i) as f64)
                        }
                    })
                    .collect()
            }
        };
        Self::from_vec(data, &[steps])
    }

    /// The `n x n` identity matrix.
    pub fn eye(n: usize) -> Self {
        Self::from_array(ArrayD::from_shape_fn(IxDyn(&[n, n]), |ix| {
            if ix[0] == ix[1] {
                T::one()
            } else {
                T::zero()
            }
        }))
    }

    /// Whether every element is within `atol + rtol * |other|` of `other`'s (same shape, and
    /// NaNs never close), like `torch.allclose`.
    pub fn allclose(&self, other: &Self, rtol: f64, atol: f64) -> bool {
        self.shape() == other.shape()
            && self.data.iter().zip(other.data.iter()).all(|(&a, &b)| {
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
        Self::from_vec(v, &[n])
    }
}

impl<T: Element> PartialEq for Tensor<T> {
    /// Same shape and the same elements.
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

impl<T: Element> Default for Tensor<T> {
    /// A 0-d tensor holding `T::default()`.
    fn default() -> Self {
        Self::scalar(T::default())
    }
}
