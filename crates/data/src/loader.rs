//! `DataLoader`: batches from a dataset in the order of a sampler, collated into tensors,
//! optionally prefetched by worker threads.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use antorcha_tensor::Generator as TorchGenerator;
use rand::RngCore;

use crate::dataset::{Collate, Dataset};
use crate::error::{DataError, Result};
use crate::lent::Lent;
use crate::sampler::{
    lock, BatchSampler, Batcher, Generator, RandomSampler, Sampler, SequentialSampler,
};

/// How one batch is made from the dataset and its indices.
type FetchFn<D, B> = dyn Fn(&D, &[usize]) -> Result<B> + Send + Sync;

/// Iterates over a dataset in batches, like `torch.utils.data.DataLoader`: `batch_size`,
/// `shuffle` (a new order each epoch from a seeded generator), `drop_last`, custom samplers,
/// default or custom collation, and `num_workers` threads that prefetch batches in order.
///
/// Iterate with [`iter`](DataLoader::iter) or `for batch in &loader` once per epoch; each
/// item is a `Result` so that a bad sample or a failing worker reaches the caller as an error.
///
/// Batches of a [`TensorDataset`](crate::TensorDataset) (and subsets of it) are gathered with
/// one `index_select` per tensor, not by stacking single items; with two threads a large
/// batch is gathered on both, so `next` still makes only the batch it returns.
///
/// ```
/// use antorcha_data::{DataLoader, TensorDataset};
/// use antorcha_tensor::Tensor;
/// let x = Tensor::<f32>::zeros(&[10, 3]);
/// let y = Tensor::from((0..10i64).collect::<Vec<_>>());
/// let loader = DataLoader::builder(TensorDataset::new((x, y))?)
///     .batch_size(4)
///     .shuffle(true)
///     .seed(42)
///     .build()?;
/// assert_eq!(loader.len(), 3);
/// for epoch in 0..2 {
///     for batch in &loader {
///         let (xb, yb) = batch?;
///         assert_eq!(xb.shape()[1], 3);
///         assert_eq!(xb.shape()[0], yb.shape()[0]);
///     }
/// }
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
pub struct DataLoader<D, B> {
    dataset: Arc<D>,
    batcher: Lent<dyn Batcher>,
    base_seed: BaseSeed,
    fetch: Arc<FetchFn<D, B>>,
    num_workers: usize,
    prefetch_factor: usize,
}

impl<D, B> std::fmt::Debug for DataLoader<D, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataLoader")
            .field("batches", &self.batcher.try_with(|b| b.len()))
            .field("num_workers", &self.num_workers)
            .field("prefetch_factor", &self.prefetch_factor)
            .finish_non_exhaustive()
    }
}

impl<D> DataLoader<D, <D::Item as Collate>::Batch>
where
    D: Dataset + Send + Sync + 'static,
    D::Item: Collate,
    <D::Item as Collate>::Batch: Send + 'static,
{
    /// Starts configuring a loader over `dataset` with the default collation
    /// ([`Dataset::get_batch`]): batch size 1, no shuffling, no workers.
    pub fn builder(dataset: D) -> DataLoaderBuilder<D, <D::Item as Collate>::Batch> {
        DataLoaderBuilder::with_fetch(dataset, Arc::new(|d: &D, idx: &[usize]| d.get_batch(idx)))
    }

    /// A loader with `batch_size` and `shuffle` (from the global generator) and the other
    /// options at their defaults, like `DataLoader(dataset, batch_size, shuffle)`.
    pub fn new(dataset: D, batch_size: usize, shuffle: bool) -> Result<Self> {
        Self::builder(dataset)
            .batch_size(batch_size)
            .shuffle(shuffle)
            .build()
    }
}

