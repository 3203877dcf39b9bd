//! The AVX2 + FMA level (x86-64 with `std`): the 6 × 16 register tile and the dot product in
//! intrinsics, fused multiply-adds everywhere else. Reached only through
//! [`dispatch`](super::dispatch), which compiles the generic loops for AVX2 and FMA and makes
//! the [`Avx2`] token once the CPU was found to have both.
#![allow(
    unsafe_code,
    reason = "AVX2 intrinsics: raw-pointer loads and stores, calls into `#[target_feature]` \
              functions, and the unsafe constructor of the token that proves the CPU has them"
)]

use super::portable::{Isa, NR};
use core::arch::x86_64::{
    __m256, __m256i, _mm256_add_ps, _mm256_cvtss_f32, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_loadu_si256, _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_set1_epi32, _mm256_set1_ps,
    _mm256_setzero_ps, _mm256_storeu_ps,
};

/// Proof that the CPU has AVX2 and FMA: a value of this type exists only if it does, which
/// makes the level's methods safe to call.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(());

impl Avx2 {
    /// The token.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline(always)]
    pub(super) const unsafe fn new_unchecked() -> Self {
        Avx2(())
    }
}

impl Isa for Avx2 {
    const MR: usize = ROWS;

    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        // Lowered to one FMA instruction inside `#[target_feature(enable = "fma")]` callers.
        a.mul_add(b, c)
    }

    #[inline(always)]
    fn nn_small(self, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        if n > NARROW {
            super::portable::nn_rows(self, k, n, a, b, c, accumulate);
            return;
        }
        // Callers pass `a` of `m` rows and `c` of `m * n` values.
        let m = a.len().checked_div(k).unwrap_or(0);
        // SAFETY: `self` exists, so the CPU has AVX2 and FMA (`Avx2::new_unchecked`).
        unsafe { narrow(m, k, n, a, k, 1, b, n, c, n, accumulate) }
    }

    #[inline(always)]
    fn nt(self, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        if k > NT_PANEL || n < NARROW {
            super::portable::nt_small(self, k, n, a, b, c, accumulate);
            return;
        }
        // SAFETY: `self` exists, so the CPU has AVX2 and FMA (`Avx2::new_unchecked`).
        unsafe { nt(k, n, a, b, c, accumulate) }
    }

    #[inline(always)]
    fn tn_small(self, m: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        if n > NARROW {
            super::portable::tn_rows(self, m, n, a, b, c, accumulate);
            return;
        }
        // As `nn_small`: `a` holds `k` rows of `m`.
        let k = a.len().checked_div(m).unwrap_or(0);
        // SAFETY: `self` exists, so the CPU has AVX2 and FMA (`Avx2::new_unchecked`).
        unsafe { narrow(m, k, n, a, 1, m, b, n, c, n, accumulate) }
    }

    #[inline(always)]
    fn tile(
        self,
        k: usize,
        a: &[f32],
        rsa: usize,
        csa: usize,
        b: &[f32],
        rsb: usize,
        c: &mut [f32],
        rsc: usize,
        accumulate: bool,
    ) {
        // SAFETY: `self` exists, so the CPU has AVX2 and FMA (`Avx2::new_unchecked`).
        unsafe { tile_6x16(k, a, rsa, csa, b, rsb, c, rsc, accumulate) }
    }

    #[inline(always)]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: `self` exists, so the CPU has AVX2 and FMA (`Avx2::new_unchecked`).
        unsafe { dot(a, b) }
    }
}

/// Rows of the AVX2 register tile.
const ROWS: usize = 6;

