//! Gradient clipping (`torch.nn.utils.clip_grad_norm_`, `clip_grad_value_`).

use antorcha_autograd::Var;
use antorcha_tensor::Float;

use crate::error::{OptimError, Result};

/// PyTorch's `vector_norm(xs, ord)`: `max |x|` for `inf`, `min |x|` for `-inf`, the number of
/// non-zeros for `0`, else `(Σ |x|^p)^(1/p)`; NaN anywhere gives NaN.
fn vector_norm(xs: impl Iterator<Item = f64>, p: f64) -> f64 {
    if p.is_infinite() {
        let init = if p > 0.0 { 0.0 } else { f64::INFINITY };
        xs.map(f64::abs).fold(init, |acc, x| {
            if acc.is_nan() || x.is_nan() {
                f64::NAN
            } else if p > 0.0 {
                acc.max(x)
            } else {
                acc.min(x)
            }
        })
    } else if p == 0.0 {
        xs.map(|x| if x != 0.0 { 1.0 } else { 0.0 }).sum()
    } else if p == 1.0 {
        xs.map(f64::abs).sum()
    } else if p == 2.0 {
        xs.map(|x| x * x).sum::<f64>().sqrt()
    } else {
        xs.map(|x| x.abs().powf(p)).sum::<f64>().powf(1.0 / p)
    }
}

/// Replaces `p`'s gradient by `f` of each element, in place when nothing else holds it.
fn map_grad<T: Float>(p: &Var<T>, f: impl Fn(T) -> T + Sync) {
    if let Some(mut g) = p.grad() {
        // Drop the stored handle first so that `g` owns its data and is changed in place.
        p.zero_grad();
        g.apply_(f);
        p.set_grad(Some(g));
    }
}

/// Scales the gradients of `params` so that their joint `norm_type`-norm is at most
/// `max_norm`, and returns the norm before scaling (`torch.nn.utils.clip_grad_norm_`).
///
/// The norm is that of the per-parameter norms; the scale is PyTorch's
/// `min(max_norm / (total_norm + 1e-6), 1)`. `norm_type` may be `f64::INFINITY`. Parameters
/// without a gradient are ignored; with none at all the result is 0. A NaN or infinite norm
/// scales the gradients by NaN / 0 as PyTorch does; use [`try_clip_grad_norm_`] to refuse it.
///
/// ```
/// use antorcha_autograd::{Tensor, Var};
/// use antorcha_optim::clip_grad_norm_;
/// let p = Var::from_vec(vec![0.0f64, 0.0], &[2]).requires_grad();
/// p.set_grad(Some(Tensor::from_vec(vec![3.0, 4.0], &[2])));
/// let total = clip_grad_norm_([&p], 1.0, 2.0);
/// assert_eq!(total, 5.0);
/// let g = p.grad().unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm_<'a, T: Float + 'a>(
    params: impl IntoIterator<Item = &'a Var<T>>,
    max_norm: f64,
    norm_type: f64,
) -> f64 {
    match try_clip_grad_norm_(params, max_norm, norm_type, false) {
        Ok(total) => total,
        Err(_) => unreachable!("clip_grad_norm_ without error_if_nonfinite cannot fail"),
    }
}

/// [`clip_grad_norm_`] with PyTorch's `error_if_nonfinite`: when it is set and the total norm
/// is NaN or infinite, the gradients are left alone and an error is returned.
///
/// # Errors
/// [`OptimError::NonFiniteNorm`] as described.
pub fn try_clip_grad_norm_<'a, T: Float + 'a>(
    params: impl IntoIterator<Item = &'a Var<T>>,
    max_norm: f64,
    norm_type: f64,
    error_if_nonfinite: bool,
) -> Result<f64> {
    let params: Vec<&Var<T>> = params.into_iter().collect();
    let grads: Vec<_> = params.iter().filter_map(|p| p.grad()).collect();
    if grads.is_empty() {
        return Ok(0.0);
    }
    let norms = grads
        .iter()
        .map(|g| vector_norm(g.view().iter().map(|x| x.as_f64()), norm_type));
    // The norm is a tensor of the parameters' dtype in PyTorch: round it to T.
    let total = T::cast(vector_norm(norms, norm_type));
    if error_if_nonfinite && !total.is_finite() {
        return Err(OptimError::NonFiniteNorm {
            norm_type,
            total_norm: total.as_f64(),
        });
    }
    let coef = T::cast(max_norm) / (total + T::cast(1e-6));
    // torch.clamp(coef, max=1.0) keeps NaN
    let coef = if coef.is_nan() || coef < T::one() {
        coef
    } else {
        T::one()
    };
    if coef != T::one() {
        for p in &params {
            map_grad(p, |g| g * coef);
        }
    }
    Ok(total.as_f64())
}

