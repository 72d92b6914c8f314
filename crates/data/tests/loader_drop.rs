//! A `DataLoader` never waits for work nobody asked for: dropping an epoch's iterator returns
//! while a worker is still inside a blocked `get`, and without workers `next` makes only the
//! batch it returns. And `WeightedRandomSampler` takes finite weights whose sum overflows.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::time::Duration;

use antorcha_data::{DataLoader, Dataset, Result, Sampler, WeightedRandomSampler};

/// Items `0..len`; `get(blocked)` tells `entered` and then waits for `gate`. Every call is
/// logged.
struct Gated {
    len: usize,
    blocked: usize,
    entered: Mutex<Sender<()>>,
    gate: Mutex<Receiver<()>>,
    calls: Mutex<Vec<usize>>,
}

impl Dataset for Gated {
    type Item = usize;
    fn len(&self) -> usize {
        self.len
    }
    fn get(&self, index: usize) -> Result<usize> {
        self.calls.lock().unwrap().push(index);
        if index == self.blocked {
            self.entered.lock().unwrap().send(()).unwrap();
            let _ = self.gate.lock().unwrap().recv();
        }
        Ok(index)
    }
}

fn gated(len: usize, blocked: usize) -> (Gated, Receiver<()>, Sender<()>) {
    let (entered_tx, entered_rx) = channel();
    let (gate_tx, gate_rx) = channel();
    let ds = Gated {
        len,
        blocked,
        entered: Mutex::new(entered_tx),
        gate: Mutex::new(gate_rx),
        calls: Mutex::new(Vec::new()),
    };
    (ds, entered_rx, gate_tx)
}

/// The test finishes while the worker's `get` is still blocked: the drop runs on a thread and
/// is awaited first, and only then is the `get` released. (The generous timeout only turns a
/// regression into a failure instead of a hang.)
#[test]
fn dropping_an_epoch_does_not_wait_for_a_blocked_get() {
    let (ds, entered, gate) = gated(4, 0);
    let loader = DataLoader::with_collate(ds, |items: Vec<usize>| Ok(items))
        .num_workers(2)
        .build()
        .unwrap();
    let it = loader.iter();
    entered.recv().unwrap(); // a worker is inside get(0) and stays there
    let (done_tx, done_rx) = channel();
    std::thread::spawn(move || {
        drop(it);
        done_tx.send(()).unwrap();
    });
    let dropped = done_rx.recv_timeout(Duration::from_secs(120));
    gate.send(()).unwrap(); // now release the get
    assert!(
        dropped.is_ok(),
        "dropping the iterator waited for the blocked get"
    );
    // The loader still works for the next epoch (whose get(0) is let through at once).
    gate.send(()).unwrap();
    let batches: Vec<Vec<usize>> = loader.iter().skip(1).collect::<Result<_>>().unwrap();
    assert_eq!(batches, vec![vec![1], vec![2], vec![3]]);
}

/// Without workers, `next` makes its own batch only: after the first `next`, the dataset has
/// been asked for index 0 alone (batch 1's `get` would block until released).
#[test]
fn without_workers_next_makes_only_its_batch() {
    let (ds, _entered, gate) = gated(3, 1);
    let loader = DataLoader::with_collate(ds, |items: Vec<usize>| Ok(items))
        .build()
        .unwrap();
    let mut it = loader.iter();
    assert_eq!(it.next().unwrap().unwrap(), vec![0]);
    assert_eq!(*loader.dataset().calls.lock().unwrap(), vec![0]);
    gate.send(()).unwrap();
    assert_eq!(it.next().unwrap().unwrap(), vec![1]);
    assert_eq!(it.next().unwrap().unwrap(), vec![2]);
    assert_eq!(*loader.dataset().calls.lock().unwrap(), vec![0, 1, 2]);
}

/// Finite weights whose sum is infinite once panicked inside rand. They are drawn by their
/// ratios: two weights of `f64::MAX` share the draws, the weight 1 next to them (probability
/// about 1e-308) never comes.
#[test]
fn weights_whose_sum_overflows_are_drawn_by_their_ratios() {
    let w = vec![f64::MAX, f64::MAX, 1.0, f64::MAX / 2.0];
    let mut s = WeightedRandomSampler::new(w.clone(), 10_000, true)
        .unwrap()
        .with_seed(7);
    let idx = s.indices();
    let count = |i: usize| idx.iter().filter(|&&j| j == i).count();
    assert_eq!(count(2), 0);
    // Probabilities 0.4, 0.4, 0, 0.2: each count within 6 standard deviations (~49 and ~40).
    assert!((count(0) as i64 - 4000).abs() < 300, "{}", count(0));
    assert!((count(1) as i64 - 4000).abs() < 300, "{}", count(1));
    assert!((count(3) as i64 - 2000).abs() < 240, "{}", count(3));
    // Without replacement, the three huge weights come before the tiny one.
    let mut s = WeightedRandomSampler::new(w, 3, false)
        .unwrap()
        .with_seed(7);
    let mut first = s.indices();
    first.sort();
    assert_eq!(first, vec![0, 1, 3]);
}
