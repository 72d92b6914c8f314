//! Intra-op parallelism: how many threads ops may use (`torch.set_num_threads`) and a two-way
//! [`join`] on a persistent helper thread, cheap enough to split a single GEMM of a few hundred
//! microseconds.
//!
//! The calling thread always does a share of the work itself and offers the other share to a
//! helper thread; if the helper has not picked it up by the time the caller is done with its
//! own share (asleep, or descheduled on a busy machine), the caller takes it back and runs it
//! too, so a split never waits for a thread that is not running. The helper spins briefly
//! after each task (so the next split of a training step finds it awake), then parks. Nested
//! or concurrent calls that find the helper busy run their work inline, so `join` never
//! blocks on another caller and never deadlocks.
//!
//! Why not rayon's `join`: measured on W2 at 2 threads (BENCHMARKS.md, 2026-12-07), rayon's took
//! 1.21-1.36 s an epoch against 0.61-0.69 s for this one on a loaded machine: a stolen half waits
//! for a worker that may be descheduled, where this caller takes its half back.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// 0 means "not set yet": the first query reads `ANTORCHA_NUM_THREADS` or the machine's cores.
static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);

/// How long an idle helper keeps spinning for the next task before it parks.
const SPIN: Duration = Duration::from_micros(200);

/// The number of threads ops may use, like `torch.get_num_threads()`: the value set by
/// [`set_num_threads`], else the `ANTORCHA_NUM_THREADS` environment variable, else the
/// number of cores available to the process.
///
/// ```
/// assert!(antorcha_tensor::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    match NUM_THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("ANTORCHA_NUM_THREADS")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| {
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(1)
                });
            // Another thread may have set it meanwhile: keep theirs.
            match NUM_THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => n,
                Err(current) => current,
            }
        }
        n => n,
    }
}

/// Sets the number of threads ops may use, like `torch.set_num_threads(n)`; 1 runs everything
/// on the calling thread. Values below 1 are taken as 1.
///
/// ```
/// let before = antorcha_tensor::num_threads();
/// antorcha_tensor::set_num_threads(1);
/// assert_eq!(antorcha_tensor::num_threads(), 1);
/// antorcha_tensor::set_num_threads(before);
/// ```
pub fn set_num_threads(n: usize) {
    NUM_THREADS.store(n.max(1), Ordering::Relaxed);
}

const IDLE: u8 = 0;
const POSTED: u8 = 1;
const RUNNING: u8 = 2;
const DONE: u8 = 3;

/// A type-erased task: a pointer to the caller's `FnMut` (valid until the caller has seen
/// `DONE`).
type Task = *mut (dyn FnMut() + Send);

struct Slot {
    state: AtomicU8,
    sleeping: AtomicBool,
    task: UnsafeCell<Option<Task>>,
    panic: UnsafeCell<Option<Box<dyn Any + Send>>>,
}

// SAFETY: `task` and `panic` are only touched by the caller before posting (task), after
// taking a posted task back (task) or after seeing DONE (panic), and by the helper between
// winning POSTED -> RUNNING and storing DONE; the atomic operations on `state` order those
// accesses.
unsafe impl Sync for Slot {}
unsafe impl Send for Slot {}

struct Helper {
    slot: Arc<Slot>,
    thread: Thread,
}

struct Pool {
    /// Held by the one caller that is using the helper; `try_lock` failing means busy.
    busy: Mutex<()>,
    helper: Helper,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let slot = Arc::new(Slot {
            state: AtomicU8::new(IDLE),
            sleeping: AtomicBool::new(false),
            task: UnsafeCell::new(None),
            panic: UnsafeCell::new(None),
        });
        let s = Arc::clone(&slot);
        let handle = std::thread::Builder::new()
            .name("antorcha-worker".into())
            .spawn(move || helper_loop(&s))
            .expect("spawning antorcha's worker thread");
        Pool {
            busy: Mutex::new(()),
            helper: Helper {
                slot,
                thread: handle.thread().clone(),
            },
        }
    })
}

