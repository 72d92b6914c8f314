//! Random tensors. The global generator follows PyTorch's CPU generator: after
//! `manual_seed(s)`, `rand` and `randn` give PyTorch's numbers (`torch.manual_seed(s)`,
//! `torch.rand`, `torch.randn`); explicit generators of any `rand::Rng` work too.

use std::sync::{Mutex, MutexGuard, OnceLock};

use ndarray::{ArrayD, IxDyn};
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

use crate::dispatch::cpu_dispatch;
use crate::element::Float;
use crate::mt19937::Mt19937;

mod cephes_f32;
use crate::tensor::Tensor;

/// PyTorch's default seed (`torch.initial_seed()` in a fresh process).
const DEFAULT_SEED: u64 = 67_280_421_310_721;

/// PyTorch's CPU random generator (`torch.Generator()`): MT19937 seeded with the low 32 bits
/// of the seed, 24-bit uniform floats, 53-bit uniform doubles, and Box–Muller normals that
/// keep the second value of each pair for the next call.
///
/// ```
/// use antorcha_tensor::{Generator, Tensor};
/// let mut g = Generator::new(42); // torch.Generator().manual_seed(42)
/// let a = Tensor::<f32>::randn_from(&[1], &mut g);
/// assert_eq!(a.item(), 0.33669036); // torch.randn(1, generator=g)
/// ```
#[derive(Clone, Debug)]
pub struct Generator {
    mt: Mt19937,
    next_normal: Option<f64>,
}

impl Generator {
    /// A generator seeded like `torch.Generator().manual_seed(seed)`.
    pub fn new(seed: u64) -> Self {
        Generator {
            mt: Mt19937::new(seed as u32),
            next_normal: None,
        }
    }

    /// The generator's whole state, to save and restore it like `torch.get_rng_state()`
    /// (the MT19937 words and position, and the cached second normal).
    pub fn state(&self) -> Vec<u32> {
        let normal = self.next_normal.map_or(0, f64::to_bits);
        let mut out = vec![
            u32::from(self.next_normal.is_some()),
            normal as u32,
            (normal >> 32) as u32,
        ];
        out.extend(self.mt.state());
        out
    }

    /// A generator in the state [`Generator::state`] gave (`torch.set_rng_state`), or `None`
    /// if `state` is not one.
    pub fn from_state(state: &[u32]) -> Option<Self> {
        let (head, mt) = (state.get(..3)?, state.get(3..)?);
        let normal = f64::from_bits(u64::from(head[1]) | (u64::from(head[2]) << 32));
        Some(Generator {
            mt: Mt19937::from_state(mt)?,
            next_normal: match head[0] {
                0 => None,
                1 => Some(normal),
                _ => return None,
            },
        })
    }

    /// A 32-bit draw (PyTorch's `generator->random()`; named apart from `rand::Rng::random`).
    #[inline]
    pub fn random_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// A 64-bit draw: two 32-bit outputs, the first in the high word (PyTorch's `random64`).
    #[inline]
    pub fn random64(&mut self) -> u64 {
        let hi = self.mt.next_u32() as u64;
        (hi << 32) | self.mt.next_u32() as u64
    }

