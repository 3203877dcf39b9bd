//! The AVX2 + FMA level (x86-64 with `std`): the blocked product (a 6 × 16 register tile),
//! the narrow products and the dot product in intrinsics, fused multiply-adds everywhere
//! else. Reached only through [`dispatch`](super::dispatch), which compiles the generic loops
//! for AVX2 and FMA and makes the [`Avx2`] token once the CPU was found to have both.
//!
//! # The blocked product
//!
//! A register tile of [`ROWS`] × [`NR`] = 6 × 16 values of `C`: 12 of the 16 vector
//! registers accumulate, two hold a row of `B`, one a broadcast value of `A`. Tiles that do
//! not fit (the bottom rows, the right columns) are the same kernel with fewer rows (one
//! copy per row count) and masked loads and stores of columns, so there are no edge loops:
//! every value of `C` is computed the same way wherever it sits, and results do not depend
//! on how rows or columns are split between threads. The rows of a block are shared out
//! between tiles of balanced heights (32 rows: two tiles of 6 and four of 5, not five of 6
//! and one of 2).
//!
//! Blocking: `k` in blocks of [`KC`], rows in blocks of [`MC`]; for each block of `k` and
//! of rows, each 16 columns of the block of `B` serve every tile of the row block from L1,
//! and the row block of `A` is read from memory once, then from L1 and L2. A product with
//! `k > KC` adds each block's partial sums to `C` (in the same order whatever the split).
//! `B` is read in place, but for widths that are multiples of [`COPY_WIDTHS`]: there a
//! block that serves several tiles (a row block of more than [`ROWS`] rows) is first copied
//! into a contiguous panel of `kc × 16` values on the stack, the next one fetched into L2
//! meanwhile. Rows of `B` 2 KiB apart share two L1 sets, so that a block of 196 rows of a
//! 512-wide `B` did not stay in L1: on an AMD EPYC with AVX2, one thread, 128 × 784 × 512
//! took 2.0 ms instead of 2.8 (medians of 5 alternating runs) and the GAN's epoch 10% less.
//! Narrower rows gained nothing or lost (64 wide, 784 × 512 × 64: 0.75 ms instead of 0.60;
//! 32 × 784 × 128 on a Xeon: 70 GFLOP/s a panel at a time, 78 in place). The same tiles and
//! additions either way, so the same values.
#![allow(
    unsafe_code,
    reason = "AVX2 intrinsics: raw-pointer loads and stores, calls into `#[target_feature]` \
              functions, and the unsafe constructor of the token that proves the CPU has them"
)]

mod optim;

