//! numpy's legacy `RandomState`: the MT19937 generator behind `np.random.seed`, `rand`, `randn`,
//! `shuffle` and `permutation`, reproduced bit for bit so that data made with numpy (the
//! notebook's `np.random.seed(42)` points and their shuffled split) come out the same in Rust.

use antorcha_tensor::ndarray::{ArrayD, Axis, IxDyn};
use antorcha_tensor::{Element, Mt19937, Tensor};
use rand::RngCore;

/// numpy's legacy `np.random.RandomState`: MT19937 seeded with `init_genrand`, 53-bit doubles,
/// polar Box–Muller normals that keep the second value, and legacy bounded integers for
/// shuffling. Every stream equals numpy's bit for bit.
///
/// It also implements [`rand::RngCore`] (raw 32-bit outputs; 64-bit values as numpy's
/// `next_uint64`, high word first), so it can drive anything that takes a generator.
///
/// ```
/// use antorcha_data::RandomState;
/// let mut rs = RandomState::new(42); // np.random.seed(42)
/// assert_eq!(rs.random_sample(), 0.3745401188473625); // np.random.rand()
/// let mut idx: Vec<usize> = (0..5).collect();
/// rs.shuffle(&mut idx); // np.random.shuffle(idx)
/// let mut sorted = idx.clone();
/// sorted.sort();
/// assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
/// ```
#[derive(Clone)]
pub struct RandomState {
    mt: Mt19937,
    gauss: Option<f64>,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState")
            .field("mt", &self.mt)
            .field("gauss", &self.gauss)
            .finish()
    }
}

impl RandomState {
    /// A generator seeded like `np.random.RandomState(seed)`.
    pub fn new(seed: u32) -> Self {
        RandomState {
            mt: Mt19937::new(seed),
            gauss: None,
        }
    }

    /// Re-seeds in place, like `np.random.seed(seed)` (MT19937's `init_genrand`); forgets the
    /// cached normal value.
    pub fn seed(&mut self, seed: u32) {
        self.mt.seed(seed);
        self.gauss = None;
    }

    /// The next raw 32-bit output of MT19937 (numpy's `next_uint32`).
    #[inline]
    pub fn next_u32_raw(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// A uniform double in `[0, 1)` with 53 random bits, like `np.random.random_sample()`.
    #[inline]
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32_raw() >> 5) as f64;
        let b = (self.next_u32_raw() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// A standard normal value, like `np.random.standard_normal()`: the legacy polar
    /// Box–Muller method, which makes two values and keeps the second for the next call.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let f = (-2.0 * r2.ln() / r2).sqrt();
        self.gauss = Some(f * x1);
        f * x2
    }

    /// Uniform samples in `[0, 1)` of the given shape, filled in row-major order, like
    /// `np.random.rand(*shape)`.
    pub fn rand(&mut self, shape: &[usize]) -> Tensor<f64> {
        Tensor::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            self.random_sample()
        }))
    }

    /// Standard normal samples of the given shape, like `np.random.randn(*shape)`.
    pub fn randn(&mut self, shape: &[usize]) -> Tensor<f64> {
        Tensor::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            self.standard_normal()
        }))
    }

    /// Uniform samples in `[low, high)`, like `np.random.uniform(low, high, shape)`.
    pub fn uniform(&mut self, low: f64, high: f64, shape: &[usize]) -> Tensor<f64> {
        let range = high - low;
        Tensor::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            low + range * self.random_sample()
        }))
    }

    /// Normal samples with mean `loc` and standard deviation `scale`, like
    /// `np.random.normal(loc, scale, shape)`.
    pub fn normal(&mut self, loc: f64, scale: f64, shape: &[usize]) -> Tensor<f64> {
        Tensor::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            loc + scale * self.standard_normal()
        }))
    }

    /// A uniform integer in `0..=max`, by numpy's legacy masked rejection sampling
    /// (`random_interval`), the draw `shuffle` and `permutation` use.
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        mask |= mask >> 32;
        if max <= u32::MAX as u64 {
            loop {
                let v = self.next_u32_raw() as u64 & mask;
                if v <= max {
                    return v;
                }
            }
        } else {
            loop {
                let v = self.next_u64_raw() & mask;
                if v <= max {
                    return v;
                }
            }
        }
    }

    #[inline]
    fn next_u64_raw(&mut self) -> u64 {
        let hi = self.next_u32_raw() as u64;
        (hi << 32) | self.next_u32_raw() as u64
    }

    /// Shuffles a slice in place exactly as `np.random.shuffle` shuffles a 1-d array
    /// (Fisher–Yates from the end with legacy bounded draws).
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.random_interval(i as u64) as usize;
            x.swap(i, j);
        }
    }

    /// Shuffles the rows (first dimension) of a tensor in place, as `np.random.shuffle` does
    /// for an n-d array: the same draws as [`RandomState::shuffle`] on its length.
    ///
    /// A 0-d tensor is left alone.
    pub fn shuffle_rows<T: Element>(&mut self, t: &mut Tensor<T>) {
        if t.ndim() == 0 || t.shape()[0] < 2 {
            return;
        }
        let n = t.shape()[0];
        let mut perm: Vec<usize> = (0..n).collect();
        self.shuffle(&mut perm);
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return;
        }
        let shuffled = t.view().select(Axis(0), &perm);
        *t = Tensor::from_array(shuffled);
    }

    /// A shuffled `0..n`, like `np.random.permutation(n)`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }
}

