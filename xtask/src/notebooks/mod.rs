//! `cargo xtask notebooks [--execute]`: the Jupyter notebooks of `notebooks/`, in Rust (the
//! evcxr kernel). Installs what is missing (see [`install`]), then either checks the committed
//! notebooks' outputs or, with `--execute`, runs every notebook with `jupyter nbconvert
//! --execute`, checks what it printed and drew (see [`check`]) and writes the executed notebook
//! back, so the committed notebooks carry their outputs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Args;

pub mod check;
pub mod install;

use check::Expect;

/// The notebooks and what each must show.
pub const NOTEBOOKS: [(&str, Expect); 3] = [
    (
        "construyendo_redes.ipynb",
        Expect {
            min_pictures: 8,
            example3: true,
        },
    ),
    (
        "building_networks.ipynb",
        Expect {
            min_pictures: 8,
            example3: true,
        },
    ),
    (
        "fashion_mnist.ipynb",
        Expect {
            min_pictures: 5,
            example3: false,
        },
    ),
];

/// Options of `cargo xtask notebooks`.
#[derive(Args, Debug)]
pub struct NotebooksArgs {
    /// Execute every notebook (jupyter nbconvert --execute), check its outputs and write it
    /// back with them; without it, install what is missing (JupyterLab too) and check the
    /// committed outputs.
    #[arg(long)]
    pub execute: bool,
    /// Only install what `--execute` needs (the kernel, the venv with nbconvert) and stop;
    /// `.ci/run` does this in the background while its other checks build.
    #[arg(long, conflicts_with_all = ["execute", "only"])]
    pub install_only: bool,
    /// Only this notebook (its file name).
    #[arg(long, value_name = "NAME")]
    pub only: Option<String>,
    /// Seconds a cell may run.
    #[arg(long, default_value_t = 1800)]
    pub timeout: u64,
}

/// The workspace's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// The target folder (`CARGO_TARGET_DIR` when set).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"))
}

/// Cargo's settings for the kernel's builds: the dependencies (Antorcha and what it uses) at
/// evcxr's default `opt-level = 2` whatever a notebook's `:opt` says, which then sets the level
/// of the notebook's own code only. All three notebooks thus share one build of Antorcha
/// (`:opt 0` would otherwise build it and its dependencies a second time, unoptimised); the
/// outputs do not change, the arithmetic being the same at every level. Build scripts and
/// proc-macros stay unoptimised, as in Cargo's default profiles.
const KERNEL_CARGO_CONFIG: &str = "\
[profile.dev.package.\"*\"]
opt-level = 2

[profile.dev.build-override]
opt-level = 0
";

/// The folder the kernel builds in (`target/notebooks-kernel/build`), kept between notebooks
/// and runs, with [`KERNEL_CARGO_CONFIG`] in `.cargo/config.toml` above it (evcxr writes its own
/// `.cargo/config.toml` inside it; Cargo reads both).
fn kernel_build_dir(target: &Path) -> Result<PathBuf, String> {
    let base = target.join("notebooks-kernel");
    let config_dir = base.join(".cargo");
    let build = base.join("build");
    for dir in [&config_dir, &build] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let config = config_dir.join("config.toml");
    if std::fs::read_to_string(&config).ok().as_deref() != Some(KERNEL_CARGO_CONFIG) {
        std::fs::write(&config, KERNEL_CARGO_CONFIG)
            .map_err(|e| format!("{}: {e}", config.display()))?;
    }
    Ok(build)
}

/// Reads and checks one notebook file.
fn check_file(path: &Path, expect: Expect) -> Result<check::Summary, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("cannot read it: {e}")])?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| vec![format!("not JSON: {e}")])?;
    check::check(&json, expect)
}

fn describe(summary: &check::Summary) -> String {
    let mut s = format!(
        "{} code cells, {} pictures",
        summary.code_cells, summary.pictures
    );
    if let Some((a, b)) = summary.example3 {
        s.push_str(&format!(", Example 3: a = {a}, b = {b}"));
    }
    s
}

