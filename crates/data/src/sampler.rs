//! Samplers: the order in which a [`DataLoader`](crate::DataLoader) visits a dataset, one epoch
//! at a time, and [`BatchSampler`], which groups those indices into batches.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use std::any::Any;
use std::sync::{Arc, Mutex};

use antorcha_tensor::Generator as TorchGenerator;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};

use crate::error::{DataError, Result};

/// Produces the dataset indices of one epoch, like `torch.utils.data.Sampler`. Each call of
/// [`indices`](Sampler::indices) is a new epoch (a random sampler draws a new order).
pub trait Sampler: Send {
    /// The number of indices one epoch yields.
    fn len(&self) -> usize;

    /// Whether an epoch yields nothing.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The indices of the next epoch.
    fn indices(&mut self) -> Vec<usize>;
}

impl<S: Sampler + ?Sized> Sampler for Box<S> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn indices(&mut self) -> Vec<usize> {
        (**self).indices()
    }
}

/// Where a random sampler's numbers come from, as in PyTorch: the global generator when none
/// was given (so [`manual_seed`](antorcha_tensor::manual_seed) makes runs repeat, and gives
/// PyTorch's orders), a PyTorch-compatible [`antorcha_tensor::Generator`] (PyTorch's
/// orders for the same seed; shared with the loader that made the sampler), or any other
/// `RngCore` (repeatable, but not PyTorch's orders).
pub(crate) enum Generator {
    Global,
    Torch(Arc<Mutex<TorchGenerator>>),
    Other(Box<dyn RngCore + Send>),
}

impl Generator {
    pub(crate) fn global() -> Self {
        Generator::Global
    }

    /// `rng` as a sampler's generator; a torch [`antorcha_tensor::Generator`] is recognised
    /// and gets PyTorch's algorithms.
    pub(crate) fn own<R: RngCore + Send + 'static>(rng: R) -> Self {
        let mut slot = Some(rng);
        if let Some(g) = (&mut slot as &mut dyn Any).downcast_mut::<Option<TorchGenerator>>() {
            if let Some(g) = g.take() {
                return Generator::Torch(Arc::new(Mutex::new(g)));
            }
        }
        match slot {
            Some(rng) => Generator::Other(Box::new(rng)),
            None => Generator::Global,
        }
    }

    /// The torch generator this one shares, if it is one.
    pub(crate) fn shared(&self) -> Option<Arc<Mutex<TorchGenerator>>> {
        match self {
            Generator::Torch(g) => Some(Arc::clone(g)),
            _ => None,
        }
    }

    /// Runs `f` with a torch generator as `RandomSampler.__iter__` picks it: the given one,
    /// or (with none given) a new one seeded with an `int64` drawn from the global generator.
    /// `None` for another kind of generator.
    fn with_torch<R>(&mut self, f: impl FnOnce(&mut TorchGenerator) -> R) -> Option<R> {
        match self {
            Generator::Global => {
                let seed = antorcha_tensor::with_global_rng(|g| g.random_i64());
                Some(f(&mut TorchGenerator::new(seed as u64)))
            }
            Generator::Torch(g) => Some(f(&mut lock(g))),
            Generator::Other(_) => None,
        }
    }

    /// Runs `f` with a torch generator as `torch.randperm(…, generator=generator)` and
    /// `torch.multinomial` pick it: the given one, or the global generator itself. `None` for
    /// another kind of generator.
    fn with_torch_direct<R>(&mut self, f: impl FnOnce(&mut TorchGenerator) -> R) -> Option<R> {
        match self {
            Generator::Global => Some(antorcha_tensor::with_global_rng(f)),
            Generator::Torch(g) => Some(f(&mut lock(g))),
            Generator::Other(_) => None,
        }
    }

    /// Runs `f` with any generator: the given one, or one made as [`Generator::with_torch`]
    /// makes it.
    fn with<R>(&mut self, f: impl FnOnce(&mut dyn RngCore) -> R) -> R {
        match self {
            Generator::Other(rng) => f(rng.as_mut()),
            Generator::Torch(g) => f(&mut *lock(g)),
            Generator::Global => {
                let seed = antorcha_tensor::with_global_rng(|g| g.random_i64());
                f(&mut TorchGenerator::new(seed as u64))
            }
        }
    }
}

pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves the value usable: recover the guard.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Generator::Global => "global generator",
            Generator::Torch(_) => "torch generator",
            Generator::Other(_) => "own generator",
        })
    }
}

macro_rules! generator_methods {
    () => {
        /// Uses `rng` for the random draws. A PyTorch-compatible
        /// [`antorcha_tensor::Generator`] gives PyTorch's orders (`generator=g`); any other
        /// [`rand::RngCore`] (a `StdRng`, a [`RandomState`](crate::RandomState)) gives
        /// orders that repeat from run to run.
        pub fn with_generator(mut self, rng: impl RngCore + Send + 'static) -> Self {
            self.generator = Generator::own(rng);
            self
        }

        /// Uses a PyTorch-compatible generator seeded with `seed`, like
        /// `generator=torch.Generator().manual_seed(seed)`.
        pub fn with_seed(self, seed: u64) -> Self {
            self.with_generator(TorchGenerator::new(seed))
        }
    };
}

/// `0, 1, …, n - 1` in order, like `torch.utils.data.SequentialSampler`.
#[derive(Clone, Debug)]
pub struct SequentialSampler {
    n: usize,
}

impl SequentialSampler {
    /// Visits `0..n` in order.
    pub fn new(n: usize) -> Self {
        SequentialSampler { n }
    }
}

impl Sampler for SequentialSampler {
    fn len(&self) -> usize {
        self.n
    }
    fn indices(&mut self) -> Vec<usize> {
        (0..self.n).collect()
    }
}

/// Random indices in `0..n`, like `torch.utils.data.RandomSampler`: a new permutation every
/// epoch, or (with replacement) `num_samples` independent uniform draws.
///
/// ```
/// use antorcha_data::{RandomSampler, Sampler};
/// let mut s = RandomSampler::new(5).with_seed(7);
/// let mut epoch = s.indices();
/// epoch.sort();
/// assert_eq!(epoch, vec![0, 1, 2, 3, 4]);
/// ```
#[derive(Debug)]
pub struct RandomSampler {
    n: usize,
    replacement: bool,
    num_samples: usize,
    generator: Generator,
}

impl RandomSampler {
    /// A random permutation of `0..n` every epoch.
    pub fn new(n: usize) -> Self {
        RandomSampler {
            n,
            replacement: false,
            num_samples: n,
            generator: Generator::global(),
        }
    }

    /// PyTorch's full form: with `replacement`, `num_samples` (default `n`) uniform draws;
    /// without, `num_samples` may exceed `n` and then repeats whole permutations, the last one
    /// cut short. Errors for `num_samples = 0` or an empty range to draw from.
    pub fn try_new(n: usize, replacement: bool, num_samples: Option<usize>) -> Result<Self> {
        let k = num_samples.unwrap_or(n);
        if num_samples == Some(0) {
            return Err(DataError::invalid(
                "RandomSampler",
                "num_samples should be a positive integer value, but got num_samples=0",
            ));
        }
        if n == 0 && k > 0 {
            return Err(DataError::invalid(
                "RandomSampler",
                format!("cannot draw {k} samples from an empty dataset"),
            ));
        }
        Ok(RandomSampler {
            n,
            replacement,
            num_samples: k,
            generator: Generator::global(),
        })
    }

    generator_methods!();

    pub(crate) fn with_boxed_generator(mut self, generator: Generator) -> Self {
        self.generator = generator;
        self
    }
}

impl Sampler for RandomSampler {
    fn len(&self) -> usize {
        self.num_samples
    }

