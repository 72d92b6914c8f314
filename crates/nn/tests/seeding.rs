//! `manual_seed` makes every random part of this crate repeat: layer init, dropout masks and
//! the `init` functions all draw from (or are seeded by) the global generator. One test, so no
//! other test in this binary draws from the global generator in between.

use antorcha_autograd::tensor::manual_seed;
use antorcha_autograd::Var;
use antorcha_nn::init::{self, FanMode, Nonlinearity};
use antorcha_nn::{Conv2d, Dropout, Linear, Module, Sequential};

fn run() -> Vec<Vec<f32>> {
    let model: Sequential = Sequential::new()
        .add(Conv2d::new(1, 2, 3))
        .add(Dropout::new(0.5))
        .add(Linear::new(2, 2));
    init::kaiming_normal_(
        &model.parameters()[0],
        0.0,
        FanMode::FanOut,
        Nonlinearity::Relu,
    )
    .unwrap();
    let mut out: Vec<Vec<f32>> = model.parameters().iter().map(|p| p.to_vec()).collect();
    out.push(model.forward(&Var::ones(&[1, 1, 3, 4])).to_vec());
    out
}

#[test]
fn manual_seed_repeats_init_and_dropout() {
    manual_seed(42);
    let a = run();
    manual_seed(42);
    let b = run();
    assert_eq!(a, b);
    manual_seed(43);
    assert_ne!(run(), a);
}
