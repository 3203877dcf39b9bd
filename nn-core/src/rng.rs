//! A small, seeded, portable random number generator.
//!
//! Every random choice in `nn` (weight initialisation, shuffling, dropout masks, data
//! generators) goes through [`Rng`], so a seed reproduces a run exactly on every platform,
//! with or without `std`.
//!
//! The generator is SplitMix64 (Steele, Lea and Flood, 2014): 64 bits of state, fast, and
//! good enough for machine-learning randomness (it is not cryptographic).
//!
//! ```
//! use nn_core::rng::Rng;
//! let mut a = Rng::new(42);
//! let mut b = Rng::new(42);
//! assert_eq!(a.next_u64(), b.next_u64());
//! let u = a.uniform(-1.0, 1.0);
//! assert!((-1.0..1.0).contains(&u));
//! ```

/// SplitMix64's increment of the state per draw.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Samples from which [`Rng::fill_normal`] splits its work between two threads.
#[cfg(feature = "std")]
const PARALLEL_NORMALS: usize = 2048;

/// Seeded SplitMix64 generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float uniformly distributed in `[0, 1)`, with 24 random bits.
    pub fn next_f32(&mut self) -> f32 {
        // The top 24 bits fit an f32 mantissa exactly.
        #[allow(clippy::cast_precision_loss)]
        let v = (self.next_u64() >> 40) as f32;
        v * (1.0 / 16_777_216.0)
    }

    /// A double uniformly distributed in `[0, 1)`, with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let v = (self.next_u64() >> 11) as f64;
        v * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A float uniformly distributed in `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.next_f32()
    }

    /// A standard normal sample (mean 0, standard deviation 1), by the Box-Muller transform.
    pub fn normal(&mut self) -> f32 {
        // 1 - u keeps the logarithm's argument in (0, 1].
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        #[allow(clippy::cast_possible_truncation)]
        let z = (libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(core::f64::consts::TAU * u2)) as f32;
        z
    }

    /// Fills `out` with standard normal samples: the values of as many calls of
    /// [`normal`](Self::normal) in turn, and the generator ends where those calls leave it.
    /// Inside a rayon pool of two or more threads (with `std`), a large fill is split in
    /// halves computed on two threads, the second from a copy of the generator moved ahead
    /// past the first half's draws ([`skip`](Self::skip)): the same values as one thread's
    /// (the logarithm and cosine of each sample are most of the time, so a generator's
    /// noise batch, `torch.randn`, need not wait on one core).
    pub fn fill_normal(&mut self, out: &mut [f32]) {
        #[cfg(feature = "std")]
        if out.len() >= PARALLEL_NORMALS
            && rayon::current_thread_index().is_some()
            && rayon::current_num_threads() >= 2
        {
            let (first, second) = out.split_at_mut(out.len() / 2);
            let mut ahead = self.clone();
            // Two draws per sample.
            ahead.skip(2 * first.len() as u64);
            rayon::join(|| self.fill_normal(first), || ahead.fill_normal(second));
            *self = ahead;
            return;
        }
        for v in out {
            *v = self.normal();
        }
    }

    /// Moves the generator `draws` outputs ahead, as that many calls of
    /// [`next_u64`](Self::next_u64) would (SplitMix64's state advances by a constant per
    /// draw), at once.
    pub fn skip(&mut self, draws: u64) {
        self.state = self.state.wrapping_add(draws.wrapping_mul(GOLDEN_GAMMA));
    }

    /// An integer uniformly distributed in `0..n` (Lemire's multiply-shift, unbiased enough
    /// for the sizes used here). Returns 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        #[allow(clippy::cast_possible_truncation)]
        let r = ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as usize;
        r
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// An independent generator derived from this one's next output.
    #[must_use]
    pub fn fork(&mut self) -> Self {
        Self::new(self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let sa: [u64; 4] = core::array::from_fn(|_| a.next_u64());
        let sb: [u64; 4] = core::array::from_fn(|_| b.next_u64());
        let sc: [u64; 4] = core::array::from_fn(|_| c.next_u64());
        assert_eq!(sa, sb);
        assert_ne!(sa, sc);
    }

    #[test]
    fn skipping_lands_where_drawing_does() {
        let (mut a, mut b) = (Rng::new(5), Rng::new(5));
        for _ in 0..1000 {
            a.next_u64();
        }
        b.skip(1000);
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    #[cfg(feature = "std")]
    fn filled_normals_are_those_of_one_call_each_on_any_thread_count() {
        let mut serial = Rng::new(21);
        let want: std::vec::Vec<f32> = (0..10_001).map(|_| serial.normal()).collect();
        let after = serial.next_u64();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut r = Rng::new(21);
            let mut got = std::vec![f32::NAN; want.len()];
            pool.install(|| r.fill_normal(&mut got));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<std::vec::Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{threads} threads");
            assert_eq!(
                r.next_u64(),
                after,
                "{threads} threads: the generator's end"
            );
        }
    }

    #[test]
    fn uniform_mean_and_range() {
        let mut r = Rng::new(1);
        let mut sum = 0.0f64;
        for _ in 0..100_000 {
            let u = r.uniform(-2.0, 4.0);
            assert!((-2.0..4.0).contains(&u));
            sum += f64::from(u);
        }
        assert!(
            (sum / 100_000.0 - 1.0).abs() < 0.03,
            "mean {}",
            sum / 100_000.0
        );
    }

    #[test]
    fn normal_moments() {
        let mut r = Rng::new(3);
        let n = 100_000;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        for _ in 0..n {
            let z = f64::from(r.normal());
            s += z;
            s2 += z * z;
        }
        let mean = s / f64::from(n);
        let var = s2 / f64::from(n) - mean * mean;
        assert!(
            mean.abs() < 0.02 && (var - 1.0).abs() < 0.03,
            "mean {mean} var {var}"
        );
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: [usize; 50] = core::array::from_fn(|i| i);
        Rng::new(5).shuffle(&mut v);
        assert_ne!(v, core::array::from_fn::<usize, 50, _>(|i| i));
        let mut sorted = v;
        sorted.sort_unstable();
        assert_eq!(sorted, core::array::from_fn::<usize, 50, _>(|i| i));
    }
}