impl<D, B> DataLoader<D, B>
where
    D: Dataset + Send + Sync + 'static,
    B: Send + 'static,
{
    /// Starts configuring a loader whose batches are made by `collate` from the list of items,
    /// like `DataLoader(dataset, collate_fn=...)`; the items need not implement [`Collate`].
    ///
    /// ```
    /// use antorcha_data::{DataLoader, Dataset, DatasetExt, TensorDataset};
    /// use antorcha_tensor::Tensor;
    /// let ds = TensorDataset::new(Tensor::from(vec![1i64, 2, 3]))?.map(|t| Ok(t.item()));
    /// let loader = DataLoader::with_collate(ds, |items: Vec<i64>| Ok(items.iter().sum::<i64>()))
    ///     .batch_size(2)
    ///     .build()?;
    /// let sums: Vec<i64> = loader.iter().collect::<Result<_, _>>()?;
    /// assert_eq!(sums, vec![3, 3]);
    /// # Ok::<(), antorcha_data::DataError>(())
    /// ```
    pub fn with_collate<F>(dataset: D, collate: F) -> DataLoaderBuilder<D, B>
    where
        F: Fn(Vec<D::Item>) -> Result<B> + Send + Sync + 'static,
    {
        DataLoaderBuilder::with_fetch(dataset, collate_fetch(collate))
    }

    /// The number of batches in an epoch, like `len(loader)`.
    pub fn len(&self) -> usize {
        self.batcher.with(|b| b.len())
    }

    /// Whether an epoch has no batches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dataset.
    pub fn dataset(&self) -> &D {
        &self.dataset
    }

    /// The number of worker threads that prefetch batches (0: batches are made on `next`).
    pub fn num_workers(&self) -> usize {
        self.num_workers
    }

    /// Starts an epoch: draws the epoch's batch order now and, with workers, starts
    /// prefetching. Dropping the iterator before the end stops the workers.
    pub fn iter(&self) -> Iter<D, B> {
        self.base_seed.draw();
        let batches = Arc::new(self.batcher.with(|b| b.batches()));
        let workers = (self.num_workers > 0 && !batches.is_empty()).then(|| {
            Workers::spawn(
                self.num_workers.min(batches.len()),
                self.prefetch_factor,
                &self.dataset,
                &self.fetch,
                &batches,
            )
        });
        Iter {
            dataset: Arc::clone(&self.dataset),
            fetch: Arc::clone(&self.fetch),
            batches,
            next: 0,
            workers,
        }
    }
}

fn collate_fetch<D, B, F>(collate: F) -> Arc<FetchFn<D, B>>
where
    D: Dataset,
    F: Fn(Vec<D::Item>) -> Result<B> + Send + Sync + 'static,
{
    Arc::new(move |d: &D, idx: &[usize]| {
        let items = idx.iter().map(|&i| d.get(i)).collect::<Result<Vec<_>>>()?;
        collate(items)
    })
}

impl<D, B> IntoIterator for &DataLoader<D, B>
where
    D: Dataset + Send + Sync + 'static,
    B: Send + 'static,
{
    type Item = Result<B>;
    type IntoIter = Iter<D, B>;

    fn into_iter(self) -> Iter<D, B> {
        self.iter()
    }
}

/// Configures a [`DataLoader`]; made by [`DataLoader::builder`] or
/// [`DataLoader::with_collate`], finished by [`build`](DataLoaderBuilder::build).
pub struct DataLoaderBuilder<D, B> {
    dataset: D,
    fetch: Arc<FetchFn<D, B>>,
    batch_size: Option<usize>,
    shuffle: bool,
    drop_last: bool,
    sampler: Option<Box<dyn Sampler>>,
    batcher: Option<Box<dyn Batcher>>,
    generator: Option<Generator>,
    num_workers: usize,
    prefetch_factor: usize,
}

