//! C4 (docs/WORKLOADS.md), small: the notebook's FashionMNIST recipe after `manual_seed(42)`
//! (the model built in order, `DataLoader(shuffle=True, batch_size=64)`, an ordered test loader
//! iterated after each epoch, `CrossEntropyLoss`, `SGD`) gives PyTorch's loss at every step and
//! PyTorch's test accuracy after every epoch, on a small generated IDX set written to disk and
//! read back. The expected values come from `benches/c4_torch.py --fixture` (see its docstring).

use std::path::Path;

use antorcha::autograd::{no_grad, Var};
use antorcha::data::{DataLoader, FashionMnist};
use antorcha::nn::{CrossEntropyLoss, Flatten, Linear, Module, ReLU, Sequential};
use antorcha::optim::{Optimizer, SGD};
use antorcha::tensor::manual_seed;
use serde_json::Value;

/// The generated set's pixels and labels: the closed formula of `benches/c4_torch.py`.
fn pixel(i: usize, r: usize, c: usize, train: bool) -> u8 {
    let t = usize::from(!train);
    ((i * 37 + r * 11 + c * 5 + (r * c) % 7 + t * 101 + ((i * r) % 13) * (c % 3)) * 13 % 256) as u8
}

fn label(i: usize, train: bool) -> u8 {
    ((i * 3 + i / 7 + usize::from(!train)) % 10) as u8
}

fn write_idx(path: &Path, magic: u32, dims: &[usize], data: &[u8]) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

fn write_small_set(dir: &Path, n_train: usize, n_test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (train, n, images, labels) in [
        (
            true,
            n_train,
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
        ),
        (
            false,
            n_test,
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ),
    ] {
        let mut px = Vec::with_capacity(n * 784);
        for i in 0..n {
            for r in 0..28 {
                for c in 0..28 {
                    px.push(pixel(i, r, c, train));
                }
            }
        }
        write_idx(&dir.join(images), 0x803, &[n, 28, 28], &px);
        let ls: Vec<u8> = (0..n).map(|i| label(i, train)).collect();
        write_idx(&dir.join(labels), 0x801, &[n], &ls);
    }
}

/// The notebook's `NeuralNetwork`, built in its order.
fn neural_network() -> Sequential {
    Sequential::new()
        .add_named("flatten", Flatten::new())
        .add_named(
            "linear_relu_stack",
            Sequential::new()
                .add(Linear::new(28 * 28, 512))
                .add(ReLU::new())
                .add(Linear::new(512, 512))
                .add(ReLU::new())
                .add(Linear::new(512, 10)),
        )
}

#[test]
fn the_notebook_recipe_logs_pytorchs_losses_step_by_step() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/c4_small_torch.json")).unwrap();
    let n = |k: &str| fx[k].as_u64().unwrap() as usize;
    let dir = std::env::temp_dir().join(format!("antorcha_c4_{}", std::process::id()));
    write_small_set(&dir, n("train"), n("test"));

    manual_seed(fx["seed"].as_u64().unwrap());
    let train = FashionMnist::new(&dir, true).unwrap().to_tensor_dataset();
    let test = FashionMnist::new(&dir, false).unwrap().to_tensor_dataset();
    std::fs::remove_dir_all(&dir).unwrap();
    let train_loader = DataLoader::new(train, n("batch_size"), true).unwrap();
    let test_loader = DataLoader::new(test, n("batch_size"), false).unwrap();
    let model = neural_network();
    let loss_fn = CrossEntropyLoss::new();
    let mut optimizer = SGD::new(model.parameters(), fx["lr"].as_f64().unwrap()).unwrap();

    let (mut losses, mut correct) = (Vec::new(), Vec::new());
    for _ in 0..n("epochs") {
        model.train();
        for batch in &train_loader {
            let (x, y) = batch.unwrap();
            let loss = loss_fn.forward(&model.forward(&Var::new(x)), &y);
            loss.backward().unwrap();
            optimizer.step().unwrap();
            optimizer.zero_grad();
            losses.push(f64::from(loss.item()));
        }
        model.eval();
        let _guard = no_grad();
        let mut right = 0;
        for batch in &test_loader {
            let (x, y) = batch.unwrap();
            let pred = model.forward(&Var::new(x)).data().argmax_dim(1, false);
            right += pred.eq(&y).count_nonzero();
        }
        correct.push(right as u64);
    }

    let want: Vec<f64> = fx["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(losses.len(), want.len());
    let worst = losses
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs() / w.abs())
        .fold(0.0, f64::max);
    eprintln!("max relative difference of the per-step losses: {worst:.1e}");
    for (step, (got, want)) in losses.iter().zip(&want).enumerate() {
        let rel = (got - want).abs() / want.abs();
        assert!(
            rel <= 1e-5,
            "step {}: loss {got} vs PyTorch's {want} (relative difference {rel:.1e})",
            step + 1
        );
    }
    let want_correct: Vec<u64> = fx["correct"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(correct, want_correct);
}