/// The 6 × 16 tile with AVX2 and FMA: `C[r][j] (+)= Σ_p A(r, p) · B[p][j]` for `r < 6`,
/// `j < 16`, `p < k`, with `A(r, p) = a[r * rsa + p * csa]`, `B[p][j] = b[p * rsb + j]`,
/// `C[r][j] = c[r * rsc + j]`. Twelve 8-lane accumulators, two loads of `B` and six
/// broadcasts of `A` per step of `k`. Written with intrinsics because LLVM spills the
/// portable version's accumulators at this size (measured).
///
/// # Panics
/// If a slice is too short for the tile (whatever the strides: no bound wraps).
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
fn tile_6x16(
    k: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    c: &mut [f32],
    rsc: usize,
    accumulate: bool,
) {
    const { assert!(NR == 16, "the AVX2 tile is two 8-lane registers wide") };
    if k == 0 {
        return;
    }
    // Every element read or written below is inside these bounds, computed without wrapping
    // (a bound that overflows is out of every slice).
    // (No closures: they would not be inlined here.)
    let a_last = match (k - 1).checked_mul(csa) {
        Some(cols) => mul_add(ROWS - 1, rsa, cols),
        None => None,
    };
    assert!(
        matches!(a_last, Some(i) if i < a.len()),
        "tile: A too short"
    );
    let b_end = mul_add(k - 1, rsb, NR);
    assert!(
        matches!(b_end, Some(e) if e <= b.len()),
        "tile: B too short"
    );
    let c_end = mul_add(ROWS - 1, rsc, NR);
    assert!(
        matches!(c_end, Some(e) if e <= c.len()),
        "tile: C too short"
    );
    let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    let mut acc: [[__m256; 2]; ROWS] = [[_mm256_setzero_ps(); 2]; ROWS];
    for p in 0..k {
        // SAFETY: `p * rsb + 16 <= (k - 1) * rsb + NR <= b.len()` (asserted).
        let (b0, b1) = unsafe {
            (
                _mm256_loadu_ps(pb.add(p * rsb)),
                _mm256_loadu_ps(pb.add(p * rsb + 8)),
            )
        };
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: `r * rsa + p * csa <= (ROWS - 1) * rsa + (k - 1) * csa < a.len()`.
            let av = _mm256_set1_ps(unsafe { *pa.add(r * rsa + p * csa) });
            acc_r[0] = _mm256_fmadd_ps(av, b0, acc_r[0]);
            acc_r[1] = _mm256_fmadd_ps(av, b1, acc_r[1]);
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        // SAFETY: `r * rsc + 16 <= (ROWS - 1) * rsc + NR <= c.len()` (asserted), and `c` is
        // borrowed mutably, so nothing else reads or writes these elements.
        unsafe {
            let out = pc.add(r * rsc);
            if accumulate {
                _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), acc_r[0]));
                _mm256_storeu_ps(
                    out.add(8),
                    _mm256_add_ps(_mm256_loadu_ps(out.add(8)), acc_r[1]),
                );
            } else {
                _mm256_storeu_ps(out, acc_r[0]);
                _mm256_storeu_ps(out.add(8), acc_r[1]);
            }
        }
    }
}

/// Widest products (columns of `C`) that [`narrow`] takes: two 8-lane registers.
const NARROW: usize = 16;
/// Rows of `C` that [`narrow`] computes together.
const NARROW_ROWS: usize = 4;

/// `C[m×n] (+)= A · B` for a narrow `C` (`n <= NARROW`: an output layer of 10 values, say),
/// `A(i, p) = a[i * rsa + p * csa]`, `B` row-major `n` wide: [`NARROW_ROWS`] rows of `C` at a
/// time in registers (the last 8 columns masked), each value summed from zero in the order
/// of `p`, then stored or added. Replaces the row loops, which keep `C` in memory and leave
/// rows narrower than 8 lanes unvectorised.
///
/// # Panics
/// If `n > NARROW` or a slice is too short for the product.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn narrow(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    c: &mut [f32],
    rsc: usize,
    accumulate: bool,
) {
    assert!(n <= NARROW, "narrow: too many columns");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // Every element read or written below is inside these bounds, computed without wrapping:
    // `A(i, p)` for `i < m`, `p < k`; `b[p * rsb + j]` and `c[i * rsc + j]` for `j < n`.
    let a_last = match (k - 1).checked_mul(csa) {
        Some(cols) => mul_add(m - 1, rsa, cols),
        None => None,
    };
    assert!(
        matches!(a_last, Some(i) if i < a.len()),
        "narrow: A too short"
    );
    assert!(
        matches!(mul_add(k - 1, rsb, n), Some(e) if e <= b.len()),
        "narrow: B too short"
    );
    assert!(
        matches!(mul_add(m - 1, rsc, n), Some(e) if e <= c.len()),
        "narrow: C too short"
    );
    // The lanes of the last register that are columns of `C` (a lane is loaded or stored
    // when the sign bit of its mask is set); the first register, if two, is all columns.
    let left = if n > 8 { n - 8 } else { n };
    let lanes: [i32; 8] = core::array::from_fn(|l| if l < left { -1 } else { 0 });
    // SAFETY: `lanes` holds the 8 values loaded.
    let last = unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) };
    let shape = Narrow {
        k,
        rsa,
        csa,
        rsb,
        rsc,
        last,
        accumulate,
    };
    let mut i = 0;
    while i < m {
        let rows = NARROW_ROWS.min(m - i);
        let (a, c) = (&a[i * rsa..], &mut c[i * rsc..]);
        match (rows, n > 8) {
            (4, true) => shape.rows::<4, 2>(a, b, c),
            (4, false) => shape.rows::<4, 1>(a, b, c),
            (3, true) => shape.rows::<3, 2>(a, b, c),
            (3, false) => shape.rows::<3, 1>(a, b, c),
            (2, true) => shape.rows::<2, 2>(a, b, c),
            (2, false) => shape.rows::<2, 1>(a, b, c),
            (_, true) => shape.rows::<1, 2>(a, b, c),
            (_, false) => shape.rows::<1, 1>(a, b, c),
        }
        i += rows;
    }
}

