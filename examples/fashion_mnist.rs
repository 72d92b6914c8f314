//! The notebook's FashionMNIST MLP, in Rust:
//! `Flatten -> Linear(784, 512) -> ReLU -> Linear(512, 512) -> ReLU -> Linear(512, 10)`,
//! `CrossEntropyLoss`, `SGD(lr=1e-3)`, batches of 64.
//!
//! ```sh
//! cargo run --release --example fashion_mnist -- --data-dir data --epochs 5
//! ```
//!
//! It reads the four IDX files (plain or `.gz`) from `--data-dir`, from torchvision's layout
//! under it (`DIR/FashionMNIST/raw/`, where the notebook's
//! `datasets.FashionMNIST(root="data", download=True)` puts them) or from `DIR/raw/`. Missing
//! files are an error naming every path tried and how to get them; `--synthetic` trains on a
//! generated FashionMNIST-shaped set instead (`--synthetic-size` images). Each epoch shows a
//! progress bar with the running loss, then the test loss and accuracy; at the end the weights
//! go to `--out DIR` as safetensors with the keys of the notebook's `NeuralNetwork` class
//! (`linear_relu_stack.0.weight`, …: PyTorch reads them into it with
//! `model.load_state_dict(safetensors.torch.load_file(path))`), with the pictures beside them.
//! `--quick` is a smoke run: one epoch on at most 2048 training images.
//! `--checkpoint-dir DIR` writes a checkpoint after every epoch (atomically: never a
//! half-written one) and `--resume` continues from the newest (see `common/checkpoint.rs`).

use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "common/checkpoint.rs"]
mod checkpoint;

use antorcha::autograd::{no_grad, Tensor, Var};
use antorcha::data::{DataLoader, FashionMnist};
use antorcha::metrics::ConfusionMatrix;
use antorcha::nn::{
    save_safetensors, BatchNorm2d, Conv2d, CrossEntropyLoss, Flatten, Linear, MaxPool2d, Module,
    ReLU, Sequential,
};
use antorcha::optim::{Adam, AdamOptions, AdamW, AdamWOptions, Optimizer, SgdOptions, SGD};
use antorcha::tensor::{manual_seed, set_num_threads, with_global_rng};
use antorcha::viz::plot;
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;

#[path = "common/run_files.rs"]
mod run_files;

