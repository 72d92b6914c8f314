//! Matrix products with `torch.matmul`'s rules, plus the GEMM-shaped products autograd and
//! `Linear` need without materialising a transpose: [`Tensor::mm_t`] (`op(a)·op(b)`, BLAS's
//! `transa`/`transb`) and [`Tensor::linear`] (`x·Wᵀ + b`).
//!
//! Every product goes through one GEMM entry point on strided operands (matrixmultiply, with
//! its AVX-512 kernels where the CPU has them: a transposed view costs nothing), and a large
//! product is split in two column (or row) blocks run on both cores when
//! [`num_threads`](crate::num_threads) allows it.

use std::any::TypeId;

use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, Ix1, Ix2, IxDyn};

use crate::broadcast::broadcast_shapes;
use crate::element::Float;
use crate::error::{ok, Result, TensorError};
use crate::parallel::{join, num_threads};
use crate::tensor::Tensor;

const TRANSPOSE_HINT: &str = "did you mean `a.matmul(&b.t())`?";

impl<T: Float> Tensor<T> {
    /// The matrix product with `torch.matmul`'s rules: 1-D·1-D is a dot product (0-d result);
    /// 2-D·2-D a matrix product; a 1-D left operand is a row (`[1, k]`) and a 1-D right operand
    /// a column (`[k, 1]`) whose added dim is removed again; with more dims, the leading (batch)
    /// dims broadcast and each matrix pair goes through GEMM.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// let b = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3]);
    /// assert_eq!(a.matmul(&b).to_vec(), vec![4.0, 10.0]);
    /// let batch = Tensor::<f64>::ones(&[5, 1, 2, 3]).matmul(&Tensor::ones(&[4, 3, 2]));
    /// assert_eq!(batch.shape(), &[5, 4, 2, 2]);
    /// ```
    ///
    /// # Panics
    /// If the inner dims differ, the batch dims do not broadcast, or an operand is 0-d;
    /// [`Tensor::try_matmul`] returns the error.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor<T>) -> Tensor<T> {
        ok(self.try_matmul(other))
    }

    /// `matmul` returning an error naming both shapes when they do not fit (with a hint when
    /// `other` looks like it needs transposing).
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let a = Tensor::<f32>::ones(&[4, 3]);
    /// let err = a.try_matmul(&Tensor::ones(&[2, 3])).unwrap_err();
    /// assert!(err.to_string().contains("did you mean `a.matmul(&b.t())`?"));
    /// ```
    pub fn try_matmul(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        matmul_views("matmul", self.view(), other.view()).map(Tensor::from_array)
    }

    /// The product of two 2-D matrices, like `torch.mm` (no broadcasting, no 1-D operands).
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(a.mm(&Tensor::eye(2)).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If an operand is not 2-D or the inner dims differ; [`Tensor::try_mm`] returns the error.
    #[track_caller]
    pub fn mm(&self, other: &Tensor<T>) -> Tensor<T> {
        ok(self.try_mm(other))
    }

    /// `mm` returning an error when an operand is not 2-D or the inner dims differ.
    pub fn try_mm(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        if self.ndim() != 2 || other.ndim() != 2 {
            return Err(TensorError::shapes(
                "mm",
                self.shape(),
                other.shape(),
                format!(
                    "mm needs two 2-D matrices, got {}-D and {}-D (matmul also takes 1-D and batched operands)",
                    self.ndim(),
                    other.ndim()
                ),
            ));
        }
        matmul_views("mm", self.view(), other.view()).map(Tensor::from_array)
    }

    /// `op(self) · op(other)` for 2-D matrices, where `op` transposes its matrix when the flag
    /// is set (BLAS's `transa`/`transb`): `a.mm_t(&b, false, true)` is `a.mm(&b.t())` without
    /// copying `b`'s transpose. The transposed operand goes into GEMM as a strided view.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(a.mm_t(&a, false, true).to_vec(), vec![14.0, 32.0, 32.0, 77.0]); // a·aᵀ
    /// assert_eq!(a.mm_t(&a, true, false).shape(), &[3, 3]); // aᵀ·a
    /// ```
    ///
    /// # Panics
    /// If an operand is not 2-D or the inner dims differ; [`Tensor::try_mm_t`] returns the
    /// error.
    #[track_caller]
    pub fn mm_t(
        &self,
        other: &Tensor<T>,
        transpose_self: bool,
        transpose_other: bool,
    ) -> Tensor<T> {
        ok(self.try_mm_t(other, transpose_self, transpose_other))
    }

    /// `mm_t` returning an error when an operand is not 2-D or the inner dims differ.
    pub fn try_mm_t(
        &self,
        other: &Tensor<T>,
        transpose_self: bool,
        transpose_other: bool,
    ) -> Result<Tensor<T>> {
        let (a, b) = (self.view(), other.view());
        let (Ok(a), Ok(b)) = (
            a.into_dimensionality::<Ix2>(),
            b.into_dimensionality::<Ix2>(),
        ) else {
            return Err(TensorError::shapes(
                "mm_t",
                self.shape(),
                other.shape(),
                format!(
                    "mm_t needs two 2-D matrices, got {}-D and {}-D",
                    self.ndim(),
                    other.ndim()
                ),
            ));
        };
        let (a, b) = (maybe_t(a, transpose_self), maybe_t(b, transpose_other));
        if a.ncols() != b.nrows() {
            return Err(TensorError::shapes(
                "mm_t",
                self.shape(),
                other.shape(),
                format!(
                    "op(a) is {:?} and op(b) is {:?} (transposes: {transpose_self}, {transpose_other}): the inner dims differ",
                    a.shape(),
                    b.shape()
                ),
            ));
        }
        Ok(Tensor::from_array(gemm_new(&a, &b).into_dyn()))
    }

    /// `self · otherᵀ` for 2-D matrices (`mm_t(other, false, true)`), e.g. a batch of rows
    /// times a `[out, in]` weight.
    ///
    /// # Panics
    /// If an operand is not 2-D or the inner dims differ.
    #[track_caller]
    pub fn mm_nt(&self, other: &Tensor<T>) -> Tensor<T> {
        ok(self.try_mm_t(other, false, true))
    }

    /// `selfᵀ · other` for 2-D matrices (`mm_t(other, true, false)`), e.g. a weight gradient
    /// `gᵀ · x`.
    ///
    /// # Panics
    /// If an operand is not 2-D or the inner dims differ.
    #[track_caller]
    pub fn mm_tn(&self, other: &Tensor<T>) -> Tensor<T> {
        ok(self.try_mm_t(other, true, false))
    }

    /// `self · weightᵀ + bias` over the last dim of `self`, like
    /// `torch.nn.functional.linear(input, weight, bias)`: `weight` is `[out, in]`, `bias`
    /// `[out]`; `self` is `[*, in]` (any number of leading dims, or none) and the result
    /// `[*, out]`. One GEMM on the transposed weight as a strided view, then the bias added in
    /// place: the same numbers as `self.matmul(&weight.t()) + bias`, without the transpose.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    /// let w = Tensor::from_vec(vec![1.0, 0.0, 1.0, 1.0, 0.0, 2.0], &[3, 2]);
    /// let b = Tensor::from_vec(vec![0.5, 0.0, -1.0], &[3]);
    /// assert_eq!(x.linear(&w, Some(&b)).to_vec(), vec![1.5, 3.0, 3.0, 3.5, 7.0, 7.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit; [`Tensor::try_linear`] returns the error.
    #[track_caller]
    pub fn linear(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Tensor<T> {
        ok(self.try_linear(weight, bias))
    }

    /// `linear`, or an error naming the shapes when `weight` is not 2-D, the last dim of
    /// `self` is not `weight`'s second, or `bias` is not `[out]`.
    pub fn try_linear(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Result<Tensor<T>> {
        let shape = self.shape();
        let bad = |reason: String| TensorError::shapes("linear", shape, weight.shape(), reason);
        if weight.ndim() != 2 {
            return Err(bad(format!(
                "the weight must be 2-D [out_features, in_features], got {}-D",
                weight.ndim()
            )));
        }
        let (out_f, in_f) = (weight.shape()[0], weight.shape()[1]);
        if shape.last() != Some(&in_f) {
            return Err(bad(format!(
                "the input's last dim must be in_features = {in_f} (the weight's second dim)"
            )));
        }
        if let Some(b) = bias {
            if b.shape() != [out_f] {
                return Err(bad(format!(
                    "the bias must have shape [{out_f}], got {:?}",
                    b.shape()
                )));
            }
        }
        let w = weight
            .view()
            .into_dimensionality::<Ix2>()
            .expect("2-D")
            .reversed_axes();
        let x = self.view();
        let rows = shape[..shape.len() - 1].iter().product::<usize>();
        let mut out = if x.ndim() == 1 {
            let x2 = x
                .into_dimensionality::<Ix1>()
                .expect("1-D")
                .insert_axis(Axis(0));
            gemm_new(&x2, &w)
        } else if let Some(x2) = (rows > 0).then(|| fold_rows(&x)).flatten() {
            gemm_new(&x2, &w)
        } else {
            let x2 = x
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order((rows, in_f))
                .expect("row-major copy");
            gemm_new(&x2.view(), &w)
        };
        if let Some(b) = bias {
            let b = b.to_vec();
            if out_f > 0 {
                let flat = out.as_slice_mut().expect("fresh row-major result");
                for row in flat.chunks_exact_mut(out_f) {
                    for (o, &bv) in row.iter_mut().zip(&b) {
                        *o += bv;
                    }
                }
            }
        }
        let mut final_shape = shape[..shape.len() - 1].to_vec();
        final_shape.push(out_f);
        Ok(Tensor::from_array(
            out.into_shape_with_order(IxDyn(&final_shape))
                .expect("row-major result"),
        ))
    }
}

/// `torch.matmul` on two views; the result is a fresh row-major array.
fn matmul_views<T: Float>(
    op: &'static str,
    a: ArrayViewD<'_, T>,
    b: ArrayViewD<'_, T>,
) -> Result<ArrayD<T>> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    if sa.is_empty() || sb.is_empty() {
        return Err(TensorError::shapes(
            op,
            &sa,
            &sb,
            "both arguments need to be at least 1-D (use `mul` for a 0-d operand)".into(),
        ));
    }
    if sa.len() == 1 && sb.len() == 1 {
        if sa[0] != sb[0] {
            return Err(TensorError::shapes(
                op,
                &sa,
                &sb,
                format!(
                    "a dot product needs vectors of the same length, got {} and {}",
                    sa[0], sb[0]
                ),
            ));
        }
        let x = a.into_dimensionality::<Ix1>().expect("1-D");
        let y = b.into_dimensionality::<Ix1>().expect("1-D");
        return Ok(ArrayD::from_elem(IxDyn(&[]), x.dot(&y)));
    }

    // A 1-D left operand is a row [1, k]; a 1-D right operand a column [k, 1].
    let av = if sa.len() == 1 {
        a.insert_axis(Axis(0))
    } else {
        a
    };
    let bv = if sb.len() == 1 {
        b.insert_axis(Axis(1))
    } else {
        b
    };
    let (na, nb) = (av.ndim(), bv.ndim());
    let (m, k) = (av.shape()[na - 2], av.shape()[na - 1]);
    let (k2, n) = (bv.shape()[nb - 2], bv.shape()[nb - 1]);
    if k != k2 {
        let what = if sb.len() == 1 {
            "length"
        } else {
            "second-to-last dim"
        };
        let hint = (sb.len() >= 2 && sa.last() == sb.last()).then_some(TRANSPOSE_HINT);
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: sa,
            rhs: sb,
            reason: format!(
                "the last dim of the first operand ({k}) must equal the {what} of the second ({k2})"
            ),
            hint,
        });
    }
    let (a_batch, b_batch) = (&av.shape()[..na - 2], &bv.shape()[..nb - 2]);
    let batch = broadcast_shapes(op, a_batch, b_batch).map_err(|_| {
        TensorError::shapes(
            op,
            &sa,
            &sb,
            format!("the batch dims {a_batch:?} and {b_batch:?} do not broadcast"),
        )
    })?;
    let bsz: usize = batch.iter().product();

    let mut full = batch.clone();
    full.extend([m, n]);
    let mut final_shape = batch.clone();
    if sa.len() >= 2 {
        final_shape.push(m);
    }
    if sb.len() >= 2 {
        final_shape.push(n);
    }
    let finish = |out: ArrayD<T>| {
        Ok(out
            .into_shape_with_order(IxDyn(&final_shape))
            .expect("same length"))
    };
    let mut out = ArrayD::<T>::zeros(IxDyn(&full));
    if out.is_empty() || k == 0 {
        return finish(out);
    }

    // Fast path: the right operand is one matrix (no batch dims, or only size-1 ones not wider
    // than the left's) and the left's batch and row dims merge without a copy (row-major, or
    // any layout for plain 2-D): one GEMM of [batch * m, k] by [k, n].
    if na >= nb && b_batch.iter().all(|&d| d == 1) {
        if let Some(a2) = fold_rows(&av) {
            let b2 = matrix_at(&bv, &vec![0; nb - 2]);
            let mut c2 = out
                .view_mut()
                .into_shape_with_order((bsz * m, n))
                .expect("fresh row-major output");
            gemm_views(&a2, &b2, T::zero(), &mut c2);
            return finish(out);
        }
    }

    // General path: one GEMM per batch entry on broadcast views (stride 0 on stretched dims).
    let mut a_full = batch.clone();
    a_full.extend([m, k]);
    let mut b_full = batch.clone();
    b_full.extend([k, n]);
    let ab = av.broadcast(IxDyn(&a_full)).expect("batch dims broadcast");
    let bb = bv.broadcast(IxDyn(&b_full)).expect("batch dims broadcast");
    let mut c3 = out
        .view_mut()
        .into_shape_with_order((bsz, m, n))
        .expect("fresh row-major output");
    let mut idx = vec![0usize; batch.len()];
    for mut c in c3.outer_iter_mut() {
        let (a2, b2) = (matrix_at(&ab, &idx), matrix_at(&bb, &idx));
        gemm_views(&a2, &b2, T::zero(), &mut c);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < batch[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    finish(out)
}

/// A matrix operand of the GEMM core: a pointer to element `[0, 0]` and strides in elements
/// (any sign, any layout).
#[derive(Clone, Copy)]
struct MatRef<T> {
    ptr: *const T,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
}

/// The output of the GEMM core; its strides must not make two elements alias.
#[derive(Clone, Copy)]
struct MatMut<T> {
    ptr: *mut T,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
}

// SAFETY: the core only reads through `MatRef` and writes disjoint blocks of `MatMut` from
// the two sides of a `join`, both within the borrows of the views they were made from.
unsafe impl<T: Sync> Send for MatRef<T> {}
unsafe impl<T: Send> Send for MatMut<T> {}

impl<T> MatRef<T> {
    fn of(v: &ArrayView2<'_, T>) -> Self {
        let s = v.strides();
        MatRef {
            ptr: v.as_ptr(),
            rows: v.nrows(),
            cols: v.ncols(),
            rs: s[0],
            cs: s[1],
        }
    }
}

/// Sub-matrices of both operand kinds (pointer arithmetic only: the caller keeps them in
/// bounds).
macro_rules! blocks {
    ($($mat:ident),*) => {$(
        impl<T> $mat<T> {
            /// Columns `start..start + len`.
            fn cols(self, start: usize, len: usize) -> Self {
                let ptr = self.ptr.wrapping_offset(start as isize * self.cs);
                $mat {
                    ptr,
                    cols: len,
                    ..self
                }
            }

            /// Rows `start..start + len`.
            fn rows(self, start: usize, len: usize) -> Self {
                let ptr = self.ptr.wrapping_offset(start as isize * self.rs);
                $mat {
                    ptr,
                    rows: len,
                    ..self
                }
            }
        }
    )*};
}

blocks!(MatRef, MatMut);

/// Products with at least this many multiply-adds are split across two threads (about 25 µs
/// of work on one core: well above the cost of waking the helper).
const PAR_MIN_MACS: usize = 1 << 21;

/// `C = A·B + beta·C` (`beta` 0: `C` is only written, so it may be uninitialised memory).
///
/// # Safety
/// The operands must describe valid matrices (`A` is `m x k`, `B` `k x n`, `C` `m x n`) for the
/// whole call, `C` must not overlap `A` or `B`, and with `beta != 0` `C` must be initialised.
unsafe fn gemm_raw<T: Float>(a: MatRef<T>, b: MatRef<T>, beta: T, c: MatMut<T>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    debug_assert!(b.rows == k && c.rows == m && c.cols == n);
    if m == 0 || n == 0 {
        return;
    }
    if m.saturating_mul(n).saturating_mul(k) >= PAR_MIN_MACS && num_threads() >= 2 {
        // Split the wider side of C so that each half still feeds full kernel tiles: a
        // 64-row product is split by columns (splitting its rows was seen to slow it down).
        let (a2, b2, c2) = (a, b, c);
        if n >= m && n >= 32 {
            let h = (n / 2).div_ceil(16) * 16;
            join(
                move || unsafe { gemm_serial(a, b.cols(0, h), beta, c.cols(0, h)) },
                move || unsafe { gemm_serial(a2, b2.cols(h, n - h), beta, c2.cols(h, n - h)) },
            );
            return;
        }
        if m > n && m >= 32 {
            let h = (m / 2).div_ceil(16) * 16;
            join(
                move || unsafe { gemm_serial(a.rows(0, h), b, beta, c.rows(0, h)) },
                move || unsafe { gemm_serial(a2.rows(h, m - h), b2, beta, c2.rows(h, m - h)) },
            );
            return;
        }
    }
    gemm_serial(a, b, beta, c)
}

/// One thread's GEMM: matrixmultiply's `sgemm`/`dgemm` (which take any strides) for `f32` and
/// `f64`, a plain loop for any other float type.
///
/// # Safety
/// As [`gemm_raw`].
unsafe fn gemm_serial<T: Float>(a: MatRef<T>, b: MatRef<T>, beta: T, c: MatMut<T>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: C = beta·C (and C may be uninitialised when beta is 0).
        for i in 0..m {
            for j in 0..n {
                let p = c.ptr.offset(i as isize * c.rs + j as isize * c.cs);
                let v = if beta == T::zero() {
                    T::zero()
                } else {
                    beta * *p
                };
                p.write(v);
            }
        }
        return;
    }
    // matrixmultiply's `sgemm`/`dgemm` on the operands cast to the element type `$t`.
    macro_rules! blas {
        ($gemm:ident, $t:ty) => {
            matrixmultiply::$gemm(
                m,
                k,
                n,
                1.0,
                a.ptr.cast(),
                a.rs,
                a.cs,
                b.ptr.cast(),
                b.rs,
                b.cs,
                beta.as_f64() as $t,
                c.ptr.cast(),
                c.rs,
                c.cs,
            )
        };
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        blas!(sgemm, f32);
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        blas!(dgemm, f64);
    } else {
        for i in 0..m {
            for j in 0..n {
                let mut acc = T::zero();
                for l in 0..k {
                    acc += *a.ptr.offset(i as isize * a.rs + l as isize * a.cs)
                        * *b.ptr.offset(l as isize * b.rs + j as isize * b.cs);
                }
                let p = c.ptr.offset(i as isize * c.rs + j as isize * c.cs);
                let v = if beta == T::zero() {
                    acc
                } else {
                    acc + beta * *p
                };
                p.write(v);
            }
        }
    }
}

