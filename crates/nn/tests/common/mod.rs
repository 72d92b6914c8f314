//! Central finite differences, shared by the nn crate's gradient property tests.

use antorcha_autograd::Tensor;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::rngs::StdRng;
use rand::Rng;

pub const EPS: f64 = 1e-6;
/// Central differences of an O(10) sum have a rounding error near 1e-9 and a truncation error
/// near EPS², so these bounds sit far below any real mistake (a missed tap, a wrong index).
pub const ATOL: f64 = 1e-6;
pub const RTOL: f64 = 1e-5;

pub fn random(shape: &[usize], rng: &mut StdRng) -> Tensor<f64> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|_| rng.random_range(-1.0..1.0)).collect(), shape)
}

/// `∂f/∂t` by central differences, one element at a time.
pub fn numeric(t: &Tensor<f64>, f: &dyn Fn(&Tensor<f64>) -> f64) -> Vec<f64> {
    let base = t.to_vec();
    (0..base.len())
        .map(|i| {
            let mut plus = base.clone();
            plus[i] += EPS;
            let mut minus = base.clone();
            minus[i] -= EPS;
            (f(&Tensor::from_vec(plus, t.shape())) - f(&Tensor::from_vec(minus, t.shape())))
                / (2.0 * EPS)
        })
        .collect()
}

pub fn check(what: &str, autograd: &Tensor<f64>, numeric: &[f64]) -> Result<(), TestCaseError> {
    for (i, (a, n)) in autograd.to_vec().iter().zip(numeric).enumerate() {
        let tol = ATOL + RTOL * a.abs().max(n.abs());
        prop_assert!(
            (a - n).abs() <= tol,
            "{}[{}]: autograd {} vs numeric {}",
            what,
            i,
            a,
            n
        );
    }
    Ok(())
}
