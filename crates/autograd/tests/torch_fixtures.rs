//! Every case of PyTorch's `torch_grads.json`: outputs and gradients equal PyTorch's (float64)
//! to 1e-10.

use antorcha_autograd::{Tensor, Var};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize, Clone)]
struct Json {
    shape: Vec<usize>,
    data: Vec<Value>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    op: String,
    inputs: BTreeMap<String, Json>,
    args: BTreeMap<String, Value>,
    output: Json,
    w: Json,
    loss: f64,
    grads: BTreeMap<String, Json>,
    indices: Option<Json>,
    grads_after_each_backward: Option<Vec<BTreeMap<String, Json>>>,
}

fn f64s(j: &Json) -> Tensor<f64> {
    Tensor::from_vec(
        j.data.iter().map(|v| v.as_f64().unwrap()).collect(),
        &j.shape,
    )
}

fn i64s(j: &Json) -> Tensor<i64> {
    Tensor::from_vec(
        j.data.iter().map(|v| v.as_i64().unwrap()).collect(),
        &j.shape,
    )
}

fn bools(j: &Json) -> Tensor<bool> {
    Tensor::from_vec(
        j.data.iter().map(|v| v.as_bool().unwrap()).collect(),
        &j.shape,
    )
}

fn arg_tensor(case: &Case, key: &str) -> Json {
    serde_json::from_value(case.args[key].clone()).unwrap()
}

fn num(case: &Case, key: &str) -> f64 {
    case.args[key].as_f64().unwrap()
}

fn int(case: &Case, key: &str) -> isize {
    case.args[key].as_i64().unwrap() as isize
}

fn opt_f64(case: &Case, key: &str) -> Option<f64> {
    case.args.get(key).and_then(|v| v.as_f64())
}

