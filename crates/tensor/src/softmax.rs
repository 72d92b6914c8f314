//! `softmax`, `log_softmax` and `logsumexp` over one dim, numerically stable: each lane is shifted
//! by its maximum before `exp`, so rows of large values do not overflow and `-inf` entries give 0.

use crate::element::Float;
use crate::error::{ok, Result};
use crate::reduce::{keep_extreme, reduced_shape, slice_max, Max};
use crate::shape::split_at_dim;
use crate::tensor::Tensor;

/// Which of the two lane-preserving ops to compute.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Softmax,
    LogSoftmax,
}

/// The shift used by `logsumexp`: the lane maximum, or 0 when that is infinite, so that a lane
/// of `-inf` gives `-inf` and a lane holding `+inf` gives `+inf` (PyTorch's rule).
#[inline]
fn lse_shift<T: Float>(m: T) -> T {
    if m.is_infinite() {
        T::zero()
    } else {
        m
    }
}

impl<T: Float> Tensor<T> {
    /// `exp(x) / sum(exp(x))` over `dim`, like `torch.softmax(x, dim)`. Lanes are shifted by
    /// their maximum first; a lane of only `-inf` (or holding NaN) gives NaN, as in PyTorch.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1000.0, 1000.0, 0.0, f64::NEG_INFINITY], &[2, 2]);
    /// assert_eq!(x.softmax(-1).to_vec(), vec![0.5, 0.5, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range; [`Tensor::try_softmax`] returns the error.
    #[track_caller]
    pub fn softmax(&self, dim: isize) -> Tensor<T> {
        ok(self.try_softmax(dim))
    }

    /// `softmax` returning an error for a dim out of range.
    pub fn try_softmax(&self, dim: isize) -> Result<Tensor<T>> {
        self.softmax_impl("softmax", dim, Kind::Softmax)
    }

    /// `x - logsumexp(x)` over `dim`, like `torch.log_softmax(x, dim)`: the log of `softmax`
    /// without its rounding to 0 for very negative inputs.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![0.0, 0.0], &[2]);
    /// assert_eq!(x.log_softmax(0).to_vec(), vec![-(2f64.ln()); 2]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range; [`Tensor::try_log_softmax`] returns the error.
    #[track_caller]
    pub fn log_softmax(&self, dim: isize) -> Tensor<T> {
        ok(self.try_log_softmax(dim))
    }

    /// `log_softmax` returning an error for a dim out of range.
    pub fn try_log_softmax(&self, dim: isize) -> Result<Tensor<T>> {
        self.softmax_impl("log_softmax", dim, Kind::LogSoftmax)
    }

    /// `log(sum(exp(x)))` over `dim`, computed without overflow, like
    /// `torch.logsumexp(x, dim, keepdim)`. An empty or all-`-inf` lane gives `-inf`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1000.0, 1000.0], &[1, 2]);
    /// let l = x.logsumexp(1, false);
    /// assert_eq!(l.shape(), &[1]);
    /// assert!((l.item() - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range; [`Tensor::try_logsumexp`] returns the error.
    #[track_caller]
    pub fn logsumexp(&self, dim: isize, keepdim: bool) -> Tensor<T> {
        ok(self.try_logsumexp(dim, keepdim))
    }

    /// `logsumexp` returning an error for a dim out of range.
    pub fn try_logsumexp(&self, dim: isize, keepdim: bool) -> Result<Tensor<T>> {
        let axis = self.dim_index("logsumexp", dim)?;
        let (outer, n, inner) = split_at_dim(self.shape(), axis);
        let out_shape = reduced_shape(self.shape(), axis, keepdim);
        if n == 0 {
            return Ok(Tensor::full(&out_shape, T::neg_infinity()));
        }
        let data = &*self.row_major();
        let mut out = Vec::with_capacity(outer * inner);
        if inner == 1 {
            for lane in data.chunks_exact(n) {
                let s = lse_shift(slice_max(lane));
                let sum = lane.iter().fold(T::zero(), |acc, &x| acc + (x - s).exp());
                out.push(s + sum.ln());
            }
        } else if inner > 0 {
            let mut shift = vec![T::zero(); inner];
            for block in data.chunks_exact(n * inner) {
                lane_max_into(block, inner, &mut shift);
                shift.iter_mut().for_each(|m| *m = lse_shift(*m));
                let start = out.len();
                out.resize(start + inner, T::zero());
                let acc = &mut out[start..];
                for row in block.chunks_exact(inner) {
                    for ((s, &m), &x) in acc.iter_mut().zip(&shift).zip(row) {
                        *s += (x - m).exp();
                    }
                }
                acc.iter_mut()
                    .zip(&shift)
                    .for_each(|(s, &m)| *s = m + s.ln());
            }
        }
        Ok(Tensor::from_vec(out, &out_shape))
    }

