//! `cargo xtask bench`: the workloads of `docs/WORKLOADS.md` in Antorcha and, when a Python
//! with torch is found, in PyTorch, in the same run, then one table of medians and ratios at
//! each thread count.
//!
//! The Rust side is `examples/bench_workloads.rs` (the same code as the criterion benches
//! `benches/workloads.rs`), run once per thread count because Antorcha, matrixmultiply and
//! rayon read their thread counts (`ANTORCHA_NUM_THREADS`, `MATMUL_NUM_THREADS`,
//! `RAYON_NUM_THREADS`) once per process. The
//! PyTorch side is `benches/torch_bench.py` (`torch.set_num_threads`). Runs are interleaved:
//! Antorcha at 1 thread, PyTorch at 1 thread, Antorcha at 2 threads, PyTorch at 2 threads.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;
use serde_json::Value;

/// Options of `cargo xtask bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Smoke run (CI): fewer repeats, W2/W4/W5 on 8 batches (W2 and W5 still per 937-batch
    /// epoch, scaled). Its numbers are not the benchmark.
    #[arg(long)]
    pub quick: bool,
    /// Thread counts to measure, each in its own process.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Only these workloads (W1, W1b, W1-floor, W2, W2-floor, W3, W3b, W4, W5, W5b, W5-eval,
    /// W5-floor, W6), comma-separated.
    #[arg(long)]
    pub only: Option<String>,
    /// Skip PyTorch even when a Python with torch is found.
    #[arg(long)]
    pub no_torch: bool,
    /// Cargo profile of the Rust timer (`release`; CI's smoke run uses `dev` to reuse its
    /// test build).
    #[arg(long, default_value = "release")]
    pub profile: String,
    /// Also write every run's raw results (all repeats) to this JSON file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Run at the top scheduling priority of this session (Linux autogroup, needs root): on a
    /// shared machine other sessions' work then gets about 1% of the cores. Said in the notes.
    #[arg(long)]
    pub priority: bool,
}

/// The workloads in table order.
const ROWS: [&str; 24] = [
    "W1",
    "W1b",
    "W1-floor",
    "W3",
    "W3b",
    "W2",
    "W2-floor",
    "W4",
    "W5",
    "W5b",
    "W5-eval",
    "W5-floor",
    "W6-reshape-1MiB",
    "W6-transpose-1MiB",
    "W6-permute-1MiB",
    "W6-unsqueeze-1MiB",
    "W6-expand-1MiB",
    "W6-narrow-1MiB",
    "W6-reshape-64MiB",
    "W6-transpose-64MiB",
    "W6-permute-64MiB",
    "W6-unsqueeze-64MiB",
    "W6-expand-64MiB",
    "W6-narrow-64MiB",
];

/// Runs the benchmark and prints the table; exits with an error message on failure.
pub fn main(args: &BenchArgs) {
    if let Err(e) = run(args) {
        eprintln!("cargo xtask bench: {e}");
        std::process::exit(1);
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The Python that has torch: `ANTORCHA_TORCH_PYTHON`, else `python3`; `Err` says why none.
fn find_torch_python() -> Result<(String, String), String> {
    let (python, from_env) = match std::env::var("ANTORCHA_TORCH_PYTHON") {
        Ok(p) if !p.is_empty() => (p, true),
        _ => ("python3".to_string(), false),
    };
    let origin = if from_env {
        "ANTORCHA_TORCH_PYTHON"
    } else {
        "default; set ANTORCHA_TORCH_PYTHON to choose"
    };
    let out = Command::new(&python)
        .args(["-c", "import torch, numpy; print(torch.__version__)"])
        .stderr(Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let version = String::from_utf8_lossy(&o.stdout).trim().to_string();
            Ok((python, version))
        }
        Ok(_) => Err(format!("{python} ({origin}) cannot import torch and numpy")),
        Err(e) => Err(format!("{python} ({origin}) does not run: {e}")),
    }
}

/// Runs `cmd`, passing its stderr (progress, compiler output) through, and parses its stdout
/// as one JSON object.
fn run_json(mut cmd: Command, what: &str) -> Result<Value, String> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what} failed ({})", out.status));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{what}: bad JSON on stdout: {e}"))
}

