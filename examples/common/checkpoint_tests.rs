//! Kill and resume: runs of the example killed with SIGKILL at random moments (and once in the
//! middle of a checkpoint write), each resumed with `--resume`, end with weights bit-identical
//! to an uninterrupted run's.
//!
//! Each run is a child process: this test binary, running only [`child_run`] with the run's
//! options in an environment variable (the global generator is per process, so runs in threads
//! of one process would disturb one another).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use clap::Parser;
use rand::Rng;

const CHILD_ARGS: &str = "ANTORCHA_FASHION_CHILD_ARGS";

/// Not a test on its own: the body of each child process.
#[test]
#[ignore = "run as a child process by killed_runs_resume_to_bit_identical_weights"]
fn child_run() {
    let args = std::env::var(CHILD_ARGS).expect("the run's options");
    let args =
        crate::Args::parse_from(std::iter::once("fashion_mnist").chain(args.split('\u{1f}')));
    crate::run(&args).unwrap();
}

fn spawn(args: &[String], pause_ms: Option<u64>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "checkpoint::tests::child_run",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ARGS, args.join("\u{1f}"))
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if let Some(ms) = pause_ms {
        cmd.env("ANTORCHA_CHECKPOINT_PAUSE_MS", ms.to_string());
    }
    cmd.spawn().unwrap()
}

fn run_to_end(args: &[String]) -> String {
    let out = spawn(args, None).wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    text
}

fn options(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--synthetic",
        "--synthetic-size",
        "96",
        "--batch-size",
        "32",
        "--epochs",
        "3",
        "--seed",
        "5",
        "--threads",
        "1",
        "--out",
        &dir.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn weight_bits(path: &Path) -> Vec<(String, Vec<u32>)> {
    antorcha::nn::read_safetensors::<f32>(path)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.to_vec().iter().map(|x| x.to_bits()).collect()))
        .collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn killed_runs_resume_to_bit_identical_weights() {
    let root: PathBuf =
        std::env::temp_dir().join(format!("antorcha_kill_resume_{}", std::process::id()));
    let (reference, resumed) = (root.join("reference"), root.join("resumed"));
    // A folder left by an earlier run with the same process id would be resumed from.
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&reference).unwrap();
    std::fs::create_dir_all(&resumed).unwrap();

    let start = Instant::now();
    run_to_end(&options(&reference, &[]));
    let whole = start.elapsed();

    let ck = resumed.join("ck");
    let ck_s = ck.display().to_string();
    let args = options(&resumed, &["--checkpoint-dir", &ck_s, "--resume"]);

    // Killed in the middle of its first checkpoint write: no checkpoint is there, only the
    // temporary folder.
    let mut child = spawn(&args, Some(5_000));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().starts_with("checkpoint: writing epoch-000001")));
    child.kill().unwrap();
    child.wait().unwrap();
    let left = entries(&ck);
    assert!(
        left.len() == 1 && left[0].starts_with(".epoch-000001.tmp-"),
        "{left:?}"
    );

    // Killed once epoch 2 is reported: the checkpoint of epoch 1 is complete by then (it is
    // written before epoch 2 starts), so the next run resumes from the middle.
    let mut child = spawn(&args, None);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().starts_with("epoch 2/3:")));
    child.kill().unwrap();
    child.wait().unwrap();
    let left = entries(&ck);
    assert!(left.contains(&"epoch-000001".to_string()), "{left:?}");
    assert!(!left.contains(&"epoch-000003".to_string()), "{left:?}");

    // Then killed at random moments of a run's length.
    let mut rng = rand::rng();
    let mut outputs = Vec::new();
    for _ in 0..3 {
        let after = whole.mul_f64(rng.random_range(0.0..0.7));
        let mut child = spawn(&args, None);
        std::thread::sleep(after);
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        println!("killed after {after:?}; checkpoints: {:?}", entries(&ck));
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let last = run_to_end(&args);
    outputs.push(last.clone());
    assert!(
        outputs
            .iter()
            .any(|o| o.contains("resuming from")
                && (o.contains("(epoch 1,") || o.contains("(epoch 2,"))),
        "no run resumed from the middle: {outputs:?}"
    );
    assert_eq!(
        weight_bits(&resumed.join("mlp.safetensors")),
        weight_bits(&reference.join("mlp.safetensors")),
        "{last}"
    );

    // The last run's checkpoint is the newest, complete, with the usual permissions; the
    // temporary folders of killed runs are gone.
    let left = entries(&ck);
    assert_eq!(
        left.last().map(String::as_str),
        Some("epoch-000003"),
        "{left:?}"
    );
    assert!(left.iter().all(|n| !n.starts_with('.')), "{left:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        // What `File::create` gives under this process's umask (0o644 under the usual 022).
        let reference = root.join("reference-mode");
        std::fs::File::create(&reference).unwrap();
        for f in ["model.safetensors", "state.json"] {
            let m = mode(&ck.join("epoch-000003").join(f));
            assert_eq!(m, mode(&reference), "{f}");
        }
    }

    // Resuming a finished run trains nothing more and writes the same weights.
    let again = run_to_end(&args);
    assert!(
        again.contains("resuming from") && again.contains("epoch 3"),
        "{again}"
    );
    assert_eq!(
        weight_bits(&resumed.join("mlp.safetensors")),
        weight_bits(&reference.join("mlp.safetensors"))
    );
    // Other options than the checkpoint's are refused.
    let other = options(
        &resumed,
        &["--checkpoint-dir", &ck_s, "--resume", "--lr", "0.5"],
    );
    let out = spawn(&other, None).wait_with_output().unwrap();
    assert!(!out.status.success());
    std::fs::remove_dir_all(&root).unwrap();
}