impl<D, B> DataLoaderBuilder<D, B>
where
    D: Dataset + Send + Sync + 'static,
    B: Send + 'static,
{
    fn with_fetch(dataset: D, fetch: Arc<FetchFn<D, B>>) -> Self {
        DataLoaderBuilder {
            dataset,
            fetch,
            batch_size: None,
            shuffle: false,
            drop_last: false,
            sampler: None,
            batcher: None,
            generator: None,
            num_workers: 0,
            prefetch_factor: 2,
        }
    }

    /// Samples per batch (default 1; 0 is an error at `build`).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// Visits the dataset in a new random order every epoch.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Drops the last batch when it would be smaller than `batch_size`.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Shuffles with a PyTorch-compatible generator seeded with `seed`, like
    /// `DataLoader(generator=torch.Generator().manual_seed(seed))`: PyTorch's epoch orders for
    /// that seed. Without a seed or generator, shuffling follows the global generator
    /// ([`manual_seed`](antorcha_tensor::manual_seed)) as PyTorch's `RandomSampler` does: each
    /// epoch draws a seed from it and permutes with `randperm` on a new generator.
    pub fn seed(self, seed: u64) -> Self {
        self.generator(TorchGenerator::new(seed))
    }

    /// Shuffles with `rng` (like `DataLoader(generator=...)`): PyTorch's orders when `rng` is
    /// an [`antorcha_tensor::Generator`], repeatable orders of its own for any other
    /// `RngCore`.
    pub fn generator(mut self, rng: impl RngCore + Send + 'static) -> Self {
        self.generator = Some(Generator::own(rng));
        self
    }

    /// Visits the dataset in the order of `sampler` (mutually exclusive with `shuffle`).
    pub fn sampler(mut self, sampler: impl Sampler + 'static) -> Self {
        self.sampler = Some(Box::new(sampler));
        self
    }

    /// Takes whole batches of indices from `batcher` (mutually exclusive with `batch_size`,
    /// `shuffle`, `sampler` and `drop_last`).
    pub fn batch_sampler(mut self, batcher: impl Batcher + 'static) -> Self {
        self.batcher = Some(Box::new(batcher));
        self
    }

    /// Threads that load batches in the background (default 0: load on `next`). Batches
    /// still arrive in order and are the same as without workers.
    pub fn num_workers(mut self, num_workers: usize) -> Self {
        self.num_workers = num_workers;
        self
    }

    /// Batches each worker loads ahead (default 2, at least 1).
    pub fn prefetch_factor(mut self, prefetch_factor: usize) -> Self {
        self.prefetch_factor = prefetch_factor;
        self
    }

    /// Makes batches with `collate` from the list of items instead of the default collation.
    pub fn collate<B2, F>(self, collate: F) -> DataLoaderBuilder<D, B2>
    where
        B2: Send + 'static,
        F: Fn(Vec<D::Item>) -> Result<B2> + Send + Sync + 'static,
    {
        DataLoaderBuilder {
            dataset: self.dataset,
            fetch: collate_fetch(collate),
            batch_size: self.batch_size,
            shuffle: self.shuffle,
            drop_last: self.drop_last,
            sampler: self.sampler,
            batcher: self.batcher,
            generator: self.generator,
            num_workers: self.num_workers,
            prefetch_factor: self.prefetch_factor,
        }
    }

    /// Checks the options and makes the loader: `batch_size` 0, `prefetch_factor` 0, and
    /// options PyTorch calls mutually exclusive are errors.
    pub fn build(self) -> Result<DataLoader<D, B>> {
        let op = "DataLoader";
        let base_seed = match &self.generator {
            None => BaseSeed::Global,
            Some(g) => g.shared().map_or(BaseSeed::Untracked, BaseSeed::Torch),
        };
        if self.prefetch_factor == 0 {
            return Err(DataError::invalid(op, "prefetch_factor must be at least 1"));
        }
        let batcher: Box<dyn Batcher> = match self.batcher {
            Some(b) => {
                if self.batch_size.is_some()
                    || self.shuffle
                    || self.sampler.is_some()
                    || self.drop_last
                {
                    return Err(DataError::invalid(
                        op,
                        "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last",
                    ));
                }
                b
            }
            None => {
                let batch_size = self.batch_size.unwrap_or(1);
                if batch_size == 0 {
                    return Err(DataError::ZeroBatchSize { op });
                }
                let n = self.dataset.len();
                let sampler: Box<dyn Sampler> = match (self.sampler, self.shuffle) {
                    (Some(_), true) => {
                        return Err(DataError::invalid(
                            op,
                            "sampler option is mutually exclusive with shuffle",
                        ))
                    }
                    (Some(s), false) => s,
                    (None, true) => {
                        let mut s = RandomSampler::new(n);
                        if let Some(g) = self.generator {
                            s = s.with_boxed_generator(g);
                        }
                        Box::new(s)
                    }
                    (None, false) => Box::new(SequentialSampler::new(n)),
                };
                Box::new(BatchSampler::new(sampler, batch_size, self.drop_last)?)
            }
        };
        Ok(DataLoader {
            dataset: Arc::new(self.dataset),
            batcher: Lent::new(batcher),
            base_seed,
            fetch: self.fetch,
            num_workers: self.num_workers,
            prefetch_factor: self.prefetch_factor,
        })
    }
}

