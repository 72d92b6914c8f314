//! What `fashion_mnist` reads and writes for the same-seed check (C4 of docs/WORKLOADS.md):
//! `--log-steps FILE` (the loss of every optimizer step as CSV `step,loss`, like
//! `benches/c4_torch.py --log-steps`) and `--load FILE` (weights from `.safetensors` or from a
//! PyTorch `.pt` written by `torch.save(model.state_dict(), f)`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use antorcha::nn::{load_pt, load_safetensors, Module};

type Error = Box<dyn std::error::Error>;

/// A CSV of `step,loss`, one line per optimizer step, steps counted from 1.
pub struct StepLog {
    out: BufWriter<File>,
    step: usize,
}

impl StepLog {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path) -> Result<StepLog, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut out = BufWriter::new(file);
        writeln!(out, "step,loss")?;
        Ok(StepLog { out, step: 0 })
    }

    /// Logs the next step's loss (shortest form that reads back to the same `f32`).
    pub fn log(&mut self, loss: f32) -> Result<(), Error> {
        self.step += 1;
        writeln!(self.out, "{},{loss}", self.step)?;
        Ok(())
    }

    /// Writes out what is buffered.
    pub fn finish(mut self) -> Result<(), Error> {
        self.out.flush()?;
        Ok(())
    }
}

/// Loads `model`'s parameters from `path`: a `.pt` file (PyTorch's `torch.save`, read as
/// `torch.load(weights_only=True)` reads it) or safetensors, by the file's extension, with
/// `load_state_dict(strict=True)`'s checks.
pub fn load_weights<M: Module<f32> + ?Sized>(model: &M, path: &Path) -> Result<(), Error> {
    let is_pt = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("pt" | "pth" | "bin")
    );
    if is_pt {
        load_pt(model, path)?;
    } else {
        load_safetensors(model, path)?;
    }
    Ok(())
}
