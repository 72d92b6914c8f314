//! `.pt` files written by PyTorch (`tests/fixtures/make_pt.py`): a state dict and
//! checkpoints load into models and optimizers (the next step equals PyTorch's), every dtype and
//! view reads back with PyTorch's values, refused content is named, and no corruption of the
//! files makes the reader panic.

use std::path::{Path, PathBuf};

use antorcha_autograd::{Tensor, Var};
use antorcha_nn::pt::{load_pt_optimizer, PtData, PtDtype, PtValue};
use antorcha_nn::{load_pt, read_pt, CrossEntropyLoss, Linear, Module, NnError, ReLU, Sequential};
use antorcha_optim::{Adam, AdamOptions, Optimizer, SgdOptions, SGD};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected() -> Value {
    serde_json::from_str(include_str!("fixtures/pt_torch.json")).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn mlp() -> Sequential {
    Sequential::new()
        .add(Linear::new(4, 8))
        .add(ReLU::new())
        .add(Linear::new(8, 3))
}

fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= tol * w.abs().max(1e-3),
            "{what}[{i}]: {g} vs PyTorch's {w}"
        );
    }
}

#[test]
fn a_state_dict_loads_and_gives_pytorchs_output() {
    let model = mlp();
    load_pt(&model, fixture("pt_mlp_state.pt")).unwrap();
    let fx = expected();
    let x = Var::new(Tensor::from_vec(
        f64s(&fx["mlp"]["input"])
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        &[2, 4],
    ));
    close(
        &model.forward(&x).to_vec(),
        &f64s(&fx["mlp"]["output"]),
        1e-6,
        "output",
    );
    // The legacy file holds the same weights but gets a clear error.
    let e = load_pt(&model, fixture("pt_legacy.pt"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pt_legacy.pt") && e.contains("legacy (non-zip)"),
        "{e}"
    );
}

#[test]
fn strict_loading_lists_every_problem_and_changes_nothing() {
    let small: Sequential = Sequential::new()
        .add(Linear::new(4, 8))
        .add(ReLU::new())
        .add(Linear::new(8, 2));
    let before: Vec<Vec<f32>> = small.parameters().iter().map(|p| p.to_vec()).collect();
    let e = load_pt(&small, fixture("pt_mlp_state.pt")).unwrap_err();
    let NnError::StateDict(m) = &e else {
        panic!("{e}")
    };
    assert_eq!(m.mismatched.len(), 2, "{e}");
    assert!(e.to_string().contains("2.weight: size mismatch"), "{e}");
    let after: Vec<Vec<f32>> = small.parameters().iter().map(|p| p.to_vec()).collect();
    assert_eq!(before, after);
}

fn resume(name: &str, mut opt: Box<dyn Optimizer<f32>>, model: &Sequential) {
    let fx = expected();
    let ckpt = read_pt(fixture(&format!("pt_checkpoint_{name}.pt"))).unwrap();
    assert_eq!(ckpt.get("epoch").and_then(PtValue::as_i64), Some(3));
    load_pt_optimizer(opt.as_mut(), ckpt.get("optimizer").unwrap()).unwrap();
    let x = Var::new(Tensor::from_vec(
        f64s(&fx["mlp"]["input"])
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        &[2, 4],
    ));
    let y = Tensor::from_vec(vec![0i64, 2], &[2]);
    opt.zero_grad();
    CrossEntropyLoss::new()
        .forward(&model.forward(&x), &y)
        .backward()
        .unwrap();
    opt.step().unwrap();
    for (k, v) in model.state_dict() {
        close(
            &v.to_vec(),
            &f64s(&fx[name]["after"][&k]),
            1e-5,
            &format!("{name} {k}"),
        );
    }
}

#[test]
fn checkpoints_resume_sgd_and_adam_with_pytorchs_next_step() {
    let model = mlp();
    load_pt(&model, fixture("pt_checkpoint_sgd.pt")).unwrap();
    // Hyper-parameters come from the file: start from other values.
    let sgd = SGD::with_options(model.parameters(), SgdOptions::new(0.5).momentum(0.1)).unwrap();
    resume("sgd", Box::new(sgd), &model);

    let model = mlp();
    load_pt(&model, fixture("pt_checkpoint_adam.pt")).unwrap();
    let adam = Adam::with_options(model.parameters(), AdamOptions::new(1.0).amsgrad(true)).unwrap();
    resume("adam", Box::new(adam), &model);

    // A state for other parameters is an error and changes nothing.
    let one = Linear::<f32>::new(4, 8);
    let mut sgd = SGD::new(one.parameters(), 0.1).unwrap();
    let ckpt = read_pt(fixture("pt_checkpoint_sgd.pt")).unwrap();
    let e = load_pt_optimizer(&mut sgd, ckpt.get("optimizer").unwrap()).unwrap_err();
    assert!(e.to_string().contains("holds 4 parameters"), "{e}");
    assert_eq!(sgd.lr(), 0.1);
}

#[test]
fn every_dtype_and_view_reads_back_pytorchs_values() {
    let fx = expected();
    let v = read_pt(fixture("pt_dtypes.pt")).unwrap();
    let tensors = v.get("tensors").unwrap();
    let want = fx["dtypes"].as_object().unwrap();
    assert_eq!(want.len(), 15);
    for (name, w) in want {
        let t = tensors.get(name).and_then(PtValue::as_tensor).unwrap();
        let usizes = |k: &str| -> Vec<usize> {
            w[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        };
        assert_eq!(t.dtype().name(), w["dtype"].as_str().unwrap(), "{name}");
        assert_eq!(t.shape(), usizes("shape").as_slice(), "{name}");
        assert_eq!(t.stride(), usizes("stride").as_slice(), "{name}");
        assert_eq!(
            t.storage_offset() as u64,
            w["offset"].as_u64().unwrap(),
            "{name}"
        );
        let data = f64s(&w["data"]);
        match t.data() {
            // int64 values beyond 2^53 are compared exactly below.
            PtData::Int(_) if name == "i64" => {}
            _ => assert_eq!(t.to_f64_vec(), data, "{name}"),
        }
    }
    let i64s = tensors.get("i64").unwrap().as_tensor().unwrap();
    assert_eq!(
        i64s.to_i64_tensor().unwrap().to_vec(),
        vec![-(1i64 << 62), 7, (1 << 53) + 1]
    );
    let half = tensors.get("f16").unwrap().as_tensor().unwrap();
    assert_eq!(half.dtype(), PtDtype::Float16);
    assert_eq!(half.to_tensor::<f32>().to_vec()[1], -65504.0);
    assert_eq!(v.get("epoch").and_then(PtValue::as_i64), Some(7));
    assert_eq!(v.get("name").and_then(PtValue::as_str), Some("run"));
    assert_eq!(v.get("lr").and_then(PtValue::as_f64), Some(0.5));
    assert_eq!(v.get("flag"), Some(&PtValue::Bool(true)));
    assert_eq!(v.get("none"), Some(&PtValue::None));
    assert_eq!(
        v.get("pair"),
        Some(&PtValue::Tuple(vec![PtValue::Int(1), PtValue::Float(2.5)]))
    );
    assert_eq!(
        v.get("list"),
        Some(&PtValue::List(vec![
            PtValue::Int(1),
            PtValue::Int(-2),
            PtValue::Int(3)
        ]))
    );
}

#[test]
fn refused_and_foreign_files_are_named_errors() {
    let e = read_pt(fixture("pt_evil.pt")).unwrap_err().to_string();
    assert!(
        e.contains("pt_evil.pt") && e.contains("`posix.system`") && e.contains("not allowed"),
        "{e}"
    );
    let e = read_pt(fixture("torch_mlp.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a torch.save file"), "{e}");
    assert!(read_pt(fixture("no_such_file.pt")).is_err());
}

/// Writes `bytes` to a fresh temporary file and reads it: any outcome but a panic is fine.
fn read_bytes(bytes: &[u8], tag: &str) -> Result<PtValue, NnError> {
    let path = std::env::temp_dir().join(format!("antorcha_pt_{}_{tag}.pt", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let r = read_pt(&path);
    std::fs::remove_file(&path).unwrap();
    r
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let good = std::fs::read(fixture("pt_dtypes.pt")).unwrap();
    for len in (0..good.len()).step_by(7) {
        assert!(read_bytes(&good[..len], "cut").is_err());
    }
    // Flip bytes all over the file (the pickle, the storages, the zip directory).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..400 {
        let mut bad = good.clone();
        for _ in 0..1 + round % 4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed % bad.len() as u64) as usize;
            bad[at] = (seed >> 32) as u8;
        }
        let _ = read_bytes(&bad, "flip");
    }
}