    fn softmax_impl(&self, op: &'static str, dim: isize, kind: Kind) -> Result<Tensor<T>> {
        let axis = self.dim_index(op, dim)?;
        let (_, n, inner) = split_at_dim(self.shape(), axis);
        let data = &*self.row_major();
        let mut out = vec![T::zero(); data.len()];
        if data.is_empty() {
            return Ok(Tensor::from_vec(out, self.shape()));
        }
        if inner == 1 {
            for (lane, o) in data.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
                let m = slice_max(lane);
                let mut sum = T::zero();
                match kind {
                    Kind::Softmax => {
                        for (o, &x) in o.iter_mut().zip(lane) {
                            *o = (x - m).exp();
                            sum += *o;
                        }
                        o.iter_mut().for_each(|v| *v /= sum);
                    }
                    Kind::LogSoftmax => {
                        for (o, &x) in o.iter_mut().zip(lane) {
                            *o = x - m;
                            sum += o.exp();
                        }
                        let l = sum.ln();
                        o.iter_mut().for_each(|v| *v -= l);
                    }
                }
            }
        } else {
            let mut max = vec![T::zero(); inner];
            let mut sum = vec![T::zero(); inner];
            let block_len = n * inner;
            for (block, ob) in data
                .chunks_exact(block_len)
                .zip(out.chunks_exact_mut(block_len))
            {
                lane_max_into(block, inner, &mut max);
                sum.iter_mut().for_each(|s| *s = T::zero());
                for (row, orow) in block.chunks_exact(inner).zip(ob.chunks_exact_mut(inner)) {
                    for (((o, &x), &m), s) in orow.iter_mut().zip(row).zip(&max).zip(&mut sum) {
                        match kind {
                            Kind::Softmax => {
                                *o = (x - m).exp();
                                *s += *o;
                            }
                            Kind::LogSoftmax => {
                                *o = x - m;
                                *s += o.exp();
                            }
                        }
                    }
                }
                if kind == Kind::LogSoftmax {
                    sum.iter_mut().for_each(|s| *s = s.ln());
                }
                for orow in ob.chunks_exact_mut(inner) {
                    for (o, &s) in orow.iter_mut().zip(&sum) {
                        match kind {
                            Kind::Softmax => *o /= s,
                            Kind::LogSoftmax => *o -= s,
                        }
                    }
                }
            }
        }
        Ok(Tensor::from_vec(out, self.shape()))
    }
}