/// `c = a·b + beta·c` on views.
pub(crate) fn gemm_views<T: Float>(
    a: &ArrayView2<'_, T>,
    b: &ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    assert!(a.ncols() == b.nrows() && c.nrows() == a.nrows() && c.ncols() == b.ncols());
    let s = [c.strides()[0], c.strides()[1]];
    let cm = MatMut {
        ptr: c.as_mut_ptr(),
        rows: c.nrows(),
        cols: c.ncols(),
        rs: s[0],
        cs: s[1],
    };
    // SAFETY: the views are valid for the call; `c` is borrowed mutably, so it cannot overlap
    // `a` or `b`; it is initialised.
    unsafe { gemm_raw(MatRef::of(a), MatRef::of(b), beta, cm) }
}

/// `a·b` into a fresh row-major `[m, n]` array, without zeroing it first.
fn gemm_new<T: Float>(a: &ArrayView2<'_, T>, b: &ArrayView2<'_, T>) -> Array2<T> {
    let (m, n) = (a.nrows(), b.ncols());
    assert_eq!(a.ncols(), b.nrows());
    let mut out = Array2::<T>::uninit((m, n));
    let cm = MatMut {
        ptr: out.as_mut_ptr().cast::<T>(),
        rows: m,
        cols: n,
        rs: n as isize,
        cs: 1,
    };
    // SAFETY: `out` is a fresh m x n row-major buffer; with beta = 0 every element is written
    // (the k = 0 case writes zeros) and none is read, so it is initialised afterwards.
    unsafe {
        gemm_raw(MatRef::of(a), MatRef::of(b), T::zero(), cm);
        out.assume_init()
    }
}

