//! The workloads of `docs/WORKLOADS.md`, shared by the criterion benches
//! (`benches/workloads.rs`) and the timer behind `cargo xtask bench`
//! (`examples/bench_workloads.rs`). Each workload is split into a setup (data, parameters,
//! optimizer: not timed) and a run (the timed region the definitions name).

#![allow(dead_code)] // each user takes a part

use std::hint::black_box;

use antorcha::autograd::{no_grad, Tensor, Var};
use antorcha::data::{DataLoader, RandomState, TensorDataset};
use antorcha::nn::{
    BatchNorm2d, Conv2d, CrossEntropyLoss, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential,
};
use antorcha::optim::{Optimizer, SgdOptions, SGD};
use antorcha::tensor::ndarray::linalg::general_mat_mul;
use antorcha::tensor::ndarray::{Array2, Ix2};
use antorcha::tensor::{manual_seed, Generator};

/// Epochs of W1 and W1b.
pub const LINREG_EPOCHS: usize = 1000;
/// The notebook's learning rate.
pub const LINREG_LR: f32 = 0.1;
/// Ops in the W3 chain.
pub const CHAIN_OPS: usize = 10_000;
/// Samples of the W2/W4 dataset (FashionMNIST's training set).
pub const MLP_SAMPLES: usize = 60_000;
/// Features per sample.
pub const MLP_FEATURES: usize = 784;
/// Hidden units of the W2 MLP.
pub const MLP_HIDDEN: usize = 256;
/// Classes.
pub const MLP_CLASSES: usize = 10;
/// Batch size of W2 and W4.
pub const BATCH: usize = 64;
/// Batches of the W2/W4 dataset in a quick (smoke) run.
pub const QUICK_BATCHES: usize = 8;

// ---------------------------------------------------------------------------------------------
// W1, W1b, W1-floor: the notebook's linear regression.

/// The notebook's 80 training points as f32 `[80, 1]` tensors: `np.random.seed(42)`,
/// `x = np.random.rand(100, 1)`, `y = 1 + 2 * x + .1 * np.random.randn(100, 1)`, shuffled
/// indices, the first 80.
#[derive(Clone)]
pub struct LinregData {
    pub x: Tensor<f32>,
    pub y: Tensor<f32>,
}

impl LinregData {
    pub fn new() -> LinregData {
        let mut rs = RandomState::new(42);
        let x = rs.rand(&[100, 1]);
        let y = &(&x * 2.0 + 1.0) + &(rs.randn(&[100, 1]) * 0.1);
        let mut idx: Vec<usize> = (0..100).collect();
        rs.shuffle(&mut idx);
        let train = &idx[..80];
        LinregData {
            x: x.index_select(0, train).cast::<f32>(),
            y: y.index_select(0, train).cast::<f32>(),
        }
    }

    /// Ordinary least squares `y = a + b x` on the 80 points, in f64 (check C1).
    pub fn least_squares(&self) -> (f64, f64) {
        let x: Vec<f64> = self.x.to_vec().iter().map(|&v| v as f64).collect();
        let y: Vec<f64> = self.y.to_vec().iter().map(|&v| v as f64).collect();
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let sxy: f64 = x.iter().zip(&y).map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = x.iter().map(|x| (x - mx).powi(2)).sum();
        let b = sxy / sxx;
        (my - b * mx, b)
    }
}

impl Default for LinregData {
    fn default() -> Self {
        Self::new()
    }
}

/// `torch.manual_seed(42); a = torch.randn(1, requires_grad=True); b = ...`
fn linreg_params() -> (Var<f32>, Var<f32>) {
    manual_seed(42);
    let a = Var::randn(&[1]).requires_grad();
    let b = Var::randn(&[1]).requires_grad();
    (a, b)
}

/// W1: the notebook's Example 3 (autograd + `optim.SGD([a, b], lr=0.1)`).
pub struct W1 {
    x: Var<f32>,
    y: Var<f32>,
    pub a: Var<f32>,
    pub b: Var<f32>,
    optimizer: SGD<f32>,
}

impl W1 {
    /// Fresh parameters and optimizer (not timed).
    pub fn new(data: &LinregData) -> W1 {
        let (a, b) = linreg_params();
        let optimizer = SGD::new(vec![a.clone(), b.clone()], LINREG_LR as f64).expect("SGD");
        W1 {
            x: Var::new(data.x.clone()),
            y: Var::new(data.y.clone()),
            a,
            b,
            optimizer,
        }
    }