/// Clamps every gradient element of `params` into `[-clip_value, clip_value]`
/// (`torch.nn.utils.clip_grad_value_`); NaN stays NaN, parameters without a gradient are
/// skipped.
///
/// ```
/// use antorcha_autograd::{Tensor, Var};
/// use antorcha_optim::clip_grad_value_;
/// let p = Var::from_vec(vec![0.0f32; 3], &[3]).requires_grad();
/// p.set_grad(Some(Tensor::from_vec(vec![-5.0, 0.5, 2.0], &[3])));
/// clip_grad_value_([&p], 1.0);
/// assert_eq!(p.grad().unwrap().to_vec(), vec![-1.0, 0.5, 1.0]);
/// ```
pub fn clip_grad_value_<'a, T: Float + 'a>(
    params: impl IntoIterator<Item = &'a Var<T>>,
    clip_value: f64,
) {
    let hi = T::cast(clip_value);
    let lo = -hi;
    for p in params {
        // torch.clamp: min first, then max; NaN propagates.
        map_grad(p, |g| {
            if g.is_nan() {
                g
            } else {
                let g = if g < lo { lo } else { g };
                if g > hi {
                    hi
                } else {
                    g
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use antorcha_autograd::Tensor;

    fn with_grad(g: Vec<f64>, shape: &[usize]) -> Var<f64> {
        let p = Var::zeros(shape).requires_grad();
        p.set_grad(Some(Tensor::from_vec(g, shape)));
        p
    }

    #[test]
    fn norm_over_several_params_and_small_norms_untouched() {
        let a = with_grad(vec![1.0, 2.0], &[2]);
        let b = with_grad(vec![2.0, 0.0, 0.0, 4.0], &[2, 2]);
        let none = Var::<f64>::zeros(&[3]).requires_grad();
        let ps = [a.clone(), none.clone(), b.clone()];
        assert_eq!(clip_grad_norm_(&ps, 100.0, 2.0), 5.0);
        assert_eq!(a.grad().unwrap().to_vec(), vec![1.0, 2.0]);
        assert!(none.grad().is_none());
        let total = clip_grad_norm_(&ps, 2.5, 2.0);
        assert_eq!(total, 5.0);
        let coef = 2.5 / (5.0 + 1e-6);
        assert_eq!(a.grad().unwrap().to_vec(), vec![coef, 2.0 * coef]);
        assert_eq!(
            b.grad().unwrap().to_vec(),
            vec![2.0 * coef, 0.0, 0.0, 4.0 * coef]
        );
    }

    #[test]
    fn other_norm_types() {
        let a = with_grad(vec![1.0, -3.0], &[2]);
        let b = with_grad(vec![-2.0], &[1]);
        assert_eq!(clip_grad_norm_([&a, &b], 10.0, f64::INFINITY), 3.0);
        assert_eq!(clip_grad_norm_([&a, &b], 10.0, 1.0), 6.0);
        // p = 3: ((1 + 27)^(1/3))^3 + 8 → (28 + 8)^(1/3)
        let t = clip_grad_norm_([&a, &b], 10.0, 3.0);
        assert!((t - 36f64.powf(1.0 / 3.0)).abs() < 1e-12);
        assert_eq!(clip_grad_norm_::<f64>(&[], 1.0, 2.0), 0.0);
        let s = with_grad(vec![-7.0], &[]); // 0-d
        assert_eq!(clip_grad_norm_([&s], 1.0, 2.0), 7.0);
    }

    #[test]
    fn nonfinite_norm() {
        let a = with_grad(vec![f64::INFINITY, 1.0], &[2]);
        let e = try_clip_grad_norm_([&a], 1.0, 2.0, true).unwrap_err();
        assert!(e.to_string().contains("non-finite"), "{e}");
        assert_eq!(a.grad().unwrap().to_vec(), vec![f64::INFINITY, 1.0]);
        let total = clip_grad_norm_([&a], 1.0, 2.0);
        assert_eq!(total, f64::INFINITY);
        assert_eq!(a.grad().unwrap().to_vec()[1], 0.0); // scaled by 1/inf
        let n = with_grad(vec![f64::NAN], &[1]);
        assert!(clip_grad_norm_([&n], 1.0, f64::INFINITY).is_nan());
    }

    #[test]
    fn clip_value_keeps_nan_and_f32() {
        let a = with_grad(vec![-2.0, f64::NAN, 0.25, 9.0], &[2, 2]);
        clip_grad_value_([&a], 0.5);
        let g = a.grad().unwrap().to_vec();
        assert_eq!((g[0], g[2], g[3]), (-0.5, 0.25, 0.5));
        assert!(g[1].is_nan());
        let e = Var::<f32>::zeros(&[0]).requires_grad();
        e.set_grad(Some(Tensor::zeros(&[0])));
        clip_grad_value_([&e], 1.0);
        assert_eq!(e.grad().unwrap().shape(), &[0]);
    }
}
