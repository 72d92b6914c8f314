//! Resumable training for the `fashion_mnist` example: `--checkpoint-dir DIR` writes a
//! checkpoint after every epoch, `--resume` continues from the newest complete one.
//!
//! A checkpoint is a folder `DIR/epoch-NNNNNN/` with the model's weights
//! (`model.safetensors`) and the rest of the training state (`state.json`: epoch, optimizer
//! step count, the optimizer's state, the curves so far, the global random generator's state,
//! and checks on the run's options). It is written as a hidden temporary folder, every file
//! written by nn's atomic writer (fsynced, with the permissions `File::create` gives: 0644 under
//! the usual umask) and the folder fsynced, then renamed into place (and the parent fsynced): a
//! checkpoint is there whole or not at all, whenever the process dies. The two newest
//! checkpoints are kept.
//!
//! Random state: as in PyTorch, every loader's epoch order comes from the global generator
//! (a seed drawn from it per epoch), so the checkpoint saves that generator's state after the
//! epoch (`torch.get_rng_state()`) and a resume restores it. A resume also checks that
//! `manual_seed`, the data and the model's initialisation left the generator where they left
//! it in the first run (the same options and data).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use antorcha::nn::{load_safetensors, save_safetensors, write_atomic, Sequential};
use antorcha::optim::{Optimizer, OptimizerState};
use antorcha::tensor::{with_global_rng, Generator};
use serde::{Deserialize, Serialize};

use crate::{Args, Error, History};

/// The training state besides the weights, as `state.json`.
#[derive(Debug, Serialize, Deserialize)]
struct TrainingState {
    /// Epochs finished.
    epoch: usize,
    /// Optimizer steps taken.
    step: u64,
    /// The options that shape the run (seed, data, batch size, learning rate): a resume with
    /// other ones is an error.
    run: String,
    /// A draw from a copy of the global generator as training starts.
    global_rng_check: u64,
    /// The global generator after the epoch (`torch.get_rng_state()`): the loaders' next
    /// orders come from it.
    global_rng: Vec<u32>,
    /// `optimizer.state_dict()`.
    optimizer: OptimizerState,
    train_loss: Vec<f64>,
    test_loss: Vec<f64>,
    accuracy: Vec<f64>,
    seconds: Vec<f64>,
}

/// Where a run starts and what it saves after each epoch.
pub struct Session {
    dir: Option<PathBuf>,
    run: String,
    global_rng_check: u64,
    /// The first epoch to train (1 for a fresh run).
    pub first_epoch: usize,
    /// Optimizer steps already taken.
    pub step: u64,
}

/// The options a resumed run must share with the run that wrote the checkpoint.
fn run_options(args: &Args) -> String {
    format!(
        "model {:?} seed {} data {} synthetic {} {} quick {} batch {} optimizer {:?} lr {:e} momentum {:e}",
        args.model,
        args.seed,
        args.data_dir.display(),
        args.synthetic,
        args.synthetic_size,
        args.quick,
        args.batch_size,
        args.optimizer,
        args.lr,
        args.momentum
    )
}

impl Session {
    /// Called once the data, model, loader and optimizer are built: with `--resume` and a
    /// checkpoint in `--checkpoint-dir`, loads the weights, the optimizer state and the curves
    /// and restores the global generator; otherwise starts at epoch 1.
    pub fn start<O: Optimizer<f32> + ?Sized>(
        args: &Args,
        model: &Sequential,
        optimizer: &mut O,
        history: &mut History,
    ) -> Result<Self, Error> {
        let mut session = Session {
            dir: args.checkpoint_dir.clone(),
            run: run_options(args),
            global_rng_check: with_global_rng(|g| g.clone().uniform_f64().to_bits()),
            first_epoch: 1,
            step: 0,
        };
        let Some(dir) = &session.dir else {
            if args.resume {
                return Err("--resume needs --checkpoint-dir".into());
            }
            return Ok(session);
        };
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !args.resume {
            return Ok(session);
        }
        let Some(path) = newest(dir)? else {
            println!(
                "no checkpoint in {} yet: starting at epoch 1",
                dir.display()
            );
            return Ok(session);
        };
        let state_path = path.join("state.json");
        let text =
            std::fs::read(&state_path).map_err(|e| format!("{}: {e}", state_path.display()))?;
        let state: TrainingState =
            serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", state_path.display()))?;
        if state.run != session.run {
            return Err(format!(
                "{} was written by a run with options \"{}\", this one has \"{}\"",
                path.display(),
                state.run,
                session.run
            )
            .into());
        }
        if state.global_rng_check != session.global_rng_check {
            return Err(format!(
                "{}: the global random generator is not where the checkpoint's run had it",
                path.display()
            )
            .into());
        }
        load_safetensors(model, path.join("model.safetensors"))?;
        optimizer.load_state(&state.optimizer)?;
        let global = Generator::from_state(&state.global_rng)
            .ok_or_else(|| format!("{}: not a generator state", state_path.display()))?;
        with_global_rng(|g| *g = global);
        history.train_loss = state.train_loss;
        history.test_loss = state.test_loss;
        history.accuracy = state.accuracy;
        history.seconds = state.seconds;
        session.first_epoch = state.epoch + 1;
        session.step = state.step;
        println!(
            "resuming from {} (epoch {}, step {})",
            path.display(),
            state.epoch,
            state.step
        );
        Ok(session)
    }