    /// The timed loop: `epochs` full-batch steps.
    pub fn run(&mut self, epochs: usize) {
        let (a, b, x, y) = (&self.a, &self.b, &self.x, &self.y);
        for _ in 0..epochs {
            let yhat = a + &(b * x); //            yhat = a + b * x_train_tensor
            let error = y - &yhat; //              error = y_train_tensor - yhat
            let loss = error.powf(2.0).mean(); //  loss = (error ** 2).mean()
            loss.backward().expect("backward"); // loss.backward()
            self.optimizer.step().expect("step"); // optimizer.step()
            self.optimizer.zero_grad(); //         optimizer.zero_grad()
        }
    }

    /// The fitted `(a, b)`.
    pub fn params(&self) -> (f32, f32) {
        (self.a.item(), self.b.item())
    }
}

/// W1b: the notebook's Example 2 (autograd, update by hand under `no_grad`).
pub struct W1b {
    x: Var<f32>,
    y: Var<f32>,
    pub a: Var<f32>,
    pub b: Var<f32>,
}

impl W1b {
    /// Fresh parameters (not timed).
    pub fn new(data: &LinregData) -> W1b {
        let (a, b) = linreg_params();
        W1b {
            x: Var::new(data.x.clone()),
            y: Var::new(data.y.clone()),
            a,
            b,
        }
    }

    /// The timed loop: `epochs` full-batch steps.
    pub fn run(&mut self, epochs: usize) {
        let (a, b, x, y) = (&self.a, &self.b, &self.x, &self.y);
        for _ in 0..epochs {
            let yhat = a + &(b * x);
            let error = y - &yhat;
            let loss = error.powf(2.0).mean();
            loss.backward().expect("backward");
            {
                let _guard = no_grad(); // with torch.no_grad():
                a.sub_(&(a.grad().expect("a.grad") * LINREG_LR)) // a -= lr * a.grad
                    .expect("sub_");
                b.sub_(&(b.grad().expect("b.grad") * LINREG_LR)) // b -= lr * b.grad
                    .expect("sub_");
            }
            a.fill_grad_zero(); // a.grad.zero_()
            b.fill_grad_zero(); // b.grad.zero_()
        }
    }

    /// The fitted `(a, b)`.
    pub fn params(&self) -> (f32, f32) {
        (self.a.item(), self.b.item())
    }
}

/// W1-floor: the same math as W1 on plain `f32` slices, no framework (Example 1 style).
pub struct W1Floor {
    x: Vec<f32>,
    y: Vec<f32>,
    pub a: f32,
    pub b: f32,
}

impl W1Floor {
    /// The same data and initial values as W1 (not timed).
    pub fn new(data: &LinregData) -> W1Floor {
        let (a, b) = linreg_params();
        W1Floor {
            x: data.x.to_vec(),
            y: data.y.to_vec(),
            a: a.item(),
            b: b.item(),
        }
    }

    /// The timed loop: per epoch the loss (mean squared error), both gradients and the
    /// update; the loss goes through `black_box` so that nothing is skipped. The sums run in
    /// 8 lanes so that the compiler vectorises them (a plain `f32` sum is a serial chain).
    pub fn run(&mut self, epochs: usize) {
        const LANES: usize = 8;
        let (x, y) = (black_box(&self.x[..]), black_box(&self.y[..]));
        let n = x.len() as f32;
        let (mut a, mut b) = (self.a, self.b);
        for _ in 0..epochs {
            let (mut loss, mut ga, mut gb) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
            let (xc, yc) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
            let (xr, yr) = (xc.remainder(), yc.remainder());
            for (xs, ys) in xc.zip(yc) {
                for l in 0..LANES {
                    let error = ys[l] - (a + b * xs[l]);
                    loss[l] += error * error;
                    ga[l] += error;
                    gb[l] += xs[l] * error;
                }
            }
            for (l, (&xi, &yi)) in xr.iter().zip(yr).enumerate() {
                let error = yi - (a + b * xi);
                loss[l] += error * error;
                ga[l] += error;
                gb[l] += xi * error;
            }
            let (loss, ga, gb) = (
                loss.iter().sum::<f32>(),
                ga.iter().sum::<f32>(),
                gb.iter().sum::<f32>(),
            );
            black_box(loss / n);
            a -= LINREG_LR * (-2.0 * ga / n);
            b -= LINREG_LR * (-2.0 * gb / n);
        }
        self.a = a;
        self.b = b;
    }
}

