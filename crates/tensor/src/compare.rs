//! Comparisons giving `Tensor<bool>`, `where_`, the logic of bool tensors and their conversion
//! to numbers (for accuracies: `pred.eq(&target).float().mean()`).

use ndarray::{IxDyn, Zip};

use crate::broadcast::{broadcast_shapes, zip_map};
use crate::element::{Element, Float};
use crate::error::{ok, Result, TensorError};
use crate::tensor::Tensor;

macro_rules! comparisons {
    ($bound:path; $( $(#[$doc:meta])* $name:ident, $try_name:ident, $scalar:ident, $op:tt; )*) => {
        impl<T: Element + $bound> Tensor<T> {
            $(
                $(#[$doc])*
                ///
                /// # Panics
                /// If the shapes do not broadcast; the `try_` form returns the error.
                #[track_caller]
                pub fn $name(&self, other: &Tensor<T>) -> Tensor<bool> {
                    ok(self.$try_name(other))
                }

                #[doc = concat!("`", stringify!($name), "` returning an error when the shapes do not broadcast.")]
                pub fn $try_name(&self, other: &Tensor<T>) -> Result<Tensor<bool>> {
                    zip_map(stringify!($name), self, other, |x: T, y: T| x $op y)
                }

                #[doc = concat!("`", stringify!($name), "` against one value: `self ", stringify!($op), " value` for every element.")]
                pub fn $scalar(&self, value: T) -> Tensor<bool> {
                    self.map(|x| *x $op value)
                }
            )*
        }
    };
}

comparisons! {
    PartialEq;
    /// `self == other` elementwise with broadcasting, like `torch.eq` (NaN is never equal).
    ///
    /// This inherent method shadows `PartialEq::eq` in method-call syntax; `a == b` still
    /// compares whole tensors.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let pred = Tensor::from_vec(vec![1i64, 2, 3], &[3]);
    /// let target = Tensor::from_vec(vec![1i64, 0, 3], &[3]);
    /// assert_eq!(pred.eq(&target).to_vec(), vec![true, false, true]);
    /// assert_eq!(pred.eq(&target).float().to_vec(), vec![1.0, 0.0, 1.0]);
    /// ```
    eq, try_eq, eq_scalar, ==;
    /// `self != other` elementwise with broadcasting, like `torch.ne` (NaN is unequal to all).
    ne, try_ne, ne_scalar, !=;
}

comparisons! {
    PartialOrd;
    /// `self > other` elementwise with broadcasting, like `torch.gt`.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]);
    /// assert_eq!(x.gt(&Tensor::scalar(2.0)).to_vec(), vec![false, false, true]);
    /// assert_eq!(x.le_scalar(2.0).to_vec(), vec![true, true, false]);
    /// ```
    gt, try_gt, gt_scalar, >;
    /// `self < other` elementwise with broadcasting, like `torch.lt`.
    lt, try_lt, lt_scalar, <;
    /// `self >= other` elementwise with broadcasting, like `torch.ge`.
    ge, try_ge, ge_scalar, >=;
    /// `self <= other` elementwise with broadcasting, like `torch.le`.
    le, try_le, le_scalar, <=;
}

impl<T: Element> Tensor<T> {
    /// `a` where `cond` is true and `b` elsewhere, all three broadcast together, like
    /// `torch.where(cond, a, b)` (named `where_` because `where` is a Rust keyword).
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0f32, 2.0, -3.0], &[3]);
    /// let y = Tensor::where_(&x.gt_scalar(0.0), &x, &Tensor::scalar(0.0));
    /// assert_eq!(y.to_vec(), vec![0.0, 2.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not broadcast; [`Tensor::try_where`] returns the error.
    #[track_caller]
    pub fn where_(cond: &Tensor<bool>, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        ok(Self::try_where(cond, a, b))
    }

    /// `where_` returning an error when the three shapes do not broadcast together.
    pub fn try_where(cond: &Tensor<bool>, a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
        let (c, x, y) = (cond.view(), a.view(), b.view());
        if c.shape() == x.shape() && c.shape() == y.shape() {
            if let (Some(cs), Some(xs), Some(ys)) = (c.as_slice(), x.as_slice(), y.as_slice()) {
                let data = cs
                    .iter()
                    .zip(xs.iter().zip(ys))
                    .map(|(&c, (x, y))| if c { x.clone() } else { y.clone() })
                    .collect();
                return Ok(Tensor::from_vec(data, c.shape()));
            }
        }
        let ab = broadcast_shapes("where", x.shape(), y.shape())?;
        let shape = broadcast_shapes("where", c.shape(), &ab).map_err(|_| {
            TensorError::shapes(
                "where",
                c.shape(),
                &ab,
                format!(
                    "the condition does not broadcast with the inputs (shapes {:?} and {:?})",
                    x.shape(),
                    y.shape()
                ),
            )
        })?;
        let dim = IxDyn(&shape);
        let cb = c.broadcast(dim.clone()).expect("shape checked");
        let xb = x.broadcast(dim.clone()).expect("shape checked");
        let yb = y.broadcast(dim).expect("shape checked");
        Ok(Tensor::from_array(
            Zip::from(&cb)
                .and(&xb)
                .and(&yb)
                .map_collect(|&c, x, y| if c { x.clone() } else { y.clone() }),
        ))
    }

    /// The number of elements that are not zero (not `T::default()`: `0`, `0.0`, `false`; NaN
    /// counts), like `torch.count_nonzero` as a plain number.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let hits = Tensor::from_vec(vec![true, false, true], &[3]);
    /// assert_eq!(hits.count_nonzero(), 2);
    /// ```
    pub fn count_nonzero(&self) -> usize {
        let zero = T::default();
        match self.view().as_slice_memory_order() {
            Some(s) => s.iter().filter(|&x| *x != zero).count(),
            None => self.view().iter().filter(|&x| *x != zero).count(),
        }
    }
}

macro_rules! logical_ops {
    ($( $(#[$doc:meta])* $name:ident, $try_name:ident, $op:tt; )*) => {
        impl Tensor<bool> {
            $(
                $(#[$doc])*
                ///
                /// # Panics
                /// If the shapes do not broadcast; the `try_` form returns the error.
                #[track_caller]
                pub fn $name(&self, other: &Tensor<bool>) -> Tensor<bool> {
                    ok(self.$try_name(other))
                }

                #[doc = concat!("`", stringify!($name), "` returning an error when the shapes do not broadcast.")]
                pub fn $try_name(&self, other: &Tensor<bool>) -> Result<Tensor<bool>> {
                    zip_map(stringify!($name), self, other, |x: bool, y: bool| x $op y)
                }
            )*
        }
    };
}

logical_ops! {
    /// Elementwise AND with broadcasting, like `torch.logical_and`.
    logical_and, try_logical_and, &;
    /// Elementwise OR with broadcasting, like `torch.logical_or`.
    logical_or, try_logical_or, |;
    /// Elementwise XOR with broadcasting, like `torch.logical_xor`.
    logical_xor, try_logical_xor, ^;
}

impl Tensor<bool> {
    /// Elementwise NOT, like `torch.logical_not` (or `~mask`).
    pub fn logical_not(&self) -> Tensor<bool> {
        self.map(|&x| !x)
    }

    /// Whether any element is true (false for an empty tensor), like `tensor.any().item()`.
    pub fn any(&self) -> bool {
        self.view().iter().any(|&x| x)
    }

    /// Whether every element is true (true for an empty tensor), like `tensor.all().item()`.
    pub fn all(&self) -> bool {
        self.view().iter().all(|&x| x)
    }

    /// `1.0` for true and `0.0` for false in any float type, like `tensor.to(dtype)`.
    pub fn to_float<U: Float>(&self) -> Tensor<U> {
        self.map(|&x| if x { U::one() } else { U::zero() })
    }

    /// `1.0`/`0.0` as `f32`, like `tensor.float()`.
    pub fn float(&self) -> Tensor<f32> {
        self.to_float()
    }

    /// `1.0`/`0.0` as `f64`, like `tensor.double()`.
    pub fn double(&self) -> Tensor<f64> {
        self.to_float()
    }

    /// `1`/`0` as `i64`, like `tensor.long()`.
    pub fn long(&self) -> Tensor<i64> {
        self.map(|&x| x as i64)
    }
}

impl Tensor<i64> {
    /// The values in any float type (rounded to the nearest for huge values), like
    /// `tensor.to(dtype)`.
    pub fn to_float<U: Float>(&self) -> Tensor<U> {
        self.map(|&x| U::cast(x as f64))
    }

    /// The values as `f32`, like `tensor.float()`.
    pub fn float(&self) -> Tensor<f32> {
        self.to_float()
    }

    /// The values as `f64`, like `tensor.double()`.
    pub fn double(&self) -> Tensor<f64> {
        self.to_float()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s)
    }

    fn b(v: &[bool]) -> Tensor<bool> {
        Tensor::from_vec(v.to_vec(), &[v.len()])
    }

    #[test]
    fn comparisons_broadcast() {
        let x = f(&[1.0, 2.0, 3.0], &[3]);
        let col = f(&[2.0, 3.0], &[2, 1]);
        let g = x.gt(&col);
        assert_eq!(g.shape(), &[2, 3]);
        assert_eq!(g.to_vec(), vec![false, false, true, false, false, false]);
        assert_eq!(
            x.ge(&col).to_vec(),
            vec![false, true, true, false, false, true]
        );
        assert_eq!(
            x.lt(&col).to_vec(),
            vec![true, false, false, true, true, false]
        );
        assert_eq!(
            x.le(&col).to_vec(),
            vec![true, true, false, true, true, true]
        );
        assert_eq!(
            x.eq(&col).to_vec(),
            vec![false, true, false, false, false, true]
        );
        assert_eq!(
            x.ne(&col).to_vec(),
            vec![true, false, true, true, true, false]
        );
        let e = x.try_eq(&f(&[1.0, 2.0], &[2])).unwrap_err().to_string();
        assert_eq!(e, "cannot broadcast [3] with [2] in eq");
        assert!(x.try_gt(&f(&[1.0, 2.0], &[2])).is_err());
    }

    #[test]
    fn scalar_forms_and_nan() {
        let x = f(&[1.0, f64::NAN, 3.0], &[3]);
        assert_eq!(x.gt_scalar(1.0).to_vec(), vec![false, false, true]);
        assert_eq!(x.ge_scalar(1.0).to_vec(), vec![true, false, true]);
        assert_eq!(x.lt_scalar(3.0).to_vec(), vec![true, false, false]);
        assert_eq!(x.le_scalar(3.0).to_vec(), vec![true, false, true]);
        assert_eq!(x.eq_scalar(3.0).to_vec(), vec![false, false, true]);
        assert_eq!(x.ne_scalar(3.0).to_vec(), vec![true, true, false]);
        assert_eq!(x.eq(&x).to_vec(), vec![true, false, true]);
        let s = Tensor::scalar(2i64);
        assert_eq!(s.eq_scalar(2).shape(), &[] as &[usize]);
        assert!(s.eq_scalar(2).item());
        let e = Tensor::<f64>::zeros(&[0, 2]);
        assert_eq!(e.gt_scalar(0.0).shape(), &[0, 2]);
        // Bools compare as false < true.
        assert_eq!(
            b(&[false, true]).lt(&b(&[true, true])).to_vec(),
            vec![true, false]
        );
    }

    #[test]
    fn where_three_way_broadcast() {
        let cond = Tensor::from_vec(vec![true, false], &[2, 1]);
        let a = f(&[1.0, 2.0, 3.0], &[3]);
        let z = Tensor::scalar(0.0f64);
        let r = Tensor::where_(&cond, &a, &z);
        assert_eq!(r.shape(), &[2, 3]);
        assert_eq!(r.to_vec(), vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
        let same = Tensor::where_(&b(&[true, false, true]), &a, &a.neg());
        assert_eq!(same.to_vec(), vec![1.0, -2.0, 3.0]);
        let i = Tensor::where_(
            &b(&[false, true]),
            &Tensor::from_vec(vec![1i64, 2], &[2]),
            &Tensor::scalar(-1i64),
        );
        assert_eq!(i.to_vec(), vec![-1, 2]);
        let e = Tensor::try_where(&b(&[true, false]), &a, &z)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("where") && e.contains("[2]") && e.contains("[3]"),
            "{e}"
        );
        assert!(Tensor::try_where(&cond, &a, &f(&[1.0, 2.0], &[2])).is_err());
        assert_eq!(
            Tensor::where_(&Tensor::scalar(true), &z, &z).shape(),
            &[] as &[usize]
        );
    }

    #[test]
    fn bool_logic_and_conversions() {
        let p = b(&[true, true, false, false]);
        let q = b(&[true, false, true, false]);
        assert_eq!(p.logical_and(&q).to_vec(), vec![true, false, false, false]);
        assert_eq!(p.logical_or(&q).to_vec(), vec![true, true, true, false]);
        assert_eq!(p.logical_xor(&q).to_vec(), vec![false, true, true, false]);
        assert_eq!(p.logical_not().to_vec(), vec![false, false, true, true]);
        assert!(p.any() && !p.all());
        assert!(b(&[]).all() && !b(&[]).any());
        assert!(Tensor::scalar(true).all());
        assert_eq!(p.float().to_vec(), vec![1.0f32, 1.0, 0.0, 0.0]);
        assert_eq!(p.double().to_vec(), vec![1.0f64, 1.0, 0.0, 0.0]);
        assert_eq!(p.to_float::<f64>().shape(), &[4]);
        assert_eq!(p.long().to_vec(), vec![1, 1, 0, 0]);
        let labels = Tensor::from_vec(vec![3i64, -1], &[2]);
        assert_eq!(labels.float().to_vec(), vec![3.0f32, -1.0]);
        assert_eq!(labels.double().to_vec(), vec![3.0f64, -1.0]);
        assert!(p.try_logical_and(&b(&[true, false])).is_err());
    }

    #[test]
    fn count_nonzero_for_accuracy() {
        let pred = Tensor::from_vec(vec![1i64, 2, 3, 4], &[4]);
        let target = Tensor::from_vec(vec![1i64, 0, 3, 0], &[4]);
        assert_eq!(pred.eq(&target).count_nonzero(), 2);
        let acc: Vec<f64> = pred.eq(&target).double().to_vec();
        assert_eq!(acc.iter().sum::<f64>() / acc.len() as f64, 0.5);
        assert_eq!(f(&[0.0, -0.0, f64::NAN, 2.0], &[4]).count_nonzero(), 2);
        assert_eq!(target.count_nonzero(), 2);
        assert_eq!(Tensor::<f64>::zeros(&[0]).count_nonzero(), 0);
        assert_eq!(f(&[1.0, 0.0, 2.0, 3.0], &[2, 2]).t().count_nonzero(), 3);
    }
}
