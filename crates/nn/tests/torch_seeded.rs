//! Same seed, same numbers as PyTorch: layers built in PyTorch's order after `manual_seed`
//! hold PyTorch's initial parameters bit for bit, a dropout mask follows on the same stream,
//! and every `nn.init` function draws PyTorch's values, for `f32` and `f64`. Expected values
//! come from `tests/fixtures/make_seeded.py`. One test: nothing else in this binary touches the
//! global generator in between.

use antorcha_autograd::tensor::{manual_seed, with_global_rng, Float};
use antorcha_autograd::Var;
use antorcha_nn::functional::dropout;
use antorcha_nn::init::{self, FanMode, Nonlinearity};
use antorcha_nn::{Conv2d, Dropout, Flatten, Linear, Module, Sequential};
use serde_json::Value;

trait Bits: Float {
    fn bits(self) -> u64;
}
impl Bits for f32 {
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}
impl Bits for f64 {
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

fn bits<T: Bits>(v: &Var<T>) -> Vec<u64> {
    v.to_vec().into_iter().map(Bits::bits).collect()
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn check<T: Bits>(case: &Value) {
    let what = format!("{} seed {}", case["dtype"], case["seed"]);
    manual_seed(case["seed"].as_u64().unwrap());
    let model: Sequential<T> = Sequential::new()
        .add(Conv2d::new(2, 3, 3))
        .add(with_global_rng(|g| {
            Conv2d::with_generator(3, 2, (1, 2), false, g)
        }))
        .add(Flatten::new())
        .add(Dropout::new(0.3))
        .add(Linear::new(50, 10))
        .add(Linear::new(10, 5));
    let want = case["layers"]["params"].as_array().unwrap();
    let params = model.parameters();
    assert_eq!(params.len(), want.len(), "{what}");
    for (i, (p, w)) in params.iter().zip(want).enumerate() {
        assert_eq!(bits(p), u64s(w), "{what}: parameter {i} {:?}", p.shape());
    }
    // The layer draws its mask from the global generator when it runs, as F.dropout does;
    // the functional form with that generator state draws the same mask.
    let state = with_global_rng(|g| g.clone());
    let drop = Module::<T>::forward(&Dropout::new(0.3), &Var::<T>::ones(&[4, 5]));
    assert_eq!(
        bits(&drop),
        u64s(&case["layers"]["dropout"]),
        "{what}: dropout"
    );
    let mut g = state;
    let again = dropout(&Var::<T>::ones(&[4, 5]), 0.3, true, &mut g);
    assert_eq!(bits(&again), bits(&drop), "{what}: functional dropout");

    manual_seed(case["seed"].as_u64().unwrap());
    let mut w = Var::<T>::zeros(&[1]);
    for init in case["inits"].as_array().unwrap() {
        let shape: Vec<usize> = init["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        if w.shape() != shape {
            w = Var::zeros(&shape);
        }
        let name = init["init"].as_str().unwrap();
        match name {
            "uniform" => init::uniform_(&w, -0.2, 0.3),
            "normal" => init::normal_(&w, 0.1, 0.5),
            "xavier_uniform" => init::xavier_uniform_(&w, 1.3),
            "xavier_normal" => init::xavier_normal_(&w, 0.8),
            "kaiming_uniform" => {
                init::kaiming_uniform_(&w, 0.0, FanMode::FanOut, Nonlinearity::Relu)
            }
            "kaiming_uniform_default" => {
                init::kaiming_uniform_(&w, 5f64.sqrt(), FanMode::FanIn, Nonlinearity::LeakyRelu)
            }
            "kaiming_normal" => {
                init::kaiming_normal_(&w, 0.1, FanMode::FanIn, Nonlinearity::LeakyRelu)
            }
            other => panic!("unknown init {other}"),
        }
        .unwrap();
        assert_eq!(bits(&w), u64s(&init["bits"]), "{what}: {name} {shape:?}");
    }
}

#[test]
fn layers_dropout_and_init_draw_pytorchs_numbers() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/seeded_torch.json")).unwrap();
    for case in fx["cases"].as_array().unwrap() {
        match case["dtype"].as_str().unwrap() {
            "f32" => check::<f32>(case),
            _ => check::<f64>(case),
        }
    }
}