/// Largest `k` for which [`nt`] copies `Bᵀ` into a panel on the stack.
const NT_PANEL: usize = 64;

/// `C[m×n] (+)= A[m×k] · B[n×k]ᵀ` for a short `k` (at most [`NT_PANEL`], where dot products
/// are mostly their horizontal sums), `m = a.len() / k`: `Bᵀ` copied 16 columns at a time
/// into a panel on the stack, then the 6 × 16 tile over the panel and [`narrow`] for the
/// rows and columns left.
#[target_feature(enable = "avx2,fma")]
fn nt(k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    assert!(k > 0 && k <= NT_PANEL, "nt: k out of range");
    let m = a.len() / k;
    let (a, b, c) = (&a[..m * k], &b[..n * k], &mut c[..m * n]);
    let mut panel = [0.0f32; NT_PANEL * NR];
    for j in (0..n).step_by(NR) {
        let cols = NR.min(n - j);
        // panel[p][jj] = B[j + jj][p]: `k` rows of `NR` (the first `cols` used).
        for (jj, b_row) in b[j * k..].chunks_exact(k).take(cols).enumerate() {
            for (p, &v) in b_row.iter().enumerate() {
                panel[p * NR + jj] = v;
            }
        }
        let full = if cols == NR { m - m % ROWS } else { 0 };
        for i in (0..full).step_by(ROWS) {
            tile_6x16(
                k,
                &a[i * k..],
                k,
                1,
                &panel,
                NR,
                &mut c[i * n + j..],
                n,
                accumulate,
            );
        }
        if full < m {
            let c = &mut c[full * n + j..];
            narrow(
                m - full,
                k,
                cols,
                &a[full * k..],
                k,
                1,
                &panel,
                NR,
                c,
                n,
                accumulate,
            );
        }
    }
}

/// The shape of a [`narrow`] product, for its rows.
#[derive(Clone, Copy)]
struct Narrow {
    k: usize,
    rsa: usize,
    csa: usize,
    rsb: usize,
    rsc: usize,
    /// Mask of the last register's columns.
    last: __m256i,
    accumulate: bool,
}

impl Narrow {
    /// `R` rows of `C` (`c` from the first), `V` registers wide, from `a` (from the first
    /// row). [`narrow`] checked the bounds of the whole product, which hold these rows.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn rows<const R: usize, const V: usize>(self, a: &[f32], b: &[f32], c: &mut [f32]) {
        let Narrow {
            k,
            rsa,
            csa,
            rsb,
            rsc,
            last,
            accumulate,
        } = self;
        let all = _mm256_set1_epi32(-1);
        let mask = |v: usize| if v + 1 == V { last } else { all };
        let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let mut acc = [[_mm256_setzero_ps(); V]; R];
        for p in 0..k {
            for v in 0..V {
                // SAFETY: the lanes loaded are columns `8 v + l < n` of row `p < k` of `B`,
                // inside `b` (asserted by `narrow`).
                let bv = unsafe { _mm256_maskload_ps(pb.add(p * rsb + 8 * v), mask(v)) };
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    // SAFETY: `r * rsa + p * csa` is an element of `A` of the product's
                    // rows, inside `a` (asserted by `narrow` from the first row).
                    let av = _mm256_set1_ps(unsafe { *pa.add(r * rsa + p * csa) });
                    acc_r[v] = _mm256_fmadd_ps(av, bv, acc_r[v]);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            for (v, &sum) in acc_r.iter().enumerate() {
                // SAFETY: the lanes stored are columns `8 v + l < n` of row `r` of these
                // rows of `C`, inside `c` (asserted by `narrow`); `c` is borrowed mutably.
                unsafe {
                    let out = pc.add(r * rsc + 8 * v);
                    let sum = if accumulate {
                        _mm256_add_ps(_mm256_maskload_ps(out, mask(v)), sum)
                    } else {
                        sum
                    };
                    _mm256_maskstore_ps(out, mask(v), sum);
                }
            }
        }
    }
}

