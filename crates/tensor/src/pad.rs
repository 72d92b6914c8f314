//! Constant padding (`torch.constant_pad_nd`, what `F.pad(x, pad, value=v)` runs): each of the
//! last dims grows by a number of `value`s before and after, or shrinks where the number is
//! negative.

use ndarray::Slice;

use crate::element::Element;
use crate::error::{ok, Result, TensorError};
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// `self` with `pad[2i]` elements equal to `value` added before and `pad[2i + 1]` after
    /// dim `ndim - 1 - i` (pairs from the last dim backwards; a negative number removes that
    /// many), like `torch.constant_pad_nd(x, pad, value)` and `F.pad(x, pad, value=value)`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    /// let y = x.constant_pad_nd(&[1, -1, 0, 1], 9.0);
    /// assert_eq!(y.shape(), &[3, 2]);
    /// assert_eq!(y.to_vec(), vec![9.0, 1.0, 9.0, 3.0, 9.0, 9.0]);
    /// ```
    ///
    /// # Panics
    /// When [`Tensor::try_constant_pad_nd`] returns an error.
    #[track_caller]
    pub fn constant_pad_nd(&self, pad: &[isize], value: T) -> Tensor<T> {
        ok(self.try_constant_pad_nd(pad, value))
    }

    /// `constant_pad_nd`, or PyTorch's error for an odd number of pads, more pairs than dims,
    /// or a dim that the pads would make negative.
    pub fn try_constant_pad_nd(&self, pad: &[isize], value: T) -> Result<Tensor<T>> {
        const OP: &str = "constant_pad_nd";
        let shape = self.shape();
        if !pad.len().is_multiple_of(2) {
            return Err(TensorError::invalid(
                OP,
                format!(
                    "Length of pad must be even but instead it equals {}",
                    pad.len()
                ),
            ));
        }
        if pad.len() / 2 > shape.len() {
            return Err(TensorError::invalid(
                OP,
                format!(
                    "Length of pad should be no more than twice the number of dimensions of the input. Pad length is {} while the input has {} dimensions.",
                    pad.len(),
                    shape.len()
                ),
            ));
        }
        // Per dim: the output size, the input range kept and where it lands in the output.
        let mut out_shape = shape.to_vec();
        let mut src: Vec<Slice> = shape.iter().map(|_| Slice::from(..)).collect();
        let mut dst = src.clone();
        for (i, p) in pad.chunks_exact(2).enumerate() {
            let d = shape.len() - 1 - i;
            let (before, after) = (p[0], p[1]);
            let size = shape[d] as isize;
            let new = size
                .checked_add(before)
                .and_then(|s| s.checked_add(after))
                .ok_or_else(|| {
                    TensorError::invalid(
                        OP,
                        format!("pads {before} and {after} overflow dimension {d} of size {size}"),
                    )
                })?;
            if new < 0 {
                return Err(TensorError::invalid(
                    OP,
                    format!(
                        "The input size {size}, plus negative padding {before} and {after} resulted in a negative output size, which is invalid. Check dimension {d} of your input."
                    ),
                ));
            }
            out_shape[d] = new as usize;
            let from = before.min(0).unsigned_abs().min(shape[d]);
            let to = (size + after.min(0)).max(from as isize) as usize;
            let at = before.max(0) as usize;
            // A pad larger than the output (only with the other side negative) keeps nothing.
            let kept = (to - from).min((new as usize).saturating_sub(at));
            src[d] = Slice::from(from..from + kept);
            dst[d] = Slice::from(at.min(new as usize)..at.min(new as usize) + kept);
        }
        let mut out = Tensor::try_full(&out_shape, value)?;
        let input = self.view();
        let region = input.slice_each_axis(|ax| src[ax.axis.index()]);
        out.view_mut()
            .slice_each_axis_mut(|ax| dst[ax.axis.index()])
            .assign(&region);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Dimension;

    fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// The element of the padded output at `idx`, from the definition.
    fn reference(x: &Tensor<f64>, pad: &[isize], value: f64, idx: &[usize]) -> f64 {
        let shape = x.shape();
        let mut src = Vec::new();
        for (d, &i) in idx.iter().enumerate() {
            let from_end = shape.len() - 1 - d;
            let before = if from_end < pad.len() / 2 {
                pad[2 * from_end]
            } else {
                0
            };
            let j = i as isize - before;
            if j < 0 || j >= shape[d] as isize {
                return value;
            }
            src.push(j as usize);
        }
        x.view()[src.as_slice()]
    }

    #[test]
    fn matches_the_definition_for_positive_negative_and_mixed_pads() {
        let x = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]);
        for pad in [
            vec![],
            vec![1, 2],
            vec![0, 0, 1, 0],
            vec![-1, 2, 1, -2],
            vec![2, -3, -1, -1, 1, 1],
            vec![-2, -2],
            vec![3, -5],
        ] {
            let y = x.constant_pad_nd(&pad, -7.5);
            let mut want_shape = x.shape().to_vec();
            for (i, p) in pad.chunks(2).enumerate() {
                let d = want_shape.len() - 1 - i;
                want_shape[d] = (want_shape[d] as isize + p[0] + p[1]) as usize;
            }
            assert_eq!(y.shape(), want_shape.as_slice(), "{pad:?}");
            for (idx, &got) in y.view().indexed_iter() {
                let want = reference(&x, &pad, -7.5, idx.slice());
                assert_eq!(got, want, "{pad:?} at {:?}", idx.slice());
            }
        }
    }

    #[test]
    fn strided_inputs_and_zero_sizes() {
        let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).t();
        assert_eq!(
            x.constant_pad_nd(&[1, 0], 0.0).to_vec(),
            vec![0.0, 1.0, 4.0, 0.0, 2.0, 5.0, 0.0, 3.0, 6.0]
        );
        let empty = Tensor::<f64>::zeros(&[0, 2]);
        assert_eq!(
            empty.constant_pad_nd(&[1, 1, 1, 0], 3.0).to_vec(),
            vec![3.0; 4]
        );
    }

    #[test]
    fn bad_pads_are_pytorchs_errors() {
        let x = Tensor::<f64>::zeros(&[2, 3, 4]);
        let msg = |pad: &[isize]| x.try_constant_pad_nd(pad, 0.0).unwrap_err().to_string();
        assert_eq!(
            msg(&[1]),
            "constant_pad_nd: Length of pad must be even but instead it equals 1"
        );
        assert!(msg(&[1; 8]).contains("Pad length is 8 while the input has 3 dimensions"));
        assert!(msg(&[-3, -2]).contains(
            "The input size 4, plus negative padding -3 and -2 resulted in a negative output size"
        ));
        assert_eq!(
            msg(&[isize::MAX, 1]),
            format!(
                "constant_pad_nd: pads {} and 1 overflow dimension 2 of size 4",
                isize::MAX
            )
        );
    }
}
