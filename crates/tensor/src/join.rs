//! Joining tensors: `cat` along an existing dimension and `stack` along a new one.
//!
//! Both copy whole row-major blocks (one `memcpy` per input and outer index) rather than
//! single elements.

use crate::element::Element;
use crate::error::{ok, Result, TensorError};
use crate::shape::new_dim_index;
use crate::tensor::{normalize_dim, Tensor};

/// Appends, for each outer index, each part's block of `block_len(i)` elements to `out`.
fn interleave_blocks<T: Element>(
    parts: &[&Tensor<T>],
    outer: usize,
    block_len: impl Fn(usize) -> usize,
    out: &mut Vec<T>,
) {
    let layouts: Vec<_> = parts.iter().map(|t| t.row_major()).collect();
    let slices: Vec<&[T]> = layouts.iter().map(|a| &**a).collect();
    for o in 0..outer {
        for (i, s) in slices.iter().enumerate() {
            let n = block_len(i);
            out.extend_from_slice(&s[o * n..(o + 1) * n]);
        }
    }
}

impl<T: Element> Tensor<T> {
    /// Concatenates tensors along dimension `dim`; all other sizes must match, like `torch.cat`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1, 2, 3, 4i64], &[2, 2]);
    /// let b = Tensor::from_vec(vec![5, 6i64], &[2, 1]);
    /// let c = Tensor::cat(&[&a, &b], 1);
    /// assert_eq!(c.shape(), &[2, 3]);
    /// assert_eq!(c.to_vec(), vec![1, 2, 5, 3, 4, 6]);
    /// ```
    ///
    /// # Panics
    /// If the list is empty, a tensor is 0-d, or the shapes differ outside `dim`;
    /// [`Tensor::try_cat`] returns the error.
    #[track_caller]
    pub fn cat(tensors: &[&Tensor<T>], dim: isize) -> Tensor<T> {
        ok(Self::try_cat(tensors, dim))
    }

    /// `cat` returning an error that names the mismatched shapes and their positions.
    pub fn try_cat(tensors: &[&Tensor<T>], dim: isize) -> Result<Tensor<T>> {
        let first = *tensors
            .first()
            .ok_or_else(|| TensorError::invalid("cat", "expected a non-empty list of tensors"))?;
        if let Some(i) = tensors.iter().position(|t| t.ndim() == 0) {
            return Err(TensorError::invalid(
                "cat",
                format!("the 0-d tensor at position {i} cannot be concatenated (use stack)"),
            ));
        }
        let base = first.shape();
        let d = normalize_dim("cat", dim, base)?;
        let mut total = 0;
        for (i, t) in tensors.iter().enumerate() {
            let s = t.shape();
            let same_rank = s.len() == base.len();
            if !same_rank || (0..s.len()).any(|k| k != d && s[k] != base[k]) {
                let reason = if same_rank {
                    format!("tensor {i} must match tensor 0 in every dimension except {d}")
                } else {
                    format!(
                        "tensor {i} has {} dimensions, tensor 0 has {}",
                        s.len(),
                        base.len()
                    )
                };
                return Err(TensorError::shapes("cat", base, s, reason));
            }
            total += s[d];
        }
        if tensors.len() == 1 {
            return Ok(first.clone());
        }
        let mut shape = base.to_vec();
        shape[d] = total;
        let outer: usize = base[..d].iter().product();
        let inner: usize = base[d + 1..].iter().product();
        let mut out = Vec::with_capacity(shape.iter().product());
        interleave_blocks(tensors, outer, |i| tensors[i].shape()[d] * inner, &mut out);
        Ok(Tensor::from_vec(out, &shape))
    }

    /// Stacks same-shaped tensors along a new dimension `dim` (in `-(ndim + 1)..=ndim`), like
    /// `torch.stack`: the DataLoader's collation.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// let b = Tensor::from_vec(vec![3.0f32, 4.0], &[2]);
    /// assert_eq!(Tensor::stack(&[&a, &b], 0).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(Tensor::stack(&[&a, &b], 1).to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If the list is empty or the shapes differ; [`Tensor::try_stack`] returns the error.
    #[track_caller]
    pub fn stack(tensors: &[&Tensor<T>], dim: isize) -> Tensor<T> {
        ok(Self::try_stack(tensors, dim))
    }

