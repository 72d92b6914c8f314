//! `cargo xtask fuzz`: a mutation fuzzer on stable Rust for every parser of untrusted bytes
//! (IDX plain and gzip, `.npy`, safetensors, optimizer state). Each target starts from the
//! committed seeds in `fuzz/corpus/<corpus>/` and runs mutated inputs (bit flips, interesting
//! integers and tokens, inserts, deletes, splices) under `catch_unwind`. A panic, an
//! allocation over 256 MiB or an input running over 10 s saves the input under
//! `target/fuzz/crashes/<target>/` and fails the command.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Args;

mod alloc_guard;
mod mutate;
mod targets;

use alloc_guard::{peak_bytes, reset_peak, take_rejected, ALLOC_LIMIT};
use mutate::{mutate, Rng};
use targets::TARGETS;

/// Options of `cargo xtask fuzz`.
#[derive(Args, Debug)]
pub struct FuzzArgs {
    /// Seconds to run each target.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Run only this target (idx, idx_gz, idx_gz_inner, npy, safetensors, optim_state).
    #[arg(long)]
    target: Option<String>,
    /// Stop a target after this many inputs, even before `--secs`.
    #[arg(long)]
    max_inputs: Option<u64>,
    /// Seed of the mutation generator (runs with the same seed try the same inputs).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rewrite the seed corpus from this project's own writers instead of fuzzing.
    #[arg(long)]
    write_seeds: bool,
}

/// The workspace root (xtask lives in its `xtask/` folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// The input being run, for the allocation guard and the watchdog to save.
static CURRENT_PTR: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static CURRENT_LEN: AtomicUsize = AtomicUsize::new(0);
/// Counts inputs started; the watchdog sees it stand still.
static STARTED: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicBool = AtomicBool::new(false);
/// Where the current target's crashes go.
static CRASH_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);
static CRASH_DIR_ONCE: OnceLock<()> = OnceLock::new();
/// The message of the last panic, kept by the silent panic hook.
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Saves the current input as `<crash dir>/<kind>-<hash>.bin` and returns the path.
fn save_current(kind: &str) -> Option<PathBuf> {
    let dir = CRASH_DIR.lock().ok()?.clone()?;
    let (ptr, len) = (
        CURRENT_PTR.load(Ordering::SeqCst),
        CURRENT_LEN.load(Ordering::SeqCst),
    );
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the pointer and length describe the input slice, alive and unchanged for as long
    // as `RUNNING` is set (the loop only replaces them between inputs).
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    save_bytes(&dir, kind, bytes)
}

fn save_bytes(dir: &Path, kind: &str, bytes: &[u8]) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let hash = bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    let path = dir.join(format!("{kind}-{hash:016x}.bin"));
    std::fs::write(&path, bytes).ok()?;
    Some(path)
}

/// Saves the input that has been running for more than 10 s and exits.
fn start_watchdog() {
    CRASH_DIR_ONCE.get_or_init(|| {
        std::thread::spawn(|| {
            let (mut last, mut since) = (u64::MAX, Instant::now());
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let now = STARTED.load(Ordering::SeqCst);
                if now != last || !RUNNING.load(Ordering::SeqCst) {
                    (last, since) = (now, Instant::now());
                } else if since.elapsed() > Duration::from_secs(10) {
                    let saved = save_current("hang");
                    eprintln!("FAIL: an input ran for over 10 s (hang); saved as {saved:?}");
                    std::process::exit(1);
                }
            }
        });
    });
}

/// The seeds of a corpus folder, sorted by name.
fn load_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the seed corpus {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("a seed file"))
        .collect()
}

/// What one target's run found.
struct Outcome {
    inputs: u64,
    accepted: u64,
    secs: f64,
    peak: usize,
    failures: Vec<String>,
}