    fn indices(&mut self) -> Vec<usize> {
        let (n, k, replacement) = (self.n, self.num_samples, self.replacement);
        if n == 0 {
            return Vec::new();
        }
        let torch = self.generator.with_torch(|g| {
            if replacement {
                // torch.randint(high=n): `random() % n` (random64 from 2^32 on).
                return (0..k).map(|_| g.random_below(n)).collect();
            }
            // Whole permutations, then one more cut short (drawn even when cut to nothing).
            let mut out = Vec::with_capacity(k);
            for _ in 0..k / n {
                out.extend(g.randperm(n));
            }
            out.extend(g.randperm(n).into_iter().take(k % n));
            out
        });
        if let Some(out) = torch {
            return out;
        }
        self.generator.with(|rng| {
            if replacement {
                return (0..k).map(|_| rng.random_range(0..n)).collect();
            }
            let mut out = Vec::with_capacity(k);
            while out.len() < k {
                let mut perm: Vec<usize> = (0..n).collect();
                perm.shuffle(rng);
                let take = (k - out.len()).min(n);
                out.extend_from_slice(&perm[..take]);
            }
            out
        })
    }
}

/// The given indices in a new random order every epoch, like
/// `torch.utils.data.SubsetRandomSampler`.
#[derive(Debug)]
pub struct SubsetRandomSampler {
    indices: Vec<usize>,
    generator: Generator,
}

impl SubsetRandomSampler {
    /// Samples from `indices`, without replacement.
    pub fn new(indices: Vec<usize>) -> Self {
        SubsetRandomSampler {
            indices,
            generator: Generator::global(),
        }
    }

    generator_methods!();
}

impl Sampler for SubsetRandomSampler {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn indices(&mut self) -> Vec<usize> {
        // PyTorch: `torch.randperm(len(indices), generator=generator)`, from the global
        // generator itself when none was given.
        let n = self.indices.len();
        let perm = self.generator.with_torch_direct(|g| g.randperm(n));
        match perm {
            Some(p) => p.into_iter().map(|i| self.indices[i]).collect(),
            None => {
                let mut out = self.indices.clone();
                self.generator.with(|rng| out.shuffle(rng));
                out
            }
        }
    }
}

/// `num_samples` indices drawn with probability proportional to `weights[i]`, like
/// `torch.utils.data.WeightedRandomSampler` (the weights need not sum to 1). With the global
/// generator or a torch [`antorcha_tensor::Generator`] the draws are `torch.multinomial`'s
/// on the CPU (a cumulative distribution searched with uniform doubles, with replacement;
/// `argmax`/`topk` of `w / Exp(1)` without, or for one sample), as PyTorch computes them where
/// its `exponential_` is not MKL's (AMD and ARM CPUs; Intel CPUs with MKL differ without
/// replacement).
///
/// ```
/// use antorcha_data::{Sampler, WeightedRandomSampler};
/// let mut s = WeightedRandomSampler::new(vec![0.0, 1.0, 0.0], 4, true)?.with_seed(1);
/// assert_eq!(s.indices(), vec![1, 1, 1, 1]);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
#[derive(Debug)]
pub struct WeightedRandomSampler {
    weights: Vec<f64>,
    num_samples: usize,
    replacement: bool,
    dist: Option<WeightedIndex<f64>>,
    generator: Generator,
}