fn run(args: &BenchArgs) -> Result<(), String> {
    if args.threads.is_empty() || args.threads.contains(&0) {
        return Err("--threads needs counts >= 1".into());
    }
    let root = workspace_root();
    let raised = args.priority.then(crate::priority::raise);
    let torch = if args.no_torch {
        Err("--no-torch".to_string())
    } else {
        find_torch_python()
    };
    match &torch {
        Ok((python, version)) => eprintln!("PyTorch {version} found ({python})"),
        Err(why) => eprintln!("PyTorch not found: {why}; Antorcha's column only"),
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut runs: Vec<(usize, Value, Option<Value>)> = Vec::new();
    for &threads in &args.threads {
        let n = threads.to_string();
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root)
            .args(["run", "--quiet", "--profile", &args.profile])
            .args(["--example", "bench_workloads", "--", "--threads", &n])
            .env("ANTORCHA_NUM_THREADS", &n)
            .env("MATMUL_NUM_THREADS", &n)
            .env("RAYON_NUM_THREADS", &n);
        if args.quick {
            cmd.arg("--quick");
        }
        if let Some(only) = &args.only {
            cmd.args(["--only", only]);
        }
        let rust = run_json(cmd, "the Rust workloads (examples/bench_workloads.rs)")?;
        let py = match &torch {
            Ok((python, _)) => {
                let mut cmd = Command::new(python);
                cmd.current_dir(&root)
                    .arg(root.join("benches").join("torch_bench.py"))
                    .args(["--threads", &n]);
                if args.quick {
                    cmd.arg("--quick");
                }
                if let Some(only) = &args.only {
                    cmd.args(["--only", only]);
                }
                Some(run_json(cmd, "benches/torch_bench.py")?)
            }
            Err(_) => None,
        };
        runs.push((threads, rust, py));
    }
    if let Some(path) = &args.json {
        let all: Vec<Value> = runs
            .iter()
            .flat_map(|(_, r, p)| std::iter::once(r.clone()).chain(p.clone()))
            .collect();
        let text = serde_json::to_string_pretty(&all).expect("json");
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let torch_version = torch.as_ref().ok().map(|(_, v)| v.as_str());
    print!("{}", report(&runs, torch_version, args.quick));
    match &raised {
        Some(Ok(_)) => println!(
            "- Ran at autogroup nice -20 (`--priority`): other sessions' work got about 1% of the cores."
        ),
        Some(Err(why)) => println!("- `--priority` was not applied: {why}."),
        None => {}
    }
    Ok(())
}

/// The result of workload `id` in one run's JSON.
fn find<'a>(run: &'a Value, id: &str) -> Option<&'a Value> {
    run["results"]
        .as_array()?
        .iter()
        .find(|r| r["id"].as_str() == Some(id))
}

fn median(run: Option<&Value>, id: &str) -> Option<f64> {
    find(run?, id)?["median"].as_f64()
}

/// How many times faster Antorcha is (> 1: Antorcha wins), from medians in the same unit.
fn speedup(antorcha: f64, torch: f64, lower_is_better: bool) -> f64 {
    if lower_is_better {
        torch / antorcha
    } else {
        antorcha / torch
    }
}

/// A number with 3-4 significant digits.
fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), fmt_num)
}