// ---------------------------------------------------------------------------------------------
// W2, W4: the FashionMNIST-shaped dataset, the MLP epoch, the DataLoader epoch.

/// The W2/W4 dataset: `samples x 784` N(0,1) f32 features (PyTorch's generator, seed 0, so
/// `torch.manual_seed(0); torch.randn(samples, 784)` gives the same numbers) and labels
/// uniform in `0..10`.
pub fn mlp_data(samples: usize) -> (Tensor<f32>, Tensor<i64>) {
    let mut g = Generator::new(0);
    let x = Tensor::<f32>::randn_from(&[samples, MLP_FEATURES], &mut g);
    let labels = (0..samples)
        .map(|_| ((g.uniform_f64() * MLP_CLASSES as f64) as i64).min(MLP_CLASSES as i64 - 1))
        .collect::<Vec<_>>();
    (x, Tensor::from_vec(labels, &[samples]))
}

/// Bytes of the W2/W4 dataset (features and labels).
pub fn dataset_bytes(samples: usize) -> usize {
    samples * (MLP_FEATURES * 4 + 8)
}

/// The loader of W2 and W4's batches.
pub type Loader = DataLoader<TensorDataset<(Tensor<f32>, Tensor<i64>)>, (Tensor<f32>, Tensor<i64>)>;

/// `DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, drop_last=...)`.
pub fn loader(data: &(Tensor<f32>, Tensor<i64>), drop_last: bool) -> Loader {
    DataLoader::builder(TensorDataset::new(data.clone()).expect("dataset"))
        .batch_size(BATCH)
        .shuffle(true)
        .drop_last(drop_last)
        .seed(0)
        .build()
        .expect("loader")
}

/// W2: `Linear(784, 256) -> ReLU -> Linear(256, 10)`, `CrossEntropyLoss`,
/// `SGD(lr=0.01, momentum=0.9)`, batches of 64 shuffled, the last partial batch dropped.
pub struct W2 {
    model: Sequential,
    loss_fn: CrossEntropyLoss,
    optimizer: SGD<f32>,
    loader: Loader,
}

impl W2 {
    /// The model (seeded), optimizer and loader over `data` (not timed).
    pub fn new(data: &(Tensor<f32>, Tensor<i64>)) -> W2 {
        manual_seed(0);
        let model = Sequential::new()
            .add(Linear::new(MLP_FEATURES, MLP_HIDDEN))
            .add(ReLU::new())
            .add(Linear::new(MLP_HIDDEN, MLP_CLASSES));
        let optimizer = SGD::with_options(model.parameters(), SgdOptions::new(0.01).momentum(0.9))
            .expect("SGD");
        W2 {
            model,
            loss_fn: CrossEntropyLoss::new(),
            optimizer,
            loader: loader(data, true),
        }
    }

    /// Batches per epoch.
    pub fn batches(&self) -> usize {
        self.loader.len()
    }

    /// The timed region: one epoch, loading included. Returns the last batch's loss.
    pub fn epoch(&mut self) -> f32 {
        let mut last = None;
        for batch in &self.loader {
            let (x, y) = batch.expect("batch");
            let loss = self.loss_fn.forward(&self.model.forward(&Var::new(x)), &y);
            self.optimizer.zero_grad();
            loss.backward().expect("backward");
            self.optimizer.step().expect("step");
            last = Some(loss);
        }
        last.map_or(f32::NAN, |l| l.item())
    }
}

/// W4: one epoch of the shuffled loader (batch 64, last partial batch kept), touching each
/// batch (its first feature and first label). Returns the samples seen.
pub fn w4_epoch(loader: &Loader) -> usize {
    let (mut seen, mut touch) = (0usize, 0.0f32);
    for batch in loader {
        let (x, y) = batch.expect("batch");
        touch += x.view().first().copied().unwrap_or(0.0);
        touch += y.view().first().copied().unwrap_or(0) as f32;
        seen += y.numel();
    }
    black_box(touch);
    seen
}

