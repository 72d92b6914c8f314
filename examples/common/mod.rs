//! What the notebook's linear-regression examples share: its data, made exactly as numpy makes
//! them, the closed-form check, the `--out`/`--epochs` options and the pictures.

#![allow(dead_code)] // each example uses a part

use std::path::{Path, PathBuf};

use antorcha::autograd::Var;
use antorcha::data::RandomState;
use antorcha::tensor::{Float, Tensor};
use antorcha::viz::{make_dot, plot, DotOptions};

/// The notebook's fitted values (numpy, 1000 epochs of gradient descent, f64).
pub const NOTEBOOK_A: f64 = 1.023_540_937_08;
/// See [`NOTEBOOK_A`].
pub const NOTEBOOK_B: f64 = 1.968_964_113_545_456_5;

/// The notebook's 100 points, split 80/20 as it splits them.
pub struct NotebookData {
    pub x_train: Tensor<f64>,
    pub y_train: Tensor<f64>,
    pub x_val: Tensor<f64>,
    pub y_val: Tensor<f64>,
}

/// `np.random.seed(42); x = np.random.rand(100, 1); y = 1 + 2 * x + .1 * np.random.randn(100, 1)`,
/// then `idx = np.arange(100); np.random.shuffle(idx)`, the first 80 for training.
pub fn notebook_data() -> NotebookData {
    let mut rs = RandomState::new(42);
    let x = rs.rand(&[100, 1]);
    let y = &(&x * 2.0 + 1.0) + &(rs.randn(&[100, 1]) * 0.1);
    let mut idx: Vec<usize> = (0..100).collect();
    rs.shuffle(&mut idx);
    let (train, val) = idx.split_at(80);
    NotebookData {
        x_train: x.index_select(0, train),
        y_train: y.index_select(0, train),
        x_val: x.index_select(0, val),
        y_val: y.index_select(0, val),
    }
}

/// Ordinary least squares `y = a + b x` (the notebook's scikit-learn check): `(a, b)`.
pub fn least_squares(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = x.iter().map(|x| (x - mx).powi(2)).sum();
    let b = sxy / sxx;
    (my - b * mx, b)
}

/// The examples' options: `--epochs N` (default 1000) and `--out DIR` (default
/// `target/antorcha-examples/NAME`).
pub struct Options {
    pub epochs: usize,
    pub out: PathBuf,
}

impl Options {
    /// Reads the options from the command line, or exits with a usage message.
    pub fn from_args(name: &str) -> Options {
        let mut options = Options {
            epochs: 1000,
            out: Path::new("target").join("antorcha-examples").join(name),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match (arg.as_str(), args.next()) {
                ("--epochs", Some(n)) if n.parse::<usize>().is_ok() => {
                    options.epochs = n.parse().expect("checked")
                }
                ("--out", Some(dir)) => options.out = PathBuf::from(dir),
                _ => {
                    eprintln!(
                        "usage: cargo run --release --example {name} -- [--epochs N] [--out DIR]"
                    );
                    std::process::exit(2);
                }
            }
        }
        options
    }
}

/// Writes the notebook's pictures into `out` and returns their paths: the train/validation
/// scatter, the loss curve, the fitted line over the training data and, when given, the
/// graph of the loss.
pub fn write_pictures<T: Float>(
    out: &Path,
    data: &NotebookData,
    losses: &[f64],
    (a, b): (f64, f64),
    graph: Option<(&Var<T>, &Var<T>, &Var<T>)>,
) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let (xt, yt) = (data.x_train.to_vec(), data.y_train.to_vec());
    let mut pictures = vec![
        (
            "data_train_val.svg",
            plot::scatter_train_val(&xt, &yt, &data.x_val.to_vec(), &data.y_val.to_vec())?,
        ),
        ("loss_curve.svg", plot::loss_curve(losses, None)?),
        ("fitted_line.svg", plot::fitted_line(&xt, &yt, a, b)?),
    ];
    if let Some((loss, a, b)) = graph {
        let dot = make_dot(loss, &[("a", a), ("b", b)], &DotOptions::default());
        pictures.push(("loss_graph.svg", dot.to_svg()));
    }
    let mut paths = Vec::new();
    for (name, svg) in pictures {
        let path = out.join(name);
        std::fs::write(&path, svg)?;
        paths.push(path);
    }
    Ok(paths)
}

/// What Examples 2 and 3 (PyTorch's f32 training) produce.
pub struct TorchRun {
    /// `a` and `b` as initialised, before training.
    pub init: (Var<f32>, Var<f32>),
    pub a: Var<f32>,
    pub b: Var<f32>,
    /// The loss of each epoch.
    pub losses: Vec<f64>,
    /// The loss graph of one more forward pass, for the picture.
    pub last_loss: Var<f32>,
}

/// Prints what the notebook prints for Examples 2 and 3, the check, and the pictures.
pub fn report_torch_run(
    options: &Options,
    data: &NotebookData,
    run: &TorchRun,
) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "a and b after initialization: {} {}",
        run.init.0, run.init.1
    );
    println!(
        "a and b after {} epochs: {} {}",
        options.epochs, run.a, run.b
    );
    let (a, b) = (run.a.item() as f64, run.b.item() as f64);
    println!("fitted a = {a:.8}, b = {b:.8}");
    report_check(a, b, data, 1e-5);
    let graph = Some((&run.last_loss, &run.a, &run.b));
    for path in write_pictures(&options.out, data, &run.losses, (a, b), graph)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Asserts that a 1000-epoch run gave PyTorch's numbers (numpy_randomstate.json,
/// `seed_notebook.torch_float32_sgd`): initial values, first loss, fitted values, printing.
pub fn assert_pytorch_numbers(data: &NotebookData, run: &TorchRun) {
    assert_eq!(run.init.0.item(), 0.336_690_37);
    assert_eq!(run.init.1.item(), 0.128_809_4);
    assert!(
        (run.losses[0] - 2.747_486_591_339_111_3).abs() < 1e-6,
        "{}",
        run.losses[0]
    );
    let (a, b) = (run.a.item() as f64, run.b.item() as f64);
    assert!((a - 1.023_543_119_430_542).abs() < 1e-5, "a = {a}");
    assert!((b - 1.968_960_046_768_188_5).abs() < 1e-5, "b = {b}");
    assert!(report_check(a, b, data, 1e-5));
    assert_eq!(
        format!("{}", run.init.0),
        "tensor([0.3367], requires_grad=True)"
    );
}

/// Prints the check against the closed form and the notebook, and says whether both agree.
pub fn report_check(a: f64, b: f64, data: &NotebookData, tolerance: f64) -> bool {
    let (la, lb) = least_squares(&data.x_train.to_vec(), &data.y_train.to_vec());
    println!("least squares (the notebook's scikit-learn check): a = {la:.8}, b = {lb:.8}");
    let close_fit = (a - la).abs() < tolerance && (b - lb).abs() < tolerance;
    let close_notebook = (a - NOTEBOOK_A).abs() < tolerance && (b - NOTEBOOK_B).abs() < tolerance;
    println!(
        "fitted a, b {} the least-squares fit and {} the notebook's a = {NOTEBOOK_A:.5}…, b = {NOTEBOOK_B:.5}… (to {tolerance:e})",
        if close_fit { "match" } else { "DO NOT match" },
        if close_notebook { "match" } else { "DO NOT match" },
    );
    close_fit && close_notebook
}
