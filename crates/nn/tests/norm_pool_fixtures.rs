//! Normalisation, pooling and channel-dropout layers against PyTorch
//! (`tests/fixtures/norm_pool_torch.json`, written by
//! `tests/fixtures/make_norm_pool_fixtures.py` with torch 2.15): outputs, gradients of input,
//! weight and bias, running statistics after each training step, eval outputs, `grad_fn` names
//! and state-dict keys, all in f64 to 1e-10.

use antorcha_autograd::tensor::Generator;
use antorcha_autograd::{Tensor, Var};
use antorcha_nn::functional::dropout2d;
use antorcha_nn::{
    load_pt, load_safetensors, save_safetensors, AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d,
    BatchNorm2d, Conv2d, CrossEntropyLoss, Flatten, LayerNorm, Linear, MaxPool2d, Module, ReLU,
    Sequential, Size2,
};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const TOL: f64 = 1e-10;

fn fixtures() -> Value {
    let text =
        std::fs::read_to_string(format!("{DIR}/norm_pool_torch.json")).expect("fixture file");
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

#[track_caller]
fn assert_close(what: &str, got: &Tensor<f64>, want: &Value) {
    assert_eq!(got.shape(), shape(want).as_slice(), "{what}: shape");
    let want = tensor(want).to_vec();
    for (i, (a, b)) in got.to_vec().iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() <= TOL * (1.0 + b.abs()),
            "{what}[{i}]: {a} vs PyTorch {b}"
        );
    }
}

/// Runs `layer` on the step's input, backward on `(out * g).sum()`, and checks the output and
/// every gradient.
fn check_step(what: &str, layer: &dyn Module<f64>, step: &Value) -> Var<f64> {
    let x = Var::new(tensor(&step["input"])).requires_grad();
    layer.zero_grad();
    let out = layer.forward(&x);
    assert_close(&format!("{what} output"), &out.data(), &step["output"]);
    assert_eq!(
        out.grad_fn_name(),
        step["grad_fn"].as_str(),
        "{what} grad_fn"
    );
    let g = Var::new(tensor(&step["g"]));
    out.mul(&g).sum().backward().unwrap();
    assert_close(
        &format!("{what} grad_input"),
        &x.grad().unwrap(),
        &step["grad_input"],
    );
    for (name, p) in layer.named_parameters() {
        assert_close(
            &format!("{what} grad_{name}"),
            &p.grad().unwrap(),
            &step[format!("grad_{name}")],
        );
    }
    out
}

fn keys(layer: &dyn Module<f64>) -> Vec<String> {
    layer.state_dict().into_iter().map(|(k, _)| k).collect()
}

