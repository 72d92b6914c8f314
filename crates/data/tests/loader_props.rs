//! DataLoader and random_split properties: every index once per shuffled epoch, drop_last
//! batch counts, disjoint and covering splits, workers equal to no workers, and workers that
//! stop when the epoch is dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use antorcha_data::{random_split, DataError, DataLoader, Dataset, Result, TensorDataset};
use antorcha_tensor::Tensor;
use proptest::prelude::*;

fn labelled(n: usize) -> TensorDataset<(Tensor<f32>, Tensor<i64>)> {
    let x = Tensor::from_vec((0..n * 3).map(|v| v as f32).collect(), &[n, 3]);
    let y = Tensor::from((0..n as i64).collect::<Vec<_>>());
    TensorDataset::new((x, y)).unwrap()
}

fn epoch<D: Dataset + Send + Sync + 'static>(
    loader: &DataLoader<D, (Tensor<f32>, Tensor<i64>)>,
) -> Vec<(Vec<f32>, Vec<i64>)> {
    loader
        .iter()
        .map(|b| {
            let (x, y) = b.unwrap();
            (x.to_vec(), y.to_vec())
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn shuffle_visits_every_index_once_per_epoch(n in 0usize..60, bs in 1usize..9, seed in any::<u64>()) {
        let loader = DataLoader::builder(labelled(n)).batch_size(bs).shuffle(true).seed(seed).build().unwrap();
        for _ in 0..2 {
            let batches = epoch(&loader);
            prop_assert_eq!(batches.len(), loader.len());
            let mut seen: Vec<i64> = batches.iter().flat_map(|(x, y)| {
                // Features travel with their labels.
                assert_eq!(x.len(), 3 * y.len());
                for (k, &label) in y.iter().enumerate() {
                    assert_eq!(x[3 * k], 3.0 * label as f32);
                }
                y.clone()
            }).collect();
            seen.sort();
            prop_assert_eq!(seen, (0..n as i64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn drop_last_batch_counts(n in 0usize..60, bs in 1usize..9, drop_last in any::<bool>()) {
        let loader = DataLoader::builder(labelled(n)).batch_size(bs).drop_last(drop_last).shuffle(true).seed(3).build().unwrap();
        let sizes: Vec<usize> = epoch(&loader).iter().map(|(_, y)| y.len()).collect();
        let want = if drop_last { n / bs } else { n.div_ceil(bs) };
        prop_assert_eq!(loader.len(), want);
        prop_assert_eq!(sizes.len(), want);
        for (k, &s) in sizes.iter().enumerate() {
            if drop_last || k + 1 < want {
                prop_assert_eq!(s, bs);
            } else {
                prop_assert_eq!(s, n - (want - 1) * bs);
            }
        }
    }

    #[test]
    fn random_split_parts_are_disjoint_and_cover(
        n in 0usize..80,
        weights in prop::collection::vec(1u32..10, 1..5),
        seed in any::<u64>(),
        as_fractions in any::<bool>(),
    ) {
        let ds = labelled(n);
        let total: u32 = weights.iter().sum();
        let parts = if as_fractions {
            let mut f: Vec<f64> = weights.iter().map(|&w| w as f64 / total as f64).collect();
            // Make the sum exactly 1 to stay inside PyTorch's tolerance whatever the rounding.
            let rest: f64 = f[1..].iter().sum();
            f[0] = 1.0 - rest;
            random_split(ds, f, &mut antorcha_tensor::Generator::new(seed)).unwrap()
        } else {
            let mut counts: Vec<usize> = weights.iter().map(|&w| n * w as usize / total as usize).collect();
            let assigned: usize = counts.iter().sum();
            counts[0] += n - assigned;
            let parts = random_split(ds, counts.clone(), &mut antorcha_tensor::Generator::new(seed)).unwrap();
            for (p, c) in parts.iter().zip(&counts) {
                prop_assert_eq!(p.len(), *c);
            }
            parts
        };
        prop_assert_eq!(parts.len(), weights.len());
        let mut all: Vec<usize> = parts.iter().flat_map(|p| p.indices().to_vec()).collect();
        all.sort();
        prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
        // Items read through a part are the dataset's items at its indices.
        for p in &parts {
            for (k, &i) in p.indices().iter().enumerate() {
                prop_assert_eq!(p.get(k).unwrap().1.item(), i as i64);
            }
        }
    }

    #[test]
    fn workers_give_the_same_batches(n in 0usize..50, bs in 1usize..7, workers in 1usize..5, seed in any::<u64>(), drop_last in any::<bool>()) {
        let make = |w| DataLoader::builder(labelled(n))
            .batch_size(bs)
            .shuffle(true)
            .drop_last(drop_last)
            .seed(seed)
            .num_workers(w)
            .prefetch_factor(1 + w % 2)
            .build()
            .unwrap();
        let (plain, threaded) = (make(0), make(workers));
        for _ in 0..2 {
            prop_assert_eq!(epoch(&plain), epoch(&threaded));
        }
    }
}

/// Counts how many items have been read, and fails on one index.
struct Counting {
    n: usize,
    reads: Arc<AtomicUsize>,
    bad: Option<usize>,
    delay: Duration,
}

impl Dataset for Counting {
    type Item = i64;
    fn len(&self) -> usize {
        self.n
    }
    fn get(&self, index: usize) -> Result<i64> {
        antorcha_data::check_index("Counting", index, self.n)?;
        std::thread::sleep(self.delay);
        self.reads.fetch_add(1, Ordering::SeqCst);
        if Some(index) == self.bad {
            return Err(DataError::InvalidArgument {
                op: "Counting",
                message: format!("sample {index} is corrupt"),
            });
        }
        Ok(index as i64)
    }
}

#[test]
fn dropping_the_epoch_stops_the_workers() {
    let reads = Arc::new(AtomicUsize::new(0));
    let ds = Arc::new(Counting {
        n: 10_000,
        reads: Arc::clone(&reads),
        bad: None,
        delay: Duration::from_micros(200),
    });
    let loader = DataLoader::builder(Arc::clone(&ds))
        .batch_size(10)
        .num_workers(3)
        .prefetch_factor(2)
        .build()
        .unwrap();
    let mut it = loader.iter();
    for k in 0..4 {
        assert_eq!(it.next().unwrap().unwrap().to_vec()[0], 10 * k);
    }
    drop(it);
    // Dropping the epoch does not wait for the workers: each finishes the batch in hand and
    // stops. Wait until the reads stop (a slow machine only makes this loop longer).
    let mut after_drop = reads.load(Ordering::SeqCst);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = reads.load(Ordering::SeqCst);
        if now == after_drop {
            break;
        }
        after_drop = now;
    }
    // At most what was taken plus each worker's queue and the batch in hand.
    assert!(
        after_drop <= 10 * (4 + 3 * (2 + 1)),
        "{after_drop} items read"
    );

    // Dropping the loader together with a running epoch leaves no thread holding the data.
    let it = loader.iter();
    std::thread::sleep(Duration::from_millis(20));
    drop(it);
    drop(loader);
    // The detached workers let go of it once their batch in hand is made.
    while Arc::strong_count(&ds) > 1 {
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn worker_errors_reach_the_caller_in_order() {
    let ds = Counting {
        n: 20,
        reads: Arc::new(AtomicUsize::new(0)),
        bad: Some(13),
        delay: Duration::ZERO,
    };
    let loader = DataLoader::builder(ds)
        .batch_size(4)
        .num_workers(2)
        .build()
        .unwrap();
    let results: Vec<_> = loader.iter().collect();
    assert_eq!(results.len(), 5);
    for (k, r) in results.iter().enumerate() {
        match r {
            Ok(t) => {
                assert_ne!(k, 3);
                assert_eq!(
                    t.to_vec(),
                    (4 * k as i64..4 * k as i64 + 4).collect::<Vec<_>>()
                );
            }
            Err(e) => {
                assert_eq!(k, 3);
                assert!(e.to_string().contains("sample 13 is corrupt"), "{e}");
            }
        }
    }
}