/// Trains the notebook's FashionMNIST classifier (an MLP, 784-512-512-10) with SGD, Adam or
/// AdamW, prints the test loss and accuracy per epoch, and saves the weights (safetensors, the
/// keys of the notebook's `NeuralNetwork`) and the pictures (loss and accuracy curves, confusion
/// matrix, test images with predicted and true labels) as SVG.
///
/// Get the data with torchvision (`datasets.FashionMNIST(root="data", download=True)`) and run
/// with `--data-dir data`, or pass `--synthetic` to train on a generated set.
#[derive(Parser, Debug, Clone)]
#[command(name = "fashion_mnist")]
struct Args {
    /// Number of passes over the training set; 0 only evaluates the weights given with --load.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// torchvision's `root` (the files are then in DIR/FashionMNIST/raw/), or the folder with
    /// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
    /// t10k-labels-idx1-ubyte (each may end in .gz).
    #[arg(long, default_value = "data", value_name = "DIR")]
    data_dir: PathBuf,
    /// Train on a generated FashionMNIST-shaped set instead of the real files.
    #[arg(long)]
    synthetic: bool,
    /// Training images of the generated set (the test set gets a sixth as many, like
    /// FashionMNIST's 60000/10000).
    #[arg(long, default_value_t = 6000, value_name = "N")]
    synthetic_size: usize,
    /// Folder for the weights (MODEL.safetensors) and the pictures (SVG).
    #[arg(
        long,
        default_value = "target/antorcha-examples/fashion_mnist",
        value_name = "DIR"
    )]
    out: PathBuf,
    /// Smoke run: one epoch on at most 2048 training and 512 test images.
    #[arg(long)]
    quick: bool,
    /// Samples per batch.
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    batch_size: usize,
    /// The network: the notebook's MLP, or the course's next model, a small CNN (two 3x3
    /// convolutions with max-pooling, then two linear layers).
    #[arg(long, value_enum, default_value_t = ModelKind::Mlp)]
    model: ModelKind,
    /// With --model cnn: a BatchNorm2d after each convolution, before its ReLU (WORKLOADS.md's
    /// W5b net).
    #[arg(long)]
    batch_norm: bool,
    /// The optimizer, with PyTorch's defaults for everything but --lr (and --momentum).
    #[arg(long, value_enum, default_value_t = OptimizerKind::Sgd)]
    optimizer: OptimizerKind,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// SGD's momentum factor (SGD only).
    #[arg(long, default_value_t = 0.0)]
    momentum: f64,
    /// Threads the ops may use (`torch.set_num_threads`); default: all cores, or
    /// ANTORCHA_NUM_THREADS.
    #[arg(long, value_parser = at_least_one, value_name = "N")]
    threads: Option<usize>,
    /// Seed of `manual_seed` (weights, shuffling, the generated set).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write the loss of every optimizer step to this CSV (`step,loss`), to compare with
    /// `benches/c4_torch.py --log-steps`.
    #[arg(long)]
    log_steps: Option<PathBuf>,
    /// Start from these weights (`.safetensors`, or a PyTorch `.pt` from
    /// `torch.save(model.state_dict(), f)`); with `--epochs 0` only evaluate them.
    #[arg(long)]
    load: Option<PathBuf>,
    /// Write a checkpoint (weights, optimizer, epoch, step, curves) here after every epoch.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Continue from the newest checkpoint in --checkpoint-dir (from epoch 1 if none).
    #[arg(long)]
    resume: bool,
}

/// `--model`: which network is trained.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ModelKind {
    /// The notebook's `NeuralNetwork`: Flatten, 784-512-512-10 with ReLU.
    Mlp,
    /// Conv2d(1,32,3), ReLU, MaxPool2d(2), Conv2d(32,64,3), ReLU, MaxPool2d(2), Flatten,
    /// Linear(1600,128), ReLU, Linear(128,10) (WORKLOADS.md's W5 net).
    Cnn,
}

impl ModelKind {
    /// A new network of this kind (the CNN with `BatchNorm2d` layers when `batch_norm`),
    /// initialised as PyTorch initialises it.
    fn build(self, batch_norm: bool) -> Sequential {
        match self {
            ModelKind::Mlp => mlp(),
            ModelKind::Cnn => cnn(batch_norm),
        }
    }

    /// The weights file's name.
    fn file_name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp.safetensors",
            ModelKind::Cnn => "cnn.safetensors",
        }
    }
}

/// `--optimizer`: which of PyTorch's optimizers trains the model.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum OptimizerKind {
    /// `torch.optim.SGD` (with --momentum).
    Sgd,
    /// `torch.optim.Adam`.
    Adam,
    /// `torch.optim.AdamW` (weight decay 0.01).
    Adamw,
}

type Error = Box<dyn std::error::Error>;

/// Parses a count that must be at least 1 (`--batch-size`, `--threads`).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (expected a whole number, at least 1)")),
    }
}

/// What one run measured, per epoch.
#[derive(Debug, Default)]
struct History {
    train_loss: Vec<f64>,
    test_loss: Vec<f64>,
    accuracy: Vec<f64>,
    seconds: Vec<f64>,
    /// The last epoch's confusion matrix on the test set.
    confusion: Option<ConfusionMatrix>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
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

/// The course's CNN on `[N, 1, 28, 28]` images; with `batch_norm`, a `BatchNorm2d` after each
/// convolution (before its ReLU), as `nn.Sequential` numbers its children.
fn cnn(batch_norm: bool) -> Sequential {
    let mut net = Sequential::new().add(Conv2d::new(1, 32, 3));
    if batch_norm {
        net = net.add(BatchNorm2d::new(32));
    }
    net = net
        .add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Conv2d::new(32, 64, 3));
    if batch_norm {
        net = net.add(BatchNorm2d::new(64));
    }
    net.add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(1600, 128))
        .add(ReLU::new())
        .add(Linear::new(128, 10))
}

