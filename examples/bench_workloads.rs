//! The timer behind `cargo xtask bench`: runs the workloads of `docs/WORKLOADS.md` with its
//! rules (in-process wall time of the timed region only, median of the repeats after one
//! warm-up) and prints one JSON object on stdout (progress goes to stderr).
//!
//! ```sh
//! cargo run --release --example bench_workloads -- [--threads N] [--quick] [--only W1,W3]
//! ```
//!
//! `--threads N` sets `ANTORCHA_NUM_THREADS` (Antorcha's own intra-op threads,
//! `antorcha::tensor::num_threads`), `MATMUL_NUM_THREADS` (matrixmultiply's, when its
//! `threading` feature is on) and `RAYON_NUM_THREADS` before any work starts: each is read
//! once per process, so each thread count needs its own run. `--quick` is a smoke run: fewer
//! repeats and 8-batch W2/W4/W5 datasets (W2 and W5 are still reported per 937-batch epoch,
//! scaled).
//! The criterion benches of the same workloads are `cargo bench --bench workloads`.

#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use serde_json::{json, Value};

/// The environment variables that set a thread count in our stack.
const THREAD_VARS: [&str; 3] = [
    "ANTORCHA_NUM_THREADS",
    "MATMUL_NUM_THREADS",
    "RAYON_NUM_THREADS",
];

struct Options {
    threads: usize,
    quick: bool,
    only: Option<Vec<String>>,
}

impl Options {
    fn from_args() -> Options {
        let mut options = Options {
            threads: 1,
            quick: std::env::var_os("ANTORCHA_BENCH_QUICK").is_some_and(|v| v != "0"),
            only: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--threads" => match args.next().and_then(|n| n.parse().ok()) {
                    Some(n) if n > 0 => options.threads = n,
                    _ => usage(),
                },
                "--only" => match args.next() {
                    Some(list) => {
                        options.only = Some(list.split(',').map(|s| s.to_uppercase()).collect())
                    }
                    None => usage(),
                },
                _ => usage(),
            }
        }
        options
    }

    fn wants(&self, id: &str) -> bool {
        match &self.only {
            None => true,
            Some(ids) => ids.iter().any(|i| i == &id.to_uppercase()),
        }
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo run --release --example bench_workloads -- [--threads N] [--quick] [--only W1,W1B,W1-FLOOR,W2,W2-FLOOR,W3,W3B,W4,W5,W5B,W5-EVAL,W5-FLOOR,W6]"
    );
    std::process::exit(2);
}

/// The median of `samples` (mean of the middle two for an even count).
fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Runs `setup` then times `run` (seconds), one warm-up plus `repeats` times.
fn time<S>(repeats: usize, mut setup: impl FnMut() -> S, mut run: impl FnMut(&mut S)) -> Vec<f64> {
    let mut samples = Vec::with_capacity(repeats);
    for i in 0..=repeats {
        let mut state = setup();
        let start = Instant::now();
        run(&mut state);
        let seconds = start.elapsed().as_secs_f64();
        if i > 0 {
            samples.push(seconds);
        }
    }
    samples
}

/// A `/proc/self/status` field in kB (`VmHWM`, `VmRSS`), when Linux provides it.
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Resets the peak resident set size (`VmHWM`) to the current one (Linux >= 4.0).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// OS threads of this process now (`/proc/self/task`): more than one means some work ran on
/// other threads (a GEMM thread pool, DataLoader workers that are still alive, ...).
fn os_threads() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/task").ok()?.count())
}