    /// Writes the checkpoint of a finished `epoch` (with `--checkpoint-dir`).
    pub fn after_epoch<O: Optimizer<f32> + ?Sized>(
        &self,
        epoch: usize,
        step: u64,
        model: &Sequential,
        optimizer: &O,
        history: &History,
    ) -> Result<(), Error> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let state = TrainingState {
            epoch,
            step,
            run: self.run.clone(),
            global_rng_check: self.global_rng_check,
            global_rng: with_global_rng(|g| g.state()),
            optimizer: optimizer.state(),
            train_loss: history.train_loss.clone(),
            test_loss: history.test_loss.clone(),
            accuracy: history.accuracy.clone(),
            seconds: history.seconds.clone(),
        };
        save(dir, &state, model).map_err(|e| format!("checkpoint in {}: {e}", dir.display()))?;
        Ok(())
    }
}

const PREFIX: &str = "epoch-";

/// The newest complete checkpoint folder in `dir` (temporary folders start with a dot).
fn newest(dir: &Path) -> Result<Option<PathBuf>, Error> {
    Ok(checkpoints(dir)?.pop().map(|(_, p)| p))
}

/// The complete checkpoints in `dir`, oldest first.
fn checkpoints(dir: &Path) -> Result<Vec<(usize, PathBuf)>, Error> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(epoch) = name.strip_prefix(PREFIX).and_then(|n| n.parse().ok()) {
            found.push((epoch, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Fsyncs a folder, so that the names created or renamed in it are on disk.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes the checkpoint of `state.epoch` atomically: a hidden temporary folder, fsynced, then
/// renamed to `epoch-NNNNNN`; then removes older checkpoints (all but the two newest) and any
/// temporary folder a killed run left.
fn save(dir: &Path, state: &TrainingState, model: &Sequential) -> Result<(), Error> {
    let name = format!("{PREFIX}{:06}", state.epoch);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir(&tmp)?;
    // A test hook: say when a write starts and make it last, so a test can kill the process
    // in the middle of one.
    let pause = std::env::var("ANTORCHA_CHECKPOINT_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    if pause.is_some() {
        println!("checkpoint: writing {name}");
        std::io::stdout().flush()?;
    }
    // Both writes (nn's atomic writer) fsync their file and the temporary folder.
    save_safetensors(model, tmp.join("model.safetensors"))?;
    if let Some(ms) = pause {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    write_atomic(tmp.join("state.json"), &serde_json::to_vec(state)?)?;
    let target = dir.join(&name);
    if target.exists() {
        // A run without --resume over old checkpoints: the older complete ones stay meanwhile.
        let old = dir.join(format!(".{name}.old-{}", std::process::id()));
        std::fs::rename(&target, &old)?;
        std::fs::rename(&tmp, &target)?;
        std::fs::remove_dir_all(&old)?;
    } else {
        std::fs::rename(&tmp, &target)?;
    }
    sync_dir(dir)?;
    let all = checkpoints(dir)?;
    for (_, old) in all.iter().take(all.len().saturating_sub(2)) {
        std::fs::remove_dir_all(old)?;
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let n = entry.file_name().to_string_lossy().into_owned();
        if n.starts_with(&format!(".{PREFIX}")) && (n.contains(".tmp-") || n.contains(".old-")) {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    sync_dir(dir)?;
    Ok(())
}

#[cfg(all(test, unix))]
#[path = "checkpoint_tests.rs"]
mod tests;