/// The optimizer `--optimizer`, `--lr` and `--momentum` ask for.
fn optimizer(args: &Args, params: Vec<Var<f32>>) -> Result<Box<dyn Optimizer<f32>>, Error> {
    if args.momentum != 0.0 && args.optimizer != OptimizerKind::Sgd {
        return Err(format!(
            "--momentum is SGD's; {:?} has betas (PyTorch's defaults are used)",
            args.optimizer
        )
        .into());
    }
    Ok(match args.optimizer {
        OptimizerKind::Sgd => Box::new(SGD::with_options(
            params,
            SgdOptions::new(args.lr).momentum(args.momentum),
        )?),
        OptimizerKind::Adam => Box::new(Adam::with_options(params, AdamOptions::new(args.lr))?),
        OptimizerKind::Adamw => Box::new(AdamW::with_options(params, AdamWOptions::new(args.lr))?),
    })
}

/// Creates `dir` (and its parents) with an error naming it.
fn create_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()).into())
}

/// Writes `text` to `path` with an error naming it, and says so.
fn write(path: &Path, text: &str, what: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{what} saved to {}", path.display());
    Ok(())
}

fn run(args: &Args) -> Result<History, Error> {
    if args.epochs == 0 && args.load.is_none() {
        return Err(
            "--epochs 0 only evaluates: give the weights to evaluate with --load FILE".into(),
        );
    }
    if let Some(n) = args.threads {
        set_num_threads(n);
    }
    manual_seed(args.seed);
    let (mut train, mut test, source) = load(args)?;
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

    let batch_size = args.batch_size;
    let train_loader = DataLoader::builder(train.to_tensor_dataset())
        .batch_size(batch_size)
        .shuffle(true)
        .build()?;
    let test_loader = DataLoader::builder(test.to_tensor_dataset())
        .batch_size(batch_size)
        .build()?;

    if args.batch_norm && args.model != ModelKind::Cnn {
        return Err(
            "--batch-norm adds BatchNorm2d layers to the CNN: use it with --model cnn".into(),
        );
    }
    let model = args.model.build(args.batch_norm);
    println!("{}", model.repr());
    let loss_fn = CrossEntropyLoss::new();
    let mut optimizer = optimizer(args, model.parameters())?;
    println!(
        "optimizer: {} (lr {}{})",
        optimizer.name(),
        args.lr,
        if args.optimizer == OptimizerKind::Sgd {
            format!(", momentum {}", args.momentum)
        } else {
            String::new()
        }
    );
    if let Some(path) = &args.load {
        run_files::load_weights(&model, path)?;
        println!("weights loaded from {}", path.display());
    }
    if epochs == 0 {
        let (test_loss, confusion) = evaluate(&model, &loss_fn, &test_loader)?;
        let accuracy = confusion.accuracy();
        println!(
            "test loss {test_loss:.4}, test accuracy {:.2}%",
            100.0 * accuracy
        );
        print_per_class(&confusion);
        return Ok(History {
            test_loss: vec![test_loss],
            accuracy: vec![accuracy],
            confusion: Some(confusion),
            ..History::default()
        });
    }
    let mut step_log = match &args.log_steps {
        Some(path) => Some(run_files::StepLog::create(path)?),
        None => None,
    };

    let mut history = History::default();
    let session = checkpoint::Session::start(args, &model, &mut *optimizer, &mut history)?;
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
            if let Some(log) = step_log.as_mut() {
                log.log(loss.item())?;
            }
            step += 1;
            sum += loss.item() as f64 * n as f64;
            count += n;
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", sum / count as f64));
        }
        bar.finish_and_clear();
        let train_loss = sum / count.max(1) as f64;
        let (test_loss, confusion) = evaluate(&model, &loss_fn, &test_loader)?;
        let accuracy = confusion.accuracy();
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "epoch {epoch}/{epochs}: train loss {train_loss:.4}, test loss {test_loss:.4}, test accuracy {:.1}%, {seconds:.3} s",
            100.0 * accuracy
        );
        history.train_loss.push(train_loss);
        history.test_loss.push(test_loss);
        history.accuracy.push(accuracy);
        history.seconds.push(seconds);
        history.confusion = Some(confusion);
        session.after_epoch(epoch, step, &model, &*optimizer, &history)?;
    }
    if let Some(confusion) = &history.confusion {
        print_per_class(confusion);
    }

    if let (Some(log), Some(path)) = (step_log, &args.log_steps) {
        log.finish()?;
        println!("per-step losses written to {}", path.display());
    }
    create_dir(&args.out)?;
    let weights = args.out.join(args.model.file_name());
    save_safetensors(&model, &weights)?;
    println!(
        "weights saved to {} (PyTorch: model.load_state_dict(safetensors.torch.load_file({:?})))",
        weights.display(),
        weights.display().to_string()
    );
    let svg = plot::loss_curves(&[
        ("Training loss", &history.train_loss[..]),
        ("Test loss", &history.test_loss[..]),
    ])?;
    write(
        &args.out.join("losses.svg"),
        &svg,
        "loss curves (training, test)",
    )?;
    let svg = plot::accuracy_curve(&history.accuracy)?;
    write(&args.out.join("accuracy.svg"), &svg, "accuracy per epoch")?;
    if let Some(confusion) = &history.confusion {
        let svg = plot::confusion_matrix(confusion.counts(), &FashionMnist::CLASSES)?;
        write(
            &args.out.join("confusion.svg"),
            &svg,
            "confusion matrix (test set)",
        )?;
    }
    let samples = first(&test, 16)?;
    let predicted = predict(&model, &samples)?;
    let target: Vec<usize> = samples
        .labels()
        .to_vec()
        .iter()
        .map(|&l| l as usize)
        .collect();
    let svg = plot::image_grid(
        samples.images(),
        &predicted,
        &target,
        &FashionMnist::CLASSES,
        4,
    )?;
    write(
        &args.out.join("samples.svg"),
        &svg,
        "test images with predicted and true labels",
    )?;
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

