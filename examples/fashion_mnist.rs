//! The notebook's FashionMNIST MLP, in Rust:
//! `Flatten -> Linear(784, 512) -> ReLU -> Linear(512, 512) -> ReLU -> Linear(512, 10)`,
//! `CrossEntropyLoss`, `SGD(lr=1e-3)`, batches of 64.
//!
//! ```sh
//! cargo run --release --example fashion_mnist -- --data-dir data/FashionMNIST --epochs 5
//! ```
//!
//! It reads the four IDX files (plain or `.gz`, also torchvision's `FashionMNIST/raw/` layout)
//! from `--data-dir`. Without them it says which files to put where and trains on a generated
//! FashionMNIST-shaped set instead (`--synthetic-size` images), so it always runs. Each epoch
//! shows a progress bar with the running loss, then the test loss and accuracy; at the end the
//! weights go to `--out` as safetensors with the keys of the notebook's `NeuralNetwork` class
//! (`linear_relu_stack.0.weight`, …: PyTorch reads them into it with
//! `model.load_state_dict(safetensors.torch.load_file(path))`), the loss curves to `--plot`
//! and the accuracy per epoch to `accuracy.svg` beside it, both
//! as SVG. `--quick` is a smoke run: one epoch on at most 2048 training images.
//! `--checkpoint-dir DIR` writes a checkpoint after every epoch (atomically: never a
//! half-written one) and `--resume` continues from the newest (see `common/checkpoint.rs`).

use std::path::PathBuf;
use std::time::Instant;

#[path = "common/checkpoint.rs"]
mod checkpoint;

use antorcha::autograd::{no_grad, Tensor, Var};
use antorcha::data::{DataLoader, FashionMnist};
use antorcha::nn::{save_safetensors, CrossEntropyLoss, Flatten, Linear, Module, ReLU, Sequential};
use antorcha::optim::{Optimizer, SGD};
use antorcha::tensor::{manual_seed, with_global_rng};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;

/// Trains the FashionMNIST MLP of the notebook.
#[derive(Parser, Debug, Clone)]
#[command(about)]
struct Args {
    /// Number of passes over the training set.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
    /// and t10k-labels-idx1-ubyte (each may end in .gz).
    #[arg(long, default_value = "data/FashionMNIST")]
    data_dir: PathBuf,
    /// Where to save the trained weights (safetensors).
    #[arg(
        long,
        default_value = "target/antorcha-examples/fashion_mnist/mlp.safetensors"
    )]
    out: PathBuf,
    /// Where to save the loss curves (SVG).
    #[arg(
        long,
        default_value = "target/antorcha-examples/fashion_mnist/losses.svg"
    )]
    plot: PathBuf,
    /// Training images of the generated set used when the real files are absent (the test
    /// set gets a sixth as many, like FashionMNIST's 60000/10000).
    #[arg(long, default_value_t = 6000)]
    synthetic_size: usize,
    /// Smoke run: one epoch on at most 2048 training and 512 test images.
    #[arg(long)]
    quick: bool,
    /// Samples per batch.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// SGD learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Seed of `manual_seed` (weights, shuffling, the generated set).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write a checkpoint (weights, optimizer, epoch, step, curves) here after every epoch.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Continue from the newest checkpoint in --checkpoint-dir (from epoch 1 if none).
    #[arg(long)]
    resume: bool,
}

type Error = Box<dyn std::error::Error>;

/// What one run measured, per epoch.
#[derive(Debug, Default)]
struct History {
    train_loss: Vec<f64>,
    test_loss: Vec<f64>,
    accuracy: Vec<f64>,
    seconds: Vec<f64>,
}

fn main() -> Result<(), Error> {
    let args = Args::parse();
    run(&args)?;
    Ok(())
}

