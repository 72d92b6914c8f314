//! `Conv2d` and `conv2d` against PyTorch (`tests/fixtures/conv_torch.json`, written by
//! `tests/fixtures/make_conv_fixtures.py` with torch 2.15): every option (stride, numeric,
//! `"same"` and `"valid"` padding, dilation, groups, bias, unbatched input), outputs and the
//! input, weight and bias gradients in f64 to 1e-10; the node's name and attributes, the nodes
//! between it and the input (the padding of `"same"` with an even kernel), the repr
//! and state-dict keys; second derivatives through `create_graph`; the default init with groups
//! bit for bit; PyTorch's error messages.

use antorcha_autograd::tensor::{Conv2dOptions, Generator};
use antorcha_autograd::{grad, Attr, BackwardOptions, Input, Tensor, Var};
use antorcha_nn::{Conv2d, Conv2dConfig, Module, Padding, Size2};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const TOL: f64 = 1e-10;

fn fixtures() -> Value {
    let text = std::fs::read_to_string(format!("{DIR}/conv_torch.json")).expect("fixture file");
    serde_json::from_str(&text).expect("valid JSON")
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

fn pair(v: &Value) -> Size2 {
    let p = usizes(v);
    Size2(p[0], p[1])
}

fn tensor(v: &Value) -> Tensor<f64> {
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    Tensor::from_vec(data, &usizes(&v["shape"]))
}

#[track_caller]
fn assert_close(what: &str, got: &Tensor<f64>, want: &Value) {
    assert_eq!(
        got.shape(),
        usizes(&want["shape"]).as_slice(),
        "{what}: shape"
    );
    let want = tensor(want).to_vec();
    for (i, (a, b)) in got.to_vec().iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() <= TOL * (1.0 + b.abs()),
            "{what}[{i}]: {a} vs PyTorch {b}"
        );
    }
}

fn padding(v: &Value) -> Padding {
    match v {
        Value::String(s) => Padding::from(s.as_str()),
        other => Padding::Size(pair(other)),
    }
}

fn ints(v: &Value) -> Attr {
    Attr::Ints(
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_i64().unwrap())
            .collect(),
    )
}

#[test]
fn conv2d_matches_pytorch_for_every_option() {
    let f = fixtures();
    for (i, case) in f["conv2d"].as_array().unwrap().iter().enumerate() {
        let what = format!("case {i} {}", case["repr"]);
        let bias = case["bias"].as_bool().unwrap();
        let layer = Conv2d::from_parts(
            tensor(&case["weight"]),
            bias.then(|| tensor(&case["bias_value"])),
        )
        .unwrap()
        .stride(pair(&case["stride"]))
        .padding(padding(&case["padding"]))
        .dilation(pair(&case["dilation"]))
        .groups(case["groups"].as_u64().unwrap() as usize);
        assert_eq!(layer.repr(), case["repr"].as_str().unwrap(), "{what}");
        let keys: Vec<(String, Vec<usize>)> = layer
            .state_dict()
            .into_iter()
            .map(|(k, v)| (k, v.shape().to_vec()))
            .collect();
        let want_keys: Vec<(String, Vec<usize>)> = case["state_dict"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| (kv[0].as_str().unwrap().to_string(), usizes(&kv[1])))
            .collect();
        assert_eq!(keys, want_keys, "{what}");

        let x = Var::new(tensor(&case["input"])).requires_grad();
        let out = layer.forward(&x);
        assert_close(&format!("{what} output"), &out.data(), &case["output"]);
        assert_eq!(out.grad_fn_name(), case["grad_fn"].as_str(), "{what}");
        // The convolution's node (under the squeeze of an unbatched input).
        let mut node = out.grad_fn().unwrap();
        while node.name() != "ConvolutionBackward0" {
            node = match node.inputs().into_iter().next() {
                Some(Input::Node(n)) => n,
                _ => panic!("{what}: no convolution node"),
            };
        }
        let attrs = node.attrs();
        for (name, want) in case["attrs"].as_object().unwrap() {
            let got = attrs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| a.clone());
            let want = match want {
                Value::Bool(b) => Attr::Bool(*b),
                Value::Number(n) => Attr::Int(n.as_i64().unwrap()),
                // With padding="valid" PyTorch saves padding and output_padding as (0,): one
                // value for both dims, which antorcha keeps as (0, 0).
                Value::Array(a) if name != "bias_sym_sizes_opt" && a.len() == 1 => {
                    Attr::Ints(vec![a[0].as_i64().unwrap(); 2])
                }
                other => ints(other),
            };
            assert_eq!(got, Some(want), "{what}: attr {name}");
        }
        // The nodes between the convolution and the input: `"same"` with an even kernel pads
        // the input first (`ConstantPadNdBackward0`), as PyTorch does.
        let mut chain = Vec::new();
        let mut next = node.inputs().into_iter().next();
        while let Some(input) = next {
            next = None;
            match input {
                Input::Node(n) => {
                    let pad = n.attrs().into_iter().find(|(k, _)| *k == "pad");
                    chain.push((n.name().to_string(), pad.map(|(_, a)| a)));
                    next = n.inputs().into_iter().next();
                }
                Input::Leaf(_) => chain.push(("torch::autograd::AccumulateGrad".into(), None)),
            }
        }
        let want_chain: Vec<(String, Option<Attr>)> = case["input_chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e.get("pad").map(ints),
                )
            })
            .collect();
        assert_eq!(chain, want_chain, "{what}: nodes from the input");

        out.mul(&Var::new(tensor(&case["g"])))
            .sum()
            .backward()
            .unwrap();
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
        if bias {
            assert_close(
                &format!("{what} grad_bias"),
                &layer.bias().unwrap().grad().unwrap(),
                &case["grad_bias"],
            );
        }
    }
}

