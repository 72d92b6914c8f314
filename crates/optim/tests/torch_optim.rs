//! Every optimizer trajectory of PyTorch's `torch_optim.json` (float64): losses, gradients and
//! parameters after each step equal PyTorch's to 1e-12; the defaults equal PyTorch's resolved
//! defaults; a run interrupted by a state export / restore equals the uninterrupted one bit for
//! bit; and the same runs in f32 stay close.
//!
//! Problem: `loss(p) = sum(c * (p - t)**2) + sum(sin(p))`; each step: zero grads, loss,
//! backward, step.

use antorcha_autograd::Var;
use antorcha_optim::{
    Adagrad, AdagradOptions, Adam, AdamOptions, AdamW, AdamWOptions, Optimizer, RMSprop,
    RmspropOptions, SgdOptions, SGD,
};
use antorcha_tensor::Float;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
struct Fixture {
    problem: Problem,
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Problem {
    c: Vec<f64>,
    t: Vec<f64>,
    p0: Vec<f64>,
    steps: usize,
}

#[derive(Deserialize)]
struct Run {
    name: String,
    optimizer: String,
    config: Map<String, Value>,
    resolved_defaults: Map<String, Value>,
    params: Vec<Vec<f64>>,
    grads: Vec<Vec<f64>>,
    losses: Vec<f64>,
}

const TOL: f64 = 1e-12;

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_optim.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn flag(v: &Value) -> bool {
    v.as_bool().unwrap_or_else(|| panic!("not a bool: {v}"))
}

fn sgd_options(c: &Map<String, Value>) -> SgdOptions {
    let mut o = SgdOptions::default();
    for (k, v) in c {
        match k.as_str() {
            "lr" => o.lr = num(v),
            "momentum" => o.momentum = num(v),
            "dampening" => o.dampening = num(v),
            "weight_decay" => o.weight_decay = num(v),
            "nesterov" => o.nesterov = flag(v),
            "maximize" => o.maximize = flag(v),
            _ => panic!("unknown SGD option {k}"),
        }
    }
    o
}

fn adam_options(c: &Map<String, Value>, base: AdamOptions) -> AdamOptions {
    let mut o = base;
    for (k, v) in c {
        match k.as_str() {
            "lr" => o.lr = num(v),
            "betas" => {
                let b = v.as_array().unwrap();
                o.betas = (num(&b[0]), num(&b[1]));
            }
            "eps" => o.eps = num(v),
            "weight_decay" => o.weight_decay = num(v),
            "amsgrad" => o.amsgrad = flag(v),
            "maximize" => o.maximize = flag(v),
            _ => panic!("unknown Adam option {k}"),
        }
    }
    o
}

fn rmsprop_options(c: &Map<String, Value>) -> RmspropOptions {
    let mut o = RmspropOptions::default();
    for (k, v) in c {
        match k.as_str() {
            "lr" => o.lr = num(v),
            "alpha" => o.alpha = num(v),
            "eps" => o.eps = num(v),
            "weight_decay" => o.weight_decay = num(v),
            "momentum" => o.momentum = num(v),
            "centered" => o.centered = flag(v),
            "maximize" => o.maximize = flag(v),
            _ => panic!("unknown RMSprop option {k}"),
        }
    }
    o
}

fn adagrad_options(c: &Map<String, Value>) -> AdagradOptions {
    let mut o = AdagradOptions::default();
    for (k, v) in c {
        match k.as_str() {
            "lr" => o.lr = num(v),
            "lr_decay" => o.lr_decay = num(v),
            "weight_decay" => o.weight_decay = num(v),
            "initial_accumulator_value" => o.initial_accumulator_value = num(v),
            "eps" => o.eps = num(v),
            "maximize" => o.maximize = flag(v),
            _ => panic!("unknown Adagrad option {k}"),
        }
    }
    o
}

/// The optimizer of a run, over `p`, built from the run's config and our defaults.
fn build<T: Float>(run: &Run, p: &Var<T>) -> Box<dyn Optimizer<T>> {
    let params = vec![p.clone()];
    let c = &run.config;
    match run.optimizer.as_str() {
        "SGD" => Box::new(SGD::with_options(params, sgd_options(c)).unwrap()),
        "Adam" => {
            Box::new(Adam::with_options(params, adam_options(c, AdamOptions::default())).unwrap())
        }
        "AdamW" => {
            let o = adam_options(c, AdamOptions::default());
            // AdamWOptions from the same config on AdamW's own defaults.
            let mut w = AdamWOptions::default();
            for k in c.keys() {
                match k.as_str() {
                    "lr" => w.lr = o.lr,
                    "betas" => w.betas = o.betas,
                    "eps" => w.eps = o.eps,
                    "weight_decay" => w.weight_decay = o.weight_decay,
                    "amsgrad" => w.amsgrad = o.amsgrad,
                    "maximize" => w.maximize = o.maximize,
                    _ => panic!("unknown AdamW option {k}"),
                }
            }
            Box::new(AdamW::with_options(params, w).unwrap())
        }
        "RMSprop" => Box::new(RMSprop::with_options(params, rmsprop_options(c)).unwrap()),
        "Adagrad" => Box::new(Adagrad::with_options(params, adagrad_options(c)).unwrap()),
        other => panic!("unknown optimizer {other}"),
    }
}

/// `sum(c * (p - t)**2) + sum(sin(p))`.
fn loss<T: Float>(p: &Var<T>, c: &Var<T>, t: &Var<T>) -> Var<T> {
    (c * &(p - t).powf(T::cast(2.0))).sum() + p.sin().sum()
}

fn consts<T: Float>(v: &[f64]) -> Var<T> {
    Var::from_vec(v.iter().map(|&x| T::cast(x)).collect(), &[v.len()])
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Runs `steps` steps from `start` with `opt`, returning the largest deviation from the fixture
/// (losses, grads, params) for steps `first..first + steps`.
fn follow(
    run: &Run,
    prob: &Problem,
    p: &Var<f64>,
    opt: &mut dyn Optimizer<f64>,
    first: usize,
    steps: usize,
) -> f64 {
    let (c, t) = (consts::<f64>(&prob.c), consts::<f64>(&prob.t));
    let mut worst: f64 = 0.0;
    for i in first..first + steps {
        opt.zero_grad();
        let l = loss(p, &c, &t);
        worst = worst.max((l.item() - run.losses[i]).abs());
        l.backward().unwrap();
        worst = worst.max(max_diff(&p.grad().unwrap().to_vec(), &run.grads[i]));
        opt.step().unwrap();
        worst = worst.max(max_diff(&p.to_vec(), &run.params[i + 1]));
    }
    worst
}

#[test]
fn every_run_matches_pytorch_to_1e_12() {
    let fx = fixture();
    assert_eq!(fx.runs.len(), 18);
    let mut failures = vec![];
    for run in &fx.runs {
        assert_eq!(run.params[0], fx.problem.p0, "{}", run.name);
        let p = Var::from_vec(fx.problem.p0.clone(), &[3]).requires_grad();
        let mut opt = build::<f64>(run, &p);
        assert_eq!(opt.name(), run.optimizer);
        let worst = follow(run, &fx.problem, &p, opt.as_mut(), 0, fx.problem.steps);
        println!("{:<28} max |diff| = {worst:.3e}", run.name);
        if worst > TOL {
            failures.push(format!("{} ({worst:e})", run.name));
        }
    }
    assert!(failures.is_empty(), "runs off PyTorch: {failures:?}");
}

#[test]
fn defaults_equal_pytorch_resolved_defaults() {
    let fx = fixture();
    for run in &fx.runs {
        let p = Var::from_vec(fx.problem.p0.clone(), &[3]).requires_grad();
        let opt = build::<f64>(run, &p);
        // Our exported hyper-parameters, by PyTorch's names.
        let state = opt.state();
        let ours = &state.groups[0].options;
        let get = |name: &str| ours.iter().find(|(n, _)| n == name).map(|(_, h)| *h);
        for (key, value) in &run.resolved_defaults {
            use antorcha_optim::Hyper;
            match key.as_str() {
                // implementation switches without a counterpart here
                "foreach" | "fused" | "differentiable" | "capturable" => continue,
                "betas" => {
                    let b = value.as_array().unwrap();
                    let pair = Hyper::Pair(num(&b[0]), num(&b[1]));
                    assert_eq!(get("betas"), Some(pair), "{}", run.name);
                }
                _ => {
                    let expect = match value {
                        Value::Bool(b) => Hyper::Bool(*b),
                        v => Hyper::Float(num(v)),
                    };
                    assert_eq!(get(key), Some(expect), "{}: {key}", run.name);
                }
            }
        }
    }
}

#[test]
fn state_restored_mid_run_continues_bit_for_bit() {
    let fx = fixture();
    for run in &fx.runs {
        for cut in 1..fx.problem.steps {
            // uninterrupted
            let p = Var::from_vec(fx.problem.p0.clone(), &[3]).requires_grad();
            let mut opt = build::<f64>(run, &p);
            follow(run, &fx.problem, &p, opt.as_mut(), 0, fx.problem.steps);
            // interrupted at `cut`: export, fresh optimizer with another lr, restore, continue
            let q = Var::from_vec(fx.problem.p0.clone(), &[3]).requires_grad();
            let mut first = build::<f64>(run, &q);
            follow(run, &fx.problem, &q, first.as_mut(), 0, cut);
            let saved = first.state();
            drop(first);
            let q2 = Var::from_vec(q.to_vec(), &[3]).requires_grad();
            let mut second = build::<f64>(run, &q2);
            second.set_lr(123.0);
            second.load_state(&saved).unwrap();
            assert_eq!(second.lr(), run.config["lr"].as_f64().unwrap());
            let worst = follow(
                run,
                &fx.problem,
                &q2,
                second.as_mut(),
                cut,
                fx.problem.steps - cut,
            );
            assert!(worst <= TOL, "{} cut at {cut}: {worst:e}", run.name);
            assert_eq!(
                p.to_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                q2.to_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{} cut at {cut}",
                run.name
            );
            assert_eq!(opt.state(), second.state(), "{} cut at {cut}", run.name);
        }
    }
}

#[test]
fn the_same_runs_in_f32_stay_close() {
    let fx = fixture();
    let (c, t) = (consts::<f32>(&fx.problem.c), consts::<f32>(&fx.problem.t));
    for run in &fx.runs {
        let p = consts::<f32>(&fx.problem.p0).requires_grad();
        let mut opt = build::<f32>(run, &p);
        for i in 0..fx.problem.steps {
            opt.zero_grad();
            loss(&p, &c, &t).backward().unwrap();
            opt.step().unwrap();
            let got: Vec<f64> = p.to_vec().iter().map(|&x| x as f64).collect();
            let d = max_diff(&got, &run.params[i + 1]);
            assert!(d < 1e-4, "{} step {i}: {d:e}", run.name);
        }
    }
}
