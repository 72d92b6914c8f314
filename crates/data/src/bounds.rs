//! Checked sizes for shapes read from files: what PyTorch's "Stride calculation overflowed"
//! and numpy's "array is too big" refuse, refused here before anything is allocated.

/// The number of bytes of a row-major array of `shape` with `elem_size`-byte elements, or
/// `None` when the array cannot be laid out: the product of the dims, each counted as at least
/// 1 (the largest stride, so a zero dim next to huge ones does not hide them), times the element
/// size, must fit in `isize`.
pub(crate) fn shape_bytes(shape: &[usize], elem_size: usize) -> Option<usize> {
    let stride_span = shape
        .iter()
        .try_fold(elem_size, |acc, &d| acc.checked_mul(d.max(1)))
        .filter(|&n| n <= isize::MAX as usize)?;
    if shape.contains(&0) {
        Some(0)
    } else {
        Some(stride_span)
    }
}

#[cfg(test)]
mod tests {
    use super::shape_bytes;

    #[test]
    fn zero_dims_do_not_hide_overflowing_ones() {
        assert_eq!(shape_bytes(&[2, 3], 4), Some(24));
        assert_eq!(shape_bytes(&[], 8), Some(8));
        assert_eq!(shape_bytes(&[0, 28, 28], 1), Some(0));
        let huge = u32::MAX as usize;
        assert_eq!(shape_bytes(&[0, huge, huge], 1), None);
        assert_eq!(shape_bytes(&[usize::MAX], 1), None);
        assert_eq!(
            shape_bytes(&[isize::MAX as usize], 1),
            Some(isize::MAX as usize)
        );
        assert_eq!(shape_bytes(&[isize::MAX as usize], 2), None);
    }
}