/// Runs `notebook` (in `notebooks/`, which is the kernel's working folder, so its
/// `:dep antorcha = { path = ".." }` finds the workspace) into `out_dir`. The kernel builds in
/// `kernel_dir` (`EVCXR_TMPDIR`, see [`kernel_build_dir`]) rather than in a new temporary
/// folder, so the notebooks share one build of Antorcha and its dependencies and a later run
/// reuses it.
fn execute(
    tools: &install::Tools,
    notebook: &Path,
    out_dir: &Path,
    kernel_dir: &Path,
    timeout: u64,
) -> Result<PathBuf, String> {
    let mut command = Command::new(tools.venv_program("jupyter"));
    command
        .env("EVCXR_TMPDIR", kernel_dir)
        .arg("nbconvert")
        .args(["--to", "notebook", "--execute"])
        .arg("--ExecutePreprocessor.kernel_name=rust")
        // Run every cell even after an error: the checks then name each failing cell.
        .arg("--allow-errors")
        .arg(format!("--ExecutePreprocessor.timeout={timeout}"))
        // No timestamps in the cells' metadata: a re-run changes only what the code changed.
        .arg("--ExecutePreprocessor.record_timing=False")
        .arg("--output-dir")
        .arg(out_dir)
        .arg(notebook);
    let shown = format!("jupyter nbconvert --execute {}", notebook.display());
    let status = command
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !status.success() {
        return Err(format!("{shown} failed ({status})"));
    }
    Ok(out_dir.join(notebook.file_name().expect("a notebook file")))
}

/// Executes `path` into `out_dir`, checks the executed copy and, when it passes, writes it
/// over `path`.
fn execute_and_check(
    tools: &install::Tools,
    name: &str,
    expect: Expect,
    path: &Path,
    out_dir: &Path,
    kernel_dir: &Path,
    timeout: u64,
) -> Result<check::Summary, Vec<String>> {
    let start = Instant::now();
    let executed = execute(tools, path, out_dir, kernel_dir, timeout).map_err(|e| vec![e])?;
    println!("{name}: executed in {:.0} s", start.elapsed().as_secs_f64());
    let summary = check_file(&executed, expect).inspect_err(|_| {
        println!("{name}: the executed copy is {}", executed.display());
    })?;
    std::fs::copy(&executed, path)
        .map_err(|e| vec![format!("cannot write {}: {e}", path.display())])?;
    Ok(summary)
}

/// `cargo xtask notebooks`.
pub fn main(args: &NotebooksArgs) {
    if let Err(e) = run(args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &NotebooksArgs) -> Result<(), String> {
    let root = root();
    let dir = root.join("notebooks");
    let selected: Vec<(&str, Expect)> = NOTEBOOKS
        .iter()
        .copied()
        .filter(|(name, _)| args.only.as_deref().is_none_or(|only| only == *name))
        .collect();
    if selected.is_empty() {
        let names: Vec<&str> = NOTEBOOKS.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "--only {:?}: no such notebook; they are {}",
            args.only.as_deref().unwrap_or(""),
            names.join(", ")
        ));
    }
    let tools = install::ensure(!args.execute && !args.install_only)?;
    println!(
        "notebooks: kernel {}, Jupyter in {}",
        tools.evcxr.display(),
        tools.venv.display()
    );
    if args.install_only {
        return Ok(());
    }
    let target = target_dir(&root);
    let out_dir = target.join("notebooks-executed");
    let kernel_dir = if args.execute {
        Some(kernel_build_dir(&target)?)
    } else {
        None
    };
    let mut failed = Vec::new();
    for (name, expect) in selected {
        let path = dir.join(name);
        let checked = match &kernel_dir {
            Some(kernel_dir) => {
                std::fs::create_dir_all(&out_dir)
                    .map_err(|e| format!("{}: {e}", out_dir.display()))?;
                execute_and_check(
                    &tools,
                    name,
                    expect,
                    &path,
                    &out_dir,
                    kernel_dir,
                    args.timeout,
                )
            }
            None => check_file(&path, expect),
        };
        match checked {
            Ok(summary) => println!("{name}: ok ({})", describe(&summary)),
            Err(problems) => {
                for p in &problems {
                    println!("{name}: {p}");
                }
                failed.push(name);
            }
        }
    }
    if !failed.is_empty() {
        return Err(format!(
            "notebooks that failed their checks: {}",
            failed.join(", ")
        ));
    }
    if !args.execute {
        println!(
            "open them with: {} lab notebooks/",
            tools.venv_program("jupyter").display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed notebooks carry outputs that pass the checks `--execute` makes.
    #[test]
    fn the_committed_notebooks_carry_checked_outputs() {
        let dir = root().join("notebooks");
        for (name, expect) in NOTEBOOKS {
            if let Err(problems) = check_file(&dir.join(name), expect) {
                panic!("{name}:\n{}", problems.join("\n"));
            }
        }
    }
}
