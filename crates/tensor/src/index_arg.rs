//! Index arguments, accepted uniformly by `index_select`, `index_add`, `gather` and
//! `scatter_add`: slices, arrays and vectors of `usize`, `i64` or `i32` (so `&[2, 0]` works as
//! is), and `Tensor<i64>` (PyTorch's `LongTensor`), each passed by reference.
//!
//! Negative indices are treated as PyTorch treats them in these ops: as out of range (an error
//! naming the op, the index, the dimension and its size), not counted from the end.
//!
//! ```
//! use antorcha_tensor::Tensor;
//! let x = Tensor::from_vec(vec![0, 1, 2, 3, 4, 5i64], &[3, 2]);
//! let rows = vec![2usize, 0];
//! let want = vec![4, 5, 0, 1];
//! assert_eq!(x.index_select(0, &rows).to_vec(), want);
//! assert_eq!(x.index_select(0, &[2i64, 0]).to_vec(), want);
//! assert_eq!(x.index_select(0, &Tensor::from_vec(vec![2i64, 0], &[2])).to_vec(), want);
//! assert!(x.try_index_select(0, &[-1i64]).is_err()); // as torch.index_select
//! ```

use std::borrow::Cow;

use crate::error::{Result, TensorError};
use crate::index::out_of_range;
use crate::Tensor;

/// An integer type an index list may hold.
pub trait IndexElement: Copy {
    /// The index as PyTorch's `int64` (saturating for a `usize` above `i64::MAX`).
    fn to_i64(self) -> i64;

    /// The list itself when it already holds `usize` (no copy needed).
    fn as_positions(_list: &[Self]) -> Option<&[usize]> {
        None
    }
}

impl IndexElement for usize {
    fn to_i64(self) -> i64 {
        i64::try_from(self).unwrap_or(i64::MAX)
    }

    fn as_positions(list: &[usize]) -> Option<&[usize]> {
        Some(list)
    }
}

impl IndexElement for i64 {
    fn to_i64(self) -> i64 {
        self
    }
}

impl IndexElement for i32 {
    fn to_i64(self) -> i64 {
        self as i64
    }
}

/// Indices given to an indexing op: a list (1-d) or a `Tensor<i64>` of any shape.
pub trait IndexArg {
    /// The indices as a tensor of PyTorch's `int64` (a list is 1-d).
    fn to_index_tensor(&self) -> Cow<'_, Tensor<i64>>;

    /// The indices of a 0-d or 1-d index as positions, borrowed when they already are `usize`.
    ///
    /// # Errors
    /// An index of more than one dimension, or a negative index
    /// ([`TensorError::IndexOutOfRange`] naming `op`, dimension `dim` of `shape`).
    fn to_positions(
        &self,
        op: &'static str,
        dim: usize,
        shape: &[usize],
    ) -> Result<Cow<'_, [usize]>> {
        let t = self.to_index_tensor();
        if t.ndim() > 1 {
            return Err(TensorError::invalid(
                op,
                format!("index must be 0-d or 1-d, got shape {:?}", t.shape()),
            ));
        }
        positions(op, &t.row_major(), dim, shape).map(Cow::Owned)
    }
}

/// `list` as positions, a negative index being out of range.
fn positions<E: IndexElement>(
    op: &'static str,
    list: &[E],
    dim: usize,
    shape: &[usize],
) -> Result<Vec<usize>> {
    list.iter()
        .map(|&i| {
            let i = i.to_i64();
            usize::try_from(i).map_err(|_| out_of_range(op, i, dim, shape))
        })
        .collect()
}

impl<E: IndexElement> IndexArg for [E] {
    fn to_index_tensor(&self) -> Cow<'_, Tensor<i64>> {
        let data: Vec<i64> = self.iter().map(|&i| i.to_i64()).collect();
        Cow::Owned(Tensor::from_vec(data, &[self.len()]))
    }

    fn to_positions(
        &self,
        op: &'static str,
        dim: usize,
        shape: &[usize],
    ) -> Result<Cow<'_, [usize]>> {
        match E::as_positions(self) {
            Some(p) => Ok(Cow::Borrowed(p)),
            None => positions(op, self, dim, shape).map(Cow::Owned),
        }
    }
}

/// Arrays and vectors index as their slice.
macro_rules! index_as_slice {
    ($($t:ty => [$($g:tt)*]),*) => {$(
        impl<$($g)*> IndexArg for $t {
            fn to_index_tensor(&self) -> Cow<'_, Tensor<i64>> {
                self[..].to_index_tensor()
            }

            fn to_positions(
                &self,
                op: &'static str,
                dim: usize,
                shape: &[usize],
            ) -> Result<Cow<'_, [usize]>> {
                self[..].to_positions(op, dim, shape)
            }
        }
    )*};
}

index_as_slice!([E; N] => [E: IndexElement, const N: usize], Vec<E> => [E: IndexElement]);

impl IndexArg for Tensor<i64> {
    fn to_index_tensor(&self) -> Cow<'_, Tensor<i64>> {
        Cow::Borrowed(self)
    }
}

impl<A: IndexArg + ?Sized> IndexArg for &A {
    fn to_index_tensor(&self) -> Cow<'_, Tensor<i64>> {
        (**self).to_index_tensor()
    }

    fn to_positions(
        &self,
        op: &'static str,
        dim: usize,
        shape: &[usize],
    ) -> Result<Cow<'_, [usize]>> {
        (**self).to_positions(op, dim, shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_gives_the_same_positions() {
        let shape = [4usize, 2];
        let want: &[usize] = &[3, 0, 3];
        let forms: Vec<Box<dyn IndexArg>> = vec![
            Box::new(vec![3usize, 0, 3]),
            Box::new(vec![3i64, 0, 3]),
            Box::new([3i32, 0, 3]),
            Box::new(Tensor::from_vec(vec![3i64, 0, 3], &[3])),
        ];
        for f in &forms {
            assert_eq!(&*f.to_positions("op", 0, &shape).unwrap(), want);
            assert_eq!(f.to_index_tensor().to_vec(), vec![3i64, 0, 3]);
        }
        // usize lists are borrowed, not copied.
        let list = [1usize, 2];
        assert!(matches!(
            list[..].to_positions("op", 0, &shape).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn negative_and_2d_indices_are_errors() {
        let e = [-1i64]
            .to_positions("index_select", 1, &[2, 3])
            .unwrap_err();
        assert!(
            matches!(
                e,
                TensorError::IndexOutOfRange {
                    index: -1,
                    dim: 1,
                    size: 3,
                    ..
                }
            ),
            "{e}"
        );
        let t = Tensor::from_vec(vec![0i64; 4], &[2, 2]);
        let e = t.to_positions("index_select", 0, &[2]).unwrap_err();
        assert!(e.to_string().contains("0-d or 1-d"), "{e}");
    }
}