impl RngCore for RandomState {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        self.next_u32_raw()
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.next_u64_raw()
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand::rand_core::impls::fill_bytes_via_next(self, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_reference_outputs() {
        // The reference implementation's first outputs for init_genrand(5489).
        let mut rs = RandomState::new(5489);
        assert_eq!(rs.next_u32_raw(), 3_499_211_612);
        assert_eq!(rs.next_u32_raw(), 581_869_302);
        assert_eq!(rs.next_u32_raw(), 3_890_346_734);
        // The 10000th output of the reference generator for the default seed.
        let mut rs = RandomState::new(5489);
        let mut last = 0;
        for _ in 0..10_000 {
            last = rs.next_u32_raw();
        }
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn numpy_seed_zero_first_values() {
        let mut rs = RandomState::new(0);
        assert_eq!(rs.random_sample(), 0.5488135039273248);
        assert_eq!(rs.random_sample(), 0.7151893663724195);
        rs.seed(0);
        assert_eq!(rs.random_sample(), 0.5488135039273248);
    }

    #[test]
    fn reseeding_forgets_the_cached_normal() {
        let mut rs = RandomState::new(3);
        let a = rs.standard_normal();
        rs.seed(3);
        assert_eq!(rs.standard_normal(), a);
        let b = rs.standard_normal();
        assert_ne!(a, b);
    }

    #[test]
    fn interval_stays_in_range_and_zero_draws_nothing() {
        let mut rs = RandomState::new(1);
        let mut copy = rs.clone();
        assert_eq!(rs.random_interval(0), 0);
        assert_eq!(rs.next_u32_raw(), copy.next_u32_raw());
        for max in [1u64, 2, 5, 255, 256, 1000, u32::MAX as u64, 1 << 40] {
            for _ in 0..50 {
                assert!(rs.random_interval(max) <= max);
            }
        }
    }

    #[test]
    fn shuffle_rows_matches_slice_shuffle() {
        let mut t = Tensor::from_vec((0..12i64).collect(), &[4, 3]);
        let mut rs = RandomState::new(7);
        rs.shuffle_rows(&mut t);
        let perm = RandomState::new(7).permutation(4);
        let want: Vec<i64> = perm
            .iter()
            .flat_map(|&r| (0..3).map(move |c| (r * 3 + c) as i64))
            .collect();
        assert_eq!(t.to_vec(), want);
        assert_eq!(t.shape(), &[4, 3]);
        let mut s = Tensor::scalar(1.0f64);
        rs.shuffle_rows(&mut s);
        assert_eq!(s.item(), 1.0);
        let mut e = Tensor::<f32>::from_vec(vec![], &[0, 2]);
        rs.shuffle_rows(&mut e);
        assert_eq!(e.shape(), &[0, 2]);
    }

    #[test]
    fn rand_shapes_and_range() {
        let mut rs = RandomState::new(9);
        let t = rs.rand(&[2, 3]);
        assert_eq!(t.shape(), &[2, 3]);
        assert!(t.to_vec().iter().all(|&v| (0.0..1.0).contains(&v)));
        assert_eq!(rs.rand(&[]).shape(), &[] as &[usize]);
        assert_eq!(rs.randn(&[0]).numel(), 0);
        let u = rs.uniform(-2.0, -1.0, &[100]).to_vec();
        assert!(u.iter().all(|&v| (-2.0..-1.0).contains(&v)));
    }

    #[test]
    fn rng_core_u64_is_high_word_first() {
        let mut a = RandomState::new(11);
        let mut b = RandomState::new(11);
        let hi = b.next_u32_raw() as u64;
        let lo = b.next_u32_raw() as u64;
        assert_eq!(RngCore::next_u64(&mut a), (hi << 32) | lo);
        let mut bytes = [0u8; 6];
        a.fill_bytes(&mut bytes);
        assert_eq!(bytes[..], RngCore::next_u64(&mut b).to_le_bytes()[..6]);
    }
}
