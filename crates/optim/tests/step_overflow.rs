//! A loaded state whose step count is `u64::MAX` must not wrap to 0 on the next step (Adam's
//! bias correction `1 - beta^0 = 0` made every parameter NaN). PyTorch keeps `step` as a float
//! tensor, which simply stops growing; here the count saturates, with the same result.

use antorcha_autograd::Var;
use antorcha_optim::{Adagrad, Adam, Optimizer, OptimizerState, RMSprop};

fn p() -> Var<f64> {
    Var::from_vec(vec![1.0, -1.0], &[2]).requires_grad()
}

/// One step of `make(p)` after loading a state of step `u64::MAX` with zeroed buffers; returns
/// the parameter and the step count afterwards.
fn step_after_max<O: Optimizer<f64>>(make: impl Fn(Var<f64>) -> O) -> (Vec<f64>, u64) {
    let p0 = p();
    let mut first = make(p0.clone());
    (&p0 * &p0).sum().backward().unwrap();
    first.step().unwrap();
    let mut state: OptimizerState = first.state();
    let ps = state.params[0].as_mut().unwrap();
    ps.step = u64::MAX;
    for b in &mut ps.buffers {
        b.data.iter_mut().for_each(|x| *x = 0.0);
    }

    let p = p();
    let mut opt = make(p.clone());
    opt.load_state(&state).unwrap();
    (&p * &p).sum().backward().unwrap();
    opt.step().unwrap();
    let step = opt.state().params[0].as_ref().unwrap().step;
    (p.to_vec(), step)
}

#[test]
fn adam_step_saturates_at_u64_max() {
    let (v, step) = step_after_max(|p| Adam::new(vec![p], 0.1).unwrap());
    assert_eq!(step, u64::MAX);
    // Bias corrections are 1 at such a step: m = 0.1 g, v = 0.001 g², g = 2p.
    // PyTorch (float32 step 2^64 - 1): [0.6837722659111023, -0.6837722659111023].
    let expected = 1.0 - 0.1 * 0.2 / (0.004f64.sqrt() + 1e-8);
    assert!((v[0] - expected).abs() < 1e-12, "{v:?}");
    assert!((v[1] + expected).abs() < 1e-12, "{v:?}");
    assert!((v[0] - 0.6837722659111023).abs() < 1e-6, "{v:?}");
}

#[test]
fn adagrad_and_rmsprop_steps_saturate_at_u64_max() {
    let (v, step) = step_after_max(|p| Adagrad::new(vec![p], 0.1).unwrap());
    assert_eq!(step, u64::MAX);
    // Adagrad with lr_decay 0: sum = g², p -= lr g / (sqrt(sum) + eps) = lr sign(g).
    assert!(
        (v[0] - 0.9).abs() < 1e-9 && (v[1] + 0.9).abs() < 1e-9,
        "{v:?}"
    );
    let (v, step) = step_after_max(|p| RMSprop::new(vec![p], 0.1).unwrap());
    assert_eq!(step, u64::MAX);
    // RMSprop: v = 0.01 g², p -= lr g / (sqrt(v) + eps) = 0.1 * 2 / 0.2 = 1 (less eps).
    assert!(v.iter().all(|x| x.abs() < 1e-6), "{v:?}");
}