impl WeightedRandomSampler {
    /// Draws `num_samples` indices with (`replacement = true`) or without replacement.
    /// Errors for negative or non-finite weights, weights that sum to zero, `num_samples = 0`,
    /// or (without replacement) more samples than there are positive weights. Finite weights
    /// whose sum overflows are fine: they are drawn by their ratios.
    pub fn new(weights: Vec<f64>, num_samples: usize, replacement: bool) -> Result<Self> {
        let op = "WeightedRandomSampler";
        if num_samples == 0 {
            return Err(DataError::invalid(
                op,
                "num_samples should be a positive integer value, but got num_samples=0",
            ));
        }
        if let Some(i) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
            return Err(DataError::invalid(
                op,
                format!(
                    "weight {i} is {}; weights must be finite and non-negative",
                    weights[i]
                ),
            ));
        }
        let positive = weights.iter().filter(|&&w| w > 0.0).count();
        if positive == 0 {
            return Err(DataError::invalid(
                op,
                format!("the {} weights sum to zero", weights.len()),
            ));
        }
        if !replacement && num_samples > positive {
            return Err(DataError::invalid(
                op,
                format!(
                    "cannot draw {num_samples} samples without replacement from {positive} indices with positive weight"
                ),
            ));
        }
        // Every draw below sees the weights scaled, when their sum overflows.
        let weights = finite_sum_weights(&weights).unwrap_or(weights);
        let dist = if replacement {
            Some(WeightedIndex::new(&weights).map_err(|e| DataError::invalid(op, e.to_string()))?)
        } else {
            None
        };
        Ok(WeightedRandomSampler {
            weights,
            num_samples,
            replacement,
            dist,
            generator: Generator::global(),
        })
    }

    generator_methods!();
}

/// Finite weights whose sum overflows to infinity, scaled by a power of two (exact: every ratio
/// between weights is kept) so that the largest is about 1 and the sum is finite; `None`
/// when the sum is already finite. (PyTorch's `torch.multinomial` accepts such weights but its
/// infinite cumulative sum draws one index only; scaling draws by the weights' true ratios.)
fn finite_sum_weights(weights: &[f64]) -> Option<Vec<f64>> {
    if weights.iter().sum::<f64>().is_finite() {
        return None;
    }
    let max = weights.iter().copied().fold(0.0f64, f64::max);
    // `max` is finite and at least `f64::MAX / len`, so its exponent is in (0, 1024] (`log2`
    // may round up to 1024). 2^-1024 is not a normal float: scale in two exact halves.
    let exponent = max.log2().floor() as i32;
    let (a, b) = (
        2f64.powi(-(exponent / 2)),
        2f64.powi(-(exponent - exponent / 2)),
    );
    Some(weights.iter().map(|w| w * a * b).collect())
}

impl Sampler for WeightedRandomSampler {
    fn len(&self) -> usize {
        self.num_samples
    }

    fn indices(&mut self) -> Vec<usize> {
        let k = self.num_samples;
        let (weights, replacement) = (&self.weights, self.replacement);
        if let Some(out) = self
            .generator
            .with_torch_direct(|g| torch_multinomial(weights, k, replacement, g))
        {
            return out;
        }
        if self.replacement {
            let dist = self.dist.as_ref().expect("built for replacement");
            return self
                .generator
                .with(|rng| (0..k).map(|_| dist.sample(rng)).collect());
        }
        // Efraimidis–Spirakis: key ln(u) / w, the k largest keys in decreasing order are a
        // draw without replacement, in the order successive draws would give.
        let weights = &self.weights;
        let mut keyed: Vec<(f64, usize)> = self.generator.with(|rng| {
            weights
                .iter()
                .enumerate()
                .filter(|(_, &w)| w > 0.0)
                .map(|(i, &w)| ((1.0 - rng.random::<f64>()).ln() / w, i))
                .collect()
        });
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        keyed.iter().take(k).map(|&(_, i)| i).collect()
    }
}

/// `torch.multinomial(weights, k, replacement, generator=g)` on the CPU for one row of
/// `f64` weights.
fn torch_multinomial(
    weights: &[f64],
    k: usize,
    replacement: bool,
    g: &mut TorchGenerator,
) -> Vec<usize> {
    let n = weights.len();
    if replacement && k > 1 {
        // The normalised cumulative distribution, its last bucket set to 1, searched for the
        // first bucket not below a uniform double.
        let mut cum = Vec::with_capacity(n);
        let mut sum = 0.0;
        for &w in weights {
            sum += w;
            cum.push(sum);
        }
        if sum > 0.0 {
            for c in &mut cum {
                *c /= sum;
            }
        }
        if let Some(last) = cum.last_mut() {
            *last = 1.0;
        }
        return (0..k)
            .map(|_| {
                let u = g.uniform_f64();
                let (mut left, mut right) = (0, n);
                while right > left {
                    let mid = left + (right - left) / 2;
                    if cum[mid] < u {
                        left = mid + 1;
                    } else {
                        right = mid;
                    }
                }
                left
            })
            .collect();
    }
    // The exponential trick: w / q with q ~ Exp(1) (`exponential_`: -log1p(-u)), then the
    // index of the largest (one sample) or the k largest in decreasing order.
    let keys: Vec<f64> = weights
        .iter()
        .map(|&w| w / -(-g.uniform_f64()).ln_1p())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| keys[b].total_cmp(&keys[a]));
    order.truncate(k);
    order
}