fn helper_loop(slot: &Slot) {
    loop {
        // Wait for a task: spin for a while, then park.
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            if slot.state.load(Ordering::Acquire) == POSTED
                && slot
                    .state
                    .compare_exchange(POSTED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                break;
            }
            spins = spins.wrapping_add(1);
            if spins & 63 == 0 && start.elapsed() > SPIN {
                slot.sleeping.store(true, Ordering::SeqCst);
                if slot.state.load(Ordering::SeqCst) != POSTED {
                    std::thread::park();
                }
                slot.sleeping.store(false, Ordering::SeqCst);
            } else {
                std::hint::spin_loop();
            }
        }
        // SAFETY: the caller wrote `task` before posting, and keeps the closure alive until
        // it sees DONE (it can no longer take the task back: we won the exchange).
        let task = unsafe { (*slot.task.get()).take() };
        if let Some(task) = task {
            let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*task)() }));
            if let Err(p) = result {
                // SAFETY: the caller reads `panic` only after DONE.
                unsafe { *slot.panic.get() = Some(p) };
            }
        }
        slot.state.store(DONE, Ordering::Release);
    }
}

/// Below this many elements an elementwise kernel stays on one thread (a split costs a wake-up).
const PAR_MIN_ELEMENTS: usize = 1 << 17;

/// The `n` elements that `part(range)` yields for each range of indices, collected into a new
/// vector (from the buffer cache): in two halves on both cores when `n` is large. Each
/// `part(range)` must yield exactly `range.len()` elements.
///
/// # Panics
/// If a part yields another number of elements.
pub(crate) fn collect_vec<U, I>(
    n: usize,
    part: impl Fn(std::ops::Range<usize>) -> I + Sync,
) -> Vec<U>
where
    U: Send + 'static,
    I: Iterator<Item = U>,
{
    fn write<U>(slots: &mut [std::mem::MaybeUninit<U>], values: impl Iterator<Item = U>) {
        let written = crate::buffer::fill(slots, values);
        assert_eq!(written, slots.len(), "a part yielded too few elements");
    }
    let mut out = crate::buffer::with_capacity(n);
    let slots = &mut out.spare_capacity_mut()[..n];
    if n >= PAR_MIN_ELEMENTS && num_threads() >= 2 {
        let (a, b) = slots.split_at_mut(n / 2);
        join(|| write(a, part(0..n / 2)), || write(b, part(n / 2..n)));
    } else {
        write(slots, part(0..n));
    }
    // SAFETY: both halves were written whole (`write` panics otherwise, and `join` resumes a
    // panic here, before this line).
    unsafe { out.set_len(n) };
    out
}

/// `f(start, part)` over `xs` cut into parts, `start` being each part's first index: in two
/// halves on both cores when `xs` is large (the in-place form of [`collect_vec`]).
pub(crate) fn for_each_mut<T: Send>(xs: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    let n = xs.len();
    if n >= PAR_MIN_ELEMENTS && num_threads() >= 2 {
        let (a, b) = xs.split_at_mut(n / 2);
        join(|| f(0, a), || f(n / 2, b));
    } else {
        f(0, xs);
    }
}

