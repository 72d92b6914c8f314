//! End to end: small networks built from this crate's layers, trained with `antorcha-optim`'s
//! SGD, reach 100% accuracy on XOR and on a linearly separable synthetic problem.

use antorcha_autograd::tensor::Generator;
use antorcha_autograd::{no_grad, Tensor, Var};
use antorcha_nn::{BCEWithLogitsLoss, CrossEntropyLoss, Linear, Module, ReLU, Sequential, Tanh};
use antorcha_optim::{Optimizer, SgdOptions, SGD};
use rand::Rng;

fn accuracy(logits: &Var, labels: &Tensor<i64>) -> f64 {
    let pred = logits.data().argmax_dim(1, false);
    pred.eq(labels).float().mean().item() as f64
}

#[test]
fn mlp_learns_xor() {
    let mut rng = Generator::new(0);
    let model: Sequential = Sequential::new()
        .add(Linear::with_generator(2, 8, true, &mut rng))
        .add(Tanh::new())
        .add(Linear::with_generator(8, 1, true, &mut rng));
    let x = Var::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]);
    let y = Var::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4, 1]);
    let loss_fn = BCEWithLogitsLoss::new();
    let mut opt =
        SGD::with_options(model.parameters(), SgdOptions::new(0.5).momentum(0.9)).unwrap();
    let mut loss = f32::INFINITY;
    for _ in 0..500 {
        let l = loss_fn.forward(&model.forward(&x), &y);
        loss = l.item();
        opt.zero_grad();
        l.backward().unwrap();
        opt.step().unwrap();
    }
    let _g = no_grad();
    let pred: Vec<f32> = model
        .forward(&x)
        .to_vec()
        .iter()
        .map(|&z| (z > 0.0) as u8 as f32)
        .collect();
    assert_eq!(pred, y.to_vec(), "final loss {loss}");
    assert!(loss < 0.05, "final loss {loss}");
}

#[test]
fn mlp_learns_a_linearly_separable_problem() {
    let mut rng = Generator::new(1);
    // Five features; class 1 where w·x + b > 0, with a margin so 100% is reachable.
    let (dim, n) = (5, 400);
    let w: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
    let b = 0.2f32;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    while ys.len() < n {
        let p: Vec<f32> = (0..dim).map(|_| rng.random_range(-2.0..2.0)).collect();
        let s: f32 = p.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + b;
        if s.abs() < 0.1 {
            continue;
        }
        xs.extend(p);
        ys.push((s > 0.0) as i64);
    }
    let x = Tensor::from_vec(xs, &[n, dim]);
    let y = Tensor::from_vec(ys, &[n]);
    let model: Sequential = Sequential::new()
        .add(Linear::with_generator(dim, 16, true, &mut rng))
        .add(ReLU::new())
        .add(Linear::with_generator(16, 2, true, &mut rng));
    let loss_fn = CrossEntropyLoss::new();
    let mut opt =
        SGD::with_options(model.parameters(), SgdOptions::new(0.1).momentum(0.9)).unwrap();
    let batch = 40;
    for _epoch in 0..60 {
        for start in (0..n).step_by(batch) {
            let idx: Vec<usize> = (start..start + batch).collect();
            let xb = Var::new(x.index_select(0, &idx));
            let yb = y.index_select(0, &idx);
            let loss = loss_fn.forward(&model.forward(&xb), &yb);
            opt.zero_grad();
            loss.backward().unwrap();
            opt.step().unwrap();
        }
    }
    model.eval();
    let _g = no_grad();
    let logits = model.forward(&Var::new(x));
    assert_eq!(accuracy(&logits, &y), 1.0);
}