/// The markdown table (one row per workload, per thread count: Antorcha, PyTorch, ratio)
/// and the notes under it.
fn report(runs: &[(usize, Value, Option<Value>)], torch: Option<&str>, quick: bool) -> String {
    let mut s = String::new();
    let has_torch = runs.iter().any(|(_, _, p)| p.is_some());
    let _ = writeln!(
        s,
        "\nAntorcha vs {}: medians of the repeats after 1 warm-up{}; ratio = how many times faster Antorcha is.\n",
        torch.map_or("PyTorch (not found: Antorcha's column only)".to_string(), |v| {
            format!("PyTorch {v} (CPU)")
        }),
        if quick { " (QUICK smoke run: few repeats, small W2/W4/W5 datasets; not the benchmark)" } else { "" },
    );
    let mut header = "| workload | unit |".to_string();
    let mut rule = "|---|---|".to_string();
    for (t, _, _) in runs {
        let th = if *t == 1 { "thread" } else { "threads" };
        if has_torch {
            let _ = write!(
                header,
                " Antorcha {t} {th} | PyTorch {t} {th} | ratio {t} {th} |"
            );
            rule.push_str("---:|---:|---:|");
        } else {
            let _ = write!(header, " Antorcha {t} {th} |");
            rule.push_str("---:|");
        }
    }
    let _ = writeln!(s, "{header}\n{rule}");
    for id in ROWS {
        let Some(meta) = runs.iter().find_map(|(_, r, _)| find(r, id)) else {
            continue;
        };
        let unit = meta["unit"].as_str().unwrap_or("");
        let lower = meta["lower_is_better"].as_bool().unwrap_or(true);
        let _ = write!(s, "| {id} | {unit} |");
        for (_, rust, py) in runs {
            let a = median(Some(rust), id);
            if has_torch {
                let p = median(py.as_ref(), id);
                let ratio = match (a, p) {
                    (Some(a), Some(p)) => format!("{}x", fmt_num(speedup(a, p, lower))),
                    _ => "—".into(),
                };
                let _ = write!(s, " {} | {} | {ratio} |", fmt_opt(a), fmt_opt(p));
            } else {
                let _ = write!(s, " {} |", fmt_opt(a));
            }
        }
        s.push('\n');
    }
    // The training workloads' peak memory, as rows of their own.
    for id in ["W2", "W5", "W5b"] {
        let peak = |run: Option<&Value>| find(run?, id)?["peak_rss_mb"].as_f64();
        if !runs.iter().any(|(_, r, _)| peak(Some(r)).is_some()) {
            continue;
        }
        let _ = write!(s, "| {id} peak RSS | MiB |");
        for (_, rust, py) in runs {
            let (a, p) = (peak(Some(rust)), peak(py.as_ref()));
            if has_torch {
                let ratio = match (a, p) {
                    (Some(a), Some(p)) => format!("{}x", fmt_num(p / a)),
                    _ => "—".into(),
                };
                let _ = write!(s, " {} | {} | {ratio} |", fmt_opt(a), fmt_opt(p));
            } else {
                let _ = write!(s, " {} |", fmt_opt(a));
            }
        }
        s.push('\n');
    }
    s.push('\n');
    for note in notes(runs) {
        let _ = writeln!(s, "- {note}");
    }
    s
}

