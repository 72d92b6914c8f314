//! Elementwise binary ops with broadcasting, their scalar forms and their in-place forms.

use crate::broadcast::{zip_inplace, zip_map_same};
use crate::element::Float;
use crate::error::{ok, Result};
use crate::tensor::Tensor;

#[inline]
fn maximum<T: Float>(x: T, y: T) -> T {
    // NaN wins, as in torch.maximum.
    if x.is_nan() || x > y {
        x
    } else {
        y
    }
}

#[inline]
fn minimum<T: Float>(x: T, y: T) -> T {
    if x.is_nan() || x < y {
        x
    } else {
        y
    }
}

macro_rules! binary_ops {
    ($( $(#[$doc:meta])* $name:ident, $try_name:ident, $inplace:ident, $try_inplace:ident,
        $scalar:ident, $rscalar:ident, |$x:ident, $y:ident| $body:expr; )*) => {
        impl<T: Float> Tensor<T> {
            $(
                $(#[$doc])*
                ///
                /// # Panics
                /// If the shapes do not broadcast; the `try_` form returns the error.
                #[track_caller]
                pub fn $name(&self, other: &Tensor<T>) -> Tensor<T> {
                    ok(self.$try_name(other))
                }

                #[doc = concat!("`", stringify!($name), "` returning an error when the shapes do not broadcast.")]
                pub fn $try_name(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
                    zip_map_same(stringify!($name), self, other, |$x: T, $y: T| $body)
                }

                #[doc = concat!("In-place `", stringify!($name), "`: `other` broadcasts to `self`'s shape.")]
                ///
                /// # Panics
                /// If `other` does not broadcast to `self`'s shape.
                #[track_caller]
                pub fn $inplace(&mut self, other: &Tensor<T>) {
                    ok(self.$try_inplace(other))
                }

                #[doc = concat!("In-place `", stringify!($name), "` returning an error when `other` does not broadcast to `self`'s shape.")]
                pub fn $try_inplace(&mut self, other: &Tensor<T>) -> Result<()> {
                    zip_inplace(stringify!($inplace), self, other, |x: &mut T, $y: T| {
                        let $x = *x;
                        *x = $body;
                    })
                }

                #[doc = concat!("`", stringify!($name), "` with a scalar on the right.")]
                pub fn $scalar(&self, $y: T) -> Tensor<T> {
                    self.map_same(|$x| $body)
                }

                #[doc = concat!("`", stringify!($name), "` with a scalar on the left.")]
                pub fn $rscalar(&self, $x: T) -> Tensor<T> {
                    self.map_same(|$y| $body)
                }
            )*
        }
    };
}

binary_ops! {
    /// Elementwise `self + other` with broadcasting, like `torch.add`.
    add, try_add, add_, try_add_, add_scalar, radd_scalar, |x, y| x + y;
    /// Elementwise `self - other` with broadcasting, like `torch.sub`.
    sub, try_sub, sub_, try_sub_, sub_scalar, rsub_scalar, |x, y| x - y;
    /// Elementwise `self * other` with broadcasting, like `torch.mul`.
    mul, try_mul, mul_, try_mul_, mul_scalar, rmul_scalar, |x, y| x * y;
    /// Elementwise `self / other` with broadcasting, like `torch.div`.
    div, try_div, div_, try_div_, div_scalar, rdiv_scalar, |x, y| x / y;
    /// Elementwise `self ** other` with broadcasting, like `torch.pow`.
    pow, try_pow, pow_, try_pow_, pow_scalar, rpow_scalar, |x, y| x.powf(y);
    /// Elementwise maximum with broadcasting (NaN propagates), like `torch.maximum`.
    maximum, try_maximum, maximum_, try_maximum_, maximum_scalar, rmaximum_scalar, |x, y| maximum(x, y);
    /// Elementwise minimum with broadcasting (NaN propagates), like `torch.minimum`.
    minimum, try_minimum, minimum_, try_minimum_, minimum_scalar, rminimum_scalar, |x, y| minimum(x, y);
}

impl<T: Float> Tensor<T> {
    /// Sets every element to `value`, like `tensor.fill_(value)`.
    pub fn fill_(&mut self, value: T) {
        if self.owns_contiguous() {
            self.as_slice_mut().fill(value);
        } else {
            *self = Tensor::full(self.shape(), value);
        }
    }

    /// `x = f(x)` for every element, in place (copied first only if the storage is shared or
    /// not row-major): the one in-place map every in-place kernel goes through.
    pub fn apply_(&mut self, f: impl Fn(T) -> T + Sync) {
        match self.get_mut() {
            Some(xs) => crate::parallel::for_each_mut(xs, |_, part| {
                part.iter_mut().for_each(|x| *x = f(*x))
            }),
            // Shared or strided: one pass into a new buffer rather than a copy, then a pass.
            None => *self = self.map_same(f),
        }
    }

    /// `x = f(x, y)` for every element, in place, `other` broadcast to `self`'s shape.
    ///
    /// # Panics
    /// If `other` does not broadcast to `self`'s shape.
    #[track_caller]
    pub fn zip_apply_(&mut self, other: &Tensor<T>, f: impl Fn(T, T) -> T + Sync) {
        if self.get_mut().is_none() && crate::layout::same_shape(other.shape(), self.shape()) {
            // Shared or strided: one pass into a new buffer rather than a copy, then a pass.
            *self = ok(zip_map_same("zip_apply_", self, other, f));
            return;
        }
        ok(zip_inplace("zip_apply_", self, other, |x: &mut T, y: T| {
            *x = f(*x, y)
        }))
    }

    /// Sets every element to zero, like `tensor.zero_()`.
    pub fn zero_(&mut self) {
        self.fill_(T::zero());
    }

    /// `self += alpha * other` in place (`other` broadcasts to `self`'s shape), like
    /// `tensor.add_(other, alpha=alpha)`: the update step of an optimizer.
    ///
    /// # Panics
    /// If `other` does not broadcast to `self`'s shape.
    #[track_caller]
    pub fn add_scaled_(&mut self, other: &Tensor<T>, alpha: T) {
        ok(zip_inplace(
            "add_scaled_",
            self,
            other,
            |x: &mut T, y: T| *x += alpha * y,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s)
    }

    #[test]
    fn add_broadcasts_column_with_row() {
        let a = t(&[1.0, 2.0, 3.0], &[3, 1]);
        let b = t(&[10.0, 20.0], &[1, 2]);
        let c = a.add(&b);
        assert_eq!(c.shape(), &[3, 2]);
        assert_eq!(c.to_vec(), vec![11.0, 21.0, 12.0, 22.0, 13.0, 23.0]);
    }

    #[test]
    fn sub_div_pow_hand_checked() {
        let a = t(&[8.0, 9.0], &[2]);
        let b = t(&[2.0, 3.0], &[2]);
        assert_eq!(a.sub(&b).to_vec(), vec![6.0, 6.0]);
        assert_eq!(a.div(&b).to_vec(), vec![4.0, 3.0]);
        assert_eq!(b.pow(&t(&[3.0, 2.0], &[2])).to_vec(), vec![8.0, 9.0]);
        assert_eq!(a.rsub_scalar(10.0).to_vec(), vec![2.0, 1.0]);
        assert_eq!(a.rdiv_scalar(72.0).to_vec(), vec![9.0, 8.0]);
        assert_eq!(b.rpow_scalar(2.0).to_vec(), vec![4.0, 8.0]);
    }

    #[test]
    fn maximum_minimum_propagate_nan() {
        let a = t(&[1.0, f64::NAN, 5.0], &[3]);
        let b = t(&[2.0, 0.0, f64::NAN], &[3]);
        let mx = a.maximum(&b).to_vec();
        assert_eq!(mx[0], 2.0);
        assert!(mx[1].is_nan() && mx[2].is_nan());
        let mn = a.minimum(&b).to_vec();
        assert_eq!(mn[0], 1.0);
        assert!(mn[1].is_nan() && mn[2].is_nan());
        assert_eq!(a.maximum_scalar(3.0).to_vec()[0], 3.0);
    }

    #[test]
    fn scalar_0d_and_empty_tensors() {
        let s = Tensor::scalar(2.0f64);
        let a = t(&[1.0, 2.0, 3.0], &[3]);
        assert_eq!(a.mul(&s).to_vec(), vec![2.0, 4.0, 6.0]);
        assert_eq!(s.mul(&a).shape(), &[3]);
        assert_eq!(s.add(&s).shape(), &[] as &[usize]);
        let e = Tensor::<f64>::zeros(&[0, 3]);
        assert_eq!(e.add(&t(&[1.0, 2.0, 3.0], &[3])).shape(), &[0, 3]);
        // A one-element tensor with more dims than the other side widens the result.
        assert_eq!(a.add(&t(&[1.0], &[1, 1])).shape(), &[1, 3]);
    }

    #[test]
    fn broadcast_error_names_op_and_shapes() {
        let a = Tensor::<f64>::zeros(&[80, 1]);
        let b = Tensor::<f64>::zeros(&[3, 2]);
        let e = a.try_add(&b).unwrap_err().to_string();
        assert_eq!(e, "cannot broadcast [80, 1] with [3, 2] in add");
    }

    #[test]
    #[should_panic(expected = "cannot broadcast [2] with [3] in mul")]
    fn operator_panics_with_message() {
        let _ = Tensor::<f64>::zeros(&[2]).mul(&Tensor::zeros(&[3]));
    }

    #[test]
    fn inplace_ops_broadcast_into_self_only() {
        let mut a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let shared = a.clone();
        a.add_(&t(&[10.0, 20.0], &[2]));
        assert_eq!(a.to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
        // Copy-on-write: the clone taken before is untouched.
        assert_eq!(shared.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        let err = t(&[1.0], &[1]).try_add_(&a).unwrap_err().to_string();
        assert!(err.contains("cannot change the shape"), "{err}");
        a.add_scaled_(&t(&[1.0], &[1]), -0.5);
        assert_eq!(a.to_vec(), vec![10.5, 21.5, 12.5, 23.5]);
        a.zero_();
        assert_eq!(a.to_vec(), vec![0.0; 4]);
    }
}