/// The notebook's model, with its `NeuralNetwork` class's child names (`flatten`,
/// `linear_relu_stack`), so the saved weights have that class's `state_dict` keys.
fn mlp() -> Sequential {
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

fn run(args: &Args) -> Result<History, Error> {
    manual_seed(args.seed);
    let (mut train, mut test, source) = load_or_generate(args)?;
    if args.quick {
        train = first(&train, 2048)?;
        test = first(&test, 512)?;
    }
    let epochs = if args.quick { 1 } else { args.epochs };
    println!(
        "{source}: {} training and {} test images of {:?}",
        train.labels().numel(),
        test.labels().numel(),
        &train.images().shape()[1..]
    );

    let train_loader = DataLoader::builder(train.to_tensor_dataset())
        .batch_size(args.batch_size)
        .shuffle(true)
        .seed(args.seed)
        .build()?;
    let test_loader = DataLoader::builder(test.to_tensor_dataset())
        .batch_size(args.batch_size)
        .build()?;

    let model = mlp();
    println!("{}", model.repr());
    let loss_fn = CrossEntropyLoss::new();
    let mut optimizer = SGD::new(model.parameters(), args.lr)?;

    let mut history = History::default();
    let session =
        checkpoint::Session::start(args, &model, &mut optimizer, &train_loader, &mut history)?;
    let mut step = session.step;
    for epoch in session.first_epoch..=epochs {
        let start = Instant::now();
        let bar = ProgressBar::new(train_loader.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})",
            )?
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        model.train();
        let (mut sum, mut count) = (0.0f64, 0usize);
        for batch in &train_loader {
            let (x, y) = batch?;
            let n = y.numel();
            let loss = loss_fn.try_forward(&model.try_forward(&Var::new(x))?, &y)?;
            optimizer.zero_grad();
            loss.backward()?;
            optimizer.step()?;
            step += 1;
            sum += loss.item() as f64 * n as f64;
            count += n;
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", sum / count as f64));
        }
        bar.finish_and_clear();
        let train_loss = sum / count.max(1) as f64;
        let (test_loss, accuracy) = evaluate(&model, &loss_fn, &test_loader)?;
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "epoch {epoch}/{epochs}: train loss {train_loss:.4}, test loss {test_loss:.4}, test accuracy {:.1}%, {seconds:.1} s",
            100.0 * accuracy
        );
        history.train_loss.push(train_loss);
        history.test_loss.push(test_loss);
        history.accuracy.push(accuracy);
        history.seconds.push(seconds);
        session.after_epoch(epoch, step, &model, &optimizer, &history)?;
    }

    for path in [&args.out, &args.plot] {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    save_safetensors(&model, &args.out)?;
    println!(
        "weights saved to {} (PyTorch: model.load_state_dict(safetensors.torch.load_file({:?})))",
        args.out.display(),
        args.out.display().to_string()
    );
    let svg = antorcha::viz::plot::loss_curve(&history.train_loss, Some(&history.test_loss))?;
    std::fs::write(&args.plot, svg).map_err(|e| format!("{}: {e}", args.plot.display()))?;
    println!(
        "loss curves (training, test) saved to {}",
        args.plot.display()
    );
    let accuracy_plot = args.plot.with_file_name("accuracy.svg");
    let svg = antorcha::viz::plot::accuracy_curve(&history.accuracy)?;
    std::fs::write(&accuracy_plot, svg).map_err(|e| format!("{}: {e}", accuracy_plot.display()))?;
    println!("accuracy per epoch saved to {}", accuracy_plot.display());
    println!(
        "accuracy per epoch: {}",
        history
            .accuracy
            .iter()
            .map(|a| format!("{:.1}%", 100.0 * a))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(history)
}

/// Mean loss and accuracy over a loader, without recording a graph.
fn evaluate<D>(
    model: &Sequential,
    loss_fn: &CrossEntropyLoss,
    loader: &DataLoader<D, (Tensor<f32>, Tensor<i64>)>,
) -> Result<(f64, f64), Error>
where
    D: antorcha::data::Dataset + Send + Sync + 'static,
{
    model.eval();
    let _guard = no_grad();
    let (mut loss, mut correct, mut count) = (0.0f64, 0usize, 0usize);
    for batch in loader {
        let (x, y) = batch?;
        let logits = model.try_forward(&Var::new(x))?;
        loss += loss_fn.try_forward(&logits, &y)?.item() as f64 * y.numel() as f64;
        correct += logits.data().argmax_dim(1, false).eq(&y).count_nonzero();
        count += y.numel();
    }
    let count = count.max(1) as f64;
    Ok((loss / count, correct as f64 / count))
}

/// The real files when they are all there, else a generated set (with a note saying which
/// files to put where).
fn load_or_generate(args: &Args) -> Result<(FashionMnist, FashionMnist, String), Error> {
    match (
        FashionMnist::new(&args.data_dir, true),
        FashionMnist::new(&args.data_dir, false),
    ) {
        (Ok(train), Ok(test)) => Ok((
            train,
            test,
            format!("FashionMNIST from {}", args.data_dir.display()),
        )),
        (train, test) => {
            let reason = train
                .err()
                .or(test.err())
                .map(|e| e.to_string())
                .unwrap_or_default();
            let (ti, tl) = FashionMnist::file_names(true);
            let (vi, vl) = FashionMnist::file_names(false);
            eprintln!("FashionMNIST not found: {reason}");
            eprintln!(
                "To train on the real data, put {ti}, {tl}, {vi} and {vl} (each may end in .gz) in {} \
                 (or pass --data-dir). Training on a generated FashionMNIST-shaped set instead.",
                args.data_dir.display()
            );
            let (train, test) = synthetic(args.synthetic_size, (args.synthetic_size / 6).max(1))?;
            Ok((train, test, "generated FashionMNIST-shaped set".to_string()))
        }
    }
}

/// A training and a test set of 28x28 `u8` images in 10 classes: each class is a blocky
/// random pattern, each image its class's pattern with random brightness, a shift of up to
/// 2 pixels and noise (learnable, not trivially).
fn synthetic(n_train: usize, n_test: usize) -> Result<(FashionMnist, FashionMnist), Error> {
    const SIDE: usize = 28;
    let prototypes: Vec<Vec<f64>> = with_global_rng(|rng| {
        (0..10)
            .map(|_| {
                let coarse: Vec<f64> = (0..49)
                    .map(|_| if rng.random::<f64>() < 0.4 { 1.0 } else { 0.0 })
                    .collect();
                (0..SIDE * SIDE)
                    .map(|i| coarse[(i / SIDE / 4) * 7 + (i % SIDE) / 4])
                    .collect()
            })
            .collect()
    });
    let make = |n: usize| -> Result<FashionMnist, Error> {
        let (images, labels) = with_global_rng(|rng| {
            let mut images = Vec::with_capacity(n * SIDE * SIDE);
            let mut labels = Vec::with_capacity(n);
            for _ in 0..n {
                let class = rng.random_range(0..10usize);
                let brightness = rng.random_range(0.5..1.0);
                let dy = rng.random_range(-2..=2i64) as isize;
                let dx = rng.random_range(-2..=2i64) as isize;
                for r in 0..SIDE as isize {
                    for c in 0..SIDE as isize {
                        let (sr, sc) = (r - dy, c - dx);
                        let inside =
                            (0..SIDE as isize).contains(&sr) && (0..SIDE as isize).contains(&sc);
                        let base = if inside {
                            prototypes[class][sr as usize * SIDE + sc as usize]
                        } else {
                            0.0
                        };
                        let v = base * brightness + rng.random_range(-0.25..0.25);
                        images.push((v.clamp(0.0, 1.0) * 255.0).round() as u8);
                    }
                }
                labels.push(class as i64);
            }
            (images, labels)
        });
        Ok(FashionMnist::from_tensors(
            Tensor::from_vec(images, &[n, SIDE, SIDE]),
            Tensor::from_vec(labels, &[n]),
        )?)
    };
    Ok((make(n_train)?, make(n_test)?))
}

/// The first `n` samples.
fn first(ds: &FashionMnist, n: usize) -> Result<FashionMnist, Error> {
    let n = n.min(ds.labels().numel());
    let idx: Vec<usize> = (0..n).collect();
    Ok(FashionMnist::from_tensors(
        ds.images().index_select(0, &idx),
        ds.labels().index_select(0, &idx),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny run end to end (generated data, one epoch): weights and plot are written and
    /// load back.
    #[test]
    fn quick_run_trains_saves_and_plots() {
        let dir = std::env::temp_dir().join(format!("antorcha_fashion_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let args = Args {
            epochs: 1,
            data_dir: dir.join("absent"),
            out: dir.join("w.safetensors"),
            plot: dir.join("losses.svg"),
            synthetic_size: 192,
            quick: false,
            batch_size: 64,
            lr: 1e-3,
            seed: 0,
            checkpoint_dir: None,
            resume: false,
        };
        let history = run(&args).unwrap();
        assert_eq!(history.train_loss.len(), 1);
        assert!(history.train_loss[0].is_finite() && history.test_loss[0].is_finite());
        let model = mlp();
        antorcha::nn::load_safetensors(&model, &args.out).unwrap();
        // The keys of the notebook's `NeuralNetwork` class.
        let keys: Vec<String> = antorcha::nn::read_safetensors::<f32>(&args.out)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys[0], "linear_relu_stack.0.bias");
        assert_eq!(keys.len(), 6);
        assert!(std::fs::read_to_string(&args.plot)
            .unwrap()
            .contains("<svg"));
        assert!(std::fs::read_to_string(dir.join("accuracy.svg"))
            .unwrap()
            .contains("Test accuracy"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