use super::avx512::{edged_columns, prefetch_next_panel, start_from_bias, transpose_blocks, Out};
use super::portable::{Isa, NR};
use super::update::{AdamStep, RmsPropStep};
use core::arch::x86_64::{
    __m256, __m256i, _mm256_add_ps, _mm256_cmpgt_epi32, _mm256_cvtss_f32, _mm256_fmadd_ps,
    _mm256_loadu_ps, _mm256_loadu_si256, _mm256_maskload_ps, _mm256_maskstore_ps,
    _mm256_permute2f128_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32,
    _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
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
    fn blocked(
        self,
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        rsa: usize,
        csa: usize,
        b: &[f32],
        c: &mut [f32],
        accumulate: bool,
    ) {
        // SAFETY: `self` exists, so the CPU has AVX2 and FMA (`Avx2::new_unchecked`).
        unsafe { blocked(m, k, n, a, rsa, csa, b, c, accumulate) }
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

    #[inline(always)]
    fn adam(self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
        // SAFETY: `self` exists, so the CPU has AVX2 and FMA (`Avx2::new_unchecked`).
        unsafe { optim::adam(p, g, m, v, s) }
    }

    #[inline(always)]
    fn rmsprop(
        self,
        p: &mut [f32],
        g: &[f32],
        v: &mut [f32],
        buf: Option<&mut [f32]>,
        s: RmsPropStep,
    ) {
        // SAFETY: `self` exists, so the CPU has AVX2 and FMA (`Avx2::new_unchecked`).
        unsafe { optim::rmsprop(p, g, v, buf, s) }
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

/// Rows `c0..c1` of the transpose of `m` into `t`, and the columns' sums into `sums` when
/// given, as [`avx512::transpose_columns`](super::avx512::transpose_columns) documents, in
/// 8 × 8 blocks of registers ([`transpose8`]). One thread on an AMD EPYC, a value at a time
/// against in blocks (`cargo bench --bench training -- transpose`): 784 × 64, 81 µs against
/// 7.4-8.4 µs; 64 × 512, 29-48 µs against 6.9-7.2 µs.
///
/// # Panics
/// As `avx512::transpose_columns`.
#[target_feature(enable = "avx2,fma")]
pub(super) fn transpose_columns(
    m: &[f32],
    rows: usize,
    cols: usize,
    range: (usize, usize),
    t: &mut [f32],
    sums: Option<&mut [f32]>,
) {
    transpose_blocks::<8>(m, rows, cols, range, t, sums, |src, dst, sums| {
        // SAFETY: `transpose_blocks` passes a block of 8 × 8 values inside `m` and `t`, and
        // 8 sums inside `sums` (its contract); the CPU has AVX2 (this function's features).
        unsafe {
            let mut r = [_mm256_setzero_ps(); 8];
            for (i, v) in r.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(src.0.add(i * src.1));
            }
            if let Some(sums) = sums {
                let mut sum = _mm256_loadu_ps(sums);
                for v in &r {
                    sum = _mm256_add_ps(sum, *v);
                }
                _mm256_storeu_ps(sums, sum);
            }
            for (j, v) in transpose8(r).iter().enumerate() {
                _mm256_storeu_ps(dst.0.add(j * dst.1), *v);
            }
        }
    });
}

/// The transpose of the 8 × 8 block whose rows are `r`: its columns. Unpacking pairs of
/// rows, then shuffling pairs of pairs, gives in register `4 g + c` (`g` < 2, `c` < 4) rows
/// `4 g..4 g + 4` of column `c` in the low 128-bit lane and of column `4 + c` in the high
/// one; a lane permute joins each column's halves.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let mut t = [_mm256_setzero_ps(); 8];
    for g in 0..2 {
        let q = 4 * g;
        let lo01 = _mm256_unpacklo_ps(r[q], r[q + 1]);
        let hi01 = _mm256_unpackhi_ps(r[q], r[q + 1]);
        let lo23 = _mm256_unpacklo_ps(r[q + 2], r[q + 3]);
        let hi23 = _mm256_unpackhi_ps(r[q + 2], r[q + 3]);
        t[q] = _mm256_shuffle_ps::<0x44>(lo01, lo23);
        t[q + 1] = _mm256_shuffle_ps::<0xEE>(lo01, lo23);
        t[q + 2] = _mm256_shuffle_ps::<0x44>(hi01, hi23);
        t[q + 3] = _mm256_shuffle_ps::<0xEE>(hi01, hi23);
    }
    let mut out = [_mm256_setzero_ps(); 8];
    for c in 0..4 {
        out[c] = _mm256_permute2f128_ps::<0x20>(t[c], t[4 + c]);
        out[4 + c] = _mm256_permute2f128_ps::<0x31>(t[c], t[4 + c]);
    }
    out
}

/// Widths of `B` whose blocks the blocked product copies into panels: rows a multiple of
/// 1 KiB apart fall into at most 4 of the 64 sets of a 32 KiB L1 with 8 ways.
const COPY_WIDTHS: usize = 256;

/// Steps of `k` per block of the blocked product: `KC` rows of 16 columns of `B` are 16 KiB
/// (without blocking, 64 × 784 × 512 ran at 50 GFLOP/s, with it at 72).
const KC: usize = 256;
/// Rows of `C` per block of the blocked product: an `MC × KC` block of `A` is 96 KiB (L2).
const MC: usize = 96;

/// Steps of `k` per block: `k` in as few blocks of at most [`KC`] as possible, of equal
/// length but the last (`k = 784` is three blocks of 262, 262 and 260).
#[inline(always)]
fn k_block(k: usize) -> usize {
    k.div_ceil(k.div_ceil(KC).max(1)).max(1)
}

/// The mask of the first `count` lanes of 8 (all from 8 on).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lanes(count: usize) -> __m256i {
    // `count.min(8)` fits an `i32`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    let count = count.min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(count),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// `C[m×n] (+)= A · B`, `A(i, p) = a[i * rsa + p * csa]`, `B` row-major `n` wide, `C`
/// row-major `n` wide, blocked as the module docs say. The callers size the slices from
/// checked products (`a` holds every `A(i, p)`, `b` at least `k * n` values, `c` at least
/// `m * n`), so no index here wraps; every slice is indexed with bounds checks, and the tile
/// checks its own bounds.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn blocked(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    // SAFETY: `c` is borrowed mutably: every value of `C` is writable through it and nothing
    // else accesses them.
    unsafe { columns(m, k, n, a, rsa, csa, b, Out::of(c), accumulate, 0, n) }
}

