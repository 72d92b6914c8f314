//! Matrix products with `torch.matmul`'s rules, on ndarray's GEMM (`general_mat_mul`, backed by
//! matrixmultiply, which takes any strides: transposed views go straight in without a copy).

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayD, ArrayView2, ArrayViewD, Axis, Ix1, Ix2, IxDyn};

use crate::broadcast::broadcast_shapes;
use crate::element::Float;
use crate::error::{ok, Result, TensorError};
use crate::tensor::Tensor;

const TRANSPOSE_HINT: &str = "did you mean `a.matmul(&b.t())`?";

fn mismatch(op: &'static str, a: &[usize], b: &[usize], reason: String) -> TensorError {
    TensorError::ShapeMismatch {
        op,
        lhs: a.to_vec(),
        rhs: b.to_vec(),
        reason,
        hint: None,
    }
}

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
            return Err(mismatch(
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
}

/// `torch.matmul` on two views; the result is a fresh row-major array.
fn matmul_views<T: Float>(
    op: &'static str,
    a: ArrayViewD<'_, T>,
    b: ArrayViewD<'_, T>,
) -> Result<ArrayD<T>> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    if sa.is_empty() || sb.is_empty() {
        return Err(mismatch(
            op,
            &sa,
            &sb,
            "both arguments need to be at least 1-D (use `mul` for a 0-d operand)".into(),
        ));
    }
    if sa.len() == 1 && sb.len() == 1 {
        if sa[0] != sb[0] {
            return Err(mismatch(
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
        mismatch(
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
    let mut out = ArrayD::<T>::zeros(IxDyn(&full));
    if out.is_empty() || k == 0 {
        return Ok(out
            .into_shape_with_order(IxDyn(&final_shape))
            .expect("same length"));
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
            general_mat_mul(T::one(), &a2, &b2, T::zero(), &mut c2);
            return Ok(out
                .into_shape_with_order(IxDyn(&final_shape))
                .expect("same length"));
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
        general_mat_mul(T::one(), &a2, &b2, T::zero(), &mut c);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < batch[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(out
        .into_shape_with_order(IxDyn(&final_shape))
        .expect("same length"))
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
        assert!(a.array().as_slice().is_none());
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
        assert!(y.array().is_standard_layout());
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
}
