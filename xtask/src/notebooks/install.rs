//! What running the notebooks needs, installed when missing, outside the repository: the Rust
//! kernel for Jupyter (`evcxr_jupyter`, with `cargo install --locked`) and a Python venv with
//! `nbconvert` (and JupyterLab, to open the notebooks), where the kernel is registered.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The evcxr_jupyter release installed when none is found (`--locked`: its own lock file).
pub const EVCXR_VERSION: &str = "0.22.0";
/// The Python packages of the venv: nbconvert executes the notebooks, JupyterLab opens them.
const NBCONVERT: &str = "nbconvert>=7,<8";
const JUPYTERLAB: &str = "jupyterlab>=4,<5";

/// The installed tools.
pub struct Tools {
    /// The venv (its `bin/jupyter` runs nbconvert and JupyterLab).
    pub venv: PathBuf,
    /// The kernel program.
    pub evcxr: PathBuf,
}

impl Tools {
    /// A program of the venv (`jupyter`, `python`).
    pub fn venv_program(&self, name: &str) -> PathBuf {
        venv_bin(&self.venv).join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    }
}

/// Where the venv lives: `ANTORCHA_NB_VENV`, else `antorcha/nb-venv` in the user's cache
/// folder (`XDG_CACHE_HOME`, else `~/.cache`).
pub fn venv_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("ANTORCHA_NB_VENV") {
        return Ok(PathBuf::from(dir));
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => home()?.join(".cache"),
    };
    Ok(cache.join("antorcha").join("nb-venv"))
}

fn home() -> Result<PathBuf, String> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .ok_or_else(|| "neither HOME nor USERPROFILE is set: set ANTORCHA_NB_VENV".to_string())
}

fn venv_bin(venv: &Path) -> PathBuf {
    venv.join(if cfg!(windows) { "Scripts" } else { "bin" })
}

/// `program` on `PATH`, if there.
fn on_path(program: &str) -> Option<PathBuf> {
    let name = format!("{program}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
}

/// Cargo's `bin` folder, where `cargo install` puts programs.
fn cargo_bin() -> Result<PathBuf, String> {
    let cargo_home = match std::env::var_os("CARGO_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => home()?.join(".cargo"),
    };
    Ok(cargo_home.join("bin"))
}

/// Runs `command`, its output going to the terminal; an error names it when it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("notebooks: running {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// `evcxr_jupyter` on `PATH` or in Cargo's `bin`, else installed there.
fn evcxr() -> Result<PathBuf, String> {
    let name = format!("evcxr_jupyter{}", std::env::consts::EXE_SUFFIX);
    let installed = cargo_bin()?.join(&name);
    if let Some(found) =
        on_path("evcxr_jupyter").or_else(|| installed.is_file().then(|| installed.clone()))
    {
        return Ok(found);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    run(Command::new(cargo).args([
        "install",
        "--locked",
        "evcxr_jupyter",
        "--version",
        EVCXR_VERSION,
    ]))?;
    if installed.is_file() {
        Ok(installed)
    } else {
        Err(format!(
            "cargo install evcxr_jupyter succeeded but {} is not there",
            installed.display()
        ))
    }
}

/// The venv with nbconvert (and JupyterLab when `lab`), created or completed as needed.
fn venv(lab: bool) -> Result<PathBuf, String> {
    let venv = venv_dir()?;
    let bin = venv_bin(&venv);
    let exe = |name: &str| bin.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !exe("python").is_file() {
        let python = std::env::var_os("PYTHON").unwrap_or_else(|| OsString::from("python3"));
        run(Command::new(python).arg("-m").arg("venv").arg(&venv))?;
    }
    let mut missing = Vec::new();
    if !exe("jupyter-nbconvert").is_file() {
        missing.push(NBCONVERT);
    }
    if lab && !exe("jupyter-lab").is_file() {
        missing.push(JUPYTERLAB);
    }
    if !missing.is_empty() {
        run(Command::new(exe("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&missing))?;
    }
    Ok(venv)
}

/// Registers the kernel in the venv (`share/jupyter/kernels/rust`, which the venv's Jupyter
/// searches), as `evcxr_jupyter --install` does in the user's Jupyter folder; nothing is
/// written outside the venv.
fn register_kernel(venv: &Path, evcxr: &Path) -> Result<(), String> {
    let dir = venv
        .join("share")
        .join("jupyter")
        .join("kernels")
        .join("rust");
    let spec = serde_json::json!({
        "argv": [evcxr.to_string_lossy(), "--control_file", "{connection_file}"],
        "display_name": "Rust",
        "language": "rust",
        "interrupt_mode": "message",
    });
    let text = serde_json::to_string_pretty(&spec).expect("a JSON value") + "\n";
    let path = dir.join("kernel.json");
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Installs what is missing: evcxr_jupyter, the venv (with JupyterLab when `lab`), the kernel
/// registered in it.
pub fn ensure(lab: bool) -> Result<Tools, String> {
    let evcxr = evcxr()?;
    let venv = venv(lab)?;
    register_kernel(&venv, &evcxr)?;
    Ok(Tools { venv, evcxr })
}