fn json_keys(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn batch_norm_matches_pytorch_in_train_and_eval() {
    let f = fixtures();
    for (i, case) in f["batch_norm"].as_array().unwrap().iter().enumerate() {
        let opts = &case["options"];
        let kind = case["kind"].as_str().unwrap();
        let c = shape(&case["train"][0]["input"])[1];
        let affine = opts["affine"].as_bool().unwrap_or(true);
        let track = opts["track_running_stats"].as_bool().unwrap_or(true);
        let momentum = match opts.get("momentum") {
            None => Some(0.1),
            Some(Value::Null) => None,
            Some(m) => Some(m.as_f64().unwrap()),
        };
        let eps = opts["eps"].as_f64().unwrap_or(1e-5);
        let layer: Box<dyn Module<f64>> = if kind == "BatchNorm2d" {
            Box::new(
                BatchNorm2d::new(c)
                    .affine(affine)
                    .track_running_stats(track)
                    .momentum(momentum)
                    .eps(eps),
            )
        } else {
            Box::new(
                BatchNorm1d::new(c)
                    .affine(affine)
                    .track_running_stats(track)
                    .momentum(momentum)
                    .eps(eps),
            )
        };
        let what = format!("batch_norm case {i} ({kind} {opts})");
        assert_eq!(keys(&*layer), json_keys(&case["state_dict_keys"]), "{what}");
        if affine {
            let dict = std::collections::HashMap::from([
                ("weight".to_string(), tensor(&case["weight"])),
                ("bias".to_string(), tensor(&case["bias"])),
            ]);
            let mut full: std::collections::HashMap<_, _> =
                layer.state_dict().into_iter().collect();
            full.extend(dict);
            layer.load_state_dict(&full).unwrap();
        }
        for (s, step) in case["train"].as_array().unwrap().iter().enumerate() {
            let what = format!("{what} train step {s}");
            check_step(&what, &*layer, step);
            let buffers: std::collections::HashMap<_, _> =
                layer.named_buffers().into_iter().collect();
            if track {
                assert_close(
                    &format!("{what} running_mean"),
                    &buffers["running_mean"],
                    &step["running_mean"],
                );
                assert_close(
                    &format!("{what} running_var"),
                    &buffers["running_var"],
                    &step["running_var"],
                );
                assert_eq!(
                    buffers["num_batches_tracked"].to_vec(),
                    vec![step["num_batches_tracked"].as_f64().unwrap()],
                    "{what}"
                );
            } else {
                assert!(buffers.is_empty(), "{what}");
            }
        }
        layer.eval();
        check_step(&format!("{what} eval"), &*layer, &case["eval"]);
    }
}

#[test]
fn layer_norm_matches_pytorch() {
    let f = fixtures();
    for (i, case) in f["layer_norm"].as_array().unwrap().iter().enumerate() {
        let opts = &case["options"];
        let ns: Vec<usize> = case["normalized_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let layer = LayerNorm::<f64>::new(&ns)
            .elementwise_affine(opts["elementwise_affine"].as_bool().unwrap_or(true))
            .with_bias(opts["bias"].as_bool().unwrap_or(true))
            .eps(opts["eps"].as_f64().unwrap_or(1e-5));
        let what = format!("layer_norm case {i} ({opts})");
        assert_eq!(keys(&layer), json_keys(&case["state_dict_keys"]), "{what}");
        let _guard = antorcha_autograd::no_grad();
        if let Some(w) = layer.weight() {
            w.copy_(&tensor(&case["weight"])).unwrap();
        }
        if let Some(b) = layer.bias() {
            b.copy_(&tensor(&case["bias"])).unwrap();
        }
        drop(_guard);
        check_step(&what, &layer, case);
    }
}

/// An `int or tuple` argument of the fixture (absent: `default`).
fn size2(v: &Value, default: Size2) -> Size2 {
    match v {
        Value::Null => default,
        Value::Array(a) => Size2(
            a[0].as_u64().unwrap() as usize,
            a[1].as_u64().unwrap() as usize,
        ),
        n => Size2::from(n.as_u64().unwrap() as usize),
    }
}

#[test]
fn avg_pool2d_matches_pytorch() {
    let f = fixtures();
    for (i, case) in f["avg_pool2d"].as_array().unwrap().iter().enumerate() {
        let o = &case["options"];
        let k = size2(&o["kernel_size"], Size2(0, 0));
        let layer = AvgPool2d::new(k)
            .stride(size2(&o["stride"], k))
            .padding(size2(&o["padding"], Size2(0, 0)))
            .ceil_mode(o["ceil_mode"].as_bool().unwrap_or(false))
            .count_include_pad(o["count_include_pad"].as_bool().unwrap_or(true))
            .divisor_override(o["divisor_override"].as_u64().map(|d| d as usize));
        let what = format!("avg_pool2d case {i} ({o})");
        check_step(&what, &layer, case);
        // PyTorch prints each argument as given; a square pair given as a tuple prints as a
        // tuple there, as one number here.
        let as_given = ["kernel_size", "stride", "padding"]
            .iter()
            .all(|a| !matches!(&o[*a], Value::Array(v) if v[0] == v[1]));
        if as_given {
            assert_eq!(
                Module::<f64>::repr(&layer),
                case["repr"].as_str().unwrap(),
                "{what}"
            );
        }
    }
}

#[test]
fn adaptive_avg_pool2d_matches_pytorch() {
    let f = fixtures();
    for (i, case) in f["adaptive_avg_pool2d"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let size: Vec<Option<usize>> = case["output_size"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().map(|d| d as usize))
            .collect();
        let repr = case["repr"].as_str().unwrap();
        let layer = if repr.ends_with(&format!("output_size={})", size[0].unwrap_or(0))) {
            AdaptiveAvgPool2d::new(size[0].unwrap())
        } else {
            AdaptiveAvgPool2d::new((size[0], size[1]))
        };
        let what = format!("adaptive_avg_pool2d case {i} ({size:?})");
        check_step(&what, &layer, case);
        assert_eq!(Module::<f64>::repr(&layer), repr, "{what}");
    }
}

#[test]
fn dropout2d_draws_pytorchs_channel_masks() {
    let f = fixtures();
    for case in f["dropout2d"].as_array().unwrap() {
        let shape = shape(&case["output"]);
        let p = case["p"].as_f64().unwrap();
        let mut g = Generator::new(case["seed"].as_u64().unwrap());
        let x = Var::<f64>::ones(&shape).requires_grad();
        let y = dropout2d(&x, p, true, &mut g);
        let what = format!("dropout2d p={p} shape {shape:?}");
        assert_close(&what, &y.data(), &case["output"]);
        assert_eq!(y.grad_fn_name(), case["grad_fn"].as_str(), "{what}");
        y.sum().backward().unwrap();
        assert_close(&what, &x.grad().unwrap(), &case["grad_input"]);
    }
}

fn cnn_bn() -> Sequential<f64> {
    Sequential::new()
        .add(Conv2d::new(2, 3, 3).padding(1))
        .add(BatchNorm2d::new(3))
        .add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(18, 4))
}

/// The header of a safetensors file: each key's dtype and shape.
fn header(path: &std::path::Path) -> Vec<(String, String, Vec<usize>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<_> = st
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                format!("{:?}", v.dtype()),
                v.shape().to_vec(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn cnn_with_batch_norm_round_trips_through_safetensors() {
    let f = fixtures();
    let case = &f["cnn_bn"];
    let torch_file = format!("{DIR}/{}", case["file"].as_str().unwrap());
    let model = cnn_bn();
    assert_eq!(keys(&model), json_keys(&case["keys"]));
    // PyTorch's file loads strictly, num_batches_tracked (I64) included.
    load_safetensors(&model, &torch_file).unwrap();
    let bn_buffers = |m: &Sequential<f64>| -> std::collections::HashMap<String, Tensor<f64>> {
        m.named_buffers().into_iter().collect()
    };
    let loaded = bn_buffers(&model);
    assert_eq!(loaded["1.num_batches_tracked"].to_vec(), vec![2.0]);
    // The same state dict saved by torch.save loads the same.
    let from_pt = cnn_bn();
    load_pt(&from_pt, format!("{DIR}/torch_cnn_bn.pt")).unwrap();
    assert_eq!(from_pt.state_dict(), model.state_dict());
    // Written back here, the file has PyTorch's keys, dtypes and shapes, so
    // `model.load_state_dict(load_file(path), strict=True)` takes it.
    let path = std::env::temp_dir().join(format!(
        "antorcha_nn_cnn_bn_{}.safetensors",
        std::process::id()
    ));
    save_safetensors(&model, &path).unwrap();
    let mut want: Vec<(String, String, Vec<usize>)> = case["header"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v[0].as_str().unwrap().to_string(),
                shape(&serde_json::json!({"shape": v[1]})),
            )
        })
        .collect();
    want.sort();
    assert_eq!(header(&path), want);
    assert_eq!(header(&path), header(std::path::Path::new(&torch_file)));
    // And it loads back with every value.
    let again = cnn_bn();
    load_safetensors(&again, &path).unwrap();
    std::fs::remove_file(&path).unwrap();
    for ((k, a), (_, b)) in model.state_dict().iter().zip(again.state_dict().iter()) {
        assert_eq!(a.to_vec(), b.to_vec(), "{k}");
    }
    // One more training forward updates the buffers as PyTorch's did.
    let out = model.forward(&Var::new(tensor(&case["x_train"])));
    assert_close("cnn_bn train output", &out.data(), &case["out_train"]);
    let buffers = bn_buffers(&model);
    assert_close(
        "running_mean",
        &buffers["1.running_mean"],
        &case["running_mean"],
    );
    assert_close(
        "running_var",
        &buffers["1.running_var"],
        &case["running_var"],
    );
    assert_eq!(buffers["1.num_batches_tracked"].to_vec(), vec![3.0]);
    model.eval();
    let out = model.forward(&Var::new(tensor(&case["x_eval"])));
    assert_close("cnn_bn eval output", &out.data(), &case["out_eval"]);
}

#[test]
fn max_pool2d_with_every_option_matches_pytorch() {
    let f = fixtures();
    for (i, case) in f["max_pool2d"].as_array().unwrap().iter().enumerate() {
        let o = &case["options"];
        let k = size2(&o["kernel_size"], Size2(0, 0));
        let layer = MaxPool2d::new(k)
            .stride(size2(&o["stride"], k))
            .padding(size2(&o["padding"], Size2(0, 0)))
            .dilation(size2(&o["dilation"], Size2(1, 1)))
            .ceil_mode(o["ceil_mode"].as_bool().unwrap_or(false));
        let what = format!("max_pool2d case {i} ({o})");
        check_step(&what, &layer, case);
        let x = Var::new(tensor(&case["input"]));
        let (y, idx) = layer.forward_with_indices(&x).unwrap();
        assert_close(&what, &y.data(), &case["output"]);
        let want: Vec<i64> = case["indices"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(idx.to_vec(), want, "{what} indices");
        assert_eq!(idx.shape(), y.shape().as_slice(), "{what}");
        let as_given = ["kernel_size", "stride", "padding", "dilation"]
            .iter()
            .all(|a| !matches!(&o[*a], Value::Array(v) if v[0] == v[1]));
        if as_given {
            assert_eq!(
                Module::<f64>::repr(&layer),
                case["repr"].as_str().unwrap(),
                "{what}"
            );
        }
    }
}

/// The BatchNorm CNN of `cnn_bn_sgd` from PyTorch's initial weights, trained here by its three
/// plain SGD steps (lr 0.1); returns it and each step's loss.
fn train_cnn_bn_sgd(case: &Value) -> (Sequential<f64>, Vec<f64>) {
    let model = cnn_bn();
    let initial: std::collections::HashMap<String, Tensor<f64>> = case["initial"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), tensor(v)))
        .collect();
    model.load_state_dict(&initial).unwrap();
    let x = Var::new(tensor(&case["x"]));
    let labels: Vec<i64> = case["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let y = Tensor::from_vec(labels, &[6]);
    let loss_fn = CrossEntropyLoss::new();
    let mut losses = Vec::new();
    for _ in case["losses"].as_array().unwrap() {
        model.zero_grad();
        let loss = loss_fn.forward(&model.forward(&x), &y);
        losses.push(loss.item());
        loss.backward().unwrap();
        let _guard = antorcha_autograd::no_grad();
        for p in model.parameters() {
            let g = p.grad().unwrap();
            p.update_(|t| t.add_scaled_(&g, -0.1)).unwrap();
        }
    }
    (model, losses)
}

#[test]
fn cnn_with_batch_norm_trains_as_pytorch_does() {
    let f = fixtures();
    let case = &f["cnn_bn_sgd"];
    let (model, losses) = train_cnn_bn_sgd(case);
    for (step, (loss, want)) in losses
        .iter()
        .zip(case["losses"].as_array().unwrap())
        .enumerate()
    {
        let want = want.as_f64().unwrap();
        assert!(
            (loss - want).abs() <= TOL,
            "step {step}: loss {loss} vs PyTorch {want}"
        );
    }
    for (k, v) in model.state_dict() {
        assert_close(&format!("final {k}"), &v, &case["final"][&k]);
    }
}

/// The other direction: the BatchNorm CNN trained and saved here loads into PyTorch with
/// `load_state_dict(load_file(path), strict=True)` and computes there what it computes here.
/// `antorcha_cnn_bn.safetensors` is this test's file (rewritten with
/// `ANTORCHA_WRITE_FIXTURES=1`); `make_bn_round_trip.py` loaded it into PyTorch and wrote
/// `bn_round_trip_torch.json`.
#[test]
fn a_batch_norm_cnn_saved_here_loads_strictly_into_pytorch() {
    let f = fixtures();
    let (model, _) = train_cnn_bn_sgd(&f["cnn_bn_sgd"]);
    let committed = std::path::PathBuf::from(format!("{DIR}/antorcha_cnn_bn.safetensors"));
    let path = std::env::temp_dir().join(format!(
        "antorcha_nn_bn_round_trip_{}.safetensors",
        std::process::id()
    ));
    save_safetensors(&model, &path).unwrap();
    if std::env::var_os("ANTORCHA_WRITE_FIXTURES").is_some() {
        std::fs::copy(&path, &committed).unwrap();
    }
    // The committed file is what this code writes: the same keys, dtypes, shapes and values.
    assert_eq!(header(&path), header(&committed));
    let (ours, theirs) = (cnn_bn(), cnn_bn());
    load_safetensors(&ours, &path).unwrap();
    std::fs::remove_file(&path).unwrap();
    load_safetensors(&theirs, &committed).unwrap();
    for ((k, a), (_, b)) in ours.state_dict().iter().zip(theirs.state_dict().iter()) {
        for (x, y) in a.to_vec().iter().zip(b.to_vec()) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{k}: {x} vs {y}");
        }
    }
    // PyTorch took the file strictly and evaluated it on the same input.
    let text = std::fs::read_to_string(format!("{DIR}/bn_round_trip_torch.json")).unwrap();
    let torch: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(torch["missing_keys"], serde_json::json!([]));
    assert_eq!(torch["unexpected_keys"], serde_json::json!([]));
    assert_eq!(
        torch["num_batches_tracked"],
        serde_json::json!([3, "torch.int64"])
    );
    let keys: Vec<String> = theirs.state_dict().into_iter().map(|(k, _)| k).collect();
    assert_eq!(serde_json::json!(keys), torch["keys"]);
    theirs.eval();
    let out = theirs.forward(&Var::new(tensor(&torch["x"])));
    assert_close("eval output in PyTorch", &out.data(), &torch["out_eval"]);
}