/// One GEMM of a W2 step: `out[m, n] = lhs[m, k] · rhs[k, n]`, with the operands laid out as
/// the MLP holds them (weights `[out, in]`, so some operands are transposed views).
pub struct Gemm {
    pub name: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    lhs: Array2<f32>,
    rhs: Array2<f32>,
    lhs_t: bool,
    rhs_t: bool,
    out: Array2<f32>,
}

impl Gemm {
    fn new(name: &'static str, (m, k, n): (usize, usize, usize), lhs_t: bool, rhs_t: bool) -> Gemm {
        let mut g = Generator::new(1);
        let mut fill = |r: usize, c: usize| {
            Tensor::<f32>::randn_from(&[r, c], &mut g)
                .into_array()
                .into_dimensionality::<Ix2>()
                .expect("2-d")
        };
        let lhs = if lhs_t { fill(k, m) } else { fill(m, k) };
        let rhs = if rhs_t { fill(n, k) } else { fill(k, n) };
        Gemm {
            name,
            m,
            k,
            n,
            lhs,
            rhs,
            lhs_t,
            rhs_t,
            out: Array2::zeros((m, n)),
        }
    }

    /// FLOPs of one product (`2 m k n`).
    pub fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }

    /// One product with ndarray's `general_mat_mul` (matrixmultiply's sgemm).
    pub fn run(&mut self) {
        let lhs = if self.lhs_t {
            self.lhs.t()
        } else {
            self.lhs.view()
        };
        let rhs = if self.rhs_t {
            self.rhs.t()
        } else {
            self.rhs.view()
        };
        general_mat_mul(1.0, &lhs, &rhs, 0.0, &mut self.out);
        black_box(&self.out);
    }
}

/// The six GEMMs of a W2 step (batch 64): per layer the forward `x · Wᵀ`, the input
/// gradient `g · W` and the weight gradient `gᵀ · x`.
pub fn w2_gemms() -> Vec<Gemm> {
    let (b, i, h, c) = (BATCH, MLP_FEATURES, MLP_HIDDEN, MLP_CLASSES);
    vec![
        Gemm::new("fc1 forward [64,784]x[784,256]", (b, i, h), false, true),
        Gemm::new("fc1 grad input [64,256]x[256,784]", (b, h, i), false, false),
        Gemm::new("fc1 grad weight [256,64]x[64,784]", (h, b, i), true, false),
        Gemm::new("fc2 forward [64,256]x[256,10]", (b, h, c), false, true),
        Gemm::new("fc2 grad input [64,10]x[10,256]", (b, c, h), false, false),
        Gemm::new("fc2 grad weight [10,64]x[64,256]", (c, b, h), true, false),
    ]
}

/// FLOPs of the GEMMs of one W2 epoch as WORKLOADS.md counts them:
/// `60000 * 2 * 3 * (784*256 + 256*10)`.
pub fn w2_epoch_flops() -> f64 {
    (MLP_SAMPLES * 2 * 3 * (MLP_FEATURES * MLP_HIDDEN + MLP_HIDDEN * MLP_CLASSES)) as f64
}

// ---------------------------------------------------------------------------------------------
// W5, W5b, W5-eval, W5-floor: the FashionMNIST course's CNN.

/// Samples W5-eval classifies.
pub const CNN_EVAL_SAMPLES: usize = 10_000;
/// W5-eval's batch size.
pub const CNN_EVAL_BATCH: usize = 1000;

/// The W5 dataset: W2's features (the same numbers) as `[samples, 1, 28, 28]` images.
pub fn cnn_data(samples: usize) -> (Tensor<f32>, Tensor<i64>) {
    let (x, y) = mlp_data(samples);
    (x.reshape(&[samples as isize, 1, 28, 28]), y)
}

/// W5's net: `Conv2d(1,32,3) -> ReLU -> MaxPool2d(2) -> Conv2d(32,64,3) -> ReLU ->
/// MaxPool2d(2) -> Flatten -> Linear(1600,128) -> ReLU -> Linear(128,10)`; with `batch_norm`
/// (W5b) a `BatchNorm2d` after each convolution, before its ReLU. Seeded (`manual_seed(0)`).
pub fn w5_model(batch_norm: bool) -> Sequential {
    manual_seed(0);
    let mut model = Sequential::new().add(Conv2d::new(1, 32, 3));
    if batch_norm {
        model = model.add(BatchNorm2d::new(32));
    }
    model = model
        .add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Conv2d::new(32, 64, 3));
    if batch_norm {
        model = model.add(BatchNorm2d::new(64));
    }
    model
        .add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(1600, 128))
        .add(ReLU::new())
        .add(Linear::new(128, MLP_CLASSES))
}