/// The NaN-propagating maximum of each of the `inner` lanes of a row-major `[n, inner]` block.
fn lane_max_into<T: Float>(block: &[T], inner: usize, max: &mut [T]) {
    max.copy_from_slice(&block[..inner]);
    for row in block.chunks_exact(inner).skip(1) {
        for (m, &x) in max.iter_mut().zip(row) {
            *m = keep_extreme::<Max, T>(x, *m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s)
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    const EMPTY: &[usize] = &[];

    #[test]
    fn softmax_hand_checked_both_dims() {
        let x = t(&[0.0, 2f64.ln(), 0.0, 3f64.ln()], &[2, 2]);
        // Rows: [1, 2]/3 and [1, 3]/4.
        assert!(close(
            &x.softmax(1).to_vec(),
            &[1.0 / 3.0, 2.0 / 3.0, 0.25, 0.75]
        ));
        assert_eq!(x.softmax(-1).to_vec(), x.softmax(1).to_vec());
        // Columns: [1, 1]/2 and [2, 3]/5.
        assert!(close(&x.softmax(0).to_vec(), &[0.5, 0.4, 0.5, 0.6]));
        assert!(close(
            &x.log_softmax(0).to_vec(),
            &[0.5f64.ln(), 0.4f64.ln(), 0.5f64.ln(), 0.6f64.ln()]
        ));
        assert!(close(
            &x.log_softmax(-1).to_vec(),
            &[
                (1.0f64 / 3.0).ln(),
                (2.0f64 / 3.0).ln(),
                0.25f64.ln(),
                0.75f64.ln()
            ]
        ));
    }

    #[test]
    fn large_and_infinite_inputs_are_stable() {
        let x = t(&[1000.0, 1000.0, 1000.0, -1000.0], &[2, 2]);
        assert_eq!(x.softmax(1).to_vec(), vec![0.5, 0.5, 1.0, 0.0]);
        assert!(close(
            &x.log_softmax(1).to_vec()[..3],
            &[-(2f64.ln()), -(2f64.ln()), 0.0]
        ));
        assert_eq!(x.log_softmax(1).to_vec()[3], -2000.0);
        assert!(close(
            &x.logsumexp(1, false).to_vec(),
            &[1000.0 + 2f64.ln(), 1000.0]
        ));
        // Down the columns (inner > 1 path).
        assert_eq!(x.softmax(0).to_vec(), vec![0.5, 1.0, 0.5, 0.0]);
        assert!(close(
            &x.logsumexp(0, true).to_vec(),
            &[1000.0 + 2f64.ln(), 1000.0]
        ));
        let f = Tensor::from_vec(vec![500.0f32, 500.0], &[2]).softmax(0);
        assert_eq!(f.to_vec(), vec![0.5f32, 0.5]);
        let ninf = f64::NEG_INFINITY;
        let y = t(&[0.0, ninf, ninf, ninf], &[2, 2]);
        assert_eq!(y.softmax(1).to_vec()[..2], [1.0, 0.0]);
        // A lane of only -inf: softmax NaN, logsumexp -inf (PyTorch's results).
        assert!(y.softmax(1).to_vec()[2..].iter().all(|v| v.is_nan()));
        assert!(y.log_softmax(1).to_vec()[2..].iter().all(|v| v.is_nan()));
        assert_eq!(y.logsumexp(1, false).to_vec(), vec![0.0, ninf]);
        assert_eq!(y.logsumexp(0, false).to_vec(), vec![0.0, ninf]);
        assert_eq!(
            t(&[f64::INFINITY, 0.0], &[2]).logsumexp(0, false).item(),
            f64::INFINITY
        );
        let n = t(&[1.0, f64::NAN], &[2]);
        assert!(n.softmax(0).to_vec().iter().all(|v| v.is_nan()));
        assert!(n.logsumexp(0, false).item().is_nan());
    }

    #[test]
    fn logsumexp_shapes_and_values() {
        let x = t(&[0.0, 0.0, 0.0, 1.0, 2.0, 3.0], &[2, 3]);
        let l = x.logsumexp(-1, false);
        assert_eq!(l.shape(), &[2]);
        let want1 = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        assert!(close(&l.to_vec(), &[3f64.ln(), want1]));
        assert_eq!(x.logsumexp(-1, true).shape(), &[2, 1]);
        let c = x.logsumexp(0, false);
        assert_eq!(c.shape(), &[3]);
        assert!(close(
            &c.to_vec(),
            &[
                (1.0 + 1f64.exp()).ln(),
                (1.0 + 2f64.exp()).ln(),
                (1.0 + 3f64.exp()).ln()
            ]
        ));
        // log_softmax = x - logsumexp(keepdim).
        let ls = x.log_softmax(1).to_vec();
        let lk = x.logsumexp(1, true).to_vec();
        let xv = x.to_vec();
        for i in 0..6 {
            assert!((ls[i] - (xv[i] - lk[i / 3])).abs() < 1e-12);
        }
    }

    #[test]
    fn scalar_and_empty_tensors() {
        let s = Tensor::scalar(5.0f64);
        assert_eq!(s.softmax(0).shape(), EMPTY);
        assert_eq!(s.softmax(-1).item(), 1.0);
        assert_eq!(s.log_softmax(0).item(), 0.0);
        assert_eq!(s.logsumexp(0, true).item(), 5.0);
        assert_eq!(s.logsumexp(-1, false).shape(), EMPTY);
        let e = Tensor::<f64>::zeros(&[0, 3]);
        assert_eq!(e.softmax(1).shape(), &[0, 3]);
        assert_eq!(e.log_softmax(0).shape(), &[0, 3]);
        assert_eq!(e.logsumexp(1, false).shape(), &[0]);
        // Reducing an empty dim: log(0) = -inf for every lane.
        assert_eq!(e.logsumexp(0, false).to_vec(), vec![f64::NEG_INFINITY; 3]);
        assert_eq!(e.logsumexp(0, true).shape(), &[1, 3]);
    }

    #[test]
    fn three_dims_middle_axis() {
        // [1, 2, 2]: softmax over dim 1 pairs (0, 2) and (1, 3).
        let x = t(&[0.0, 1.0, 0.0, 1.0], &[1, 2, 2]);
        assert_eq!(x.softmax(1).to_vec(), vec![0.5; 4]);
        let x = t(&[0.0, 0.0, 3f64.ln(), 0.0], &[1, 2, 2]);
        assert!(close(&x.softmax(-2).to_vec(), &[0.25, 0.5, 0.75, 0.5]));
    }

    #[test]
    fn transposed_layout_is_handled() {
        let base = t(&[0.0, 0.0, 2f64.ln(), 3f64.ln()], &[2, 2]).into_array();
        // Logical [[0, ln2], [0, ln3]].
        let x = Tensor::from_array(base.reversed_axes());
        assert!(close(
            &x.softmax(1).to_vec(),
            &[1.0 / 3.0, 2.0 / 3.0, 0.25, 0.75]
        ));
    }

    #[test]
    fn errors_name_op_and_shape() {
        let x = t(&[1.0, 2.0], &[2]);
        let e = x.try_softmax(1).unwrap_err().to_string();
        assert!(e.starts_with("softmax:") && e.contains("[2]"), "{e}");
        assert!(x.try_log_softmax(-2).is_err());
        assert!(x.try_logsumexp(2, false).is_err());
    }

    #[test]
    #[should_panic(expected = "log_softmax: dimension 3 out of range")]
    fn log_softmax_panics_with_message() {
        let _ = t(&[1.0], &[1]).log_softmax(3);
    }
}
