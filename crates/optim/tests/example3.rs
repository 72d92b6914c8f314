//! The notebook's Example 3 with the optimizer: linear regression `y = a + b x` by full-batch
//! gradient descent (`optim.SGD([a, b], lr=0.1)`, 1000 epochs).
//!
//! - On 100 seeded points (`y = 1 + 2x + noise`, first 80 for training) the result equals the
//!   closed-form least-squares fit to 1e-4 (f64).
//! - Exporting the optimizer state at epoch 500 into a fresh optimizer gives final values
//!   bit-identical to an uninterrupted run (SGD with momentum, Adam, RMSprop, Adagrad).
//! - On the notebook's own data (numpy's `RandomState(42)`, from `numpy_randomstate.json`) it
//!   matches numpy's hand-written gradient descent in f64 and PyTorch's f32 `SGD` run.

use antorcha_autograd::Var;
use antorcha_optim::{
    Adagrad, Adam, AdamOptions, Optimizer, OptimizerState, RMSprop, RmspropOptions, SgdOptions, SGD,
};
use antorcha_tensor::Float;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

struct Data {
    x_train: Vec<f64>,
    y_train: Vec<f64>,
    a0: f64,
    b0: f64,
}

/// 100 points `x ~ U[0, 1)`, `y = 1 + 2x + 0.1 N(0, 1)` (Box–Muller), first 80 for training,
/// and random starting values for `a` and `b`.
fn make_data(seed: u64) -> Data {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut normal = || {
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let noise: Vec<f64> = (0..100).map(|_| normal()).collect();
    let (a0, b0) = (normal(), normal());
    let mut rng = StdRng::seed_from_u64(seed + 1);
    let x: Vec<f64> = (0..100).map(|_| rng.random::<f64>()).collect();
    let y: Vec<f64> = x
        .iter()
        .zip(&noise)
        .map(|(x, n)| 1.0 + 2.0 * x + 0.1 * n)
        .collect();
    Data {
        x_train: x[..80].to_vec(),
        y_train: y[..80].to_vec(),
        a0,
        b0,
    }
}

/// Ordinary least squares: `b = cov(x, y) / var(x)`, `a = ȳ - b x̄`.
fn least_squares(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = x.iter().map(|x| (x - mx) * (x - mx)).sum();
    let b = sxy / sxx;
    (my - b * mx, b)
}

fn column<T: Float>(v: &[f64]) -> Var<T> {
    Var::from_vec(v.iter().map(|&x| T::cast(x)).collect(), &[v.len(), 1])
}

fn scalar_param<T: Float>(v: f64) -> Var<T> {
    Var::from_vec(vec![T::cast(v)], &[1]).requires_grad()
}

/// One epoch of the notebook's loop; returns the loss.
fn epoch<T: Float>(
    opt: &mut dyn Optimizer<T>,
    a: &Var<T>,
    b: &Var<T>,
    x: &Var<T>,
    y: &Var<T>,
) -> T {
    let yhat = a + &(b * x);
    let error = y - &yhat;
    let loss = error.powf(T::cast(2.0)).mean();
    loss.backward().unwrap();
    opt.step().unwrap();
    opt.zero_grad();
    loss.item()
}

#[test]
fn sgd_reaches_the_least_squares_fit() {
    let d = make_data(2024);
    let (x, y) = (column::<f64>(&d.x_train), column::<f64>(&d.y_train));
    let a = scalar_param::<f64>(d.a0);
    let b = scalar_param::<f64>(d.b0);
    let lr = 0.1;
    let mut optimizer = SGD::new(vec![a.clone(), b.clone()], lr).unwrap();
    let mut first_loss = None;
    let mut last_loss = 0.0;
    for _ in 0..1000 {
        last_loss = epoch(&mut optimizer, &a, &b, &x, &y);
        first_loss.get_or_insert(last_loss);
    }
    let (fa, fb) = least_squares(&d.x_train, &d.y_train);
    assert!((a.item() - fa).abs() < 1e-4, "a = {} vs {fa}", a.item());
    assert!((b.item() - fb).abs() < 1e-4, "b = {} vs {fb}", b.item());
    assert!(
        (fa - 1.0).abs() < 0.1 && (fb - 2.0).abs() < 0.1,
        "({fa}, {fb})"
    );
    assert!(
        last_loss < first_loss.unwrap() && last_loss < 0.02,
        "{last_loss}"
    );
    assert!(a.grad().is_none() && b.grad().is_none());
    assert!(a.needs_grad() && a.is_leaf());
}

/// Builds an optimizer over the given parameters.
type Maker = dyn Fn(Vec<Var<f64>>) -> Box<dyn Optimizer<f64>>;

/// Trains 1000 epochs with `make`'s optimizer; with `cut`, the state is exported at that
/// epoch (and passed through `carry`) into a fresh optimizer over fresh parameters.
fn train(
    make: &Maker,
    cut: Option<usize>,
    carry: &dyn Fn(OptimizerState) -> OptimizerState,
) -> (f64, f64) {
    let d = make_data(7);
    let (x, y) = (column::<f64>(&d.x_train), column::<f64>(&d.y_train));
    let mut a = scalar_param::<f64>(d.a0);
    let mut b = scalar_param::<f64>(d.b0);
    let mut opt = make(vec![a.clone(), b.clone()]);
    for e in 0..1000 {
        if Some(e) == cut {
            let saved = carry(opt.state());
            a = scalar_param(a.item());
            b = scalar_param(b.item());
            opt = make(vec![a.clone(), b.clone()]);
            opt.load_state(&saved).unwrap();
        }
        epoch(opt.as_mut(), &a, &b, &x, &y);
    }
    (a.item(), b.item())
}

#[test]
fn state_export_restore_at_epoch_500_is_bit_identical() {
    let makers: Vec<(&str, Box<Maker>)> = vec![
        (
            "SGD momentum",
            Box::new(|p| {
                Box::new(
                    SGD::with_options(p, SgdOptions::new(0.1).momentum(0.9).dampening(0.1))
                        .unwrap(),
                )
            }),
        ),
        (
            "SGD nesterov",
            Box::new(|p| {
                Box::new(
                    SGD::with_options(p, SgdOptions::new(0.05).momentum(0.8).nesterov(true))
                        .unwrap(),
                )
            }),
        ),
        ("Adam", Box::new(|p| Box::new(Adam::new(p, 0.1).unwrap()))),
        (
            "Adam amsgrad",
            Box::new(|p| {
                Box::new(Adam::with_options(p, AdamOptions::new(0.05).amsgrad(true)).unwrap())
            }),
        ),
        (
            "RMSprop centered momentum",
            Box::new(|p| {
                Box::new(
                    RMSprop::with_options(
                        p,
                        RmspropOptions::new(0.01).momentum(0.5).centered(true),
                    )
                    .unwrap(),
                )
            }),
        ),
        (
            "Adagrad",
            Box::new(|p| Box::new(Adagrad::new(p, 0.5).unwrap())),
        ),
    ];
    let same = |s: OptimizerState| s;
    for (name, make) in &makers {
        let whole = train(make.as_ref(), None, &same);
        let resumed = train(make.as_ref(), Some(500), &same);
        assert_eq!(
            (whole.0.to_bits(), whole.1.to_bits()),
            (resumed.0.to_bits(), resumed.1.to_bits()),
            "{name}: {whole:?} vs {resumed:?}"
        );
        // without restoring the state the run differs (the test can fail)
        let fresh = train(make.as_ref(), Some(500), &|mut s: OptimizerState| {
            s.params.iter_mut().for_each(|p| *p = None);
            s
        });
        assert_ne!(whole, fresh, "{name}");
        let (fa, fb) = least_squares(&make_data(7).x_train, &make_data(7).y_train);
        assert!(
            (whole.0 - fa).abs() < 0.05 && (whole.1 - fb).abs() < 0.1,
            "{name}: {whole:?}"
        );
    }
}

#[cfg(feature = "serde")]
#[test]
fn state_survives_json() {
    let make = |p| -> Box<dyn Optimizer<f64>> { Box::new(Adam::new(p, 0.1).unwrap()) };
    let whole = train(&make, None, &|s| s);
    let via_json = train(&make, Some(500), &|s| {
        let text = serde_json::to_string(&s).unwrap();
        serde_json::from_str(&text).unwrap()
    });
    assert_eq!(whole, via_json);
}

#[derive(Deserialize)]
struct NumpyFixture {
    seed_notebook: Notebook,
}

#[derive(Deserialize)]
struct Json {
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct Notebook {
    x: Json,
    y: Json,
    train_idx: Vec<usize>,
    gd: Gd,
    sklearn_linear_regression: Sklearn,
    torch_float32_sgd: TorchSgd,
}

#[derive(Deserialize)]
struct Gd {
    lr: f64,
    n_epochs: usize,
    init_a: f64,
    init_b: f64,
    fitted_a: f64,
    fitted_b: f64,
}

#[derive(Deserialize)]
struct Sklearn {
    intercept: f64,
    coef: f64,
}

#[derive(Deserialize)]
struct TorchSgd {
    init_a: f64,
    init_b: f64,
    final_a: f64,
    final_b: f64,
    loss_at_epoch: Vec<(usize, f64)>,
}

fn notebook() -> Notebook {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/numpy_randomstate.json"
    ))
    .unwrap();
    serde_json::from_str::<NumpyFixture>(&text)
        .unwrap()
        .seed_notebook
}

