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

use crate::math;

/// SplitMix64's increment of the state per draw.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Samples from which [`Rng::fill_normal`] draws its chunks on a rayon pool's threads.
#[cfg(feature = "std")]
const PARALLEL_NORMALS: usize = 2048;

/// Samples per chunk of [`Rng::fill_normal`], each chunk drawn by its own generator.
pub const NORMAL_CHUNK: usize = 512;

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

    /// Fills `out` with standard normal samples (mean 0, standard deviation 1), by the
    /// Marsaglia polar method in `f32`: about a tenth of the time of as many calls of
    /// [`normal`](Self::normal) (two samples per accepted point, no trigonometry, the
    /// logarithms of a batch computed together), but not their values. The values are the
    /// same with and without `std`.
    ///
    /// The generator advances by exactly one draw per call, whatever the length. That draw
    /// seeds the generators of `out`'s chunks of [`NORMAL_CHUNK`] samples, chunk `i` from its
    /// `i`-th SplitMix64 output, so the values depend on the generator's state and the index
    /// only: a shorter fill from the same state gives a prefix of a longer one. Inside a rayon
    /// pool of two or more threads (with `std`), a large fill draws its chunks on the pool's
    /// threads (a generator's noise batch, `torch.randn`, need not wait on one core), with
    /// the same values as one thread's.
    pub fn fill_normal(&mut self, out: &mut [f32]) {
        let base = Self::new(self.next_u64());
        let chunk_rng = |i: usize| {
            let mut r = base.clone();
            r.skip(i as u64);
            Self::new(r.next_u64())
        };
        #[cfg(feature = "std")]
        if out.len() >= PARALLEL_NORMALS
            && rayon::current_thread_index().is_some()
            && rayon::current_num_threads() >= 2
        {
            use rayon::prelude::{IndexedParallelIterator, ParallelIterator, ParallelSliceMut};
            out.par_chunks_mut(NORMAL_CHUNK)
                .enumerate()
                .for_each(|(i, chunk)| chunk_rng(i).fill_polar(chunk));
            return;
        }
        for (i, chunk) in out.chunks_mut(NORMAL_CHUNK).enumerate() {
            chunk_rng(i).fill_polar(chunk);
        }
    }

    /// Fills `out` (at most [`NORMAL_CHUNK`] samples) with standard normal samples from this
    /// generator alone, by the Marsaglia polar method: a point `(u, v)` drawn uniformly in
    /// the square `[-1, 1)²` (24 bits per coordinate, one draw per point), redrawn until it
    /// falls inside the unit disc and off its centre, gives the two independent samples
    /// `(u, v) · sqrt(-2 ln s / s)`, `s = u² + v²`. An odd length discards the last point's
    /// second sample.
    ///
    /// The accepted points are gathered first without a branch, then their scales are
    /// computed in one loop the compiler vectorises ([`math::ln_poly`]).
    fn fill_polar(&mut self, out: &mut [f32]) {
        const POINTS: usize = NORMAL_CHUNK / 2;
        // 2^-23: a coordinate's 24 bits, as a signed integer in [-2^23, 2^23), to [-1, 1).
        const STEP: f32 = 1.0 / 8_388_608.0;
        let need = out.len().div_ceil(2);
        let (mut u, mut v, mut s) = ([0.0f32; POINTS], [0.0f32; POINTS], [0.0f32; POINTS]);
        let mut accepted = 0;
        while accepted < need {
            let bits = self.next_u64();
            // The top 24 bits of each half, exactly representable as f32.
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let (x, y) = ((bits >> 32) as i32 >> 8, bits as u32 as i32 >> 8);
            #[allow(clippy::cast_precision_loss)]
            let (x, y) = (x as f32 * STEP, y as f32 * STEP);
            let r2 = x * x + y * y;
            // Written always, kept only if inside the disc: the next point overwrites it.
            u[accepted] = x;
            v[accepted] = y;
            s[accepted] = r2;
            accepted += usize::from(r2 < 1.0 && r2 > 0.0);
        }
        // s >= 2^-46: a normal float, as ln_poly needs.
        for r2 in &mut s[..need] {
            *r2 = math::sqrt(-2.0 * math::ln_poly(*r2) / *r2);
        }
        let mut pairs = out.chunks_exact_mut(2);
        for (i, pair) in (&mut pairs).enumerate() {
            pair[0] = u[i] * s[i];
            pair[1] = v[i] * s[i];
        }
        if let [last] = pairs.into_remainder() {
            *last = u[need - 1] * s[need - 1];
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
    use super::{Rng, NORMAL_CHUNK};
    use std::vec::Vec;

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

    /// The bits of `n` samples of one `fill_normal` call from `Rng::new(seed)`, and where
    /// the generator ends.
    fn filled(seed: u64, n: usize) -> (Vec<u32>, Rng) {
        let mut r = Rng::new(seed);
        let mut z = std::vec![f32::NAN; n];
        r.fill_normal(&mut z);
        (z.iter().map(|v| v.to_bits()).collect(), r)
    }

    /// `Rng::new(seed)` after one draw.
    fn one_draw_after(seed: u64) -> Rng {
        let mut r = Rng::new(seed);
        r.next_u64();
        r
    }

    #[test]
    #[cfg(feature = "std")]
    fn filled_normals_are_the_same_on_any_thread_count() {
        // Several chunks and a short odd one, above the parallel threshold.
        let n = 10 * NORMAL_CHUNK + 301;
        assert!(n >= super::PARALLEL_NORMALS);
        // Outside a pool: drawn on this thread.
        let (want, _) = filled(21, n);
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (got, end) = pool.install(|| filled(21, n));
            let first_difference = got.iter().zip(&want).position(|(a, b)| a != b);
            assert_eq!(first_difference, None, "{threads} threads");
            assert_eq!(
                end,
                one_draw_after(21),
                "{threads} threads: the generator's end"
            );
        }
    }

    #[test]
    fn any_length_is_a_prefix_of_a_longer_fill_and_takes_one_draw() {
        let (long, _) = filled(13, 3 * NORMAL_CHUNK);
        for n in [
            0,
            1,
            2,
            3,
            7,
            NORMAL_CHUNK - 1,
            NORMAL_CHUNK,
            NORMAL_CHUNK + 1,
            2 * NORMAL_CHUNK + 77,
        ] {
            let (got, end) = filled(13, n);
            assert!(got == long[..n], "{n} samples: not a prefix");
            assert!(got.iter().all(|&b| f32::from_bits(b).is_finite()), "{n}");
            assert_eq!(end, one_draw_after(13), "{n} samples: the generator's end");
        }
    }

    #[test]
    fn filled_normals_have_the_moments_of_a_standard_normal() {
        let n = 100_000;
        let (z, _) = filled(3, n);
        let moment = |k: i32| {
            z.iter()
                .map(|&b| f64::from(f32::from_bits(b)).powi(k))
                .sum::<f64>()
                / n as f64
        };
        // Standard errors: sqrt(1/n) = 0.0032, sqrt(2/n) = 0.0045, sqrt(15/n) = 0.012 and
        // sqrt(96/n) = 0.031; the bounds are five to six of them.
        let (mean, second, third, fourth) = (moment(1), moment(2), moment(3), moment(4));
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((second - 1.0).abs() < 0.025, "variance {second}");
        assert!(third.abs() < 0.07, "third moment {third}");
        assert!((fourth - 3.0).abs() < 0.16, "fourth moment {fourth}");
    }

    #[test]
    fn filled_normals_follow_the_normal_distribution() {
        let n = 100_000;
        let (bits, _) = filled(5, n);
        let mut z: Vec<f64> = bits.iter().map(|&b| f64::from(f32::from_bits(b))).collect();
        z.sort_by(f64::total_cmp);
        // The normal distribution function, by the closed form in erfc.
        let cdf = |x: f64| 0.5 * libm::erfc(-x / core::f64::consts::SQRT_2);
        let count = n as f64;
        // Kolmogorov-Smirnov: the largest gap between the sample's and the normal distribution
        // functions, below its 1% critical value.
        let gap = z
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = cdf(x);
                (f - i as f64 / count).max((i + 1) as f64 / count - f)
            })
            .fold(0.0, f64::max);
        assert!(gap < 1.63 / count.sqrt(), "KS statistic {gap}");
        // The tails, which the statistic hardly sees: beyond 3 (expected 270, a standard
        // deviation of 16) and beyond 4 (expected 6.3).
        let beyond = |t: f64| z.iter().filter(|x| x.abs() > t).count() as f64;
        let expected = libm::erfc(3.0 / core::f64::consts::SQRT_2) * count;
        assert!(
            (beyond(3.0) - expected).abs() < 5.0 * expected.sqrt(),
            "{} beyond 3, {expected} expected",
            beyond(3.0)
        );
        assert!(
            (1.0..=20.0).contains(&beyond(4.0)),
            "{} beyond 4",
            beyond(4.0)
        );
    }

    #[test]
    fn calls_chunks_and_seeds_never_repeat_a_stream() {
        // Every pair of samples (one accepted point) of two calls from one generator and one
        // from another seed, 6 chunks each: a chunk stream repeated, or shifted by whole
        // points, would repeat pairs.
        let mut r = Rng::new(9);
        let mut z = std::vec![0.0f32; 12 * NORMAL_CHUNK];
        let (first, second) = z.split_at_mut(6 * NORMAL_CHUNK);
        r.fill_normal(first);
        r.fill_normal(second);
        let (other, _) = filled(10, 6 * NORMAL_CHUNK);
        let mut pairs: Vec<u64> = z
            .iter()
            .map(|v| v.to_bits())
            .chain(other)
            .collect::<Vec<_>>()
            .chunks_exact(2)
            .map(|p| u64::from(p[0]) << 32 | u64::from(p[1]))
            .collect();
        let all = pairs.len();
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len(), all, "repeated pairs");
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