/// W5 (and W5b): the CNN, `CrossEntropyLoss`, `SGD(lr=0.01, momentum=0.9)`, batches of 64
/// shuffled, the last partial batch dropped.
pub struct W5 {
    model: Sequential,
    loss_fn: CrossEntropyLoss,
    optimizer: SGD<f32>,
    loader: Loader,
}

impl W5 {
    /// The model (seeded), optimizer and loader over `data` (not timed).
    pub fn new(data: &(Tensor<f32>, Tensor<i64>), batch_norm: bool) -> W5 {
        let model = w5_model(batch_norm);
        let optimizer = SGD::with_options(model.parameters(), SgdOptions::new(0.01).momentum(0.9))
            .expect("SGD");
        W5 {
            model,
            loss_fn: CrossEntropyLoss::new(),
            optimizer,
            loader: loader(data, true),
        }
    }

    /// Batches per epoch.
    pub fn batches(&self) -> usize {
        self.loader.len()
    }

    /// The timed region: one epoch, loading included (at most `max_batches` batches, for a
    /// profile of a few steps). Returns the last batch's loss.
    pub fn epoch_limited(&mut self, max_batches: usize) -> f32 {
        let mut last = None;
        for batch in self.loader.iter().take(max_batches) {
            let (x, y) = batch.expect("batch");
            let loss = self.loss_fn.forward(&self.model.forward(&Var::new(x)), &y);
            self.optimizer.zero_grad();
            loss.backward().expect("backward");
            self.optimizer.step().expect("step");
            last = Some(loss);
        }
        last.map_or(f32::NAN, |l| l.item())
    }

    /// The timed region: one epoch, loading included. Returns the last batch's loss.
    pub fn epoch(&mut self) -> f32 {
        self.epoch_limited(usize::MAX)
    }
}

/// W5-eval: the W5 net (seeded, untrained) in eval mode.
pub fn w5_eval_model() -> Sequential {
    let model = w5_model(false);
    model.eval();
    model
}

/// W5-eval's timed region: `x` (`[samples, 1, 28, 28]`) classified under `no_grad` in batches
/// of 1000. Returns the number of samples whose predicted class is 0 (to use the output).
pub fn w5_eval(model: &Sequential, x: &Tensor<f32>) -> usize {
    let _guard = no_grad();
    let n = x.shape()[0];
    let mut zeros = 0;
    for start in (0..n).step_by(CNN_EVAL_BATCH) {
        let len = CNN_EVAL_BATCH.min(n - start);
        let out = model.forward(&Var::new(x.narrow(0, start as isize, len)));
        let pred = out.data().argmax_dim(1, false);
        zeros += pred.to_vec().iter().filter(|&&c| c == 0).count();
    }
    zeros
}

/// The GEMMs of a W5 step (batch 64) with each convolution as one im2col product over the
/// batch: forward, the input gradient (not for the first layer, whose input needs none) and
/// the weight gradient, plus the Linear layers' three each.
pub fn w5_gemms() -> Vec<Gemm> {
    let b = BATCH;
    let (l1, l2) = (b * 26 * 26, b * 11 * 11);
    vec![
        Gemm::new("conv1 forward [32,9]x[9,64*676]", (32, 9, l1), false, false),
        Gemm::new(
            "conv1 grad weight [32,64*676]x[64*676,9]",
            (32, l1, 9),
            false,
            true,
        ),
        Gemm::new(
            "conv2 forward [64,288]x[288,64*121]",
            (64, 288, l2),
            false,
            false,
        ),
        Gemm::new(
            "conv2 grad input [288,64]x[64,64*121]",
            (288, 64, l2),
            true,
            false,
        ),
        Gemm::new(
            "conv2 grad weight [64,64*121]x[64*121,288]",
            (64, l2, 288),
            false,
            true,
        ),
        Gemm::new(
            "fc1 forward [64,1600]x[1600,128]",
            (b, 1600, 128),
            false,
            true,
        ),
        Gemm::new(
            "fc1 grad input [64,128]x[128,1600]",
            (b, 128, 1600),
            false,
            false,
        ),
        Gemm::new(
            "fc1 grad weight [128,64]x[64,1600]",
            (128, b, 1600),
            true,
            false,
        ),
        Gemm::new("fc2 forward [64,128]x[128,10]", (b, 128, 10), false, true),
        Gemm::new(
            "fc2 grad input [64,10]x[10,128]",
            (b, 10, 128),
            false,
            false,
        ),
        Gemm::new(
            "fc2 grad weight [10,64]x[64,128]",
            (10, b, 128),
            true,
            false,
        ),
    ]
}

