//! A custom `Batcher` runs with no lock of its loader held: from inside `batches()` the loader
//! can still be printed, a call back into its own `len` or `iter` is a clear panic instead of
//! a hang, and a panicking `batches()` leaves the loader usable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::thread;
use std::time::Duration;

use antorcha_data::{Batcher, DataLoader, Dataset, Result};

struct Numbers(usize);

impl Dataset for Numbers {
    type Item = usize;
    fn len(&self) -> usize {
        self.0
    }
    fn get(&self, index: usize) -> Result<usize> {
        Ok(index)
    }
}

type Loader = DataLoader<Numbers, Vec<usize>>;

/// Pairs `[0, 1], [2, 3]`; inside `batches()` it prints its loader, and, when asked, calls
/// back into it or panics.
struct Pairs {
    loader: Arc<OnceLock<Arc<Loader>>>,
    call_back: Arc<AtomicBool>,
    panic: Arc<AtomicBool>,
}

impl Batcher for Pairs {
    fn len(&self) -> usize {
        2
    }
    fn batches(&mut self) -> Vec<Vec<usize>> {
        let loader = self.loader.get().unwrap();
        let shown = format!("{loader:?}");
        assert!(shown.contains("batches: None"), "{shown}");
        if self.panic.swap(false, Ordering::SeqCst) {
            panic!("a batcher's own panic");
        }
        if self.call_back.swap(false, Ordering::SeqCst) {
            let _ = loader.len();
        }
        vec![vec![0, 1], vec![2, 3]]
    }
}

/// Runs `f` on a thread and gives its panic message, failing if it does not finish.
fn panic_message(f: impl FnOnce() + Send + 'static) -> Option<String> {
    let (done, wait) = mpsc::channel();
    let t = thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = done.send(());
        r
    });
    wait.recv_timeout(Duration::from_secs(60))
        .expect("finished instead of hanging");
    t.join().unwrap().err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[test]
fn a_batcher_runs_with_no_loader_lock_held() {
    let (loader_cell, call_back, panic) = (
        Arc::new(OnceLock::new()),
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let batcher = Pairs {
        loader: loader_cell.clone(),
        call_back: call_back.clone(),
        panic: panic.clone(),
    };
    let loader: Arc<Loader> = Arc::new(
        DataLoader::with_collate(Numbers(4), |items: Vec<usize>| Ok(items))
            .batch_sampler(batcher)
            .build()
            .unwrap(),
    );
    loader_cell.set(loader.clone()).ok().unwrap();
    let epoch = |l: &Loader| l.iter().collect::<Result<Vec<_>>>().unwrap();
    assert_eq!(epoch(&loader), vec![vec![0, 1], vec![2, 3]]);

    call_back.store(true, Ordering::SeqCst);
    let l = loader.clone();
    let message = panic_message(move || drop(l.iter())).expect("a call back panics");
    assert!(message.contains("used its own loader"), "{message}");

    panic.store(true, Ordering::SeqCst);
    let l = loader.clone();
    assert_eq!(
        panic_message(move || drop(l.iter())).as_deref(),
        Some("a batcher's own panic")
    );

    assert_eq!(
        epoch(&loader),
        vec![vec![0, 1], vec![2, 3]],
        "the batcher came back"
    );
    assert_eq!(loader.len(), 2);
}