/// Where each epoch's base seed comes from. PyTorch draws one `int64` (`_base_seed`, for its
/// worker processes) at every `iter(loader)`, shuffled or not, from the loader's generator or
/// the global one; drawing it here too keeps the generators' streams where PyTorch's are (the
/// next epoch's order, dropout masks). Its value is not needed: workers are threads here.
enum BaseSeed {
    Global,
    Torch(Arc<Mutex<TorchGenerator>>),
    /// A generator of another kind: PyTorch's streams are not followed anyway.
    Untracked,
}

impl BaseSeed {
    fn draw(&self) {
        match self {
            BaseSeed::Global => {
                antorcha_tensor::with_global_rng(|g| g.random_i64());
            }
            BaseSeed::Torch(g) => {
                lock(g).random_i64();
            }
            BaseSeed::Untracked => {}
        }
    }
}

/// One epoch of a [`DataLoader`]: yields `Result<batch>` in the sampler's order.
pub struct Iter<D, B> {
    dataset: Arc<D>,
    fetch: Arc<FetchFn<D, B>>,
    batches: Arc<Vec<Vec<usize>>>,
    next: usize,
    /// Without workers (`num_workers = 0`) each batch is made by the call to `next` that
    /// returns it, and no other, as in PyTorch.
    workers: Option<Workers<B>>,
}

impl<D, B> Iter<D, B> {
    /// The batches of indices of this epoch, in order.
    pub fn batch_indices(&self) -> &[Vec<usize>] {
        &self.batches
    }
}

impl<D: Sync, B: Send> Iterator for Iter<D, B> {
    type Item = Result<B>;