/// [`blocked`] on up to `threads` threads of the current rayon pool, split by columns of `C`
/// at multiples of [`NR`] (halves, each again while threads remain): for products of few
/// rows, where each thread then reads only its own columns of `B` and the tiles keep their
/// rows (split by rows, 32 rows were 12 and 20 at tile-aligned multiples). Every
/// value of `C` is computed as [`blocked`] computes it, so results do not depend on the
/// split. The callers size the slices as for [`blocked`].
#[allow(clippy::too_many_arguments)]
pub(super) fn blocked_columns(
    isa: Avx2,
    threads: usize,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
    (edges, keep): (Option<&super::Edges<'_>>, Option<&mut [f32]>),
) {
    let _ = isa;
    let c = Out::of(c);
    let keep = keep.map(Out::of);
    super::split_columns(threads, (0, n), NR, &|lo, hi| {
        // SAFETY: `isa` exists, so the CPU has AVX2 and FMA; each call writes the columns
        // `lo..hi` of `C` (and of `keep`), which no other call writes (`split_columns` gives
        // disjoint ranges), through `c` (and `keep`), made from mutable borrows, which last
        // until every call returned.
        unsafe {
            edged_columns(m, n, (lo, hi), c, (edges, keep), &|bias| {
                if let Some(bias) = bias {
                    start_from_bias(m, n, (lo, hi), c, bias);
                }
                columns(
                    m,
                    k,
                    n,
                    a,
                    rsa,
                    csa,
                    b,
                    c,
                    accumulate || bias.is_some(),
                    lo,
                    hi,
                );
            })
        };
    });
}

/// Columns `lo..hi` of [`blocked`]'s `C` (`lo` a multiple of [`NR`], `hi` too or `n`),
/// written through `c`: blocks of `k` and of rows, then the tiles of each row block 16
/// columns at a time.
///
/// # Safety
/// The values of columns `lo..hi` of `C` (`m` rows of `n`) must be writable through `c`
/// and accessed by nothing else while this runs.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn columns(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    c: Out,
    accumulate: bool,
    lo: usize,
    hi: usize,
) {
    assert!(
        lo.is_multiple_of(NR) && lo <= hi && hi <= n,
        "columns: bad range"
    );
    let kc = k_block(k);
    // A block of `B` whose rows fall into few L1 sets and that serves several tiles is
    // copied into a contiguous panel first (see the module's docs).
    let mut panel = [0.0f32; KC * NR];
    let copy = n.is_multiple_of(COPY_WIDTHS) && k.saturating_mul(n) >= KC * NR;
    let mut k0 = 0;
    while k0 < k {
        let kc = kc.min(k - k0);
        let add = accumulate || k0 > 0;
        for i_block in (0..m).step_by(MC) {
            let rows = MC.min(m - i_block);
            for j in (lo..hi).step_by(NR) {
                let cols = NR.min(hi - j);
                let (b, rsb) = if copy && rows > ROWS {
                    prefetch_next_panel::<NR>(b, n, (k0, kc, k), j, (lo, hi));
                    copy_panel(&b[k0 * n + j..], n, cols, &mut panel[..kc * NR]);
                    (&panel[..kc * NR], NR)
                } else {
                    (&b[k0 * n + j..], n)
                };
                let t = Tile {
                    k: kc,
                    rsa,
                    csa,
                    rsb,
                    cols,
                    rsc: n,
                    add,
                };
                // SAFETY: the tiles' values are in rows `i_block..i_block + rows` (below `m`)
                // and columns `j..j + t.cols` of `C`, inside `lo..hi`: the caller's contract.
                unsafe {
                    t.column(
                        rows,
                        &a[i_block * rsa + k0 * csa..],
                        b,
                        c.from(i_block * n + j),
                    );
                }
            }
        }
        k0 += kc;
    }
}