    /// A uniform double in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn uniform_f64(&mut self) -> f64 {
        (self.random64() & ((1 << 53) - 1)) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform float in `[0, 1)` with 24 random bits.
    #[inline]
    pub fn uniform_f32(&mut self) -> f32 {
        (self.mt.next_u32() & ((1 << 24) - 1)) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// A standard normal double (Box–Muller; the pair's second value serves the next call).
    pub fn normal_f64(&mut self) -> f64 {
        if let Some(v) = self.next_normal.take() {
            return v;
        }
        let u1 = self.uniform_f64();
        let u2 = self.uniform_f64();
        let r = (-2.0 * (-u2).ln_1p()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u1;
        self.next_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// A uniform sample in `[0, 1)` at `T`'s precision, as PyTorch draws it for that dtype.
    #[inline]
    fn uniform<T: Float>(&mut self) -> T {
        if T::DTYPE == "float32" {
            T::cast(self.uniform_f32() as f64)
        } else {
            T::cast(self.uniform_f64())
        }
    }

    /// `n` samples of `U(from, to)` as PyTorch's CPU `uniform_` draws them for `T`: 24 random
    /// bits per `f32`, 53 per `f64`, scaled with one fused multiply-add in `T`
    /// (`torch.empty(n).uniform_(from, to, generator=g)`).
    pub fn uniform_fill<T: Float>(&mut self, n: usize, from: f64, to: f64) -> Vec<T> {
        if T::DTYPE == "float32" {
            let (from, to) = (from as f32, to as f32);
            (0..n)
                .map(|_| T::cast(self.uniform_f32().mul_add(to - from, from) as f64))
                .collect()
        } else {
            (0..n)
                .map(|_| T::cast(self.uniform_f64().mul_add(to - from, from)))
                .collect()
        }
    }

    /// `n` samples of `N(mean, std²)` as PyTorch's CPU `normal_` fills a contiguous tensor
    /// of `T` (`torch.empty(n).normal_(mean, std, generator=g)`): below 16 elements one
    /// Box–Muller value at a time in `f64` (the pair's second value kept for the next call);
    /// from 16 on, all uniforms first, then Box–Muller on blocks of 16 (pairs `j`, `j + 8`),
    /// a last partial block recomputed from 16 fresh uniforms. `f32` blocks use the Cephes
    /// `log`/`sincos` of PyTorch's AVX2 kernel (what x86-64 builds run).
    pub fn normal_fill<T: Float>(&mut self, n: usize, mean: f64, std: f64) -> Vec<T> {
        if n < 16 {
            return (0..n)
                .map(|_| T::cast(self.normal_f64().mul_add(std, mean)))
                .collect();
        }
        let mut data: Vec<T> = (0..n).map(|_| self.uniform::<T>()).collect();
        normal_fill_blocks(&mut data, mean, std);
        if !n.is_multiple_of(16) {
            let tail = &mut data[n - 16..];
            for v in tail.iter_mut() {
                *v = self.uniform::<T>();
            }
            normal_fill_16(tail, mean, std);
        }
        data
    }

    /// A random permutation of `0..n`, like `torch.randperm(n, generator=g)` on the CPU: a
    /// Fisher–Yates shuffle with `random() % (n - i)` below `u32::MAX / 20` elements, and
    /// the inside-out variant with `random64()` from there on.
    pub fn randperm(&mut self, n: usize) -> Vec<usize> {
        if (n as u64) < u64::from(u32::MAX / 20) {
            let mut r: Vec<usize> = (0..n).collect();
            for i in 0..n.saturating_sub(1) {
                let z = (u64::from(self.random_u32()) % (n - i) as u64) as usize;
                r.swap(i, z + i);
            }
            return r;
        }
        let mut r = vec![0usize; n];
        for i in 0..n {
            let z = (self.random64() % (i as u64 + 1)) as usize;
            r[i] = r[z];
            r[z] = i;
        }
        r
    }

    /// An integer in `0..n` as `torch.randint(high=n, generator=g)` draws it: `random() % n`,
    /// or `random64() % n` from `n >= 2^32` on (0 when `n` is 0).
    pub fn random_below(&mut self, n: usize) -> usize {
        let n = n as u64;
        if n == 0 {
            0
        } else if n >= 1 << 32 {
            (self.random64() % n) as usize
        } else {
            (u64::from(self.random_u32()) % n) as usize
        }
    }

    /// A non-negative `i64` as `torch.empty((), dtype=torch.int64).random_(generator=g)`
    /// draws it (`random64() % 2^63`): how `RandomSampler` seeds its per-epoch generator.
    pub fn random_i64(&mut self) -> i64 {
        (self.random64() % (1u64 << 63)) as i64
    }

    /// A Bernoulli draw with probability `p` of `true`, as PyTorch's default CPU
    /// `bernoulli_(p)` kernel makes it: a 53-bit uniform double below `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform_f64() < p
    }
}

cpu_dispatch! { "fma":
    /// [`normal_fill_16`] on each whole block of 16 from the start of `data`. Its fused
    /// multiply-adds are one instruction with FMA and a slow exact software routine without,
    /// so it is also compiled for FMA (a fused multiply-add rounds once either way).
    fn normal_fill_blocks / normal_fill_blocks_fma<T: Float>(
        data: &mut [T],
        mean: f64,
        std: f64,
    ) => normal_fill_blocks_body;
}

#[inline(always)]
fn normal_fill_blocks_body<T: Float>(data: &mut [T], mean: f64, std: f64) {
    for block in data.chunks_exact_mut(16) {
        normal_fill_16(block, mean, std);
    }
}

/// Box–Muller on 16 uniforms in place, as PyTorch's `normal_fill_16`: pairs `(j, j + 8)`
/// become two normals, scaled by `std` and shifted by `mean` with a fused multiply-add.
#[inline(always)]
fn normal_fill_16<T: Float>(data: &mut [T], mean: f64, std: f64) {
    if T::DTYPE == "float32" {
        let (mean, std) = (mean as f32, std as f32);
        let two_pi = (2.0 * std::f64::consts::PI) as f32;
        for j in 0..8 {
            let u1 = 1.0 - data[j].as_f64() as f32;
            let u2 = data[j + 8].as_f64() as f32;
            let radius = (-2.0 * cephes_f32::log(u1)).sqrt();
            let (sin, cos) = cephes_f32::sincos(two_pi * u2);
            data[j] = T::cast((radius * cos).mul_add(std, mean) as f64);
            data[j + 8] = T::cast((radius * sin).mul_add(std, mean) as f64);
        }
        return;
    }
    for j in 0..8 {
        let u1 = 1.0 - data[j].as_f64();
        let u2 = data[j + 8].as_f64();
        let radius = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        data[j] = T::cast((radius * theta.cos()).mul_add(std, mean));
        data[j + 8] = T::cast((radius * theta.sin()).mul_add(std, mean));
    }
}

impl RngCore for Generator {
    fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.random64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(4) {
            let bytes = self.mt.next_u32().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

fn global() -> &'static Mutex<Generator> {
    static RNG: OnceLock<Mutex<Generator>> = OnceLock::new();
    RNG.get_or_init(|| Mutex::new(Generator::new(DEFAULT_SEED)))
}

fn lock() -> MutexGuard<'static, Generator> {
    // A panic while holding the lock leaves a usable generator: recover it.
    global()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Re-seeds the global generator, like `torch.manual_seed(seed)`: `rand`, `randn`, `uniform`
/// and `normal` then give PyTorch's numbers for the same calls, bit for bit, as PyTorch's CPU
/// kernels compute them on x86-64 (fused multiply-adds, and for `f32` normals of 16 or more
/// elements the Cephes `log`/`sincos` of its AVX2 kernel).
///
/// ```
/// use antorcha_tensor::{manual_seed, Tensor};
/// manual_seed(42);
/// let a = Tensor::<f32>::randn(&[1]); // torch.manual_seed(42); a = torch.randn(1)
/// let b = Tensor::<f32>::randn(&[1]); // b = torch.randn(1)
/// assert_eq!((a.item(), b.item()), (0.33669036, 0.12880941));
/// ```
pub fn manual_seed(seed: u64) {
    *lock() = Generator::new(seed);
}

/// Runs `f` with the global generator, for crates that draw their own random numbers
/// (weight init, shuffling) and must follow `manual_seed`.
pub fn with_global_rng<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    f(&mut lock())
}

impl<T: Float> Tensor<T> {
    /// A tensor of `shape` holding `f()`'s successive values in row-major order.
    fn filled(shape: &[usize], f: impl FnMut() -> T) -> Self {
        Self::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), f))
    }

    /// Uniform samples in `[0, 1)` from the global generator, like `torch.rand`.
    pub fn rand(shape: &[usize]) -> Self {
        with_global_rng(|g| Self::rand_from(shape, g))
    }

    /// Standard normal samples from the global generator, like `torch.randn`.
    pub fn randn(shape: &[usize]) -> Self {
        with_global_rng(|g| Self::randn_from(shape, g))
    }

    /// Uniform samples in `[0, 1)` from a PyTorch-compatible generator
    /// (`torch.rand(shape, generator=g)`).
    pub fn rand_from(shape: &[usize], g: &mut Generator) -> Self {
        Self::filled(shape, || g.uniform::<T>())
    }

    /// Standard normal samples from a PyTorch-compatible generator
    /// (`torch.randn(shape, generator=g)`).
    pub fn randn_from(shape: &[usize], g: &mut Generator) -> Self {
        let n = shape.iter().product();
        Self::from_vec(g.normal_fill(n, 0.0, 1.0), shape)
    }

    /// Samples of `U(low, high)` from the global generator, like
    /// `torch.empty(shape).uniform_(low, high)` after `torch.manual_seed`.
    pub fn uniform(shape: &[usize], low: f64, high: f64) -> Self {
        with_global_rng(|g| Self::uniform_from(shape, low, high, g))
    }

    /// Samples of `U(low, high)` from a PyTorch-compatible generator, like
    /// `torch.empty(shape).uniform_(low, high, generator=g)`.
    pub fn uniform_from(shape: &[usize], low: f64, high: f64, g: &mut Generator) -> Self {
        let n = shape.iter().product();
        Self::from_vec(g.uniform_fill(n, low, high), shape)
    }

    /// Samples of `N(mean, std²)` from the global generator, like
    /// `torch.empty(shape).normal_(mean, std)` after `torch.manual_seed`.
    pub fn normal(shape: &[usize], mean: f64, std: f64) -> Self {
        with_global_rng(|g| Self::normal_from(shape, mean, std, g))
    }

    /// Samples of `N(mean, std²)` from a PyTorch-compatible generator, like
    /// `torch.empty(shape).normal_(mean, std, generator=g)`.
    pub fn normal_from(shape: &[usize], mean: f64, std: f64, g: &mut Generator) -> Self {
        let n = shape.iter().product();
        Self::from_vec(g.normal_fill(n, mean, std), shape)
    }

    /// Uniform samples in `[0, 1)` from any `rng`.
    pub fn rand_with<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Self {
        Self::filled(shape, || T::cast(rng.random::<f64>()))
    }

    /// Standard normal samples from any `rng`.
    pub fn randn_with<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Self {
        Self::filled(shape, || T::cast(rng.sample::<f64, _>(StandardNormal)))
    }

    /// Uniform samples in `[low, high)` from `rng`, like `tensor.uniform_(low, high)`.
    pub fn uniform_with<R: Rng + ?Sized>(shape: &[usize], low: T, high: T, rng: &mut R) -> Self {
        let (lo, hi) = (low.as_f64(), high.as_f64());
        Self::filled(shape, || T::cast(lo + (hi - lo) * rng.random::<f64>()))
    }

    /// Normal samples with `mean` and `std` from `rng`, like `tensor.normal_(mean, std)`.
    pub fn normal_with<R: Rng + ?Sized>(shape: &[usize], mean: T, std: T, rng: &mut R) -> Self {
        let (m, s) = (mean.as_f64(), std.as_f64());
        Self::filled(shape, || {
            T::cast(m + s * rng.sample::<f64, _>(StandardNormal))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn a_saved_state_continues_the_same_stream() {
        let mut g = Generator::new(7);
        let _ = g.normal_f64(); // leaves the pair's second value cached
        let saved = g.state();
        let mut h = Generator::from_state(&saved).unwrap();
        for _ in 0..700 {
            assert_eq!(g.normal_f64().to_bits(), h.normal_f64().to_bits());
            assert_eq!(g.random_u32(), h.random_u32());
        }
        assert!(Generator::from_state(&saved[..10]).is_none());
        let mut bad = saved.clone();
        bad[0] = 2;
        assert!(Generator::from_state(&bad).is_none());
    }

    #[test]
    fn pytorch_streams_for_seed_42() {
        // torch.manual_seed(42); torch.randn(3) / torch.rand(3), printed by PyTorch 2.15.
        let mut g = Generator::new(42);
        assert_eq!(
            Tensor::<f32>::randn_from(&[3], &mut g).to_vec(),
            vec![0.336_690_37, 0.128_809_4, 0.234_462_36]
        );
        let mut g = Generator::new(42);
        assert_eq!(
            Tensor::<f32>::rand_from(&[3], &mut g).to_vec(),
            vec![0.882_269_26, 0.915_003_97, 0.382_863_76]
        );
        // float64: torch.randn(2, dtype=torch.float64) after torch.manual_seed(42).
        let mut g = Generator::new(42);
        let d = Tensor::<f64>::randn_from(&[2], &mut g).to_vec();
        assert_eq!(d[0], 0.336_690_354_383_858_86);
    }

    #[test]
    fn pytorch_fills_sixteen_and_more_in_blocks() {
        // torch.manual_seed(0); torch.randn(18, dtype=torch.float64)[[0, 8, 16, 17]]
        let mut g = Generator::new(0);
        let v = Tensor::<f64>::randn_from(&[18], &mut g).to_vec();
        let want = [
            -2.310_411_800_234_176,
            0.238_718_058_168_170_63,
            0.674_857_543_594_003_9,
            1.046_865_376_981_465_5,
        ];
        for (got, want) in [v[0], v[8], v[16], v[17]].iter().zip(want) {
            assert_eq!(*got, want);
        }
    }

    #[test]
    fn seeded_generators_repeat_and_stay_in_range() {
        let mut r1 = StdRng::seed_from_u64(7);
        let mut r2 = StdRng::seed_from_u64(7);
        let a = Tensor::<f64>::rand_with(&[1000], &mut r1);
        assert_eq!(a, Tensor::rand_with(&[1000], &mut r2));
        assert!(a.to_vec().iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = a.to_vec().iter().sum::<f64>() / 1000.0;
        assert!(
            (mean - 0.5).abs() < 0.05,
            "mean of U[0,1) samples was {mean}"
        );
    }

    #[test]
    fn randn_has_unit_variance() {
        let mut g = Generator::new(3);
        for v in [
            Tensor::<f64>::randn_from(&[20_000], &mut g).to_vec(),
            Tensor::<f64>::randn_with(&[20_000], &mut StdRng::seed_from_u64(3)).to_vec(),
        ] {
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
            assert!(
                mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
                "mean {mean} var {var}"
            );
        }
    }

    #[test]
    fn uniform_and_normal_respect_their_parameters() {
        let mut rng = StdRng::seed_from_u64(5);
        let u = Tensor::<f64>::uniform_with(&[5000], -2.0, 3.0, &mut rng).to_vec();
        assert!(u.iter().all(|&x| (-2.0..3.0).contains(&x)));
        let n = Tensor::<f64>::normal_with(&[20_000], 10.0, 0.5, &mut rng).to_vec();
        let mean = n.iter().sum::<f64>() / n.len() as f64;
        assert!((mean - 10.0).abs() < 0.02, "mean {mean}");
    }
}