/// `x * y + z`, or `None` if that overflows `usize`.
#[inline(always)]
const fn mul_add(x: usize, y: usize, z: usize) -> Option<usize> {
    match x.checked_mul(y) {
        Some(xy) => xy.checked_add(z),
        None => None,
    }
}

/// Dot product of the common length of `a` and `b` with AVX2 and FMA: two 8-lane
/// accumulators. LLVM's own vectorisation of short, fully unrolled dot products interleaves
/// lanes badly (measured: 64 shuffles for a 64-long dot), hence the intrinsics.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let chunks = n / 16;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for i in 0..chunks {
        let p = 16 * i;
        // SAFETY: `p + 16 = 16 (i + 1) <= 16 chunks <= n`: inside both slices.
        unsafe {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(p)), _mm256_loadu_ps(pb.add(p)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(p + 8)),
                _mm256_loadu_ps(pb.add(p + 8)),
                acc1,
            );
        }
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds the 8 values stored.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_add_ps(acc0, acc1)) };
    let mut total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for j in 16 * chunks..n {
        total = a[j].mul_add(b[j], total);
    }
    total
}

/// Independent chains of 8-lane fused multiply-adds in [`fma_chains`]: enough to keep two
/// FMA units busy through a latency of 4 cycles (at least 8), without spilling.
const CHAINS: usize = 10;

/// `iterations` steps of [`CHAINS`] independent 8-lane fused multiply-adds (16 floating-point
/// operations each): the peak the AVX2 tile aims at. Returns the chains' sum, so that the
/// work is not optimised away (see `kernels::fma_peak`).
#[target_feature(enable = "avx2,fma")]
pub(super) fn fma_chains(iterations: u64) -> (f32, u64) {
    let (x, y) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_setzero_ps(); CHAINS];
    for _ in 0..iterations {
        for a in &mut acc {
            *a = _mm256_fmadd_ps(*a, x, y);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, &a| _mm256_add_ps(s, a));
    (_mm256_cvtss_f32(sum), iterations * (CHAINS as u64) * 16)
}

#[cfg(test)]
mod tests {
    use super::{Avx2, Isa};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::string::String;

    /// The message of the panic `f` raises (empty if it returns).
    fn panic_message(f: impl FnOnce()) -> String {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(()) => String::new(),
            Err(payload) => payload
                .downcast_ref::<&str>()
                .map(|s| String::from(*s))
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
        }
    }

    /// Strides whose bounds wrap to 0 or 1 (`5 · (2^63 + 1) + (2^63 − 5) ≡ 0`,
    /// `(2^64 − 15) + 16 ≡ 1`, `5 · (2^64 − 16) / 5 + 16 ≡ 0` modulo `2^64`), so that
    /// wrapping bound checks pass. Before the checks, the tile then read or wrote outside the
    /// slices and returned (AddressSanitizer: stack-buffer-overflow for `A` and `B`, SEGV
    /// for `C`).
    #[test]
    fn tile_bounds_do_not_wrap() {
        if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
            std::eprintln!("no AVX2+FMA on this CPU: nothing to test");
            return;
        }
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        let isa = unsafe { Avx2::new_unchecked() };
        let (a, b, mut c) = ([0.0f32; 96], [0.0f32; 32], [0.0f32; 96]);
        let k = 2;
        let (rsa, csa) = (usize::MAX / 2 + 2, usize::MAX / 2 - 4);
        let bad_a = panic_message(|| isa.tile(k, &a[..1], rsa, csa, &b, 16, &mut c, 16, false));
        assert_eq!(bad_a, "tile: A too short");
        let rsb = usize::MAX - 14;
        let bad_b = panic_message(|| isa.tile(k, &a, 1, 1, &b[..1], rsb, &mut c, 16, false));
        assert_eq!(bad_b, "tile: B too short");
        let rsc = (usize::MAX - 15) / 5;
        let bad_c = panic_message(|| isa.tile(k, &a, 1, 1, &b, 16, &mut c[..1], rsc, true));
        assert_eq!(bad_c, "tile: C too short");
        // The same tile with sound strides runs: C = A(6×2) · B(2×16), all ones, is 2.
        let ones = [1.0f32; 96];
        isa.tile(k, &ones, 2, 1, &ones, 16, &mut c, 16, false);
        assert_eq!(c, [2.0; 96]);
    }
}
