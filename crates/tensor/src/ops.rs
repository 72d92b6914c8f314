//! `+ - * /` and unary `-` on owned and borrowed tensors and on scalars of either side.
//!
//! Operators panic on shapes that do not broadcast, with the `try_` form's message, at the
//! caller's line.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::element::Float;
use crate::tensor::Tensor;

macro_rules! tensor_operator {
    ($($trait:ident, $method:ident, $scalar:ident, $rscalar:ident;)*) => {$(
        impl<T: Float> $trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, rhs)
            }
        }
        impl<T: Float> $trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, &rhs)
            }
        }
        impl<T: Float> $trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, rhs)
            }
        }
        impl<T: Float> $trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, &rhs)
            }
        }
        impl<T: Float> $trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.$scalar(rhs)
            }
        }
        impl<T: Float> $trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.$scalar(rhs)
            }
        }
        tensor_operator!(@scalar_lhs f32, $trait, $method, $rscalar);
        tensor_operator!(@scalar_lhs f64, $trait, $method, $rscalar);
    )*};
    (@scalar_lhs $t:ty, $trait:ident, $method:ident, $rscalar:ident) => {
        impl $trait<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn $method(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.$rscalar(self)
            }
        }
        impl $trait<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn $method(self, rhs: Tensor<$t>) -> Tensor<$t> {
                rhs.$rscalar(self)
            }
        }
    };
}

tensor_operator! {
    Add, add, add_scalar, radd_scalar;
    Sub, sub, sub_scalar, rsub_scalar;
    Mul, mul, mul_scalar, rmul_scalar;
    Div, div, div_scalar, rdiv_scalar;
}

impl<T: Float> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(self)
    }
}

impl<T: Float> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_on_every_combination() {
        let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
        let b = Tensor::from_vec(vec![4.0f32, 8.0], &[2]);
        assert_eq!((&a + &b).to_vec(), vec![5.0, 10.0]);
        assert_eq!((a.clone() - &b).to_vec(), vec![-3.0, -6.0]);
        assert_eq!((&a * b.clone()).to_vec(), vec![4.0, 16.0]);
        assert_eq!((b.clone() / a.clone()).to_vec(), vec![4.0, 4.0]);
        assert_eq!((&a * 3.0).to_vec(), vec![3.0, 6.0]);
        assert_eq!((1.0 - &a).to_vec(), vec![0.0, -1.0]);
        assert_eq!((8.0 / b.clone()).to_vec(), vec![2.0, 1.0]);
        assert_eq!((-&a).to_vec(), vec![-1.0, -2.0]);
        let d = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
        assert_eq!((2.0 * &d + 1.0).to_vec(), vec![3.0, 5.0]);
    }
}