    fn next(&mut self) -> Option<Result<B>> {
        let k = self.next;
        if k >= self.batches.len() {
            return None;
        }
        self.next += 1;
        if let Some(w) = &self.workers {
            return Some(w.receive(k));
        }
        Some((self.fetch)(&self.dataset, &self.batches[k]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batches.len() - self.next;
        (left, Some(left))
    }
}

impl<D: Sync, B: Send> ExactSizeIterator for Iter<D, B> {}

/// Worker threads of one epoch: worker `w` makes batches `w, w + n, w + 2n, …` and sends them
/// through its own bounded channel, so the iterator takes batch `k` from worker `k % n` and the
/// order is the sampler's whatever the timing.
struct Workers<B> {
    receivers: Vec<Receiver<Result<B>>>,
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl<B: Send + 'static> Workers<B> {
    fn spawn<D: Send + Sync + 'static>(
        n: usize,
        prefetch: usize,
        dataset: &Arc<D>,
        fetch: &Arc<FetchFn<D, B>>,
        batches: &Arc<Vec<Vec<usize>>>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut receivers = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for w in 0..n {
            let (tx, rx) = sync_channel(prefetch);
            let (dataset, fetch, batches, stop) = (
                Arc::clone(dataset),
                Arc::clone(fetch),
                Arc::clone(batches),
                Arc::clone(&stop),
            );
            let handle = std::thread::Builder::new()
                .name(format!("antorcha-data-worker-{w}"))
                .spawn(move || {
                    for k in (w..batches.len()).step_by(n) {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let result =
                            catch_unwind(AssertUnwindSafe(|| fetch(&dataset, &batches[k])))
                                .unwrap_or_else(|payload| {
                                    Err(DataError::WorkerPanic {
                                        worker: w,
                                        batch: k,
                                        message: panic_message(payload.as_ref()),
                                    })
                                });
                        if tx.send(result).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawning a DataLoader worker thread");
            receivers.push(rx);
            handles.push(handle);
        }
        Workers {
            receivers,
            handles,
            stop,
        }
    }
}

impl<B> Workers<B> {
    fn receive(&self, k: usize) -> Result<B> {
        let w = k % self.receivers.len();
        self.receivers[w].recv().unwrap_or_else(|_| {
            Err(DataError::WorkerPanic {
                worker: w,
                batch: k,
                message: "the worker stopped before sending the batch".to_string(),
            })
        })
    }
}

impl<B> Drop for Workers<B> {
    /// Stops the workers without waiting for them: a worker inside a dataset's `get` (which may
    /// block for as long as it likes) finishes it on its own, finds the receivers gone and ends;
    /// it holds its own handles on the dataset and batches. So dropping an epoch's iterator
    /// returns at once.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receivers makes every pending or future send fail, so each worker ends
        // after the batch it is making; dropping the handles detaches the threads.
        self.receivers.clear();
        self.handles.clear();
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DatasetExt, TensorDataset};
    use antorcha_tensor::Tensor;

    fn ds(n: usize) -> TensorDataset<(Tensor<f32>, Tensor<i64>)> {
        let x = Tensor::from_vec((0..2 * n).map(|v| v as f32).collect(), &[n, 2]);
        let y = Tensor::from((0..n as i64).collect::<Vec<_>>());
        TensorDataset::new((x, y)).unwrap()
    }

    fn labels<D>(loader: &DataLoader<D, (Tensor<f32>, Tensor<i64>)>) -> Vec<Vec<i64>>
    where
        D: Dataset + Send + Sync + 'static,
    {
        loader.iter().map(|b| b.unwrap().1.to_vec()).collect()
    }

    #[test]
    fn sequential_batches_and_len() {
        let loader = DataLoader::builder(ds(5)).batch_size(2).build().unwrap();
        assert_eq!(loader.len(), 3);
        assert_eq!(labels(&loader), vec![vec![0, 1], vec![2, 3], vec![4]]);
        let it = loader.iter();
        assert_eq!(it.len(), 3);
        assert_eq!(it.batch_indices()[2], vec![4]);
        let (x, _) = loader.iter().next().unwrap().unwrap();
        assert_eq!(x.to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
        let loader = DataLoader::builder(ds(5))
            .batch_size(2)
            .drop_last(true)
            .build()
            .unwrap();
        assert_eq!(loader.len(), 2);
        assert_eq!(labels(&loader), vec![vec![0, 1], vec![2, 3]]);
        let loader = DataLoader::new(ds(3), 1, false).unwrap();
        assert_eq!(loader.len(), 3);
        assert_eq!(loader.dataset().len(), 3);
    }

    #[test]
    fn shuffle_is_seeded_and_new_each_epoch() {
        let make = || {
            DataLoader::builder(ds(40))
                .batch_size(8)
                .shuffle(true)
                .seed(7)
                .build()
                .unwrap()
        };
        let (a, b) = (make(), make());
        let (a1, a2) = (labels(&a), labels(&a));
        assert_ne!(a1, a2);
        assert_eq!((labels(&b), labels(&b)), (a1.clone(), a2));
        let mut all: Vec<i64> = a1.concat();
        all.sort();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn option_errors() {
        let e = DataLoader::builder(ds(3))
            .batch_size(0)
            .build()
            .unwrap_err();
        assert!(matches!(e, DataError::ZeroBatchSize { .. }), "{e}");
        let e = DataLoader::builder(ds(3))
            .shuffle(true)
            .sampler(SequentialSampler::new(3))
            .build()
            .unwrap_err();
        assert!(
            e.to_string().contains("mutually exclusive with shuffle"),
            "{e}"
        );
        let bs = BatchSampler::new(SequentialSampler::new(3), 2, false).unwrap();
        let e = DataLoader::builder(ds(3))
            .batch_size(2)
            .batch_sampler(bs)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("batch_sampler option"), "{e}");
        let e = DataLoader::builder(ds(3))
            .prefetch_factor(0)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("prefetch_factor"), "{e}");
    }

    #[test]
    fn out_of_range_sampler_indices_are_errors() {
        let loader = DataLoader::builder(ds(3))
            .batch_size(2)
            .sampler(SequentialSampler::new(5))
            .build()
            .unwrap();
        let results: Vec<_> = loader.iter().collect();
        assert!(results[0].is_ok());
        let e = results[1].as_ref().unwrap_err();
        assert!(
            matches!(
                e,
                DataError::IndexOutOfRange {
                    index: 3,
                    len: 3,
                    ..
                }
            ),
            "{e}"
        );
        let loader = DataLoader::builder(ds(3))
            .batch_size(2)
            .sampler(SequentialSampler::new(5))
            .num_workers(2)
            .build()
            .unwrap();
        let results: Vec<_> = loader.iter().collect();
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok() && results[1].is_err() && results[2].is_err());
    }

    #[test]
    fn custom_collate_and_batch_sampler() {
        let loader = DataLoader::builder(ds(5))
            .batch_size(2)
            .collate(|items: Vec<(Tensor<f32>, Tensor<i64>)>| Ok(items.len()))
            .build()
            .unwrap();
        assert_eq!(
            loader.iter().map(|r| r.unwrap()).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
        let bs = BatchSampler::new(SequentialSampler::new(5), 4, true).unwrap();
        let loader = DataLoader::builder(ds(5))
            .batch_sampler(bs)
            .build()
            .unwrap();
        assert_eq!(labels(&loader), vec![vec![0, 1, 2, 3]]);
    }

    #[test]
    fn workers_match_no_workers_and_report_panics() {
        let base = DataLoader::builder(ds(23))
            .batch_size(3)
            .shuffle(true)
            .seed(1)
            .build()
            .unwrap();
        let with = DataLoader::builder(ds(23))
            .batch_size(3)
            .shuffle(true)
            .seed(1)
            .num_workers(3)
            .build()
            .unwrap();
        for _ in 0..3 {
            assert_eq!(labels(&base), labels(&with));
        }
        let panicky = ds(6).map(|(x, y)| {
            if y.item() == 4 {
                panic!("sample 4 is broken");
            }
            Ok((x, y))
        });
        let loader = DataLoader::builder(panicky)
            .batch_size(2)
            .num_workers(2)
            .build()
            .unwrap();
        let results: Vec<_> = loader.iter().collect();
        assert!(results[0].is_ok() && results[1].is_ok());
        let e = results[2].as_ref().unwrap_err();
        assert!(matches!(e, DataError::WorkerPanic { batch: 2, .. }), "{e}");
        assert!(e.to_string().contains("sample 4 is broken"), "{e}");
    }

    #[test]
    fn two_threads_make_the_same_batches_errors_and_panics_in_order() {
        let before = antorcha_tensor::num_threads();
        let run = |threads: usize| {
            antorcha_tensor::set_num_threads(threads);
            let loader = DataLoader::builder(ds(23))
                .batch_size(3)
                .shuffle(true)
                .seed(7)
                .build()
                .unwrap();
            let epochs: Vec<_> = (0..2).map(|_| labels(&loader)).collect();
            let bad = DataLoader::builder(ds(3))
                .batch_size(1)
                .sampler(SequentialSampler::new(5))
                .build()
                .unwrap();
            let oks: Vec<bool> = bad.iter().map(|r| r.is_ok()).collect();
            // A panic in batch 1 surfaces at batch 1, not while batch 0 is being made (with
            // two threads both are made at once), and one in batch 2 at batch 2.
            let panicky = |bad: i64| {
                DataLoader::builder(ds(6).map(move |(x, y)| {
                    if y.item() == bad {
                        panic!("sample {bad} is broken");
                    }
                    Ok((x, y))
                }))
                .batch_size(2)
                .build()
                .unwrap()
            };
            let mut panics_at = vec![];
            for bad in [2, 4] {
                let loader = panicky(bad);
                let mut it = loader.iter();
                let at = (0..3).position(|_| catch_unwind(AssertUnwindSafe(|| it.next())).is_err());
                panics_at.push(at);
            }
            (epochs, oks, panics_at)
        };
        let one = run(1);
        let two = run(2);
        antorcha_tensor::set_num_threads(before);
        assert_eq!(one, two);
        assert_eq!(two.1, vec![true, true, true, false, false]);
        assert_eq!(two.2, vec![Some(1), Some(2)]);
    }

    #[test]
    fn empty_dataset_gives_no_batches() {
        let loader = DataLoader::builder(ds(0))
            .batch_size(4)
            .shuffle(true)
            .num_workers(2)
            .build()
            .unwrap();
        assert!(loader.is_empty());
        assert_eq!(loader.iter().count(), 0);
    }
}
