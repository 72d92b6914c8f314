//! Elementwise unary ops: each maps every element through one scalar function.

use crate::element::Float;
use crate::tensor::Tensor;

macro_rules! unary_ops {
    ($( $(#[$doc:meta])* $name:ident, |$x:ident| $body:expr; )*) => {
        impl<T: Float> Tensor<T> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Tensor<T> {
                    self.map_same(|$x: T| $body)
                }
            )*
        }
    };
}

unary_ops! {
    /// `-x`, like `torch.neg`.
    neg, |x| -x;
    /// `e^x`, like `torch.exp`.
    exp, |x| x.exp();
    /// The natural logarithm (`log(0) = -inf`, negative inputs give NaN), like `torch.log`.
    log, |x| x.ln();
    /// The square root (NaN for negative inputs), like `torch.sqrt`.
    sqrt, |x| x.sqrt();
    /// `|x|`, like `torch.abs`.
    abs, |x| x.abs();
    /// `max(x, 0)` (NaN stays NaN), like `torch.relu`.
    relu, |x| if x < T::zero() { T::zero() } else { x };
    /// `1 / (1 + e^-x)`, computed without overflow for large `|x|`, like `torch.sigmoid`.
    sigmoid, |x| sigmoid(x);
    /// The hyperbolic tangent, like `torch.tanh`.
    tanh, |x| x.tanh();
    /// `-1`, `0` or `1` by the sign of `x` (NaN stays NaN), like `torch.sign`.
    sign, |x| if x > T::zero() { T::one() } else if x < T::zero() { -T::one() } else { x };
    /// The sine, like `torch.sin`.
    sin, |x| x.sin();
    /// The cosine, like `torch.cos`.
    cos, |x| x.cos();
}

#[inline]
fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

impl<T: Float> Tensor<T> {
    /// Every element raised to the power `exponent`, like `tensor ** exponent` with a number.
    pub fn powf(&self, exponent: T) -> Tensor<T> {
        let two = T::one() + T::one();
        if exponent == two {
            return self.map_same(|x| x * x);
        }
        self.map_same(|x| x.powf(exponent))
    }

    /// Limits every element to `[min, max]` (either bound may be absent; NaN stays NaN),
    /// like `torch.clamp`.
    pub fn clamp(&self, min: Option<T>, max: Option<T>) -> Tensor<T> {
        Tensor::from_array(self.view().mapv(|x| {
            let x = match min {
                Some(lo) if x < lo => lo,
                _ => x,
            };
            match max {
                Some(hi) if x > hi => hi,
                _ => x,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), &[v.len()])
    }

    #[test]
    fn hand_checked_values() {
        let x = t(&[-2.0, 0.0, 3.0]);
        assert_eq!(x.neg().to_vec(), vec![2.0, -0.0, -3.0]);
        assert_eq!(x.abs().to_vec(), vec![2.0, 0.0, 3.0]);
        assert_eq!(x.relu().to_vec(), vec![0.0, 0.0, 3.0]);
        assert_eq!(x.sign().to_vec(), vec![-1.0, 0.0, 1.0]);
        assert_eq!(x.powf(2.0).to_vec(), vec![4.0, 0.0, 9.0]);
        assert_eq!(t(&[4.0, 9.0]).sqrt().to_vec(), vec![2.0, 3.0]);
        assert_eq!(t(&[8.0]).powf(1.0 / 3.0).item(), 2.0);
        assert_eq!(t(&[0.0]).exp().item(), 1.0);
        assert_eq!(t(&[1.0]).exp().log().item(), 1.0);
        assert_eq!(t(&[0.0]).sigmoid().item(), 0.5);
        assert_eq!(t(&[0.0]).tanh().item(), 0.0);
        assert_eq!(
            x.clamp(Some(-1.0), Some(2.0)).to_vec(),
            vec![-1.0, 0.0, 2.0]
        );
        assert_eq!(x.clamp(None, Some(0.5)).to_vec(), vec![-2.0, 0.0, 0.5]);
        assert!((t(&[1.0]).sin().item() - 1f64.sin()).abs() < 1e-15);
    }

    #[test]
    fn edge_values_follow_pytorch() {
        assert_eq!(t(&[0.0]).log().item(), f64::NEG_INFINITY);
        assert!(t(&[-1.0]).log().item().is_nan());
        assert!(t(&[-1.0]).sqrt().item().is_nan());
        assert!(t(&[f64::NAN]).relu().item().is_nan());
        assert!(t(&[f64::NAN]).clamp(Some(0.0), Some(1.0)).item().is_nan());
        // Stable sigmoid: no overflow to NaN for large magnitudes.
        let s = t(&[-1000.0, 1000.0]).sigmoid().to_vec();
        assert_eq!(s, vec![0.0, 1.0]);
        let f = Tensor::from_vec(vec![-800.0f32], &[1]).sigmoid().item();
        assert_eq!(f, 0.0);
    }

    #[test]
    fn scalars_and_empty_keep_shape() {
        assert_eq!(Tensor::scalar(1.0f64).exp().shape(), &[] as &[usize]);
        assert_eq!(Tensor::<f64>::zeros(&[2, 0]).tanh().shape(), &[2, 0]);
    }
}