/// Anything that yields the batches of indices of an epoch; [`BatchSampler`] is the usual
/// one, a custom one can group indices any way (e.g. by length).
pub trait Batcher: Send {
    /// The number of batches in an epoch.
    fn len(&self) -> usize;

    /// Whether an epoch has no batches.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batches of the next epoch.
    fn batches(&mut self) -> Vec<Vec<usize>>;
}

/// Groups a sampler's indices into batches of `batch_size`, like
/// `torch.utils.data.BatchSampler`; the last batch is smaller unless `drop_last`.
///
/// ```
/// use antorcha_data::{BatchSampler, Batcher, SequentialSampler};
/// let mut b = BatchSampler::new(SequentialSampler::new(5), 2, false)?;
/// assert_eq!(b.batches(), vec![vec![0, 1], vec![2, 3], vec![4]]);
/// let mut b = BatchSampler::new(SequentialSampler::new(5), 2, true)?;
/// assert_eq!(b.len(), 2);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
pub struct BatchSampler {
    sampler: Box<dyn Sampler>,
    batch_size: usize,
    drop_last: bool,
}

impl std::fmt::Debug for BatchSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchSampler")
            .field("len", &self.sampler.len())
            .field("batch_size", &self.batch_size)
            .field("drop_last", &self.drop_last)
            .finish()
    }
}

impl BatchSampler {
    /// Batches of `batch_size` (at least 1) from `sampler`.
    pub fn new(
        sampler: impl Sampler + 'static,
        batch_size: usize,
        drop_last: bool,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::ZeroBatchSize { op: "BatchSampler" });
        }
        Ok(BatchSampler {
            sampler: Box::new(sampler),
            batch_size,
            drop_last,
        })
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Whether a last, smaller batch is dropped.
    pub fn drop_last(&self) -> bool {
        self.drop_last
    }
}

impl Batcher for BatchSampler {
    fn len(&self) -> usize {
        let n = self.sampler.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    fn batches(&mut self) -> Vec<Vec<usize>> {
        let indices = self.sampler.indices();
        let chunks = indices.chunks(self.batch_size);
        if self.drop_last {
            chunks
                .filter(|c| c.len() == self.batch_size)
                .map(<[usize]>::to_vec)
                .collect()
        } else {
            chunks.map(<[usize]>::to_vec).collect()
        }
    }
}

impl<B: Batcher + ?Sized> Batcher for Box<B> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn batches(&mut self) -> Vec<Vec<usize>> {
        (**self).batches()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<usize>) -> Vec<usize> {
        v.sort();
        v
    }

    #[test]
    fn sequential() {
        let mut s = SequentialSampler::new(3);
        assert_eq!(s.len(), 3);
        assert_eq!(s.indices(), vec![0, 1, 2]);
        assert!(SequentialSampler::new(0).indices().is_empty());
    }

    #[test]
    fn random_permutations_change_per_epoch_and_repeat_per_seed() {
        let mut a = RandomSampler::new(50).with_seed(3);
        let mut b = RandomSampler::new(50).with_seed(3);
        let (a1, a2) = (a.indices(), a.indices());
        assert_eq!(sorted(a1.clone()), (0..50).collect::<Vec<_>>());
        assert_ne!(a1, a2);
        assert_eq!((b.indices(), b.indices()), (a1, a2));
    }

