//! Grad mode: whether ops record a graph. Per thread, like PyTorch's.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static ANOMALY: Cell<bool> = const { Cell::new(false) };
}

/// Whether ops on this thread record a graph now, like `torch.is_grad_enabled()`.
#[inline]
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Restores the previous grad mode when dropped.
#[must_use = "grad mode is restored as soon as the guard is dropped: bind it with `let _guard = …`"]
pub struct GradModeGuard {
    previous: bool,
    // Grad mode is per thread: the guard must be dropped on the thread that made it.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Sets grad mode for as long as the returned guard lives, like `torch.set_grad_enabled(mode)`.
pub fn set_grad_enabled(enabled: bool) -> GradModeGuard {
    let previous = GRAD_ENABLED.with(|g| g.replace(enabled));
    GradModeGuard {
        previous,
        _not_send: std::marker::PhantomData,
    }
}

/// Turns graph recording off on this thread while the guard lives, like `with torch.no_grad():`.
/// Guards nest; each restores the mode it found.
///
/// ```
/// use antorcha_autograd::{is_grad_enabled, no_grad};
/// {
///     let _guard = no_grad();
///     assert!(!is_grad_enabled());
/// }
/// assert!(is_grad_enabled());
/// ```
pub fn no_grad() -> GradModeGuard {
    set_grad_enabled(false)
}

/// Turns graph recording back on while the guard lives, like `with torch.enable_grad():`.
pub fn enable_grad() -> GradModeGuard {
    set_grad_enabled(true)
}

/// Runs `f` with graph recording off, like a `with torch.no_grad():` block.
pub fn with_no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = no_grad();
    f()
}

/// Whether anomaly detection is on for this thread.
#[inline]
pub fn is_anomaly_enabled() -> bool {
    ANOMALY.with(Cell::get)
}

/// Restores the previous anomaly mode when dropped.
#[must_use = "anomaly mode is restored as soon as the guard is dropped"]
pub struct AnomalyGuard {
    previous: bool,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for AnomalyGuard {
    fn drop(&mut self) {
        ANOMALY.with(|a| a.set(self.previous));
    }
}

/// Checks every gradient during backward while the guard lives, like
/// `torch.autograd.detect_anomaly()`: backward stops at the first op whose gradient holds a
/// NaN or an infinity, and the error names that op and where its forward op was created.
pub fn detect_anomaly() -> AnomalyGuard {
    let previous = ANOMALY.with(|a| a.replace(true));
    AnomalyGuard {
        previous,
        _not_send: std::marker::PhantomData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_nest_and_restore() {
        assert!(is_grad_enabled());
        {
            let _a = no_grad();
            assert!(!is_grad_enabled());
            {
                let _b = enable_grad();
                assert!(is_grad_enabled());
            }
            assert!(!is_grad_enabled());
        }
        assert!(is_grad_enabled());
        assert!(!with_no_grad(is_grad_enabled));
    }

    #[test]
    fn grad_mode_is_per_thread() {
        let _g = no_grad();
        let other = std::thread::spawn(is_grad_enabled).join().unwrap();
        assert!(other);
        assert!(!is_grad_enabled());
    }
}
