//! Files that appear whole or not at all: written to a temporary file beside the target,
//! fsynced, then renamed over it (and the folder fsynced), so a reader or a crash sees either
//! the old file or the new one, never a part. Weights ([`save_safetensors`]) and the
//! `fashion_mnist` example's checkpoints are written this way.
//!
//! [`save_safetensors`]: crate::save_safetensors

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{NnError, Result};

/// Writes `bytes` to `path` atomically: a temporary file in the same folder is written and
/// fsynced, then renamed to `path`, and the folder is fsynced. If anything fails the temporary
/// file is removed and an existing `path` is left as it was.
///
/// A new file gets the permissions `File::create` would give it (`0o666` less the process's
/// umask: `0o644` under the usual `022`); a file that replaces an existing one keeps that
/// one's permissions, as writing over it with `File::create` would.
///
/// ```
/// let path = std::env::temp_dir().join(format!("antorcha_atomic_doc_{}", std::process::id()));
/// antorcha_nn::write_atomic(&path, b"new")?;
/// assert_eq!(std::fs::read(&path).unwrap(), b"new");
/// std::fs::remove_file(&path).unwrap();
/// # Ok::<(), antorcha_nn::NnError>(())
/// ```
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    write_atomic_with(path, |f| f.write_all(bytes)).map_err(|source| NnError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// [`write_atomic`] with the content written by `write` into the temporary file.
pub(crate) fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (mut file, temp) = create_temp(dir, name)?;
    // Writing over an existing file with `File::create` keeps its permissions: so does this.
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_file() {
            file.set_permissions(meta.permissions())?;
        }
    }
    write(&mut file)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp.path, path)?;
    temp.keep();
    sync_dir(dir)
}

/// A temporary file that is removed when dropped (on every error path, panics included)
/// unless it was renamed into place.
struct Temp {
    path: PathBuf,
    kept: bool,
}

impl Temp {
    /// The file was renamed: nothing to remove.
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates `dir/.NAME.tmp-PID-N`, a name no other writer uses (`create_new`), with the
/// permissions `File::create` gives a new file.
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(File, Temp)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut last = None;
    for _ in 0..64 {
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(
            ".tmp-{}-{}",
            process_id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let temp = dir.join(temp_name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(f) => {
                return Ok((
                    f,
                    Temp {
                        path: temp,
                        kept: false,
                    },
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

/// The process id, part of a temporary name so that writers in other processes pick other
/// names (0 on wasm, which has no processes: `create_new` still keeps names apart).
fn process_id() -> u32 {
    #[cfg(not(target_family = "wasm"))]
    let id = std::process::id();
    #[cfg(target_family = "wasm")]
    let id = 0;
    id
}

/// Fsyncs a folder, so that a name renamed into it is on disk (a no-op where folders cannot
/// be opened as files).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("antorcha-atomic-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// A write that fails half-way, or panics, leaves the old file as it was and no
    /// temporary file.
    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = scratch("fail");
        let path = dir.join("w.bin");
        std::fs::write(&path, b"old contents").unwrap();
        let e = write_atomic_with(&path, |f| {
            f.write_all(b"half of the new")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old contents");
        assert_eq!(names(&dir), vec!["w.bin"]);
        let r = std::panic::catch_unwind(|| {
            write_atomic_with(&path, |f| {
                f.write_all(b"half")?;
                panic!("the writer panicked")
            })
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old contents");
        assert_eq!(names(&dir), vec!["w.bin"]);
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(names(&dir), vec!["w.bin"]);
        // A path that names no file is an error naming it.
        let e = write_atomic(dir.join(".."), b"x").unwrap_err();
        assert!(e.to_string().contains("does not name a file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