/// Copies the first `cols` (at most [`NR`]) values of rows `p * rsb` of `b` into the rows
/// of [`NR`] values of `panel` (as many as it holds; the lanes past `cols` zero), two masked
/// register moves per row.
///
/// # Panics
/// If `cols` is out of range or `b` is too short for the rows.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn copy_panel(b: &[f32], rsb: usize, cols: usize, panel: &mut [f32]) {
    let rows = panel.len() / NR;
    assert!((1..=NR).contains(&cols), "copy_panel: bad width");
    if rows == 0 {
        return;
    }
    let end = mul_add(rows - 1, rsb, cols);
    assert!(
        matches!(end, Some(e) if e <= b.len()),
        "copy_panel: B too short"
    );
    let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(8)));
    let (pb, pp) = (b.as_ptr(), panel.as_mut_ptr());
    for p in 0..rows {
        // SAFETY: the lanes read are `p * rsb + j` for `j < cols`, at most `(rows - 1) * rsb
        // + cols <= b.len()` (asserted; `row + 8` is made with `wrapping_add` and read only
        // through `m1`, empty when `cols <= 8`); the lanes written are `p * NR + j` for
        // `j < NR`, inside `panel` (`rows * NR <= panel.len()`), which is borrowed mutably.
        // Masked-off lanes are not read (they load as zeros).
        unsafe {
            let row = pb.add(p * rsb);
            let out = pp.add(p * NR);
            _mm256_storeu_ps(out, _mm256_maskload_ps(row, m0));
            _mm256_storeu_ps(out.add(8), _mm256_maskload_ps(row.wrapping_add(8), m1));
        }
    }
}

/// The shape of one register tile of [`blocked`]: `k` steps, strides of `A` (`rsa`, `csa`),
/// `B` (`rsb`) and `C` (`rsc`), `cols` columns (1 to [`NR`]), and whether to add to `C`.
#[derive(Clone, Copy)]
struct Tile {
    k: usize,
    rsa: usize,
    csa: usize,
    rsb: usize,
    cols: usize,
    rsc: usize,
    add: bool,
}

