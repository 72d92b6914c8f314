//! Intra-op parallelism: how many threads ops may use (`torch.set_num_threads`) and a two-way
//! [`join`] on rayon's work-stealing pool (`RAYON_NUM_THREADS` sizes it; nested and concurrent
//! joins are rayon's to schedule, without deadlock).

use std::sync::atomic::{AtomicUsize, Ordering};

/// 0 means "not set yet": the first query reads `ANTORCHA_NUM_THREADS` or the machine's cores.
static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);

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

/// Runs `a` and `b`, in parallel on rayon's pool when [`num_threads`] allows more than one
/// thread (the calling thread takes part), one after the other otherwise. A panic on either
/// side reaches the caller.
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
        a();
        b();
    } else {
        rayon::join(a, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::catch_unwind;

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
        }
        set_num_threads(0);
        assert_eq!(num_threads(), 1);
        set_num_threads(before);
    }
}
