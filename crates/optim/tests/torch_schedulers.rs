//! PyTorch's `torch_schedulers.json`: the learning rate of each of 20 epochs equals PyTorch's
//! bit for bit (the recursive forms do the same float operations), and the closed forms agree
//! to rounding.
//!
//! Each run: `SGD([p], lr=0.1)`; every epoch records the lr, calls `optimizer.step()`, then
//! `scheduler.step()` (`scheduler.step(metrics[e])` for ReduceLROnPlateau).

use antorcha_autograd::{Tensor, Var};
use antorcha_optim::{
    CosineAnnealingLR, ExponentialLR, LinearLR, LrScheduler, MultiStepLR, Optimizer,
    PlateauOptions, ReduceLROnPlateau, StepLR, SGD,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    name: String,
    base_lr: f64,
    metrics: Option<Vec<f64>>,
    lr_at_epoch: Vec<f64>,
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_schedulers.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn run_named<'a>(fx: &'a Fixture, name: &str) -> &'a Run {
    fx.runs.iter().find(|r| r.name == name).unwrap()
}

fn optimizer(base_lr: f64) -> (SGD<f64>, Var<f64>) {
    let p = Var::from_vec(vec![1.0], &[1]).requires_grad();
    (SGD::new(vec![p.clone()], base_lr).unwrap(), p)
}

/// 20 epochs of PyTorch's loop; returns the lr of each epoch and the closed form's lr (if any).
fn epochs<S: LrScheduler>(opt: &mut SGD<f64>, p: &Var<f64>, sched: &mut S) -> (Vec<f64>, Vec<f64>) {
    let mut lrs = vec![];
    let mut closed_lrs = vec![];
    for e in 0..20 {
        assert_eq!(sched.last_epoch(), e);
        assert_eq!(sched.last_lr(), &[opt.lr()]);
        lrs.push(opt.lr());
        closed_lrs.push(sched.closed_form_lrs(e).unwrap()[0]);
        p.set_grad(Some(Tensor::from_vec(vec![0.0], &[1])));
        opt.step().unwrap();
        assert!(!sched.needs_metric());
        sched.step(opt, None).unwrap();
    }
    (lrs, closed_lrs)
}

fn check(name: &str, got: &[f64], closed: &[f64], expect: &[f64]) {
    assert_eq!(got, expect, "{name}: recursive form");
    for (e, (c, x)) in closed.iter().zip(expect).enumerate() {
        assert!(
            (c - x).abs() <= 1e-15 * x.abs().max(1e-3),
            "{name} epoch {e}: closed form {c} vs {x}"
        );
    }
}

#[test]
fn step_lr() {
    let fx = fixture();
    let run = run_named(&fx, "step_lr");
    let (mut opt, p) = optimizer(run.base_lr);
    let mut s = StepLR::new(&mut opt, 5, 0.5).unwrap();
    let (got, closed) = epochs(&mut opt, &p, &mut s);
    check(&run.name, &got, &closed, &run.lr_at_epoch);
    // closed form by hand: 0.1 · 0.5^(e / 5)
    for (e, lr) in got.iter().enumerate() {
        assert_eq!(*lr, 0.1 * 0.5f64.powi(e as i32 / 5));
    }
}

#[test]
fn multistep_lr() {
    let fx = fixture();
    let run = run_named(&fx, "multistep_lr");
    let (mut opt, p) = optimizer(run.base_lr);
    let mut s = MultiStepLR::new(&mut opt, &[3, 8, 15], 0.3).unwrap();
    let (got, closed) = epochs(&mut opt, &p, &mut s);
    check(&run.name, &got, &closed, &run.lr_at_epoch);
}

#[test]
fn exponential_lr() {
    let fx = fixture();
    let run = run_named(&fx, "exponential_lr");
    let (mut opt, p) = optimizer(run.base_lr);
    let mut s = ExponentialLR::new(&mut opt, 0.9).unwrap();
    let (got, closed) = epochs(&mut opt, &p, &mut s);
    assert_eq!(got, run.lr_at_epoch);
    // the recursive product drifts from 0.1 · 0.9^e by a few ulps
    for (e, (c, x)) in closed.iter().zip(&run.lr_at_epoch).enumerate() {
        assert!((c - x).abs() <= 1e-14 * x, "epoch {e}: {c} vs {x}");
    }
}

#[test]
fn cosine_annealing_lr_rises_after_t_max() {
    let fx = fixture();
    let run = run_named(&fx, "cosine_annealing_lr");
    let (mut opt, p) = optimizer(run.base_lr);
    let mut s = CosineAnnealingLR::new(&mut opt, 10, 0.001).unwrap();
    let (got, closed) = epochs(&mut opt, &p, &mut s);
    assert_eq!(got, run.lr_at_epoch);
    for (e, (c, x)) in closed.iter().zip(&run.lr_at_epoch).enumerate() {
        assert!((c - x).abs() <= 1e-14, "epoch {e}: {c} vs {x}");
    }
    assert_eq!(got[10], 0.001);
    assert!(got[11] > got[10] && got[19] > got[18]);
}

#[test]
fn linear_lr_warmup() {
    let fx = fixture();
    let run = run_named(&fx, "linear_lr_warmup");
    let (mut opt, p) = optimizer(run.base_lr);
    let mut s = LinearLR::new(&mut opt, 0.1, 1.0, 5).unwrap();
    assert_eq!(s.base_lrs(), &[0.1]);
    let (got, closed) = epochs(&mut opt, &p, &mut s);
    check(&run.name, &got, &closed, &run.lr_at_epoch);
}

#[test]
fn reduce_on_plateau() {
    let fx = fixture();
    let run = run_named(&fx, "reduce_on_plateau");
    let (mut opt, p) = optimizer(run.base_lr);
    let o = PlateauOptions::default()
        .factor(0.5)
        .patience(2)
        .threshold(1e-4);
    let mut s = ReduceLROnPlateau::new(&mut opt, o).unwrap();
    assert!(s.needs_metric() && s.closed_form_lrs(3).is_none());
    let mut got = vec![];
    for m in run.metrics.as_ref().unwrap() {
        got.push(opt.lr());
        p.set_grad(Some(Tensor::from_vec(vec![0.0], &[1])));
        opt.step().unwrap();
        s.step(&mut opt, Some(*m)).unwrap();
    }
    assert_eq!(got, run.lr_at_epoch);
    assert_eq!(s.best(), 0.5);
}

#[test]
fn all_six_fixture_runs_are_covered() {
    let fx = fixture();
    let names: Vec<&str> = fx.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "step_lr",
            "multistep_lr",
            "exponential_lr",
            "cosine_annealing_lr",
            "linear_lr_warmup",
            "reduce_on_plateau"
        ]
    );
    assert!(fx.runs.iter().all(|r| r.lr_at_epoch.len() == 20));
}