fn keepdim(case: &Case) -> bool {
    case.args
        .get("keepdim")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Builds the case's output from its inputs, as PyTorch did.
fn forward(case: &Case, v: &BTreeMap<String, Var<f64>>) -> Var<f64> {
    let x = || &v["x"];
    let (a, b) = (|| &v["a"], || &v["b"]);
    let name = case.name.as_str();
    let scalar_lhs = name.ends_with("_scalar_tensor");
    let scalar_rhs = name.ends_with("_tensor_scalar");
    match case.op.as_str() {
        "add" if scalar_rhs => a() + num(case, "s"),
        "add" if scalar_lhs => num(case, "s") + a(),
        "add" => a() + b(),
        "sub" if scalar_rhs => a() - num(case, "s"),
        "sub" if scalar_lhs => num(case, "s") - a(),
        "sub" => a() - b(),
        "mul" if scalar_rhs => a() * num(case, "s"),
        "mul" if scalar_lhs => num(case, "s") * a(),
        "mul" => a() * b(),
        "div" if scalar_rhs => a() / num(case, "s"),
        "div" if scalar_lhs => num(case, "s") / a(),
        "div" => a() / b(),
        "neg" => -x(),
        "pow" => x().powf(num(case, "exponent")),
        "exp" => x().exp(),
        "log" => x().log(),
        "sqrt" => x().sqrt(),
        "abs" => x().abs(),
        "relu" => x().relu(),
        "sigmoid" => x().sigmoid(),
        "tanh" => x().tanh(),
        "sum" if case.args.contains_key("dim") => x().sum_dim(int(case, "dim"), keepdim(case)),
        "sum" => x().sum(),
        "mean" if case.args.contains_key("dim") => x().mean_dim(int(case, "dim"), keepdim(case)),
        "mean" => x().mean(),
        "max" => {
            let (values, indices) = x().max_dim(int(case, "dim"), keepdim(case));
            assert_eq!(
                indices,
                i64s(case.indices.as_ref().unwrap()),
                "{name}: indices"
            );
            values
        }
        "matmul" if name == "matmul_transposed_lhs" => a().t().matmul(b()),
        "matmul" => a().matmul(b()),
        "linear" => x().matmul(&v["weight"].t()) + &v["bias"],
        "transpose" if x().ndim() == 2 && name == "transpose_2d" => x().t(),
        "transpose" => x().transpose(int(case, "dim0"), int(case, "dim1")),
        "permute" => {
            let dims: Vec<isize> = case.args["dims"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_i64().unwrap() as isize)
                .collect();
            x().permute(&dims)
        }
        "reshape" | "view" => {
            let shape: Vec<isize> = case.args["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_i64().unwrap() as isize)
                .collect();
            x().reshape(&shape)
        }
        "unsqueeze" => x().unsqueeze(int(case, "dim")),
        "squeeze" if case.args["dim"].is_null() => x().squeeze(),
        "squeeze" => x().squeeze_dim(int(case, "dim")),
        "slice" => x().slice(
            int(case, "dim"),
            int(case, "start"),
            int(case, "end"),
            int(case, "step") as usize,
        ),
        "select" => x().select(int(case, "dim"), int(case, "index")),
        "index_select" => {
            let idx: Vec<usize> = i64s(&arg_tensor(case, "indices"))
                .to_vec()
                .iter()
                .map(|&i| i as usize)
                .collect();
            x().index_select(int(case, "dim"), &idx)
        }
        "cat" => Var::cat(&[a(), b()], int(case, "dim")),
        "stack" => Var::stack(&[a(), b()], int(case, "dim")),
        "softmax" => x().softmax(int(case, "dim")),
        "log_softmax" => x().log_softmax(int(case, "dim")),
        "cross_entropy" => {
            let target = i64s(&arg_tensor(case, "target"));
            let n = target.numel();
            let picked = v["logits"]
                .log_softmax(1)
                .gather(1, &target.reshape(&[n as isize, 1]))
                .neg();
            match case.args["reduction"].as_str().unwrap() {
                "mean" => picked.mean(),
                _ => picked.sum(),
            }
        }
        "mse_loss" => (&v["input"] - &v["target"]).powf(2.0).mean(),
        "binary_cross_entropy_with_logits" => {
            let z = &v["logits"];
            let t = Var::new(f64s(&arg_tensor(case, "target")));
            // max(z, 0) - z t + log(1 + exp(-|z|)), PyTorch's stable form.
            (z.relu() - z * &t + (z.abs().neg().exp() + 1.0).log()).mean()
        }
        "clamp" => x().clamp(opt_f64(case, "min"), opt_f64(case, "max")),
        "where" => Var::where_(&bools(&arg_tensor(case, "cond")), a(), b()),
        "masked_fill" => x().masked_fill(&bools(&arg_tensor(case, "mask")), num(case, "value")),
        "composite" if name == "leaf_used_twice" => x() * x() + x(),
        "composite" => {
            let xs = Var::new(f64s(&arg_tensor(case, "x")));
            let ys = Var::new(f64s(&arg_tensor(case, "y")));
            (&ys - (a() + b() * &xs)).powf(2.0).mean()
        }
        "grad_accumulation" => x() * x(),
        other => panic!("{name}: no forward for op {other}"),
    }
}

fn assert_close(name: &str, what: &str, got: &Tensor<f64>, want: &Tensor<f64>) {
    assert_eq!(got.shape(), want.shape(), "{name}: {what} shape");
    for (i, (g, w)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        assert!(
            (g - w).abs() <= 1e-10 * (1.0 + w.abs()),
            "{name}: {what}[{i}] = {g}, PyTorch has {w}"
        );
    }
}

#[test]
fn every_case_matches_pytorch() {
    let text = include_str!("fixtures/torch_grads.json");
    let fixture: Fixture = serde_json::from_str(text).unwrap();
    assert!(
        fixture.cases.len() >= 80,
        "fixture has {} cases",
        fixture.cases.len()
    );
    for case in &fixture.cases {
        let vars: BTreeMap<String, Var<f64>> = case
            .inputs
            .iter()
            .map(|(k, j)| (k.clone(), Var::new(f64s(j)).requires_grad()))
            .collect();
        let out = forward(case, &vars);
        assert_close(&case.name, "output", &out.data(), &f64s(&case.output));
        let loss = (&out * &Var::new(f64s(&case.w))).sum();
        assert!(
            (loss.item() - case.loss).abs() <= 1e-10 * (1.0 + case.loss.abs()),
            "{}: loss {} vs {}",
            case.name,
            loss.item(),
            case.loss
        );
        if let Some(steps) = &case.grads_after_each_backward {
            for (i, step) in steps.iter().enumerate() {
                loss.backward_opts(
                    None,
                    antorcha_autograd::BackwardOptions {
                        retain_graph: true,
                        create_graph: false,
                    },
                )
                .unwrap();
                for (k, g) in step {
                    assert_close(
                        &case.name,
                        &format!("grad {k} after backward {}", i + 1),
                        &vars[k].grad().unwrap(),
                        &f64s(g),
                    );
                }
            }
        } else {
            loss.backward().unwrap();
        }
        for (k, g) in &case.grads {
            let got = vars[k]
                .grad()
                .unwrap_or_else(|| panic!("{}: no grad for {k}", case.name));
            assert_close(&case.name, &format!("grad {k}"), &got, &f64s(g));
        }
    }
}