/// Mean loss and the confusion matrix over a loader, without recording a graph.
fn evaluate<D>(
    model: &Sequential,
    loss_fn: &CrossEntropyLoss,
    loader: &DataLoader<D, (Tensor<f32>, Tensor<i64>)>,
) -> Result<(f64, ConfusionMatrix), Error>
where
    D: antorcha::data::Dataset + Send + Sync + 'static,
{
    model.eval();
    let _guard = no_grad();
    let mut confusion = ConfusionMatrix::new(FashionMnist::CLASSES.len());
    let mut loss = 0.0f64;
    for batch in loader {
        let (x, y) = batch?;
        let logits = model.try_forward(&Var::new(x))?;
        loss += loss_fn.try_forward(&logits, &y)?.item() as f64 * y.numel() as f64;
        confusion.update(&logits.data().argmax_dim(1, false), &y)?;
    }
    Ok((loss / confusion.total().max(1) as f64, confusion))
}

/// The model's predicted class of each image of `ds`.
fn predict(model: &Sequential, ds: &FashionMnist) -> Result<Vec<usize>, Error> {
    model.eval();
    let _guard = no_grad();
    let (x, _) = ds.to_tensor_dataset().tensors().clone();
    let logits = model.try_forward(&Var::new(x))?;
    Ok(logits
        .data()
        .argmax_dim(1, false)
        .to_vec()
        .into_iter()
        .map(|c| c as usize)
        .collect())
}