/// FLOPs of W5-floor's GEMMs over one epoch (937 steps of [`w5_gemms`]): about 0.92 TFLOP.
pub fn w5_epoch_flops() -> f64 {
    let steps = (MLP_SAMPLES / BATCH) as f64;
    w5_gemms().iter().map(Gemm::flops).sum::<f64>() * steps
}

// ---------------------------------------------------------------------------------------------
// W3, W3b: per-op autograd overhead.

/// W3 (`numel = 1`) and W3b (`numel = 1000`): `x` of ones requiring grad, a chain of `ops`
/// ops alternating `y * 1.0001` and `y + 0.0001`, then `y.sum().backward()`; the graph is
/// dropped inside. Returns `x.grad[0]` (`1.0001^(ops/2)`).
pub fn w3_chain(numel: usize, ops: usize) -> f32 {
    let x = Var::<f32>::ones(&[numel]).requires_grad();
    let mut y = x.clone();
    for i in 0..ops {
        y = if i % 2 == 0 { &y * 1.0001 } else { &y + 0.0001 };
    }
    y.sum().backward().expect("backward");
    drop(y);
    x.grad()
        .expect("x.grad")
        .view()
        .first()
        .copied()
        .unwrap_or(f32::NAN)
}

// ---------------------------------------------------------------------------------------------
// W6: view ops.

/// W6's sizes: `[rows, 1024]` f32, 1 MiB and 64 MiB.
pub const W6_SIZES: [(&str, usize); 2] = [("1MiB", 256), ("64MiB", 16384)];
/// W6's view ops, in table order.
pub const W6_OPS: [&str; 6] = [
    "reshape",
    "transpose",
    "permute",
    "unsqueeze",
    "expand",
    "narrow",
];
/// Views made per timed repeat (each dropped at once).
pub const W6_VIEWS: usize = 10_000;

/// W6's leaf: `[rows, 1024]` requiring grad.
pub fn w6_x(rows: usize) -> Var<f32> {
    Var::<f32>::zeros(&[rows, 1024]).requires_grad()
}

/// One W6 view of `x`, recorded in the graph (grad mode on).
pub fn w6_view(x: &Var<f32>, op: &str) -> Var<f32> {
    match op {
        "reshape" => x.reshape(&[1024, -1]),
        "transpose" => x.transpose(0, 1),
        "permute" => x.permute(&[1, 0]),
        "unsqueeze" => x.unsqueeze(0),
        "expand" => x.expand(&[4, -1, -1]),
        "narrow" => x.narrow(1, 0, 512),
        other => panic!("no W6 op {other}"),
    }
}

/// Makes `views` views of `x` with `op`, dropping each.
pub fn w6_run(x: &Var<f32>, op: &str, views: usize) {
    for _ in 0..views {
        black_box(w6_view(x, op));
    }
}

/// W6's check: the sum of each view backpropagates to `x` the gradient PyTorch gives (ones,
/// 4 for the expand, ones on the first half for the narrow). Returns whether all matched.
pub fn w6_check() -> bool {
    let x = w6_x(4);
    W6_OPS.iter().all(|op| {
        x.zero_grad();
        w6_view(&x, op).sum().backward().expect("backward");
        let g = x.grad().expect("x.grad").to_vec();
        g.iter().enumerate().all(|(i, &v)| {
            let want = match *op {
                "expand" => 4.0,
                "narrow" if i % 1024 >= 512 => 0.0,
                _ => 1.0,
            };
            v == want
        })
    })
}