#[test]
fn second_derivatives_match_pytorch() {
    let f = fixtures();
    for (i, case) in f["double_backward"].as_array().unwrap().iter().enumerate() {
        let o = &case["options"];
        let get = |k: &str, d: usize| match &o[k] {
            Value::Null => [d, d],
            v => {
                let p = usizes(v);
                [p[0], p[1]]
            }
        };
        let options = Conv2dOptions::new()
            .stride(get("stride", 1))
            .padding(get("padding", 0))
            .dilation(get("dilation", 1))
            .groups(o["groups"].as_u64().unwrap_or(1) as usize);
        let x = Var::new(tensor(&case["x"])).requires_grad();
        let w = Var::new(tensor(&case["w"])).requires_grad();
        let b = Var::new(tensor(&case["b"])).requires_grad();
        let r = Var::new(tensor(&case["r"]));
        let y = x.try_conv2d(&w, Some(&b), &options).unwrap();
        let loss = y.mul(&y).mul(&r).sum();
        let opts = BackwardOptions {
            retain_graph: true,
            create_graph: true,
        };
        let g = grad(&loss, &[&x, &w, &b], None, opts).unwrap();
        let (gx, gw) = (g[0].clone().unwrap(), g[1].clone().unwrap());
        assert_close(&format!("{i} gx"), &gx.data(), &case["gx"]);
        assert_close(&format!("{i} gw"), &gw.data(), &case["gw"]);
        assert_close(
            &format!("{i} gb"),
            &g[2].clone().unwrap().data(),
            &case["gb"],
        );
        assert_eq!(gx.grad_fn_name(), case["gx_fn"].as_str());
        assert_eq!(gw.grad_fn_name(), case["gw_fn"].as_str());
        let (u, v) = (Var::new(tensor(&case["u"])), Var::new(tensor(&case["v"])));
        let h = gx.mul(&u).sum().add(&gw.mul(&v).sum());
        let hg = grad(&h, &[&x, &w, &b], None, BackwardOptions::default()).unwrap();
        assert_close(
            &format!("{i} hx"),
            &hg[0].clone().unwrap().data(),
            &case["hx"],
        );
        assert_close(
            &format!("{i} hw"),
            &hg[1].clone().unwrap().data(),
            &case["hw"],
        );
        assert_close(
            &format!("{i} hb"),
            &hg[2].clone().unwrap().data(),
            &case["hb"],
        );
    }
}

#[test]
fn grouped_default_init_is_pytorchs_bit_for_bit() {
    let f = fixtures();
    for case in f["init"].as_array().unwrap() {
        let mut g = Generator::new(case["seed"].as_u64().unwrap());
        let config = Conv2dConfig::new(pair(&case["kernel_size"]))
            .groups(case["groups"].as_u64().unwrap() as usize)
            .bias(case["bias"].as_bool().unwrap());
        let layer: Conv2d<f32> = Conv2d::try_with_config_generator(
            case["in"].as_u64().unwrap() as usize,
            case["out"].as_u64().unwrap() as usize,
            config,
            &mut g,
        )
        .unwrap();
        let widen = |v: &Var<f32>| v.data().cast::<f64>();
        assert_eq!(
            widen(layer.weight()).to_vec(),
            tensor(&case["weight"]).to_vec()
        );
        assert_eq!(layer.weight().shape(), usizes(&case["weight"]["shape"]));
        match layer.bias() {
            Some(b) => assert_eq!(widen(b).to_vec(), tensor(&case["bias_value"]).to_vec()),
            None => assert!(case["bias_value"].is_null()),
        }
    }
}

#[test]
fn errors_are_pytorchs() {
    let f = fixtures();
    let e = &f["errors"];
    let msg = |r: antorcha_nn::Result<Conv2d<f32>>| r.unwrap_err().to_string();
    let make = |c: Conv2dConfig, i, o| Conv2d::<f32>::try_with_config(i, o, c);
    let same = msg(make(Conv2dConfig::new(3).padding("same").stride(2), 2, 2));
    assert!(
        same.ends_with(e["same_strided"].as_str().unwrap()),
        "{same}"
    );
    let bad = msg(make(Conv2dConfig::new(3).padding("full"), 2, 2));
    assert!(
        bad.contains("Invalid padding string 'full', should be one of"),
        "{bad}"
    );
    for (key, groups, i, o) in [
        ("in_groups", 3, 4, 6),
        ("out_groups", 4, 4, 6),
        ("zero_groups", 0, 4, 6),
    ] {
        let m = msg(make(Conv2dConfig::new(3).groups(groups), i, o));
        assert!(m.ends_with(e[key].as_str().unwrap()), "{key}: {m}");
    }
    let conv = Conv2d::<f32>::new(3, 2, 3);
    let m = conv
        .try_forward(&Var::zeros(&[1, 2, 5, 5]))
        .unwrap_err()
        .to_string();
    assert!(m.contains(e["channels"].as_str().unwrap()), "{m}");
    let m = conv
        .try_forward(&Var::zeros(&[1, 3, 2, 5]))
        .unwrap_err()
        .to_string();
    assert!(m.contains(e["kernel_too_big"].as_str().unwrap()), "{m}");
    // The same checks when the options are set after construction, at forward.
    let m = Conv2d::<f32>::new(2, 2, 3)
        .padding("same")
        .stride(2)
        .try_forward(&Var::zeros(&[1, 2, 5, 5]))
        .unwrap_err()
        .to_string();
    assert!(m.ends_with(e["same_strided"].as_str().unwrap()), "{m}");
}
