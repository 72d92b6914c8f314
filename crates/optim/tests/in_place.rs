//! `step()` updates a parameter in place when it alone owns its storage, and through a spare
//! buffer (copy-on-write) when something else shares its value: both paths give the same
//! numbers, a sharer keeps the old value, the version is bumped, views see the change, and
//! zero-sized or non-contiguous parameters work.

use antorcha_autograd::{Tensor, Var};
use antorcha_optim::{
    Adagrad, AdagradOptions, Adam, AdamOptions, AdamW, AdamWOptions, Optimizer, RMSprop,
    RmspropOptions, SgdOptions, SGD,
};

/// One optimizer of each algorithm, with its options switched on, over `params`.
fn optimizers(params: &[Var<f64>]) -> Vec<Box<dyn Optimizer<f64>>> {
    let p = || params.to_vec();
    vec![
        Box::new(SGD::new(p(), 0.1).unwrap()),
        Box::new(
            SGD::with_options(
                p(),
                SgdOptions::new(0.05)
                    .momentum(0.9)
                    .weight_decay(0.01)
                    .nesterov(true),
            )
            .unwrap(),
        ),
        Box::new(
            SGD::with_options(
                p(),
                SgdOptions::new(0.05)
                    .momentum(0.5)
                    .dampening(0.3)
                    .maximize(true),
            )
            .unwrap(),
        ),
        Box::new(
            Adam::with_options(p(), AdamOptions::new(0.01).amsgrad(true).weight_decay(0.1))
                .unwrap(),
        ),
        Box::new(AdamW::with_options(p(), AdamWOptions::new(0.01)).unwrap()),
        Box::new(
            RMSprop::with_options(p(), RmspropOptions::new(0.01).momentum(0.9).centered(true))
                .unwrap(),
        ),
        Box::new(Adagrad::with_options(p(), AdagradOptions::new(0.1).lr_decay(0.01)).unwrap()),
    ]
}

/// A gradient for step `k`, shaped like `shape`, varying with the element and the step.
fn grad(shape: &[usize], k: usize) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let v = (0..n)
        .map(|i| ((i * 7 + k * 3) % 11) as f64 * 0.37 - 1.7)
        .collect();
    Tensor::from_vec(v, shape)
}

fn leaf(shape: &[usize]) -> Var<f64> {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|i| 0.3 * i as f64 - 1.0).collect();
    Var::from_vec(v, shape).requires_grad()
}

#[test]
fn a_shared_parameter_takes_the_same_steps_and_its_sharer_keeps_the_old_value() {
    let shape = [2, 3];
    let (unique, shared) = (leaf(&shape), leaf(&shape));
    let mut alone = optimizers(std::slice::from_ref(&unique));
    let mut held = optimizers(std::slice::from_ref(&shared));
    for (a, h) in alone.iter_mut().zip(held.iter_mut()) {
        for k in 0..4 {
            unique.set_grad(Some(grad(&shape, k)));
            shared.set_grad(Some(grad(&shape, k)));
            let (v_unique, v_shared) = (unique.version(), shared.version());
            let before = unique.data().to_vec();
            a.step().unwrap();
            // A handle sharing the value, as a graph's saved copy would: the step must not
            // write through it.
            let sharer = shared.data();
            h.step().unwrap();
            assert_eq!(sharer.to_vec(), before, "{}: the sharer changed", a.name());
            assert_eq!(shared.to_vec(), unique.to_vec(), "{} step {k}", a.name());
            assert_ne!(unique.to_vec(), before, "{} did not move", a.name());
            assert_eq!(unique.version(), v_unique + 1);
            assert_eq!(shared.version(), v_shared + 1);
        }
        assert_eq!(a.state(), h.state(), "{}", a.name());
    }
}

#[test]
fn a_parameter_owning_its_storage_is_updated_in_it() {
    let p = leaf(&[4]);
    let mut opt = SGD::with_options(vec![p.clone()], SgdOptions::new(0.1).momentum(0.9)).unwrap();
    let storage = |p: &Var<f64>| p.data().as_slice().unwrap().as_ptr();
    let first = storage(&p);
    for k in 0..3 {
        p.set_grad(Some(grad(&[4], k)));
        opt.step().unwrap();
        assert_eq!(
            storage(&p),
            first,
            "step {k} moved the value to another buffer"
        );
    }
}

#[test]
fn a_step_while_a_graph_saved_the_parameter_is_reported_at_backward() {
    // The graph saves the var itself (not a copy of its value), so the step goes in place;
    // with a `data()` handle held as well, it goes through the spare buffer. Either way the
    // version moves and backward refuses the stale graph, as PyTorch does.
    for hold in [false, true] {
        let p = leaf(&[3]);
        let mut opt = SGD::new(vec![p.clone()], 0.1).unwrap();
        let loss = (&p * &p).sum();
        p.set_grad(Some(grad(&[3], 0)));
        let ptr = p.data().as_slice().unwrap().as_ptr();
        let held = hold.then(|| p.data());
        let v = p.version();
        opt.step().unwrap();
        assert_eq!(p.version(), v + 1);
        let in_place = p.data().as_slice().unwrap().as_ptr() == ptr;
        assert_eq!(in_place, !hold);
        drop(held);
        let err = loss.backward().unwrap_err().to_string();
        assert!(err.contains("modified by an in-place operation"), "{err}");
    }
}

#[test]
fn a_view_of_the_parameter_sees_the_step() {
    let p = leaf(&[2, 2]);
    let view = p.detach();
    let mut opt = SGD::new(vec![p.clone()], 0.5).unwrap();
    p.set_grad(Some(grad(&[2, 2], 1)));
    opt.step().unwrap();
    assert_eq!(view.to_vec(), p.to_vec());
    let expect: Vec<f64> = leaf(&[2, 2])
        .to_vec()
        .iter()
        .zip(grad(&[2, 2], 1).to_vec())
        .map(|(p, g)| p + (-0.5) * g)
        .collect();
    assert_eq!(p.to_vec(), expect);
}

#[test]
fn zero_sized_and_non_contiguous_parameters_step() {
    let column_major = || {
        // A leaf whose value is a transposed (column-major) tensor of shape [3, 2].
        let base = Tensor::from_vec((0..6).map(|i| i as f64 * 0.25).collect(), &[2, 3]);
        Var::new(base.t()).requires_grad()
    };
    for i in 0..optimizers(&[leaf(&[1])]).len() {
        let empty = Var::<f64>::from_vec(vec![], &[2, 0]).requires_grad();
        let strided = column_major();
        assert!(!strided.data().is_contiguous());
        let reference = Var::from_vec(strided.to_vec(), &[3, 2]).requires_grad();
        let mut opt = optimizers(&[empty.clone(), strided.clone()]).remove(i);
        let mut same = optimizers(std::slice::from_ref(&reference)).remove(i);
        for k in 0..3 {
            empty.set_grad(Some(Tensor::zeros(&[2, 0])));
            strided.set_grad(Some(grad(&[3, 2], k)));
            reference.set_grad(Some(grad(&[3, 2], k)));
            opt.step().unwrap();
            same.step().unwrap();
            assert_eq!(empty.shape(), vec![2, 0]);
            assert_eq!(strided.shape(), vec![3, 2]);
            assert_eq!(
                strided.to_vec(),
                reference.to_vec(),
                "{} step {k}",
                opt.name()
            );
        }
        assert_ne!(strided.to_vec(), column_major().to_vec(), "{}", opt.name());
    }
}
