//! MT19937, the Mersenne Twister behind both PyTorch's CPU generator and numpy's legacy
//! `RandomState`, seeded with the reference `init_genrand`.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The 32-bit Mersenne Twister, bit for bit the reference generator.
///
/// ```
/// use antorcha_tensor::Mt19937;
/// let mut mt = Mt19937::new(5489); // the reference's default seed
/// assert_eq!(mt.next_u32(), 3_499_211_612);
/// ```
#[derive(Clone)]
pub struct Mt19937 {
    key: Box<[u32; N]>,
    pos: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mt19937")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl Mt19937 {
    /// A generator seeded with `init_genrand(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut mt = Mt19937 {
            key: Box::new([0; N]),
            pos: N,
        };
        mt.seed(seed);
        mt
    }

    /// The whole state: the position, then the 624 words.
    pub fn state(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(N + 1);
        out.push(self.pos as u32);
        out.extend_from_slice(&self.key[..]);
        out
    }

    /// Restores a state from [`Mt19937::state`], or `None` if it is not one.
    pub fn from_state(state: &[u32]) -> Option<Self> {
        let (&pos, words) = state.split_first()?;
        let key: Box<[u32; N]> = words.to_vec().into_boxed_slice().try_into().ok()?;
        (pos as usize <= N).then_some(Mt19937 {
            key,
            pos: pos as usize,
        })
    }

    /// Re-seeds in place with `init_genrand(seed)`.
    pub fn seed(&mut self, seed: u32) {
        self.key[0] = seed;
        for i in 1..N {
            let prev = self.key[i - 1];
            self.key[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.pos = N;
    }

    fn generate(&mut self) {
        let k = &mut self.key;
        let twist = |y: u32| (y >> 1) ^ ((y & 1).wrapping_neg() & MATRIX_A);
        for i in 0..N - M {
            let y = (k[i] & UPPER_MASK) | (k[i + 1] & LOWER_MASK);
            k[i] = k[i + M] ^ twist(y);
        }
        for i in N - M..N - 1 {
            let y = (k[i] & UPPER_MASK) | (k[i + 1] & LOWER_MASK);
            k[i] = k[i + M - N] ^ twist(y);
        }
        let y = (k[N - 1] & UPPER_MASK) | (k[0] & LOWER_MASK);
        k[N - 1] = k[M - 1] ^ twist(y);
        self.pos = 0;
    }

    /// The next 32-bit output.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_outputs() {
        // The first outputs of the reference mt19937ar.c for init_genrand(5489), and the
        // 10000th output that C++'s std::mt19937 specifies.
        let mut mt = Mt19937::new(5489);
        assert_eq!(mt.next_u32(), 3_499_211_612);
        assert_eq!(mt.next_u32(), 581_869_302);
        let mut mt = Mt19937::new(5489);
        let last = (0..10_000).map(|_| mt.next_u32()).last().unwrap();
        assert_eq!(last, 4_123_659_995);
    }
}