impl Tile {
    /// The tiles of `rows` rows (from the first of `a` and `c`): heights balanced, at most
    /// [`ROWS`] each (32 rows: 6, 6, 5, 5, 5, 5).
    ///
    /// # Panics
    /// If `cols` is out of range, or a slice (or `c.len`) is too short for the rows (whatever
    /// the strides: no bound wraps).
    ///
    /// # Safety
    /// The values of `C` (row `r < rows` at `r * rsc`, columns `j < cols`) must be writable
    /// through `c` and accessed by nothing else while this runs.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn column(self, rows: usize, a: &[f32], b: &[f32], c: Out) {
        // SAFETY: the caller's contract.
        unsafe {
            match (self.rsa == 1, self.cols == NR) {
                (true, true) => self.column_with::<true, true>(rows, a, b, c),
                (true, false) => self.column_with::<true, false>(rows, a, b, c),
                (false, true) => self.column_with::<false, true>(rows, a, b, c),
                (false, false) => self.column_with::<false, false>(rows, a, b, c),
            }
        }
    }

    /// [`column`](Self::column), `rsa` 1 when `A_COLUMNS`, `cols` [`NR`] when `FULL`: checks
    /// the bounds of all the tiles at once, then runs them.
    ///
    /// # Safety
    /// As [`column`](Self::column)'s.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn column_with<const A_COLUMNS: bool, const FULL: bool>(
        self,
        rows: usize,
        a: &[f32],
        b: &[f32],
        c: Out,
    ) {
        let Tile {
            k,
            rsa,
            csa,
            rsb,
            cols,
            rsc,
            ..
        } = self;
        assert!(
            (1..=NR).contains(&cols) && (!A_COLUMNS || rsa == 1) && (!FULL || cols == NR),
            "tile: bad shape"
        );
        if k == 0 || rows == 0 {
            return;
        }
        // Every element read or written by the tiles is inside these bounds, computed
        // without wrapping (a bound that overflows is out of every slice).
        let a_last = match (k - 1).checked_mul(csa) {
            Some(cols) => mul_add(rows - 1, rsa, cols),
            None => None,
        };
        assert!(
            matches!(a_last, Some(i) if i < a.len()),
            "tile: A too short"
        );
        assert!(
            matches!(mul_add(k - 1, rsb, cols), Some(e) if e <= b.len()),
            "tile: B too short"
        );
        assert!(
            matches!(mul_add(rows - 1, rsc, cols), Some(e) if e <= c.len),
            "tile: C too short"
        );
        let tiles = rows.div_ceil(ROWS);
        let (base, taller) = (rows / tiles, rows % tiles);
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut i = 0;
        for tile in 0..tiles {
            let height = base + usize::from(tile < taller);
            // SAFETY: rows `i..i + height` are below `rows`, whose elements are inside the
            // slices (asserted) and `C`'s writable through `c` alone (the caller's contract).
            unsafe {
                let (a, c) = (pa.add(i * rsa), c.ptr.add(i * rsc));
                match height {
                    6 => self.kernel::<6, A_COLUMNS, FULL>(a, pb, c),
                    5 => self.kernel::<5, A_COLUMNS, FULL>(a, pb, c),
                    4 => self.kernel::<4, A_COLUMNS, FULL>(a, pb, c),
                    3 => self.kernel::<3, A_COLUMNS, FULL>(a, pb, c),
                    2 => self.kernel::<2, A_COLUMNS, FULL>(a, pb, c),
                    _ => self.kernel::<1, A_COLUMNS, FULL>(a, pb, c),
                }
            }
            i += height;
        }
    }

    /// `C[r][j] (+)= Σ_p A(r, p) · B[p][j]` for `r < R`, `j < cols`, `p < k`, with
    /// `A(r, p) = *pa.add(r * rsa + p * csa)` (`rsa` is 1 when `A_COLUMNS`), `B[p][j] =
    /// *pb.add(p * rsb + j)`, `C[r][j] = *pc.add(r * rsc + j)`; with `FULL`, `cols` is
    /// [`NR`]. Each value is summed from zero in the order of `p`, then stored or added to
    /// `C`: the same arithmetic for every `R` and `cols` (and as [`tile_6x16`]'s).
    ///
    /// # Safety
    /// `R` in `1..=ROWS`, `cols` in `1..=NR`, `k >= 1`; every `A(r, p)` and `B[p][j]` above
    /// readable, every `C[r][j]` writable and accessed by nothing else while this runs.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn kernel<const R: usize, const A_COLUMNS: bool, const FULL: bool>(
        self,
        pa: *const f32,
        pb: *const f32,
        pc: *mut f32,
    ) {
        let Tile {
            k,
            rsa,
            csa,
            rsb,
            cols,
            rsc,
            add,
        } = self;
        // Lanes of the two column registers: `cols` in all.
        let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(8)));
        let mut acc: [[__m256; 2]; R] = [[_mm256_setzero_ps(); 2]; R];
        for p in 0..k {
            // SAFETY: the lanes read are `B[p][j]` for `j < cols` (the caller's contract);
            // without `FULL`, masked-off lanes are not accessed, so `row + 8` may point past
            // `B` when `cols <= 8` (it is made with `wrapping_add`, and `m1` is then empty).
            let (b0, b1) = unsafe {
                let row = pb.add(p * rsb);
                if FULL {
                    (_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(8)))
                } else {
                    (
                        _mm256_maskload_ps(row, m0),
                        _mm256_maskload_ps(row.wrapping_add(8), m1),
                    )
                }
            };
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let at = if A_COLUMNS {
                    r + p * csa
                } else {
                    r * rsa + p * csa
                };
                // SAFETY: `A(r, p)`, readable (the caller's contract).
                let av = _mm256_set1_ps(unsafe { *pa.add(at) });
                acc_r[0] = _mm256_fmadd_ps(av, b0, acc_r[0]);
                acc_r[1] = _mm256_fmadd_ps(av, b1, acc_r[1]);
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            // SAFETY: the lanes written are `C[r][j]` for `j < cols`, writable and accessed
            // by nothing else (the caller's contract); without `FULL`, masked-off lanes are
            // not accessed (`out + 8` is made with `wrapping_add`).
            unsafe {
                let out = pc.add(r * rsc);
                let (mut v0, mut v1) = (acc_r[0], acc_r[1]);
                if FULL {
                    if add {
                        v0 = _mm256_add_ps(_mm256_loadu_ps(out), v0);
                        v1 = _mm256_add_ps(_mm256_loadu_ps(out.add(8)), v1);
                    }
                    _mm256_storeu_ps(out, v0);
                    _mm256_storeu_ps(out.add(8), v1);
                } else {
                    let out1 = out.wrapping_add(8);
                    if add {
                        v0 = _mm256_add_ps(_mm256_maskload_ps(out, m0), v0);
                        v1 = _mm256_add_ps(_mm256_maskload_ps(out1, m1), v1);
                    }
                    _mm256_maskstore_ps(out, m0, v0);
                    _mm256_maskstore_ps(out1, m1, v1);
                }
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
    use super::{blocked_columns, Avx2, Isa};
    use crate::rng::Rng;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::string::String;

    /// The token, if this CPU has the level.
    fn token() -> Option<Avx2> {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            Some(unsafe { Avx2::new_unchecked() })
        } else {
            std::eprintln!("no AVX2+FMA on this CPU: nothing to test");
            None
        }
    }

    /// The blocked product against an f64 reference, for tiles of every height (1 to 6
    /// rows), partial columns, blocks of `k` and of rows, `A` by rows and by columns; then
    /// the same bits split by columns on 2 and 3 threads and by rows at any row (a split
    /// at row 7 cuts a tile of 6 rows in two).
    #[test]
    fn blocked_matches_the_reference_at_every_edge_and_split() {
        let Some(isa) = token() else { return };
        let mut rng = Rng::new(3);
        for &shape in &[
            (1, 1, 1),
            (6, 3, 16),
            (13, 5, 33),
            (11, 300, 17),
            (32, 784, 40),
            (25, 513, 70),
            (200, 20, 64),
            // Widths whose blocks are copied into panels, one block of `k` and two.
            (13, 40, 256),
            (20, 300, 512),
        ] {
            let (m, k, n) = shape;
            let splits = |a: &[f32], b: &[f32], c0: &[f32], c: &[f32], accumulate: bool| {
                for threads in [2, 3] {
                    let mut split = c0.to_vec();
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .expect("a thread pool")
                        .install(|| {
                            blocked_columns(
                                isa,
                                threads,
                                m,
                                k,
                                n,
                                a,
                                k,
                                1,
                                b,
                                &mut split,
                                accumulate,
                                (None, None),
                            );
                        });
                    assert_eq!(c, split, "{m}x{k}x{n} on {threads} threads by columns");
                }
                let top = m.min(7);
                let mut rows = c0.to_vec();
                let (c_top, c_bottom) = rows.split_at_mut(top * n);
                isa.blocked(top, k, n, a, k, 1, b, c_top, accumulate);
                isa.blocked(m - top, k, n, &a[top * k..], k, 1, b, c_bottom, accumulate);
                assert_eq!(c, rows, "{m}x{k}x{n} split by rows at {top}");
            };
            super::super::check_blocked(
                &mut rng,
                shape,
                |a, rsa, csa, b, c, accumulate| isa.blocked(m, k, n, a, rsa, csa, b, c, accumulate),
                splits,
            );
        }
    }

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