    /// `stack` returning an error that names the mismatched shapes and their positions.
    pub fn try_stack(tensors: &[&Tensor<T>], dim: isize) -> Result<Tensor<T>> {
        let first = *tensors
            .first()
            .ok_or_else(|| TensorError::invalid("stack", "expected a non-empty list of tensors"))?;
        let base = first.shape();
        let d = new_dim_index("stack", dim, base)?;
        if let Some(i) = tensors.iter().position(|t| t.shape() != base) {
            return Err(TensorError::shapes(
                "stack",
                base,
                tensors[i].shape(),
                format!("tensor {i} must have the same shape as tensor 0"),
            ));
        }
        let mut shape = base.to_vec();
        shape.insert(d, tensors.len());
        let outer: usize = base[..d].iter().product();
        let inner: usize = base[d..].iter().product();
        let mut out = Vec::with_capacity(shape.iter().product());
        interleave_blocks(tensors, outer, |_| inner, &mut out);
        Ok(Tensor::from_vec(out, &shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(shape: &[usize], from: f64) -> Tensor<f64> {
        let n = shape.iter().product::<usize>();
        Tensor::from_vec((0..n).map(|i| from + i as f64).collect(), shape)
    }

    #[test]
    fn cat_along_each_dim() {
        let a = seq(&[2, 2], 0.0); // [[0, 1], [2, 3]]
        let b = seq(&[1, 2], 10.0); // [[10, 11]]
        let c = Tensor::cat(&[&a, &b], 0);
        assert_eq!(c.shape(), &[3, 2]);
        assert_eq!(c.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 10.0, 11.0]);
        let d = seq(&[2, 1], 20.0); // [[20], [21]]
        let e = Tensor::cat(&[&a, &d, &a], -1);
        assert_eq!(e.shape(), &[2, 5]);
        assert_eq!(
            e.to_vec(),
            vec![0.0, 1.0, 20.0, 0.0, 1.0, 2.0, 3.0, 21.0, 2.0, 3.0]
        );
    }

    #[test]
    fn cat_handles_strided_empty_and_other_dtypes() {
        let a = seq(&[2, 2], 0.0).t(); // [[0, 2], [1, 3]]
        let b = seq(&[2, 2], 4.0);
        assert_eq!(
            Tensor::cat(&[&a, &b], 1).to_vec(),
            vec![0.0, 2.0, 4.0, 5.0, 1.0, 3.0, 6.0, 7.0]
        );
        let empty = Tensor::<f64>::zeros(&[0, 2]);
        assert_eq!(Tensor::cat(&[&empty, &b], 0), b);
        assert_eq!(Tensor::cat(&[&empty, &empty], 0).shape(), &[0, 2]);
        let i = Tensor::from_vec(vec![1i64, 2], &[2]);
        assert_eq!(Tensor::cat(&[&i, &i], 0).to_vec(), vec![1, 2, 1, 2]);
        let m = Tensor::from_vec(vec![true], &[1]);
        assert_eq!(Tensor::cat(&[&m, &m], -1).to_vec(), vec![true, true]);
    }

    #[test]
    fn cat_errors_name_shapes_and_position() {
        let a = seq(&[2, 2], 0.0);
        let b = seq(&[2, 3], 0.0);
        let e = Tensor::try_cat(&[&a, &a, &b], 0).unwrap_err().to_string();
        assert_eq!(
            e,
            "cat: shapes [2, 2] and [2, 3] do not fit: tensor 2 must match tensor 0 in every dimension except 0"
        );
        let e = Tensor::try_cat(&[&a, &seq(&[4], 0.0)], 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tensor 1 has 1 dimensions"), "{e}");
        assert!(Tensor::<f64>::try_cat(&[], 0)
            .unwrap_err()
            .to_string()
            .contains("non-empty"));
        let s = Tensor::scalar(1.0f64);
        assert!(Tensor::try_cat(&[&s, &s], 0)
            .unwrap_err()
            .to_string()
            .contains("position 0"));
        assert!(Tensor::try_cat(&[&a, &a], 2).is_err());
    }

    #[test]
    fn stack_new_dims() {
        let a = seq(&[2, 3], 0.0);
        let b = seq(&[2, 3], 6.0);
        assert_eq!(Tensor::stack(&[&a, &b], 0).shape(), &[2, 2, 3]);
        assert_eq!(
            Tensor::stack(&[&a, &b], 0).to_vec(),
            (0..12).map(|i| i as f64).collect::<Vec<_>>()
        );
        let s = Tensor::stack(&[&a, &b], -1);
        assert_eq!(s.shape(), &[2, 3, 2]);
        assert_eq!(s.view()[[1, 2, 0]], 5.0);
        assert_eq!(s.view()[[1, 2, 1]], 11.0);
        let m = Tensor::stack(&[&a, &b], 1);
        assert_eq!(m.shape(), &[2, 2, 3]);
        assert_eq!(m.view()[[0, 1, 2]], 8.0);
        // 0-d tensors stack into a 1-d tensor.
        let (x, y) = (Tensor::scalar(1i64), Tensor::scalar(2i64));
        let v = Tensor::stack(&[&x, &y], 0);
        assert_eq!((v.shape(), v.to_vec()), (&[2usize][..], vec![1, 2]));
        assert_eq!(
            Tensor::stack(&[&Tensor::<f64>::zeros(&[0])], 0).shape(),
            &[1, 0]
        );
    }

    #[test]
    fn stack_errors() {
        let a = seq(&[2, 3], 0.0);
        let b = seq(&[3, 2], 0.0);
        let e = Tensor::try_stack(&[&a, &b], 0).unwrap_err().to_string();
        assert_eq!(
            e,
            "stack: shapes [2, 3] and [3, 2] do not fit: tensor 1 must have the same shape as tensor 0"
        );
        assert!(Tensor::<f64>::try_stack(&[], 0).is_err());
        assert!(Tensor::try_stack(&[&a], 3).is_err());
        assert_eq!(Tensor::stack(&[&a], -3).shape(), &[1, 2, 3]);
    }
}