/// One workload's JSON record: `value` is the median in `unit`, `samples` every repeat.
/// `repeats` timed training epochs of `batches` batches over `samples` samples (`epoch`
/// returns the last loss), per full 937-batch epoch (a quick run has fewer batches), with the
/// peak and starting RSS and the dataset's size.
fn training_epochs(
    id: &str,
    what: &str,
    (repeats, batches, samples): (usize, usize, usize),
    mut epoch: impl FnMut() -> f32,
) -> Value {
    let rss_before = proc_status_kb("VmRSS");
    let reset = reset_peak_rss();
    let mut last_loss = f32::NAN;
    let s = time(repeats, || (), |_| last_loss = epoch());
    let peak = proc_status_kb("VmHWM");
    let scale = (MLP_SAMPLES / BATCH) as f64 / batches as f64;
    let mut r = record(
        id,
        what,
        "s/epoch",
        true,
        s.iter().map(|t| t * scale).collect(),
    );
    r["batches_timed"] = json!(batches);
    r["last_loss"] = json!(last_loss);
    r["peak_rss_mb"] = json!(peak.map(|kb| kb as f64 / 1024.0));
    r["peak_rss_reset"] = json!(reset);
    r["rss_before_mb"] = json!(rss_before.map(|kb| kb as f64 / 1024.0));
    r["dataset_mb"] = json!(dataset_bytes(samples) as f64 / (1024.0 * 1024.0));
    r
}

fn record(id: &str, what: &str, unit: &str, lower_is_better: bool, samples: Vec<f64>) -> Value {
    json!({
        "id": id,
        "what": what,
        "unit": unit,
        "lower_is_better": lower_is_better,
        "median": median(&samples),
        "samples": samples,
        "os_threads_after": os_threads(),
    })
}

/// The 1-minute load average (`/proc/loadavg`): how busy the machine was.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The floor of a workload's GEMMs: one copy of `gemms()` per thread, each product run
/// `iters` times per repeat in every thread at once (at N threads a product counts 1/N of the
/// time: the ideal split of the work); an epoch is 60000/64 steps of them.
fn gemm_floor(threads: usize, repeats: usize, iters: usize, gemms: fn() -> Vec<Gemm>) -> Value {
    let mut copies: Vec<Vec<Gemm>> = (0..threads).map(|_| gemms()).collect();
    let mut shapes = Vec::new();
    let mut step_samples = vec![0.0; repeats];
    for i in 0..copies[0].len() {
        let s = time(
            repeats,
            || (),
            |_| {
                std::thread::scope(|scope| {
                    for copy in copies.iter_mut() {
                        let g = &mut copy[i];
                        scope.spawn(move || {
                            for _ in 0..iters {
                                g.run();
                            }
                        });
                    }
                })
            },
        );
        let per_product: Vec<f64> = s.iter().map(|t| t / (iters * threads) as f64).collect();
        for (acc, t) in step_samples.iter_mut().zip(&per_product) {
            *acc += t;
        }
        let (t, g) = (median(&per_product), &copies[0][i]);
        shapes.push(json!({"gemm": g.name, "seconds": t, "gflops": g.flops() / t / 1e9}));
    }
    let steps = MLP_SAMPLES as f64 / BATCH as f64;
    let s: Vec<f64> = step_samples.iter().map(|t| t * steps).collect();
    let mut r = record("floor", "", "s/epoch", true, s);
    r["shapes"] = json!(shapes);
    r
}