fn train_points(nb: &Notebook) -> (Vec<f64>, Vec<f64>) {
    (
        nb.train_idx.iter().map(|&i| nb.x.data[i]).collect(),
        nb.train_idx.iter().map(|&i| nb.y.data[i]).collect(),
    )
}

#[test]
fn notebook_data_f64_matches_numpy_gradient_descent_and_sklearn() {
    let nb = notebook();
    let (xs, ys) = train_points(&nb);
    let (x, y) = (column::<f64>(&xs), column::<f64>(&ys));
    let a = scalar_param::<f64>(nb.gd.init_a);
    let b = scalar_param::<f64>(nb.gd.init_b);
    let mut opt = SGD::new(vec![a.clone(), b.clone()], nb.gd.lr).unwrap();
    for _ in 0..nb.gd.n_epochs {
        epoch(&mut opt, &a, &b, &x, &y);
    }
    assert!(
        (a.item() - nb.gd.fitted_a).abs() < 1e-10,
        "{} vs {}",
        a.item(),
        nb.gd.fitted_a
    );
    assert!(
        (b.item() - nb.gd.fitted_b).abs() < 1e-10,
        "{} vs {}",
        b.item(),
        nb.gd.fitted_b
    );
    let (fa, fb) = least_squares(&xs, &ys);
    assert!((fa - nb.sklearn_linear_regression.intercept).abs() < 1e-12);
    assert!((fb - nb.sklearn_linear_regression.coef).abs() < 1e-12);
    assert!((a.item() - fa).abs() < 1e-4 && (b.item() - fb).abs() < 1e-4);
}

#[test]
fn notebook_data_f32_matches_pytorch_sgd() {
    let nb = notebook();
    let (xs, ys) = train_points(&nb);
    let t = &nb.torch_float32_sgd;
    let (x, y) = (column::<f32>(&xs), column::<f32>(&ys));
    let a = scalar_param::<f32>(t.init_a);
    let b = scalar_param::<f32>(t.init_b);
    let mut opt = SGD::new(vec![a.clone(), b.clone()], 0.1).unwrap();
    let mut losses = vec![];
    for _ in 0..1000 {
        losses.push(epoch(&mut opt, &a, &b, &x, &y));
    }
    for &(e, l) in &t.loss_at_epoch {
        assert!(
            ((losses[e] as f64) - l).abs() < 1e-5 * l.max(1.0),
            "epoch {e}: {} vs {l}",
            losses[e]
        );
    }
    assert!(
        (a.item() as f64 - t.final_a).abs() < 1e-5,
        "{} vs {}",
        a.item(),
        t.final_a
    );
    assert!(
        (b.item() as f64 - t.final_b).abs() < 1e-5,
        "{} vs {}",
        b.item(),
        t.final_b
    );
}