/// Runs `a` and `b`, in parallel when [`num_threads`] is at least 2 and the helper thread is
/// free (`a` on the calling thread, `b` on the helper unless the caller finishes `a` before
/// the helper has started `b`, in which case the caller runs `b` too), else one after the
/// other. Returns when both are done (`b` runs even if `a` panics); a panic in either is
/// resumed on the calling thread.
///
/// ```
/// let (mut x, mut y) = (0, 0);
/// antorcha_tensor::join(|| x = 1, || y = 2);
/// assert_eq!((x, y), (1, 2));
/// ```
pub fn join<A, B>(a: A, b: B)
where
    A: FnOnce() + Send,
    B: FnOnce() + Send,
{
    if num_threads() < 2 {
        return inline(a, b);
    }
    let pool = pool();
    let Ok(guard) = pool.busy.try_lock() else {
        // Nested in a task, or another caller holds the helper: do it all here.
        return inline(a, b);
    };
    let slot = &*pool.helper.slot;
    let mut b = Some(b);
    let mut run_b = move || {
        if let Some(b) = b.take() {
            b()
        }
    };
    let task: &mut (dyn FnMut() + Send) = &mut run_b;
    // SAFETY: only the lifetime is erased; we wait for DONE below before `run_b` goes out of
    // scope, on every path (a panic in `a` is caught first).
    let task: Task = unsafe { std::mem::transmute::<&mut (dyn FnMut() + Send), Task>(task) };
    unsafe { *slot.task.get() = Some(task) };
    slot.state.store(POSTED, Ordering::SeqCst);
    if slot.sleeping.load(Ordering::SeqCst) {
        pool.helper.thread.unpark();
    }
    let result_a = catch_unwind(AssertUnwindSafe(a));
    let panic_b = if slot
        .state
        .compare_exchange(POSTED, IDLE, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        // The helper never started `b`: take it back and run it here.
        unsafe { *slot.task.get() = None };
        catch_unwind(AssertUnwindSafe(&mut run_b)).err()
    } else {
        let mut spins = 0u32;
        while slot.state.load(Ordering::Acquire) != DONE {
            spins = spins.wrapping_add(1);
            if spins < 1 << 14 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        // SAFETY: the helper stored `panic` before DONE and does not touch it again.
        let p = unsafe { (*slot.panic.get()).take() };
        slot.state.store(IDLE, Ordering::Release);
        p
    };
    drop(guard);
    if let Err(p) = result_a {
        resume_unwind(p);
    }
    if let Some(p) = panic_b {
        resume_unwind(p);
    }
}

/// Both sides on this thread; `b` runs even if `a` panics (as when `b` runs on the helper),
/// then the panic goes on.
fn inline<A: FnOnce(), B: FnOnce()>(a: A, b: B) {
    let result_a = catch_unwind(AssertUnwindSafe(a));
    b();
    if let Err(p) = result_a {
        resume_unwind(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test touches the global thread count, so the others cannot race with it.
    #[test]
    fn join_runs_both_sides_and_propagates_panics() {
        let before = num_threads();
        for threads in [1, 2] {
            set_num_threads(threads);
            assert_eq!(num_threads(), threads);
            let mut left = vec![0u64; 1000];
            let mut right = vec![0u64; 1000];
            for round in 0..50u64 {
                join(
                    || left.iter_mut().for_each(|x| *x += round),
                    || right.iter_mut().for_each(|x| *x += 2 * round),
                );
            }
            assert!(left.iter().all(|&x| x == 1225));
            assert!(right.iter().all(|&x| x == 2450));
            // Nested joins run inline rather than deadlock.
            let (mut a, mut b, mut c) = (0, 0, 0);
            join(|| join(|| a = 1, || b = 2), || c = 3);
            assert_eq!((a, b, c), (1, 2, 3));
            // A panic on either side reaches the caller, and the pool stays usable.
            let r = catch_unwind(|| join(|| (), || panic!("right side")));
            assert!(r.is_err());
            let r = catch_unwind(|| join(|| panic!("left side"), || ()));
            assert!(r.is_err());
            let mut ok = 0;
            join(|| ok += 1, || ());
            assert_eq!(ok, 1);
            // `join` returns only once both sides are done, even when the left one panics
            // first: the right side borrows this frame (the lifetime the task erases).
            for _ in 0..20 {
                let done = std::sync::atomic::AtomicBool::new(false);
                let r = catch_unwind(|| {
                    join(
                        || panic!("left side first"),
                        || {
                            std::thread::sleep(Duration::from_millis(2));
                            done.store(true, Ordering::SeqCst);
                        },
                    )
                });
                assert!(r.is_err());
                assert!(
                    done.load(Ordering::SeqCst),
                    "join returned before its right side"
                );
            }
        }
        set_num_threads(0);
        assert_eq!(num_threads(), 1);
        set_num_threads(before);
    }
}
