//! The fuzz binary's global allocator: the system allocator, counting live and peak bytes, and
//! (once armed by `cargo xtask fuzz`) refusing any single allocation over [`ALLOC_LIMIT`]. A
//! refusal is recorded for the fuzz loop to report, and the input is saved at once, since an
//! infallible allocation aborts the process right after.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The largest single allocation a parser may ask for on a fuzz input: 256 MiB.
pub const ALLOC_LIMIT: usize = 256 << 20;

static ARMED: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The size of the first refused allocation since the last [`take_rejected`], or 0.
static REJECTED: AtomicUsize = AtomicUsize::new(0);
/// Saves the current input (called on the first refusal).
static SAVE: OnceLock<fn(&str) -> Option<PathBuf>> = OnceLock::new();

struct Guard;

#[global_allocator]
static GUARD: Guard = Guard;

impl Guard {
    /// Whether to refuse `size` bytes (and record it).
    fn refuse(size: usize) -> bool {
        if size <= ALLOC_LIMIT || !ARMED.load(Ordering::Relaxed) {
            return false;
        }
        if REJECTED
            .compare_exchange(0, size, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            if let Some(save) = SAVE.get() {
                if let Some(path) = save("alloc") {
                    eprintln!(
                        "refused an allocation of {size} bytes; input saved as {}",
                        path.display()
                    );
                }
            }
        }
        true
    }

    fn grew(by: usize) {
        let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` with the same layout; a refusal returns null,
// which the `GlobalAlloc` contract allows.
unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = System.alloc(layout);
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::refuse(new_size) {
            return std::ptr::null_mut();
        }
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                Self::grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Starts refusing allocations over the limit; `save` keeps the input that asked for one.
pub fn arm(save: fn(&str) -> Option<PathBuf>) {
    let _ = SAVE.set(save);
    ARMED.store(true, Ordering::SeqCst);
}

/// The size of the allocation refused since the last call, if any.
pub fn take_rejected() -> Option<usize> {
    match REJECTED.swap(0, Ordering::SeqCst) {
        0 => None,
        size => Some(size),
    }
}

/// Starts measuring the peak afresh from the bytes live now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// The most bytes live at once since [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}
