//! Every optimizer's defaults are PyTorch's, whatever the constructor path: `X::new(params,
//! lr)`, `X::with_options(params, XOptions::default())` and `XOptions::new(lr)` all export the
//! hyper-parameters `torch.optim.X([p]).defaults` has, by the same names
//! (`fixtures/torch_defaults.json`, made by `fixtures/make_defaults.py`).

use antorcha_autograd::Var;
use antorcha_optim::{
    Adagrad, AdagradOptions, Adam, AdamOptions, AdamW, AdamWOptions, GroupOptions, Hyper,
    Optimizer, RMSprop, RmspropOptions, SgdOptions, SGD,
};
use serde_json::Value;

/// PyTorch's implementation switches, without a counterpart here.
const SWITCHES: [&str; 4] = ["foreach", "fused", "differentiable", "capturable"];

fn torch_defaults() -> serde_json::Map<String, Value> {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_defaults.json"
    ));
    let v: Value = serde_json::from_str(text).unwrap();
    v["optimizers"].as_object().unwrap().clone()
}

/// PyTorch's value as a [`Hyper`].
fn hyper(v: &Value) -> Hyper {
    match v {
        Value::Bool(b) => Hyper::Bool(*b),
        Value::Array(a) => Hyper::Pair(a[0].as_f64().unwrap(), a[1].as_f64().unwrap()),
        v => Hyper::Float(v.as_f64().unwrap()),
    }
}

/// Checks one exported list against PyTorch's defaults of `name`: same names, same values.
fn check(name: &str, path: &str, ours: &[(String, Hyper)]) {
    let all = torch_defaults();
    let torch = all[name].as_object().unwrap();
    let mut want: Vec<(String, Hyper)> = torch
        .iter()
        .filter(|(k, _)| !SWITCHES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), hyper(v)))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let mut got = ours.to_vec();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want, "{name} via {path}");
}

fn p() -> Var<f64> {
    Var::from_vec(vec![0.0f64], &[1]).requires_grad()
}

/// The first group's exported hyper-parameters.
fn exported(opt: &dyn Optimizer<f64>) -> Vec<(String, Hyper)> {
    opt.state().groups[0].options.clone()
}

/// The default learning rate of `name` in PyTorch.
fn lr(name: &str) -> f64 {
    torch_defaults()[name]["lr"].as_f64().unwrap()
}

macro_rules! every_path {
    ($name:literal, $opt:ident, $options:ident) => {{
        let lr = lr($name);
        check($name, "Options::default()", &$options::default().to_hyper());
        check($name, "Options::new(lr)", &$options::new(lr).to_hyper());
        check(
            $name,
            "X::new(params, lr)",
            &exported(&$opt::new(vec![p()], lr).unwrap()),
        );
        let opt = $opt::with_options(vec![p()], $options::default()).unwrap();
        check(
            $name,
            "X::with_options(params, Options::default())",
            &exported(&opt),
        );
        assert_eq!(opt.name(), $name);
    }};
}

#[test]
fn sgd_defaults_are_pytorchs() {
    every_path!("SGD", SGD, SgdOptions);
}

#[test]
fn adam_defaults_are_pytorchs() {
    every_path!("Adam", Adam, AdamOptions);
}

#[test]
fn adamw_defaults_are_pytorchs() {
    every_path!("AdamW", AdamW, AdamWOptions);
    // The weight decay PyTorch's AdamW uses when none is given.
    assert_eq!(AdamWOptions::default().weight_decay, 0.01);
}

#[test]
fn rmsprop_defaults_are_pytorchs() {
    every_path!("RMSprop", RMSprop, RmspropOptions);
}

#[test]
fn adagrad_defaults_are_pytorchs() {
    every_path!("Adagrad", Adagrad, AdagradOptions);
}

/// An exported state reads back (with `betas` as one pair) and a pair where a number belongs
/// is refused by name.
#[test]
fn betas_round_trip_as_one_pair() {
    let o = AdamOptions::new(0.1).betas((0.5, 0.75));
    let h = o.to_hyper();
    assert!(h.contains(&("betas".to_string(), Hyper::Pair(0.5, 0.75))));
    assert_eq!(AdamOptions::from_hyper(&h).unwrap(), o);
    let mut bad = h.clone();
    bad.iter_mut().find(|(n, _)| n == "lr").unwrap().1 = Hyper::Pair(1.0, 2.0);
    let e = AdamOptions::from_hyper(&bad).unwrap_err();
    assert!(e.contains("`lr` should be a number"), "{e}");
    let adam_state = AdamOptions::default().to_hyper();
    let e = AdamWOptions::from_hyper(&adam_state).unwrap_err();
    assert!(e.contains("decoupled_weight_decay"), "{e}");
}