fn run_target(target: &targets::Target, args: &FuzzArgs) -> Outcome {
    let seeds = load_corpus(&root().join("fuzz").join("corpus").join(target.corpus));
    assert!(!seeds.is_empty(), "no seeds for {}", target.name);
    *CRASH_DIR.lock().expect("crash dir") = Some(
        root()
            .join("target")
            .join("fuzz")
            .join("crashes")
            .join(target.name),
    );
    let mut rng = Rng::new(args.seed ^ fnv(target.name));
    let mut out = Outcome {
        inputs: 0,
        accepted: 0,
        secs: 0.0,
        peak: 0,
        failures: Vec::new(),
    };
    reset_peak();
    let start = Instant::now();
    let deadline = Duration::from_secs_f64(args.secs);
    let mut previous: Vec<u8> = Vec::new();
    loop {
        if out.inputs & 63 == 0 && start.elapsed() >= deadline {
            break;
        }
        if args.max_inputs.is_some_and(|m| out.inputs >= m) {
            break;
        }
        // The seeds themselves first, then mutants of a seed or of the previous mutant.
        let input = if (out.inputs as usize) < seeds.len() {
            seeds[out.inputs as usize].clone()
        } else {
            let mut base = if !previous.is_empty() && rng.below(4) == 0 {
                previous.clone()
            } else {
                seeds[rng.below(seeds.len())].clone()
            };
            mutate(&mut rng, &mut base, &seeds, target.max_len);
            base
        };
        CURRENT_PTR.store(input.as_ptr() as *mut u8, Ordering::SeqCst);
        CURRENT_LEN.store(input.len(), Ordering::SeqCst);
        STARTED.fetch_add(1, Ordering::SeqCst);
        RUNNING.store(true, Ordering::SeqCst);
        let result = catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        RUNNING.store(false, Ordering::SeqCst);
        out.inputs += 1;
        let failure = match result {
            Ok(Ok(true)) => {
                out.accepted += 1;
                None
            }
            Ok(Ok(false)) => None,
            Ok(Err(broken)) => Some(format!("property failed: {broken}")),
            Err(_) => Some(format!(
                "panic: {}",
                LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default()
            )),
        };
        let failure = failure.or_else(|| {
            take_rejected().map(|size| {
                format!("an allocation of {size} bytes (over {ALLOC_LIMIT}) was asked for")
            })
        });
        if let Some(message) = failure.filter(|m| !out.failures.iter().any(|f| f.starts_with(m))) {
            let dir = CRASH_DIR.lock().expect("crash dir").clone().expect("set");
            let saved = save_bytes(&dir, "crash", &input);
            out.failures
                .push(format!("{message}; input saved as {saved:?}"));
            if out.failures.len() >= 5 {
                break;
            }
        }
        previous = input;
    }
    CURRENT_PTR.store(std::ptr::null_mut(), Ordering::SeqCst);
    out.secs = start.elapsed().as_secs_f64();
    out.peak = peak_bytes();
    out
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Runs `cargo xtask fuzz`.
pub fn main(args: &FuzzArgs) {
    if args.write_seeds {
        targets::write_seeds(&root().join("fuzz").join("corpus"));
        return;
    }
    let chosen: Vec<&targets::Target> = TARGETS
        .iter()
        .filter(|t| args.target.is_none() || args.target.as_deref() == Some(t.name))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        eprintln!(
            "unknown target {:?}; the targets are {names:?}",
            args.target.as_deref().unwrap_or("")
        );
        std::process::exit(2);
    }
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = LAST_PANIC.lock() {
            *m = info.to_string();
        }
    }));
    alloc_guard::arm(save_current);
    start_watchdog();
    println!(
        "| target | inputs | accepted | seconds | inputs/s | peak MiB | failures |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    let mut failed = false;
    for target in chosen {
        let o = run_target(target, args);
        println!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.1} | {} |",
            target.name,
            o.inputs,
            o.accepted,
            o.secs,
            o.inputs as f64 / o.secs.max(1e-9),
            o.peak as f64 / (1 << 20) as f64,
            o.failures.len()
        );
        for f in &o.failures {
            eprintln!("FAIL {}: {f}", target.name);
        }
        failed |= !o.failures.is_empty();
    }
    let _ = std::panic::take_hook();
    if failed {
        std::process::exit(1);
    }
}
