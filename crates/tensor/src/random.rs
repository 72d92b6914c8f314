//! Random tensors from an explicit generator or from the global one that `manual_seed` sets.

use std::sync::{Mutex, MutexGuard, OnceLock};

use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::element::Float;
use crate::tensor::Tensor;

/// The generator the global random functions use; PyTorch's default seed until `manual_seed`.
const DEFAULT_SEED: u64 = 67_280_421_310_721;

fn global() -> &'static Mutex<StdRng> {
    static RNG: OnceLock<Mutex<StdRng>> = OnceLock::new();
    RNG.get_or_init(|| Mutex::new(StdRng::seed_from_u64(DEFAULT_SEED)))
}

fn lock() -> MutexGuard<'static, StdRng> {
    // A panic while holding the lock leaves a usable generator: recover it.
    global()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Re-seeds the global generator, like `torch.manual_seed(seed)`: the random calls that
/// follow repeat exactly from run to run.
///
/// ```
/// use antorcha_tensor::{manual_seed, Tensor};
/// manual_seed(42);
/// let a = Tensor::<f32>::randn(&[3]);
/// manual_seed(42);
/// assert_eq!(a, Tensor::randn(&[3]));
/// ```
pub fn manual_seed(seed: u64) {
    *lock() = StdRng::seed_from_u64(seed);
}

/// Runs `f` with the global generator, for crates that draw their own random numbers
/// (weight init, shuffling) and must follow `manual_seed`.
pub fn with_global_rng<R>(f: impl FnOnce(&mut StdRng) -> R) -> R {
    f(&mut lock())
}

impl<T: Float> Tensor<T> {
    /// Uniform samples in `[0, 1)` from the global generator, like `torch.rand`.
    pub fn rand(shape: &[usize]) -> Self {
        with_global_rng(|rng| Self::rand_with(shape, rng))
    }

    /// Standard normal samples from the global generator, like `torch.randn`.
    pub fn randn(shape: &[usize]) -> Self {
        with_global_rng(|rng| Self::randn_with(shape, rng))
    }

    /// Uniform samples in `[0, 1)` from `rng`.
    pub fn rand_with<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Self {
        Self::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            T::cast(rng.random::<f64>())
        }))
    }

    /// Standard normal samples from `rng`.
    pub fn randn_with<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Self {
        Self::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            T::cast(rng.sample::<f64, _>(StandardNormal))
        }))
    }

    /// Uniform samples in `[low, high)` from `rng`, like `tensor.uniform_(low, high)`.
    pub fn uniform_with<R: Rng + ?Sized>(shape: &[usize], low: T, high: T, rng: &mut R) -> Self {
        let (lo, hi) = (low.as_f64(), high.as_f64());
        Self::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            T::cast(lo + (hi - lo) * rng.random::<f64>())
        }))
    }

    /// Normal samples with `mean` and `std` from `rng`, like `tensor.normal_(mean, std)`.
    pub fn normal_with<R: Rng + ?Sized>(shape: &[usize], mean: T, std: T, rng: &mut R) -> Self {
        let (m, s) = (mean.as_f64(), std.as_f64());
        Self::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            T::cast(m + s * rng.sample::<f64, _>(StandardNormal))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generators_repeat_and_stay_in_range() {
        let mut r1 = StdRng::seed_from_u64(7);
        let mut r2 = StdRng::seed_from_u64(7);
        let a = Tensor::<f64>::rand_with(&[1000], &mut r1);
        assert_eq!(a, Tensor::rand_with(&[1000], &mut r2));
        assert!(a.to_vec().iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = a.to_vec().iter().sum::<f64>() / 1000.0;
        assert!(
            (mean - 0.5).abs() < 0.05,
            "mean of U[0,1) samples was {mean}"
        );
    }

    #[test]
    fn randn_has_unit_variance() {
        let mut rng = StdRng::seed_from_u64(3);
        let v = Tensor::<f64>::randn_with(&[20_000], &mut rng).to_vec();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
    }

    #[test]
    fn uniform_and_normal_respect_their_parameters() {
        let mut rng = StdRng::seed_from_u64(5);
        let u = Tensor::<f64>::uniform_with(&[5000], -2.0, 3.0, &mut rng).to_vec();
        assert!(u.iter().all(|&x| (-2.0..3.0).contains(&x)));
        let n = Tensor::<f64>::normal_with(&[20_000], 10.0, 0.5, &mut rng).to_vec();
        let mean = n.iter().sum::<f64>() / n.len() as f64;
        assert!((mean - 10.0).abs() < 0.02, "mean {mean}");
    }
}
