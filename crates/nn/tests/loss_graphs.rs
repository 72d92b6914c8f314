//! `CrossEntropyLoss` and `NLLLoss` record PyTorch's graph over inputs of every rank
//! (`tests/fixtures/loss_graphs_torch.json`, from `make_loss_graphs.py`): `NllLossBackward0`
//! over `LogSoftmaxBackward0`, `NllLoss2DBackward0` for images, the views PyTorch adds for
//! other ranks, with PyTorch's attributes and saved tensors, and PyTorch's value (f64, 1e-12).

use antorcha_autograd::{Attr, Input, SavedInfo, Tensor, Var};
use antorcha_nn::{CrossEntropyLoss, NLLLoss, Reduction};
use serde_json::Value;

fn tensor<T: serde::de::DeserializeOwned>(j: &Value) -> (Vec<T>, Vec<usize>) {
    (
        serde_json::from_value(j["data"].clone()).unwrap(),
        serde_json::from_value(j["shape"].clone()).unwrap(),
    )
}

/// An attribute as Python's `str` prints it.
fn py(attr: &Attr) -> String {
    match attr {
        Attr::Int(i) => i.to_string(),
        Attr::UInt(u) => u.to_string(),
        Attr::Bool(b) => if *b { "True" } else { "False" }.into(),
        Attr::Ints(v) if v.len() == 1 => format!("({},)", v[0]),
        Attr::Ints(v) => format!(
            "({})",
            v.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// Each node from `y` down its first inputs: name, attributes, saved shapes (as the fixture).
fn chain(y: &Var<f64>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut node = y.grad_fn();
    while let Some(n) = node {
        let attrs: serde_json::Map<String, Value> = n
            .attrs()
            .iter()
            .map(|(k, a)| (k.to_string(), Value::from(py(a))))
            .collect();
        let saved: serde_json::Map<String, Value> = n
            .saved()
            .into_iter()
            .map(|SavedInfo { name, shape, .. }| {
                (name.to_string(), serde_json::to_value(shape).unwrap())
            })
            .collect();
        out.push(serde_json::json!({"name": n.name(), "attrs": attrs, "saved": saved}));
        node = match n.inputs().into_iter().next() {
            Some(Input::Node(next)) => Some(next),
            Some(Input::Leaf(_)) => {
                out.push(serde_json::json!({"name": "AccumulateGrad", "attrs": {}, "saved": {}}));
                None
            }
            None => None,
        };
    }
    out
}

#[test]
fn class_losses_record_pytorch_s_graph() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/loss_graphs_torch.json")).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (x, xs) = tensor::<f64>(&case["x"]);
        let (t, ts) = tensor::<i64>(&case["target"]);
        let x = Var::from_vec(x, &xs).requires_grad();
        let target = Tensor::from_vec(t, &ts);
        let reduction = match case["reduction"].as_str().unwrap() {
            "mean" => Reduction::Mean,
            "sum" => Reduction::Sum,
            _ => Reduction::None,
        };
        let weight: Option<Vec<f64>> = serde_json::from_value(case["weight"].clone()).unwrap();
        let ignore = case["ignore_index"].as_i64().unwrap();
        let y = if case["loss"] == "nll" {
            let mut f = NLLLoss::new().reduction(reduction).ignore_index(ignore);
            if let Some(w) = &weight {
                f = f.weight(w);
            }
            f.try_forward(&x.log_softmax(if xs.len() == 1 { 0 } else { 1 }), &target)
        } else {
            let mut f = CrossEntropyLoss::new()
                .reduction(reduction)
                .ignore_index(ignore);
            if let Some(w) = &weight {
                f = f.weight(w);
            }
            f.try_forward(&x, &target)
        }
        .unwrap();
        let (want, want_shape) = tensor::<f64>(&case["value"]);
        assert_eq!(y.shape(), want_shape, "{name}: shape");
        for (g, w) in y.to_vec().iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{name}: {g} vs PyTorch {w}"
            );
        }
        assert_eq!(Value::from(chain(&y)), case["chain"], "{name}: graph");
    }
}