/// What the numbers do not say by themselves: threads actually used, C1, W2's and W5's memory.
fn notes(runs: &[(usize, Value, Option<Value>)]) -> Vec<String> {
    let mut notes = Vec::new();
    for (t, rust, _) in runs.iter().filter(|(t, _, _)| *t > 1) {
        let max = rust["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["os_threads_after"].as_u64())
            .max();
        if max == Some(1) {
            notes.push(format!(
                "Antorcha at {t} threads ran on 1 OS thread throughout (no GEMM thread pool or other \
                 worker threads were started): no multi-threaded path yet, so its {t}-thread column \
                 times the same single-threaded code."
            ));
        } else if let Some(m) = max {
            notes.push(format!(
                "Antorcha at {t} threads: up to {m} OS threads were alive."
            ));
        }
    }
    let loads: Vec<String> = runs
        .iter()
        .flat_map(|(t, r, p)| std::iter::once(r).chain(p).map(move |run| (t, run)))
        .filter_map(|(t, run)| {
            let l = run["load_average"].as_array()?;
            let (a, b) = (l.first()?.as_f64()?, l.get(1)?.as_f64()?);
            Some(format!("{} {t}t {a:.1}-{b:.1}", run["system"].as_str()?))
        })
        .collect();
    if !loads.is_empty() {
        notes.push(format!(
            "1-minute load average at the start and end of each run (2 cores; above 2 means \
             other work competed for the cores): {}.",
            loads.join(", ")
        ));
    }
    let floors: Vec<String> = runs
        .iter()
        .filter_map(|(t, rust, _)| {
            let f = find(rust, "W2-floor")?["without_fc1_grad_input"].as_f64()?;
            Some(format!("{} s at {t} thread(s)", fmt_num(f)))
        })
        .collect();
    if !floors.is_empty() {
        notes.push(format!(
            "W2-floor counts 3 GEMMs per layer as WORKLOADS.md does; without the first layer's \
             input gradient (which W2 never computes) Antorcha's floor is {}. At N threads it \
             is N independent GEMM streams' throughput (the ideal split); PyTorch's is torch.mm \
             with N threads.",
            floors.join(", ")
        ));
    }
    if let Some((_, rust, _)) = runs.first() {
        for id in ["W1", "W1b", "W1-floor"] {
            if let Some(fit) = find(rust, id).map(|r| &r["fit"]) {
                if fit["c1_ok"].as_bool() == Some(false) {
                    notes.push(format!(
                        "C1 FAILED: {id}'s fit a = {}, b = {} is not the least-squares fit {} (1e-4).",
                        fit["a"], fit["b"], fit["least_squares"]
                    ));
                }
            }
        }
        for (id, budget) in [("W2", 100.0), ("W5", 200.0), ("W5b", 200.0)] {
            let Some(w) = find(rust, id) else { continue };
            if let (Some(peak), Some(data)) = (w["peak_rss_mb"].as_f64(), w["dataset_mb"].as_f64())
            {
                notes.push(format!(
                    "{id} peak RSS {peak:.0} MiB for a {data:.0} MiB dataset (target: at most {:.0} MiB, \
                     dataset + {budget:.0} MiB){}.",
                    data + budget,
                    if w["peak_rss_reset"].as_bool() == Some(false) {
                        "; the peak could not be reset, so it covers the whole process"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(system: &str, w1: f64, w4: f64) -> Value {
        json!({"system": system, "results": [
            {"id": "W1", "unit": "us/epoch", "lower_is_better": true, "median": w1,
             "os_threads_after": 1, "fit": {"a": 1.0, "b": 2.0, "c1_ok": true}},
            {"id": "W4", "unit": "M samples/s", "lower_is_better": false, "median": w4,
             "os_threads_after": 1},
        ]})
    }

    #[test]
    fn ratio_is_how_many_times_faster_antorcha_is() {
        assert_eq!(speedup(2.0, 120.0, true), 60.0);
        assert_eq!(speedup(2.0, 0.25, false), 8.0);
    }

    #[test]
    fn table_with_and_without_torch() {
        let runs = vec![
            (
                1,
                run("antorcha", 2.0, 2.0),
                Some(run("pytorch", 120.0, 0.25)),
            ),
            (
                2,
                run("antorcha", 4.0, 3.0),
                Some(run("pytorch", 100.0, 0.3)),
            ),
        ];
        let t = report(&runs, Some("2.15.0"), false);
        assert!(
            t.contains("| W1 | us/epoch | 2.00 | 120 | 60.0x | 4.00 | 100 | 25.0x |"),
            "{t}"
        );
        assert!(
            t.contains("| W4 | M samples/s | 2.00 | 0.250 | 8.00x | 3.00 | 0.300 | 10.0x |"),
            "{t}"
        );
        assert!(t.contains("ran on 1 OS thread throughout"), "{t}");
        assert!(!t.contains("W1-floor"), "{t}");

        let runs = vec![(1, run("antorcha", 2.0, 2.0), None)];
        let t = report(&runs, None, true);
        assert!(t.contains("not found: Antorcha's column only"), "{t}");
        assert!(
            t.contains("| workload | unit | Antorcha 1 thread |\n"),
            "{t}"
        );
        assert!(t.contains("| W1 | us/epoch | 2.00 |\n"), "{t}");
        assert!(t.contains("QUICK"), "{t}");
    }

    #[test]
    fn numbers_keep_three_or_four_digits() {
        assert_eq!(fmt_num(123.456), "123");
        assert_eq!(fmt_num(12.345), "12.3");
        assert_eq!(fmt_num(1.2345), "1.23");
        assert_eq!(fmt_num(0.12345), "0.123");
        assert_eq!(fmt_num(0.0012345), "1.23e-3");
        assert_eq!(fmt_opt(None), "—");
    }
}