/// `v` as a 2-D view, transposed (a free stride swap) when `t` is set.
fn maybe_t<'a, T>(v: ArrayView2<'a, T>, t: bool) -> ArrayView2<'a, T> {
    if t {
        v.reversed_axes()
    } else {
        v
    }
}

/// The matrix at batch index `idx` (one index per leading dim) of `v`.
fn matrix_at<'a, T>(v: &ArrayViewD<'a, T>, idx: &[usize]) -> ArrayView2<'a, T> {
    let mut v = v.clone();
    for &i in idx {
        v = v.index_axis_move(Axis(0), i);
    }
    v.into_dimensionality::<Ix2>().expect("two dims left")
}

/// `[..., m, k]` viewed as `[prod(...) * m, k]` when the strides allow it without a copy.
/// The view must not be empty.
fn fold_rows<'a, T>(a: &ArrayViewD<'a, T>) -> Option<ArrayView2<'a, T>> {
    let nd = a.ndim();
    let mut v = a.clone();
    for i in (0..nd - 2).rev() {
        if !v.merge_axes(Axis(i), Axis(nd - 2)) {
            return None;
        }
    }
    // The merged-away leading axes now have length 1.
    for _ in 0..nd - 2 {
        v = v.index_axis_move(Axis(0), 0);
    }
    v.into_dimensionality::<Ix2>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s)
    }

    fn iota(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        t(&(0..n).map(|i| i as f64).collect::<Vec<_>>(), shape)
    }

    const EMPTY: &[usize] = &[];

    #[test]
    fn dot_of_vectors_is_0d() {
        let r = t(&[1.0, 2.0, 3.0], &[3]).matmul(&t(&[4.0, 5.0, 6.0], &[3]));
        assert_eq!(r.shape(), EMPTY);
        assert_eq!(r.item(), 32.0);
        let e = Tensor::<f64>::zeros(&[0]).matmul(&Tensor::zeros(&[0]));
        assert_eq!((e.shape(), e.item()), (EMPTY, 0.0));
    }

    #[test]
    fn matrix_and_vector_products() {
        let a = iota(&[2, 3]); // [[0,1,2],[3,4,5]]
        let b = iota(&[3, 2]); // [[0,1],[2,3],[4,5]]
        let c = a.matmul(&b);
        assert_eq!(c.shape(), &[2, 2]);
        assert_eq!(c.to_vec(), vec![10.0, 13.0, 28.0, 40.0]);
        let v = t(&[1.0, -1.0, 2.0], &[3]);
        let av = a.matmul(&v);
        assert_eq!(av.shape(), &[2]);
        assert_eq!(av.to_vec(), vec![3.0, 9.0]);
        let vb = v.matmul(&b);
        assert_eq!(vb.shape(), &[2]);
        assert_eq!(vb.to_vec(), vec![6.0, 8.0]);
        assert_eq!(a.mm(&b), c);
    }

    #[test]
    fn batched_products_broadcast() {
        // [2,2,3] @ [3,4]: every batch entry times the same matrix.
        let a = iota(&[2, 2, 3]);
        let b = iota(&[3, 4]);
        let c = a.matmul(&b);
        assert_eq!(c.shape(), &[2, 2, 4]);
        // Row [6,7,8] (batch 1, row 0) times column 0 [0,4,8]: 28 + 64 = 92.
        assert_eq!(c.to_vec()[8], 92.0);
        assert_eq!(c.to_vec()[..4], [20.0, 23.0, 26.0, 29.0]);
        // [2,2,3] @ [2,3,4]: pairwise.
        let b2 = iota(&[2, 3, 4]);
        let c2 = a.matmul(&b2);
        assert_eq!(c2.shape(), &[2, 2, 4]);
        assert_eq!(c2.to_vec()[..4], [20.0, 23.0, 26.0, 29.0]);
        // Batch 1, row 0 [6,7,8] times column 0 of the second matrix [12,16,20]: 72+112+160.
        assert_eq!(c2.to_vec()[8], 344.0);
        // [5,1,2,3] @ [4,3,2] -> [5,4,2,2].
        let c3 = Tensor::<f64>::ones(&[5, 1, 2, 3]).matmul(&iota(&[4, 3, 2]));
        assert_eq!(c3.shape(), &[5, 4, 2, 2]);
        // Column 0 of matrix 3 of iota([4,3,2]) is [18,20,22].
        assert_eq!(c3.to_vec()[4 * 3 * 4 + 3 * 4], 60.0);
        // 1-D with batched operands.
        let v = t(&[1.0, 1.0, 1.0], &[3]);
        assert_eq!(a.matmul(&v).shape(), &[2, 2]);
        assert_eq!(a.matmul(&v).to_vec(), vec![3.0, 12.0, 21.0, 30.0]);
        let w = t(&[1.0, 0.0], &[2]);
        assert_eq!(w.matmul(&iota(&[3, 2, 2])).shape(), &[3, 2]);
        assert_eq!(
            w.matmul(&iota(&[3, 2, 2])).to_vec(),
            vec![0.0, 1.0, 4.0, 5.0, 8.0, 9.0]
        );
        // Size-1 batch on the right with a batched left operand.
        assert_eq!(a.matmul(&iota(&[1, 3, 4])), c);
    }

    #[test]
    fn transposed_operands_go_straight_to_gemm() {
        // Logical [[0,1,2],[3,4,5]] stored column-major (a transposed view of a [3,2] array).
        let at = Array2::from_shape_vec((3, 2), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0])
            .unwrap()
            .into_dyn()
            .reversed_axes();
        let a = Tensor::from_array(at);
        assert!(a.view().as_slice().is_none());
        let b = iota(&[3, 2]);
        assert_eq!(a.matmul(&b).to_vec(), vec![10.0, 13.0, 28.0, 40.0]);
        let bt = Tensor::from_array(iota(&[2, 3]).into_array().reversed_axes());
        assert_eq!(a.matmul(&bt).to_vec(), vec![5.0, 14.0, 14.0, 50.0]);
        // A batched operand whose last two dims are swapped: per-batch GEMM on strided views.
        let mut x = iota(&[2, 3, 2]).into_array();
        x.swap_axes(1, 2); // logical [2, 2, 3]
        let x = Tensor::from_array(x);
        let y = x.matmul(&iota(&[3, 1]));
        assert_eq!(y.shape(), &[2, 2, 1]);
        // Batch 0: x[0] = [[0,2,4],[1,3,5]] -> [0+2+8, 0+3+10].
        assert_eq!(y.to_vec(), vec![10.0, 13.0, 28.0, 31.0]);
        assert!(y.view().is_standard_layout());
    }

    #[test]
    fn empty_dims_give_zeros_or_empty() {
        let c = Tensor::<f64>::zeros(&[2, 0]).matmul(&Tensor::zeros(&[0, 3]));
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.to_vec(), vec![0.0; 6]);
        assert_eq!(
            Tensor::<f64>::zeros(&[0, 2])
                .matmul(&Tensor::zeros(&[2, 3]))
                .shape(),
            &[0, 3]
        );
        assert_eq!(
            Tensor::<f64>::zeros(&[4, 0, 2, 3])
                .matmul(&Tensor::zeros(&[3, 5]))
                .shape(),
            &[4, 0, 2, 5]
        );
    }

    #[test]
    fn mismatch_errors_name_shapes_and_hint() {
        let a = Tensor::<f64>::zeros(&[4, 3]);
        let e = a.try_matmul(&Tensor::zeros(&[2, 3])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "matmul: shapes [4, 3] and [2, 3] do not fit: the last dim of the first operand (3) \
             must equal the second-to-last dim of the second (2) (hint: did you mean `a.matmul(&b.t())`?)"
        );
        match e {
            TensorError::ShapeMismatch { op, hint, .. } => {
                assert_eq!(op, "matmul");
                assert_eq!(hint, Some(TRANSPOSE_HINT));
            }
            other => panic!("unexpected {other:?}"),
        }
        let e = a
            .try_matmul(&Tensor::zeros(&[2, 5]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[4, 3] and [2, 5]") && !e.contains("hint"),
            "{e}"
        );
        let e = a.try_matmul(&Tensor::zeros(&[4])).unwrap_err().to_string();
        assert!(e.contains("length of the second (4)"), "{e}");
        let e = Tensor::<f64>::zeros(&[3])
            .try_matmul(&Tensor::zeros(&[4]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("same length"), "{e}");
        let e = Tensor::<f64>::zeros(&[2, 2, 3])
            .try_matmul(&Tensor::zeros(&[3, 3, 4]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("batch dims [2] and [3]"), "{e}");
        let e = Tensor::scalar(1.0f64)
            .try_matmul(&Tensor::zeros(&[1]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 1-D"), "{e}");
        let e = Tensor::<f64>::zeros(&[3])
            .try_mm(&Tensor::zeros(&[3, 1]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("mm:") && e.contains("2-D"), "{e}");
    }

    #[test]
    #[should_panic(expected = "matmul: shapes [2, 3] and [2, 3]")]
    fn matmul_panics_with_message() {
        let _ = Tensor::<f64>::zeros(&[2, 3]).matmul(&Tensor::zeros(&[2, 3]));
    }

    #[test]
    fn f32_matmul() {
        let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(a.matmul(&a).to_vec(), vec![7.0f32, 10.0, 15.0, 22.0]);
    }

    /// Deterministic values in [-1, 1) that are not small integers (so rounding shows).
    fn noise32(shape: &[usize], seed: u64) -> Tensor<f32> {
        let n: usize = shape.iter().product();
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let data = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect();
        Tensor::from_vec(data, shape)
    }

    #[test]
    fn mm_t_equals_mm_of_materialised_transposes_exactly() {
        // Shapes on both sides of the two-thread threshold (64·256·128 = 2^21 multiply-adds).
        for &(m, k, n) in &[(3, 5, 4), (1, 7, 1), (64, 256, 128), (130, 256, 70)] {
            let a = noise32(&[m, k], 1);
            let b = noise32(&[k, n], 2);
            let at = a.t().contiguous(); // [k, m] row-major
            let bt = b.t().contiguous(); // [n, k] row-major
            let want = a.mm(&b);
            assert_eq!(a.mm_t(&b, false, false), want);
            assert_eq!(a.mm_t(&bt, false, true), want);
            assert_eq!(at.mm_t(&b, true, false), want);
            assert_eq!(at.mm_t(&bt, true, true), want);
            assert_eq!(a.mm_nt(&bt), want);
            assert_eq!(at.mm_tn(&b), want);
            // Against a plain f64 loop, to a float32 tolerance.
            let (av, bv, wv) = (a.to_vec(), b.to_vec(), want.to_vec());
            for i in 0..m {
                for j in 0..n {
                    let exact: f64 = (0..k)
                        .map(|l| av[i * k + l] as f64 * bv[l * n + j] as f64)
                        .sum();
                    assert!((wv[i * n + j] as f64 - exact).abs() < 1e-4, "{m}x{k}x{n}");
                }
            }
            assert!(want.view().is_standard_layout());
        }
    }

    #[test]
    fn products_do_not_depend_on_the_thread_count() {
        let before = crate::num_threads();
        let a = noise32(&[96, 300], 3);
        let b = noise32(&[300, 128], 4);
        let x = noise32(&[64, 256], 5);
        crate::set_num_threads(1);
        let one = (a.mm(&b), a.mm_t(&b.t(), false, true), x.mm_tn(&x));
        crate::set_num_threads(2);
        let two = (a.mm(&b), a.mm_t(&b.t(), false, true), x.mm_tn(&x));
        crate::set_num_threads(before);
        assert_eq!(one, two);
    }

    #[test]
    fn mm_t_shapes_and_errors() {
        let a = iota(&[2, 3]);
        assert_eq!(
            a.mm_t(&a, false, true).to_vec(),
            vec![5.0, 14.0, 14.0, 50.0]
        );
        assert_eq!(a.mm_t(&a, true, false).shape(), &[3, 3]);
        // Empty inner dim: zeros; empty outer dims: empty.
        let z = Tensor::<f64>::zeros(&[2, 0]).mm_t(&Tensor::zeros(&[3, 0]), false, true);
        assert_eq!((z.shape(), z.to_vec()), (&[2usize, 3][..], vec![0.0; 6]));
        assert_eq!(
            Tensor::<f64>::zeros(&[0, 4])
                .mm_t(&Tensor::zeros(&[0, 2]), true, false)
                .shape(),
            &[4, 2]
        );
        let e = a.try_mm_t(&a, false, false).unwrap_err().to_string();
        assert!(e.starts_with("mm_t:") && e.contains("[2, 3]"), "{e}");
        let e = a
            .try_mm_t(&iota(&[3]), false, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2-D"), "{e}");
    }

    #[test]
    fn linear_equals_matmul_of_the_transpose_plus_bias_exactly() {
        let w = noise32(&[10, 256], 6);
        let b = noise32(&[10], 7);
        for shape in [vec![64, 256], vec![3, 5, 256], vec![256], vec![0, 256]] {
            let x = noise32(&shape, 8);
            let want = &x.matmul(&w.t()) + &b;
            assert_eq!(x.linear(&w, Some(&b)), want, "{shape:?}");
            assert_eq!(x.linear(&w, None), x.matmul(&w.t()), "{shape:?}");
        }
        // A layer as wide as W2's first one crosses the two-thread threshold.
        let x = noise32(&[64, 784], 9);
        let w1 = noise32(&[256, 784], 10);
        let b1 = noise32(&[256], 11);
        assert_eq!(x.linear(&w1, Some(&b1)), &x.matmul(&w1.t()) + &b1);
        // A non-contiguous input.
        let xt = noise32(&[256, 4], 12).t();
        assert!(!xt.is_contiguous());
        assert_eq!(
            xt.linear(&w, Some(&b)),
            &xt.contiguous().matmul(&w.t()) + &b
        );
        let xs = noise32(&[4, 3, 256], 13).transpose(0, 1);
        assert_eq!(xs.linear(&w, None), xs.contiguous().matmul(&w.t()));
        // Hand-checked values and zero features.
        let x = t(&[1.0, 2.0], &[1, 2]);
        let w = t(&[1.0, 1.0, 0.0, 1.0, 2.0, 0.0], &[3, 2]);
        let y = x.linear(&w, Some(&t(&[0.0, 0.5, -1.0], &[3])));
        assert_eq!(
            (y.shape(), y.to_vec()),
            (&[1usize, 3][..], vec![3.0, 2.5, 1.0])
        );
        let y = Tensor::<f64>::zeros(&[2, 0])
            .linear(&Tensor::zeros(&[3, 0]), Some(&t(&[1.0, 2.0, 3.0], &[3])));
        assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn linear_errors_name_the_shapes() {
        let x = Tensor::<f64>::zeros(&[2, 3]);
        let e = x
            .try_linear(&Tensor::zeros(&[4, 2]), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("linear:") && e.contains("in_features = 2"),
            "{e}"
        );
        let e = x
            .try_linear(&Tensor::zeros(&[3]), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2-D"), "{e}");
        let e = x
            .try_linear(&Tensor::zeros(&[4, 3]), Some(&Tensor::zeros(&[3])))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bias must have shape [4]"), "{e}");
        assert!(Tensor::scalar(1.0f64)
            .try_linear(&Tensor::zeros(&[1, 1]), None)
            .is_err());
    }
}
