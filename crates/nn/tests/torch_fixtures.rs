//! Outputs and gradients against PyTorch (`tests/fixtures/nn_torch.json`, written by
//! `tests/fixtures/make_fixtures.py` with torch 2.15): `Linear`, `Conv2d`, `max_pool2d`, every
//! loss with every reduction and option, and weights PyTorch saved with safetensors loaded
//! into the same architecture here.

use antorcha_autograd::{Tensor, Var};
use antorcha_nn::functional::max_pool2d;
use antorcha_nn::{
    load_safetensors, BCEWithLogitsLoss, Conv2d, CrossEntropyLoss, Flatten, L1Loss, Linear,
    MSELoss, MaxPool2d, Module, NLLLoss, ReLU, Reduction, Sequential, Size2,
};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixtures() -> Value {
    let text = std::fs::read_to_string(format!("{DIR}/nn_torch.json")).expect("fixture file");
    serde_json::from_str(&text).expect("valid JSON")
}

fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

fn tensor(v: &Value) -> Tensor<f64> {
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    Tensor::from_vec(data, &shape(v))
}

fn tensor_f32(v: &Value) -> Tensor<f32> {
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    Tensor::from_vec(data, &shape(v))
}

fn labels(v: &Value) -> Tensor<i64> {
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    Tensor::from_vec(data, &shape(v))
}

fn pair(v: &Value) -> Size2 {
    let a = v.as_array().unwrap();
    Size2(
        a[0].as_u64().unwrap() as usize,
        a[1].as_u64().unwrap() as usize,
    )
}

#[track_caller]
fn assert_close(what: &str, got: &Tensor<f64>, expected: &Value) {
    let e = tensor(expected);
    assert_eq!(got.shape(), e.shape(), "{what}: shape");
    for (i, (a, b)) in got.to_vec().iter().zip(e.to_vec()).enumerate() {
        assert!(
            (a - b).abs() <= 1e-10 + 1e-10 * b.abs(),
            "{what}[{i}]: {a} vs PyTorch {b}"
        );
    }
}

/// `(out * g).sum()` backward, as the generator did.
fn backward_with_g(out: &Var<f64>, g: &Value) {
    (out * &Var::new(tensor(g))).sum().backward().unwrap();
}

#[test]
fn linear_matches_pytorch() {
    let f = fixtures();
    for case in f["linear"].as_array().unwrap() {
        let bias = case.get("bias").map(tensor);
        let layer = Linear::from_parts(tensor(&case["weight"]), bias).unwrap();
        let x = Var::new(tensor(&case["input"])).requires_grad();
        let out = layer.forward(&x);
        assert_close("linear out", &out.data(), &case["out"]);
        backward_with_g(&out, &case["g"]);
        assert_close("linear grad_input", &x.grad().unwrap(), &case["grad_input"]);
        assert_close(
            "linear grad_weight",
            &layer.weight().grad().unwrap(),
            &case["grad_weight"],
        );
        if let Some(b) = layer.bias() {
            assert_close("linear grad_bias", &b.grad().unwrap(), &case["grad_bias"]);
        }
    }
}

#[test]
fn conv2d_matches_pytorch() {
    let f = fixtures();
    for (i, case) in f["conv2d"].as_array().unwrap().iter().enumerate() {
        let bias = case.get("bias").map(tensor);
        let layer = Conv2d::from_parts(tensor(&case["weight"]), bias)
            .unwrap()
            .stride(pair(&case["stride"]))
            .padding(pair(&case["padding"]));
        let x = Var::new(tensor(&case["input"])).requires_grad();
        let out = layer.forward(&x);
        let what = format!("conv case {i}");
        assert_close(&format!("{what} out"), &out.data(), &case["out"]);
        backward_with_g(&out, &case["g"]);
        assert_close(
            &format!("{what} grad_input"),
            &x.grad().unwrap(),
            &case["grad_input"],
        );
        assert_close(
            &format!("{what} grad_weight"),
            &layer.weight().grad().unwrap(),
            &case["grad_weight"],
        );
        if let Some(b) = layer.bias() {
            assert_close(
                &format!("{what} grad_bias"),
                &b.grad().unwrap(),
                &case["grad_bias"],
            );
        }
    }
}

