//! `as_strided`: a view, or a write, at an explicit layout of a tensor's storage. Autograd
//! uses it to keep a base and its views on one storage, so an in-place change through any of
//! them is seen by all, as in PyTorch.

use ndarray::{ArrayViewMutD, IxDyn, ShapeBuilder};

use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// A view of this tensor's storage with another layout, like `torch.as_strided`: element
    /// `i` of the result is the storage's element `offset + Σ i[k] * stride[k]` (an absolute
    /// offset, as PyTorch's `storage_offset`), or an error if it reaches past the storage.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec((0..6).collect::<Vec<i64>>(), &[2, 3]);
    /// let col = x.try_as_strided(&[2], &[3], 1).unwrap();
    /// assert_eq!(col.to_vec(), vec![1, 4]);
    /// ```
    pub fn try_as_strided(
        &self,
        size: &[usize],
        stride: &[usize],
        offset: usize,
    ) -> Result<Tensor<T>> {
        self.check_strided("as_strided", size, stride, offset)?;
        Ok(self.with_layout(size, stride, offset))
    }

    /// Writes `src` (broadcast to `size`) into this tensor's storage at the layout
    /// `size`/`stride`/`offset`, like `t.as_strided(size, stride, offset).copy_(src)`: every
    /// view of this storage taken with [`Tensor::try_as_strided`] afterwards sees it. A storage
    /// shared with other tensors is copied first, whole, so this tensor's own layout holds.
    /// A layout whose elements overlap (a stride 0 along a dim longer than 1) is an error, as in
    /// PyTorch.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let mut x = Tensor::<f64>::zeros(&[2, 3]);
    /// x.try_as_strided_copy_(&[2], &[3], 1, &Tensor::from_vec(vec![7.0, 8.0], &[2])).unwrap();
    /// assert_eq!(x.to_vec(), vec![0.0, 7.0, 0.0, 0.0, 8.0, 0.0]);
    /// ```
    pub fn try_as_strided_copy_(
        &mut self,
        size: &[usize],
        stride: &[usize],
        offset: usize,
        src: &Tensor<T>,
    ) -> Result<()> {
        const OP: &str = "as_strided_copy_";
        self.check_strided(OP, size, stride, offset)?;
        let src = src.try_broadcast_to(size)?;
        if size.iter().product::<usize>() == 0 {
            return Ok(());
        }
        let overlap = || {
            TensorError::invalid(
                OP,
                format!(
                    "unsupported operation: more than one element of the written-to tensor refers to a single memory location (size {size:?}, stride {stride:?})"
                ),
            )
        };
        if size.iter().zip(stride).any(|(&n, &s)| n > 1 && s == 0) {
            return Err(overlap());
        }
        let storage = self.storage_mut();
        let shape = IxDyn(size).strides(IxDyn(stride));
        let mut dst =
            ArrayViewMutD::from_shape(shape, &mut storage[offset..]).map_err(|_| overlap())?;
        dst.assign(&src.view());
        Ok(())
    }

    fn check_strided(
        &self,
        op: &'static str,
        size: &[usize],
        stride: &[usize],
        offset: usize,
    ) -> Result<()> {
        if size.len() != stride.len() {
            return Err(TensorError::invalid(
                op,
                format!("size {size:?} and stride {stride:?} differ in length"),
            ));
        }
        let mut numel = 1usize;
        let mut last = offset;
        for (&n, &s) in size.iter().zip(stride) {
            numel = numel.saturating_mul(n);
            last = (n.saturating_sub(1))
                .checked_mul(s)
                .and_then(|d| last.checked_add(d))
                .unwrap_or(usize::MAX);
        }
        let len = self.storage_len();
        if numel != 0 && last >= len {
            return Err(TensorError::invalid(
                op,
                format!(
                    "size {size:?}, stride {stride:?} and offset {offset} reach past a storage of {len} elements"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_through_a_layout_is_seen_by_a_view_of_the_same_storage() {
        let base = Tensor::from_vec((0..12).map(f64::from).collect(), &[3, 4]);
        let mut x = base.t();
        let held = x.clone();
        // Column 1 of `base` is row 1 of its transpose: offset 1, stride 4.
        x.try_as_strided_copy_(&[3], &[4], 1, &Tensor::scalar(-1.0))
            .unwrap();
        assert_eq!(x.strides(), &[1, 4], "the written tensor keeps its layout");
        assert_eq!(
            x.to_vec(),
            base.t()
                .to_vec()
                .iter()
                .enumerate()
                .map(|(i, &v)| if (3..6).contains(&i) { -1.0 } else { v })
                .collect::<Vec<_>>()
        );
        assert_eq!(
            held.to_vec(),
            base.t().to_vec(),
            "a shared storage is copied first"
        );
        let row = x.try_as_strided(&[4], &[1], 4).unwrap();
        assert_eq!(row.to_vec(), vec![4.0, -1.0, 6.0, 7.0]);
    }

    #[test]
    fn layouts_past_the_storage_or_overlapping_are_errors() {
        let mut x = Tensor::<f32>::zeros(&[2, 3]);
        assert!(x.try_as_strided(&[2, 3], &[3, 1], 1).is_err());
        assert!(x
            .try_as_strided(&[usize::MAX, 2], &[usize::MAX, 1], 0)
            .is_err());
        assert!(x.try_as_strided(&[2], &[1, 1], 0).is_err());
        assert!(x.try_as_strided(&[0, 9], &[100, 100], 6).is_ok());
        let err = x
            .try_as_strided_copy_(&[2, 2], &[0, 1], 0, &Tensor::scalar(1.0))
            .unwrap_err();
        assert!(err.to_string().contains("more than one element"), "{err}");
        assert!(x
            .try_as_strided_copy_(&[2, 2], &[1, 1], 0, &Tensor::scalar(1.0))
            .is_err());
        assert_eq!(x.to_vec(), vec![0.0; 6], "a failed write changes nothing");
    }
}