    #[test]
    fn random_sampler_follows_the_global_seed() {
        antorcha_tensor::manual_seed(5);
        let a = RandomSampler::new(30).indices();
        antorcha_tensor::manual_seed(5);
        let b = RandomSampler::new(30).indices();
        assert_eq!(a, b);
    }

    #[test]
    fn random_sampler_num_samples_and_replacement() {
        let mut s = RandomSampler::try_new(4, false, Some(10))
            .unwrap()
            .with_seed(1);
        let v = s.indices();
        assert_eq!(v.len(), 10);
        assert_eq!(sorted(v[..4].to_vec()), vec![0, 1, 2, 3]);
        assert_eq!(sorted(v[4..8].to_vec()), vec![0, 1, 2, 3]);
        let mut s = RandomSampler::try_new(3, true, Some(300))
            .unwrap()
            .with_seed(1);
        let v = s.indices();
        assert_eq!(v.len(), 300);
        assert!(v.iter().all(|&i| i < 3));
        assert!((0..3).all(|i| v.contains(&i)));
        assert!(RandomSampler::try_new(3, true, Some(0)).is_err());
        assert!(RandomSampler::try_new(0, true, Some(2)).is_err());
        assert_eq!(
            RandomSampler::try_new(0, false, None).unwrap().indices(),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn subset_random() {
        let mut s = SubsetRandomSampler::new(vec![10, 20, 30]).with_seed(2);
        assert_eq!(s.len(), 3);
        assert_eq!(sorted(s.indices()), vec![10, 20, 30]);
    }

    #[test]
    fn weighted_with_replacement_follows_weights() {
        let mut s = WeightedRandomSampler::new(vec![1.0, 3.0], 4000, true)
            .unwrap()
            .with_seed(9);
        let v = s.indices();
        let ones = v.iter().filter(|&&i| i == 1).count() as f64 / 4000.0;
        assert!((ones - 0.75).abs() < 0.03, "{ones}");
    }

    #[test]
    fn weighted_without_replacement() {
        let mut s = WeightedRandomSampler::new(vec![1.0, 0.0, 5.0, 2.0], 3, false)
            .unwrap()
            .with_seed(4);
        for _ in 0..20 {
            let v = s.indices();
            assert_eq!(sorted(v), vec![0, 2, 3]);
        }
        // The heaviest index comes first most of the time.
        let mut s = WeightedRandomSampler::new(vec![1.0, 100.0], 2, false)
            .unwrap()
            .with_seed(4);
        let first_heavy = (0..200).filter(|_| s.indices()[0] == 1).count();
        assert!(first_heavy > 180, "{first_heavy}");
    }

    #[test]
    fn weighted_errors() {
        for (w, k, r, msg) in [
            (vec![1.0, -1.0], 1, true, "weight 1"),
            (vec![1.0, f64::NAN], 1, true, "weight 1"),
            (vec![0.0, 0.0], 1, true, "sum to zero"),
            (vec![], 1, true, "sum to zero"),
            (vec![1.0, 0.0], 2, false, "without replacement"),
            (vec![1.0], 0, true, "num_samples"),
        ] {
            let e = WeightedRandomSampler::new(w, k, r).unwrap_err().to_string();
            assert!(e.contains(msg), "{e}");
        }
    }

    #[test]
    fn batch_sampler_counts() {
        let mut b = BatchSampler::new(SequentialSampler::new(7), 3, false).unwrap();
        assert_eq!(b.len(), 3);
        assert_eq!(b.batches(), vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
        let mut b = BatchSampler::new(SequentialSampler::new(7), 3, true).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.batches().len(), 2);
        let mut b = BatchSampler::new(SequentialSampler::new(2), 5, true).unwrap();
        assert!(b.is_empty() && b.batches().is_empty());
        let e = BatchSampler::new(SequentialSampler::new(2), 0, false).unwrap_err();
        assert!(matches!(e, DataError::ZeroBatchSize { .. }), "{e}");
        assert!(e.to_string().contains("batch_size"));
    }
}
