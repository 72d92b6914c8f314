//! `+ - * /` and unary `-` on owned and borrowed vars and numbers of either side, so the
//! notebook's `a + b * x` reads the same. They panic on shapes that do not broadcast, at the
//! caller's line, with the `try_` form's message.

use std::ops::{Add, Div, Mul, Neg, Sub};

use antorcha_tensor::Float;

use crate::var::Var;

macro_rules! var_operator {
    ($($trait:ident, $method:ident, $scalar:ident, |$v:ident, $s:ident| $rscalar:expr;)*) => {$(
        impl<T: Float> $trait<&Var<T>> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: &Var<T>) -> Var<T> {
                Var::$method(self, rhs)
            }
        }
        impl<T: Float> $trait<Var<T>> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: Var<T>) -> Var<T> {
                Var::$method(self, &rhs)
            }
        }
        impl<T: Float> $trait<&Var<T>> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: &Var<T>) -> Var<T> {
                Var::$method(&self, rhs)
            }
        }
        impl<T: Float> $trait<Var<T>> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: Var<T>) -> Var<T> {
                Var::$method(&self, &rhs)
            }
        }
        impl<T: Float> $trait<T> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: T) -> Var<T> {
                self.$scalar(rhs)
            }
        }
        impl<T: Float> $trait<T> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: T) -> Var<T> {
                self.$scalar(rhs)
            }
        }
        var_operator!(@lhs f32, $trait, $method, |$v, $s| $rscalar);
        var_operator!(@lhs f64, $trait, $method, |$v, $s| $rscalar);
    )*};
    (@lhs $t:ty, $trait:ident, $method:ident, |$v:ident, $s:ident| $rscalar:expr) => {
        impl $trait<&Var<$t>> for $t {
            type Output = Var<$t>;
            #[track_caller]
            fn $method(self, rhs: &Var<$t>) -> Var<$t> {
                let ($v, $s) = (rhs, self);
                $rscalar
            }
        }
        impl $trait<Var<$t>> for $t {
            type Output = Var<$t>;
            #[track_caller]
            fn $method(self, rhs: Var<$t>) -> Var<$t> {
                let ($v, $s) = (&rhs, self);
                $rscalar
            }
        }
    };
}

var_operator! {
    Add, add, add_scalar, |v, s| v.add_scalar(s);
    Sub, sub, sub_scalar, |v, s| v.rsub_scalar(s);
    Mul, mul, mul_scalar, |v, s| v.mul_scalar(s);
    Div, div, div_scalar, |v, s| v.rdiv_scalar(s);
}

impl<T: Float> Neg for &Var<T> {
    type Output = Var<T>;
    #[track_caller]
    fn neg(self) -> Var<T> {
        Var::neg(self)
    }
}

impl<T: Float> Neg for Var<T> {
    type Output = Var<T>;
    #[track_caller]
    fn neg(self) -> Var<T> {
        Var::neg(&self)
    }
}