/// The per-class precision and recall of the last evaluation, with the class names.
fn print_per_class(confusion: &ConfusionMatrix) {
    println!("{:<12} {:>9} {:>7}", "class", "precision", "recall");
    for ((name, p), r) in FashionMnist::CLASSES
        .iter()
        .zip(confusion.precision())
        .zip(confusion.recall())
    {
        println!("{name:<12} {:>8.1}% {:>6.1}%", 100.0 * p, 100.0 * r);
    }
}

/// The four files' folders tried under `--data-dir`: the folder itself, torchvision's
/// `FashionMNIST/raw/` under it (its `root`), and `raw/` (when given torchvision's
/// `root/FashionMNIST`).
fn candidate_dirs(dir: &Path) -> [PathBuf; 3] {
    [
        dir.to_path_buf(),
        dir.join("FashionMNIST").join("raw"),
        dir.join("raw"),
    ]
}

/// `name` or `name.gz` in `dir`, if there.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// The real files from the first candidate folder that has all four, or a generated set with
/// `--synthetic`. Missing files are an error naming every path tried and how to get them.
fn load(args: &Args) -> Result<(FashionMnist, FashionMnist, String), Error> {
    if args.synthetic {
        let (train, test) = synthetic(args.synthetic_size, (args.synthetic_size / 6).max(1))?;
        return Ok((train, test, "generated FashionMNIST-shaped set".to_string()));
    }
    let names = {
        let (ti, tl) = FashionMnist::file_names(true);
        let (vi, vl) = FashionMnist::file_names(false);
        [ti, tl, vi, vl]
    };
    let mut tried = Vec::new();
    for dir in candidate_dirs(&args.data_dir) {
        let found: Vec<Option<PathBuf>> = names.iter().map(|n| find(&dir, n)).collect();
        if let [Some(ti), Some(tl), Some(vi), Some(vl)] = &found[..] {
            let train = FashionMnist::from_files(ti, tl)?;
            let test = FashionMnist::from_files(vi, vl)?;
            return Ok((train, test, format!("FashionMNIST from {}", dir.display())));
        }
        for (name, path) in names.iter().zip(&found) {
            if path.is_none() {
                tried.push(format!("  {} (or .gz)", dir.join(name).display()));
            }
        }
    }
    Err(format!(
        "FashionMNIST not found under --data-dir {}; missing:\n{}\n\
         Get the files with torchvision (they land in data/FashionMNIST/raw/):\n  \
         python -c 'from torchvision import datasets; datasets.FashionMNIST(root=\"data\", download=True); datasets.FashionMNIST(root=\"data\", train=False, download=True)'\n\
         then run with --data-dir data; or download the four .gz files from \
         http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ into one folder and pass it \
         as --data-dir; or pass --synthetic to train on a generated set.",
        args.data_dir.display(),
        tried.join("\n")
    )
    .into())
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

    /// `run` seeds the global generator (`manual_seed`): tests that call it take turns, so one
    /// test's seeding cannot land in the middle of another's run.
    static RUN: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        RUN.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn args(dir: &Path, extra: &[&str]) -> Args {
        let mut argv = vec![
            "fashion_mnist".to_string(),
            "--data-dir".into(),
            dir.join("absent").display().to_string(),
            "--out".into(),
            dir.display().to_string(),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        Args::try_parse_from(argv).unwrap()
    }

    /// A tiny run end to end (generated data, one epoch): weights and plots are written and
    /// load back.
    #[test]
    fn quick_run_trains_saves_and_plots() {
        let _turn = serial();
        let dir = std::env::temp_dir().join(format!("antorcha_fashion_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let args = args(
            &dir,
            &[
                "--synthetic",
                "--synthetic-size",
                "192",
                "--epochs",
                "1",
                "--seed",
                "0",
                "--optimizer",
                "sgd",
                "--momentum",
                "0.9",
                "--threads",
                "1",
                "--log-steps",
                dir.join("steps.csv").to_str().unwrap(),
            ],
        );
        let history = run(&args).unwrap();
        assert_eq!(history.train_loss.len(), 1);
        assert!(history.train_loss[0].is_finite() && history.test_loss[0].is_finite());
        let confusion = history.confusion.as_ref().unwrap();
        assert_eq!(confusion.total(), 192 / 6);
        assert_eq!(history.accuracy[0], confusion.accuracy());
        let model = mlp();
        let weights = dir.join("mlp.safetensors");
        antorcha::nn::load_safetensors(&model, &weights).unwrap();
        // The keys of the notebook's `NeuralNetwork` class.
        let keys: Vec<String> = antorcha::nn::read_safetensors::<f32>(&weights)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys[0], "linear_relu_stack.0.bias");
        assert_eq!(keys.len(), 6);
        assert!(std::fs::read_to_string(dir.join("losses.svg"))
            .unwrap()
            .contains("<svg"));
        assert!(std::fs::read_to_string(dir.join("accuracy.svg"))
            .unwrap()
            .contains("Test accuracy"));
        let confusion_svg = std::fs::read_to_string(dir.join("confusion.svg")).unwrap();
        assert!(confusion_svg.contains(">Ankle boot<"));
        let samples_svg = std::fs::read_to_string(dir.join("samples.svg")).unwrap();
        assert_eq!(samples_svg.matches(">true: ").count(), 16);
        // One logged loss per step (192 images in batches of 64), then the saved weights
        // evaluated alone give the same accuracy.
        let steps = std::fs::read_to_string(dir.join("steps.csv")).unwrap();
        assert_eq!(steps.lines().count(), 1 + 3);
        assert!(steps.starts_with("step,loss\n1,"));
        let eval = run(&Args {
            epochs: 0,
            load: Some(weights.clone()),
            log_steps: None,
            ..args.clone()
        })
        .unwrap();
        assert_eq!(eval.accuracy, history.accuracy);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `--model cnn` trains the course's CNN and saves it under PyTorch's `nn.Sequential`
    /// names and shapes.
    #[test]
    fn the_cnn_trains_and_saves_with_pytorchs_names() {
        let _turn = serial();
        let dir = std::env::temp_dir().join(format!("antorcha_fashion_cnn_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = args(
            &dir,
            &[
                "--synthetic",
                "--synthetic-size",
                "128",
                "--epochs",
                "1",
                "--model",
                "cnn",
                "--optimizer",
                "sgd",
                "--lr",
                "0.01",
                "--momentum",
                "0.9",
            ],
        );
        let history = run(&a).unwrap();
        assert!(history.train_loss[0].is_finite());
        let saved = antorcha::nn::read_safetensors::<f32>(dir.join("cnn.safetensors")).unwrap();
        let shapes: Vec<(String, Vec<usize>)> = saved
            .into_iter()
            .map(|(k, t)| (k, t.shape().to_vec()))
            .collect();
        for (key, shape) in [
            ("0.weight", vec![32, 1, 3, 3]),
            ("3.weight", vec![64, 32, 3, 3]),
            ("7.weight", vec![128, 1600]),
            ("9.bias", vec![10]),
        ] {
            assert!(
                shapes.contains(&(key.to_string(), shape)),
                "{key}: {shapes:?}"
            );
        }
        assert_eq!(shapes.len(), 8);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `--model cnn --batch-norm` trains W5b's net: `BatchNorm2d` children 1 and 5 with their
    /// running statistics saved under PyTorch's names.
    #[test]
    fn the_batch_norm_cnn_trains_and_saves_its_buffers() {
        let _turn = serial();
        let dir = std::env::temp_dir().join(format!("antorcha_fashion_bn_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = [
            "--synthetic",
            "--synthetic-size",
            "128",
            "--epochs",
            "1",
            "--lr",
            "0.01",
        ];
        let mut list = base.to_vec();
        list.extend(["--model", "cnn", "--batch-norm"]);
        let history = run(&args(&dir, &list)).unwrap();
        assert!(history.train_loss[0].is_finite());
        // The header of the file (an i64 `num_batches_tracked` sits beside the f32 tensors).
        let bytes = std::fs::read(dir.join("cnn.safetensors")).unwrap();
        let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
        for (key, dtype) in [
            ("0.weight", "F32"),
            ("1.running_mean", "F32"),
            ("1.num_batches_tracked", "I64"),
            ("4.weight", "F32"),
            ("5.running_var", "F32"),
            ("9.weight", "F32"),
            ("11.bias", "F32"),
        ] {
            assert_eq!(header[key]["dtype"], dtype, "{key}: {header}");
        }
        let mut list = base.to_vec();
        list.push("--batch-norm");
        let e = run(&args(&dir, &list)).unwrap_err().to_string();
        assert!(e.contains("--model cnn"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Missing files are an error naming every path tried, not a silent fallback.
    #[test]
    fn missing_data_is_an_error_naming_every_path() {
        let _turn = serial();
        let dir = std::env::temp_dir().join(format!("antorcha_fashion_nf_{}", std::process::id()));
        let e = run(&args(&dir, &["--epochs", "1"]))
            .unwrap_err()
            .to_string();
        let root = dir.join("absent");
        for d in [
            root.clone(),
            root.join("FashionMNIST").join("raw"),
            root.join("raw"),
        ] {
            for f in ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
                assert!(e.contains(&d.join(f).display().to_string()), "{e}");
            }
        }
        assert!(
            e.contains("--synthetic") && e.contains("download=True"),
            "{e}"
        );
        assert!(!dir.exists());
    }

    /// torchvision's layout under its `root` is found (the notebook's `root="data"`).
    #[test]
    fn finds_torchvision_layout() {
        let dir = std::env::temp_dir().join(format!("antorcha_fashion_tv_{}", std::process::id()));
        let raw = dir.join("data").join("FashionMNIST").join("raw");
        std::fs::create_dir_all(&raw).unwrap();
        let images = Tensor::<u8>::from_vec(vec![7; 2 * 28 * 28], &[2, 28, 28]);
        let labels = Tensor::<u8>::from_vec(vec![3, 9], &[2]);
        for train in [true, false] {
            let (i, l) = FashionMnist::file_names(train);
            antorcha::data::idx::write_idx(raw.join(i), &images).unwrap();
            antorcha::data::idx::write_idx(raw.join(format!("{l}.gz")), &labels).unwrap();
        }
        let mut a = args(&dir, &[]);
        a.data_dir = dir.join("data");
        let (train, test, source) = load(&a).unwrap();
        assert_eq!(train.labels().to_vec(), vec![3, 9]);
        assert_eq!(test.images().shape(), &[2, 28, 28]);
        assert!(source.contains("raw"), "{source}");
        // torchvision's `root/FashionMNIST` too.
        a.data_dir = dir.join("data").join("FashionMNIST");
        assert!(load(&a).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `--epochs 0` without weights, bad counts and unknown optimizers are errors that say what
    /// to do.
    #[test]
    fn bad_flags_are_usage_errors() {
        let _turn = serial();
        let a = Args::try_parse_from(["fashion_mnist", "--epochs", "0"]).unwrap();
        let e = run(&a).err().unwrap();
        assert!(e.to_string().contains("--load"), "{e}");
        let e = Args::try_parse_from(["fashion_mnist", "--batch-size", "0"]).unwrap_err();
        assert!(
            e.to_string().contains("--batch-size") && e.to_string().contains("at least 1"),
            "{e}"
        );
        let e = Args::try_parse_from(["fashion_mnist", "--optimizer", "lbfgs"]).unwrap_err();
        assert!(e.to_string().contains("sgd"), "{e}");
        let a = Args::try_parse_from(["fashion_mnist", "--optimizer", "adam", "--momentum", "0.9"])
            .unwrap();
        let e = optimizer(&a, mlp().parameters()).err().unwrap();
        assert!(e.to_string().contains("--momentum"), "{e}");
    }
}