fn main() {
    let options = Options::from_args();
    let load_start = load_average();
    // Read lazily, once per process, by Antorcha, matrixmultiply (feature `threading`) and rayon.
    for var in THREAD_VARS {
        std::env::set_var(var, options.threads.to_string());
    }
    let quick = options.quick;
    let (light, heavy) = if quick { (3, 2) } else { (9, 5) };
    let mlp_samples = if quick {
        QUICK_BATCHES * BATCH
    } else {
        MLP_SAMPLES
    };
    let mut results = Vec::new();
    let progress = |id: &str| eprintln!("antorcha {id} ({} thread(s))...", options.threads);

    let linreg = LinregData::new();
    let ls = linreg.least_squares();
    let per_epoch_us =
        |s: Vec<f64>| -> Vec<f64> { s.iter().map(|t| t * 1e6 / LINREG_EPOCHS as f64).collect() };
    let linreg_check = |(a, b): (f32, f32)| {
        json!({"a": a, "b": b, "least_squares": [ls.0, ls.1],
               "c1_ok": (a as f64 - ls.0).abs() < 1e-4 && (b as f64 - ls.1).abs() < 1e-4})
    };

    if options.wants("W1") {
        progress("W1");
        let mut fit = (0.0, 0.0);
        let s = time(
            light,
            || W1::new(&linreg),
            |w| {
                w.run(LINREG_EPOCHS);
                fit = w.params();
            },
        );
        let mut r = record(
            "W1",
            "linreg, Example 3 (optim.SGD), 1000 epochs",
            "us/epoch",
            true,
            per_epoch_us(s),
        );
        r["fit"] = linreg_check(fit);
        results.push(r);
    }
    if options.wants("W1b") {
        progress("W1b");
        let mut fit = (0.0, 0.0);
        let s = time(
            light,
            || W1b::new(&linreg),
            |w| {
                w.run(LINREG_EPOCHS);
                fit = w.params();
            },
        );
        let mut r = record(
            "W1b",
            "linreg, Example 2 (manual update under no_grad)",
            "us/epoch",
            true,
            per_epoch_us(s),
        );
        r["fit"] = linreg_check(fit);
        results.push(r);
    }
    if options.wants("W1-floor") {
        progress("W1-floor");
        let mut fit = (0.0, 0.0);
        // 1000 epochs take well under a microsecond each: time 100 loops per repeat.
        let loops = 100;
        let init = W1Floor::new(&linreg);
        let (a0, b0) = (init.a, init.b);
        let s = time(
            light,
            || W1Floor::new(&linreg),
            |w| {
                for _ in 0..loops {
                    (w.a, w.b) = (a0, b0);
                    w.run(LINREG_EPOCHS);
                }
                fit = (w.a, w.b);
            },
        );
        let s = s
            .iter()
            .map(|t| t * 1e6 / (loops * LINREG_EPOCHS) as f64)
            .collect();
        let mut r = record(
            "W1-floor",
            "linreg, hand-written loop on f32 slices",
            "us/epoch",
            true,
            s,
        );
        r["fit"] = linreg_check(fit);
        results.push(r);
    }
    for (id, numel) in [("W3", 1usize), ("W3b", 1000)] {
        if options.wants(id) {
            progress(id);
            let s = time(
                light,
                || (),
                |_| {
                    std::hint::black_box(w3_chain(numel, CHAIN_OPS));
                },
            );
            let s = s.iter().map(|t| t * 1e6 / CHAIN_OPS as f64).collect();
            let what = format!("10,000-op chain on [{numel}], forward + backward");
            results.push(record(id, &what, "us/op", true, s));
        }
    }
    if options.wants("W6") {
        let check = w6_check();
        for (size, rows) in W6_SIZES {
            let x = w6_x(rows);
            for op in W6_OPS {
                let id = format!("W6-{op}-{size}");
                progress(&id);
                let s = time(light, || (), |_| w6_run(&x, op, W6_VIEWS));
                let s = s.iter().map(|t| t * 1e6 / W6_VIEWS as f64).collect();
                let what = format!("{op} of a [{rows}, 1024] f32 leaf requiring grad, recorded");
                let mut r = record(&id, &what, "us/op", true, s);
                r["grad_check"] = json!(check);
                results.push(r);
            }
        }
    }
    if options.wants("W2-floor") {
        progress("W2-floor");
        let mut r = gemm_floor(
            options.threads,
            light,
            if quick { 2 } else { 200 },
            w2_gemms,
        );
        let s = r["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .filter_map(Value::as_f64)
            .collect::<Vec<_>>();
        r["gflops"] = json!(w2_epoch_flops() / median(&s) / 1e9);
        r["what"] = json!("W2's GEMMs alone at measured sgemm rate (ndarray general_mat_mul, one stream per thread)");
        r["id"] = json!("W2-floor");
        // The first layer's input needs no gradient (PyTorch skips that product too).
        let steps = MLP_SAMPLES as f64 / BATCH as f64;
        let needed: f64 = r["shapes"]
            .as_array()
            .expect("shapes")
            .iter()
            .filter(|s| {
                s["gemm"]
                    .as_str()
                    .is_some_and(|n| !n.starts_with("fc1 grad input"))
            })
            .filter_map(|s| s["seconds"].as_f64())
            .sum();
        r["without_fc1_grad_input"] = json!(needed * steps);
        results.push(r);
    }
    if options.wants("W5-floor") {
        progress("W5-floor");
        let mut r = gemm_floor(options.threads, light, if quick { 1 } else { 10 }, w5_gemms);
        let s = r["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .filter_map(Value::as_f64)
            .collect::<Vec<_>>();
        r["gflops"] = json!(w5_epoch_flops() / median(&s) / 1e9);
        r["tflop_per_epoch"] = json!(w5_epoch_flops() / 1e12);
        r["what"] = json!("W5's GEMMs (conv as im2col over the batch) alone at measured sgemm rate (one stream per thread)");
        r["id"] = json!("W5-floor");
        results.push(r);
    }
    if options.wants("W2") || options.wants("W4") {
        eprintln!("generating the {mlp_samples} x 784 dataset...");
        let data = mlp_data(mlp_samples);
        if options.wants("W2") {
            progress("W2");
            let mut w2 = W2::new(&data);
            let batches = w2.batches();
            results.push(training_epochs(
                "W2",
                "MLP 784-256-10 epoch, SGD momentum, batch 64, loading included",
                (heavy, batches, mlp_samples),
                || w2.epoch(),
            ));
        }
        if options.wants("W4") {
            progress("W4");
            let loader = loader(&data, false);
            let mut seen = 0;
            let s = time(light, || (), |_| seen = w4_epoch(&loader));
            let s = s.iter().map(|t| seen as f64 / t / 1e6).collect();
            let mut r = record(
                "W4",
                "DataLoader epoch, 60000 x 784 f32 + i64 labels, batch 64, shuffle",
                "M samples/s",
                false,
                s,
            );
            r["samples_per_epoch"] = json!(seen);
            results.push(r);
        }
    }

    if options.wants("W5") || options.wants("W5b") || options.wants("W5-eval") {
        eprintln!("generating the {mlp_samples} x 1 x 28 x 28 dataset...");
        let data = cnn_data(mlp_samples);
        // W5 and W5b take seconds an epoch: the definitions ask for at least 3 repeats.
        let repeats = if quick { 2 } else { 3 };
        for (id, batch_norm) in [("W5", false), ("W5b", true)] {
            if !options.wants(id) {
                continue;
            }
            progress(id);
            let mut w5 = W5::new(&data, batch_norm);
            let batches = w5.batches();
            let what = if batch_norm {
                "CNN epoch with BatchNorm2d after each conv, SGD momentum, batch 64, loading included"
            } else {
                "CNN epoch (2 conv, 2 max-pool, 2 linear), SGD momentum, batch 64, loading included"
            };
            results.push(training_epochs(
                id,
                what,
                (repeats, batches, mlp_samples),
                || w5.epoch(),
            ));
        }
        if options.wants("W5-eval") {
            progress("W5-eval");
            let model = w5_eval_model();
            let n = CNN_EVAL_SAMPLES.min(mlp_samples);
            let x = data.0.narrow(0, 0, n);
            let s = time(
                light,
                || (),
                |_| {
                    std::hint::black_box(w5_eval(&model, &x));
                },
            );
            let s = s.iter().map(|t| n as f64 / t).collect();
            let mut r = record(
                "W5-eval",
                "W5's net in eval mode under no_grad, 10000 samples, batch 1000",
                "samples/s",
                false,
                s,
            );
            r["samples"] = json!(n);
            results.push(r);
        }
    }

    let out = json!({
        "system": "antorcha",
        "threads": options.threads,
        "quick": quick,
        "repeats": {"light": light, "heavy": heavy, "warmup": 1},
        "env": THREAD_VARS
            .iter()
            .map(|v| (v.to_string(), json!(std::env::var(v).ok())))
            .collect::<serde_json::Map<_, _>>(),
        "load_average": [load_start, load_average()],
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
}
