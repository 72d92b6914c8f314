//! `cargo xtask bench --priority`: the benchmark's session at the top scheduling priority, so
//! that on a shared machine other sessions' work (builds, other users) gets about 1% of the
//! cores while it runs.
//!
//! Linux with autogroup scheduling gives each session one share of the CPU whatever its
//! processes' nice values; `/proc/self/autogroup` sets that session's weight (nice -20 weighs
//! about 87 times nice 0). Raising it needs root (or `CAP_SYS_NICE`). The session's old value
//! is put back when the guard drops.

use std::fs;

const FILE: &str = "/proc/self/autogroup";

/// The session's autogroup nice before [`raise`], restored on drop.
pub struct Raised {
    old: i32,
}

/// Raises this session's autogroup priority to nice -20, or says why it could not.
pub fn raise() -> Result<Raised, String> {
    let text = fs::read_to_string(FILE)
        .map_err(|e| format!("{FILE}: {e} (autogroup scheduling is Linux-only)"))?;
    // The file reads `/autogroup-123 nice 0`.
    let old = text
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{FILE}: unexpected contents {text:?}"))?;
    fs::write(FILE, "-20").map_err(|e| format!("{FILE}: {e} (raising it needs root)"))?;
    Ok(Raised { old })
}

impl Drop for Raised {
    fn drop(&mut self) {
        let _ = fs::write(FILE, self.old.to_string());
    }
}