#[test]
fn max_pool2d_matches_pytorch() {
    let f = fixtures();
    for (i, case) in f["max_pool2d"].as_array().unwrap().iter().enumerate() {
        let x = Var::new(tensor(&case["input"])).requires_grad();
        let out = max_pool2d(
            &x,
            pair(&case["kernel"]),
            pair(&case["stride"]),
            pair(&case["padding"]),
        );
        assert_close(&format!("pool case {i} out"), &out.data(), &case["out"]);
        backward_with_g(&out, &case["g"]);
        assert_close(
            &format!("pool case {i} grad_input"),
            &x.grad().unwrap(),
            &case["grad_input"],
        );
    }
}

fn reduction(case: &Value) -> Reduction {
    match case["reduction"].as_str().unwrap() {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        other => panic!("unknown reduction {other}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A `CrossEntropyLoss` with a case's options.
fn cross_entropy(r: Reduction, opts: &Value) -> CrossEntropyLoss {
    let mut loss = CrossEntropyLoss::new().reduction(r);
    if let Some(w) = opts.get("weight") {
        loss = loss.weight(&floats(w));
    }
    if let Some(ii) = opts.get("ignore_index") {
        loss = loss.ignore_index(ii.as_i64().unwrap());
    }
    if let Some(ls) = opts.get("label_smoothing") {
        loss = loss.label_smoothing(ls.as_f64().unwrap());
    }
    loss
}

#[test]
fn every_loss_matches_pytorch() {
    let f = fixtures();
    let cases = f["losses"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case["loss"].as_str().unwrap();
        let r = reduction(case);
        let opts = &case["options"];
        let x = Var::new(tensor(&case["input"])).requires_grad();
        let out = match name {
            "mse" => MSELoss::new()
                .reduction(r)
                .forward(&x, &Var::new(tensor(&case["target"]))),
            "l1" => L1Loss::new()
                .reduction(r)
                .forward(&x, &Var::new(tensor(&case["target"]))),
            "bce_with_logits" => {
                let mut loss = BCEWithLogitsLoss::new().reduction(r);
                if let Some(pw) = opts.get("pos_weight") {
                    loss = loss.pos_weight(&floats(pw));
                }
                if let Some(w) = opts.get("weight") {
                    let rows: Vec<Vec<f64>> = w.as_array().unwrap().iter().map(floats).collect();
                    let shape = [rows.len(), rows[0].len()];
                    loss = loss.weight(&Tensor::from_vec(rows.concat(), &shape));
                }
                loss.forward(&x, &Var::new(tensor(&case["target"])))
            }
            "cross_entropy_probs" => {
                cross_entropy(r, opts).forward_probs(&x, &Var::new(tensor(&case["target"])))
            }
            "cross_entropy" => cross_entropy(r, opts).forward(&x, &labels(&case["target"])),
            "nll" => {
                let mut loss = NLLLoss::new().reduction(r);
                if let Some(w) = opts.get("weight") {
                    loss = loss.weight(&floats(w));
                }
                if let Some(ii) = opts.get("ignore_index") {
                    loss = loss.ignore_index(ii.as_i64().unwrap());
                }
                loss.forward(&x, &labels(&case["target"]))
            }
            other => panic!("unknown loss {other}"),
        };
        let what = format!("case {i}: {name} {:?} {opts}", r);
        assert_close(&format!("{what} out"), &out.data(), &case["out"]);
        backward_with_g(&out, &case["g"]);
        assert_close(
            &format!("{what} grad"),
            &x.grad().unwrap(),
            &case["grad_input"],
        );
        seen.insert((name.to_string(), format!("{r:?}")));
    }
    // Every loss with every reduction was checked.
    assert_eq!(seen.len(), 6 * 3, "{seen:?}");
}

#[test]
fn pytorch_mlp_weights_load_and_give_the_same_outputs() {
    let f = fixtures();
    let case = &f["mlp"];
    assert_eq!(case["dtype"], "float32");
    let model: Sequential<f32> = Sequential::new()
        .add(Linear::new(4, 8))
        .add(ReLU::new())
        .add(Linear::new(8, 3));
    loads_and_matches(&model, case);
}

/// Loads a case's PyTorch checkpoint into `model` and checks its output on the case's input
/// against PyTorch's (f32, to 1e-6).
fn loads_and_matches(model: &Sequential<f32>, case: &Value) {
    load_safetensors(model, format!("{DIR}/{}", case["file"].as_str().unwrap())).unwrap();
    let out = model.forward(&Var::new(tensor_f32(&case["input"])));
    let expected = tensor_f32(&case["out"]);
    assert_eq!(out.shape(), expected.shape());
    for (a, b) in out.to_vec().iter().zip(expected.to_vec()) {
        assert!((a - b).abs() <= 1e-6, "{a} vs PyTorch {b}");
    }
}

/// The notebook's `NeuralNetwork` class (`self.flatten`, `self.linear_relu_stack`): built with
/// named children, its parameters have PyTorch's `state_dict` names, so PyTorch's checkpoint
/// loads as is and gives PyTorch's outputs.
#[test]
fn the_notebook_class_loads_by_pytorch_names() {
    let f = fixtures();
    let case = &f["notebook"];
    let model: Sequential<f32> = Sequential::new()
        .add_named("flatten", Flatten::new())
        .add_named(
            "linear_relu_stack",
            Sequential::new()
                .add(Linear::new(9, 16))
                .add(ReLU::new())
                .add(Linear::new(16, 16))
                .add(ReLU::new())
                .add(Linear::new(16, 4)),
        );
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let keys: Vec<String> = case["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, keys);
    loads_and_matches(&model, case);
}

#[test]
fn pytorch_cnn_weights_load_and_give_the_same_outputs() {
    let f = fixtures();
    let case = &f["cnn"];
    assert_eq!(case["dtype"], "float64");
    let model: Sequential<f64> = Sequential::new()
        .add(Conv2d::new(2, 3, 3).padding(1))
        .add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(18, 4));
    load_safetensors(&model, format!("{DIR}/{}", case["file"].as_str().unwrap())).unwrap();
    let out = model.forward(&Var::new(tensor(&case["input"])));
    assert_close("cnn out", &out.data(), &case["out"]);
    // A float32 model takes the float64 weights converted (PyTorch's load_state_dict copies
    // them with `copy_`, rounding to nearest) and gives PyTorch's outputs to f32 precision.
    let f32_model: Sequential<f32> = Sequential::new()
        .add(Conv2d::new(2, 3, 3).padding(1))
        .add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(18, 4));
    load_safetensors(
        &f32_model,
        format!("{DIR}/{}", case["file"].as_str().unwrap()),
    )
    .unwrap();
    for ((k32, t32), (k64, t64)) in f32_model.state_dict().iter().zip(model.state_dict().iter()) {
        assert_eq!(k32, k64);
        let rounded: Vec<f32> = t64.to_vec().iter().map(|&x| x as f32).collect();
        assert_eq!(t32.to_vec(), rounded, "{k32}");
    }
    let input: Tensor<f32> = tensor(&case["input"]).map(|&x| x as f32);
    let out32 = f32_model.forward(&Var::new(input));
    let expected = tensor(&case["out"]);
    for (a, b) in out32.to_vec().iter().zip(expected.to_vec()) {
        assert!(
            (f64::from(*a) - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{a} vs PyTorch {b}"
        );
    }
}
