//! Every case of `torch_views.json` (from `make_view_fixtures.py`, real PyTorch): a chain of
//! view ops gives PyTorch's values, shape, strides and storage offset, shares the input's
//! storage exactly when PyTorch's does, records PyTorch's grad_fn names and backpropagates
//! PyTorch's gradient.

use antorcha_autograd::{Input, Tensor, Var};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Json {
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct Step {
    op: String,
    args: Vec<Value>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    x: Json,
    chain: Vec<Step>,
    output: Json,
    strides: Vec<usize>,
    storage_offset: usize,
    shares_storage: bool,
    w: Json,
    grad: Json,
    grad_fns: Vec<String>,
}

fn tensor(j: &Json) -> Tensor<f64> {
    Tensor::from_vec(j.data.clone(), &j.shape)
}

fn apply(y: &Var<f64>, step: &Step) -> Var<f64> {
    let a: Vec<isize> = step
        .args
        .iter()
        .map(|v| v.as_i64().unwrap() as isize)
        .collect();
    match step.op.as_str() {
        "reshape" => y.reshape(&a),
        "view" => y.view(&a),
        "flatten" if a.is_empty() => y.flatten(0, -1),
        "flatten" => y.flatten(a[0], a[1]),
        "transpose" => y.transpose(a[0], a[1]),
        "t" => y.t(),
        "permute" => y.permute(&a),
        "unsqueeze" => y.unsqueeze(a[0]),
        "squeeze" => y.squeeze(),
        "squeeze_dim" => y.squeeze_dim(a[0]),
        "expand" => y.expand(&a),
        "narrow" => y.narrow(a[0], a[1], a[2] as usize),
        "select" => y.select(a[0], a[1]),
        "slice" => y.slice(a[0], a[1], a[2], a[3] as usize),
        "contiguous" => y.contiguous(),
        other => panic!("no view op {other}"),
    }
}

/// The grad_fn names from `y` down to its leaf, following each node's first input.
fn grad_fns(y: &Var<f64>) -> Vec<String> {
    let mut names = Vec::new();
    let mut node = y.grad_fn();
    while let Some(n) = node {
        names.push(n.name().to_string());
        node = match n.inputs().into_iter().next() {
            Some(Input::Node(next)) => Some(next),
            Some(Input::Leaf(_)) => {
                names.push("AccumulateGrad".into());
                None
            }
            None => None,
        };
    }
    names
}

#[test]
fn view_chains_match_pytorch() {
    let fixture: Fixture = serde_json::from_str(include_str!("fixtures/torch_views.json")).unwrap();
    assert!(fixture.cases.len() >= 25);
    for case in &fixture.cases {
        let name = &case.name;
        let x = Var::new(tensor(&case.x)).requires_grad();
        let y = case.chain.iter().fold(x.clone(), |y, step| apply(&y, step));
        let (value, base) = (y.data(), x.data());
        assert_eq!(value.shape(), case.output.shape.as_slice(), "{name}: shape");
        assert_eq!(value.to_vec(), case.output.data, "{name}: values");
        assert_eq!(value.strides(), case.strides.as_slice(), "{name}: strides");
        assert_eq!(
            value.storage_offset(),
            case.storage_offset,
            "{name}: offset"
        );
        assert_eq!(
            value.ptr_eq(&base),
            case.shares_storage,
            "{name}: shares storage"
        );
        assert_eq!(grad_fns(&y), case.grad_fns, "{name}: grad_fn names");

        (&y * &Var::new(tensor(&case.w))).sum().backward().unwrap();
        let grad = x.grad().unwrap();
        assert_eq!(
            grad.shape(),
            case.grad.shape.as_slice(),
            "{name}: grad shape"
        );
        for (i, (g, want)) in grad.to_vec().iter().zip(&case.grad.data).enumerate() {
            assert!(
                (g - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "{name}: grad[{i}] = {g}, PyTorch has {want}"
            );
        }
    }
}
