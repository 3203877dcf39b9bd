//! The AVX-512 level (x86-64 with `std`, AVX-512F on top of AVX2 and FMA): the blocked
//! product, the dot product and the optimizers' updates in 16-lane intrinsics, fused
//! multiply-adds everywhere else. Reached only through [`dispatch`](super::dispatch), which
//! compiles the generic loops for these features and makes the [`Avx512`] token once the CPU
//! was found to have them.
//!
//! # The blocked product
//!
//! A register tile of [`ROWS`] × [`COLS`] = 12 × 32 values of `C`: 24 of the 32 vector
//! registers accumulate, two hold a row of `B`, one a broadcast value of `A`; per step of
//! `k`, 24 fused multiply-adds for 2 loads of `B` and 12 broadcasts. Tiles that do not fit
//! (the bottom rows, the right columns) are the same kernel with fewer rows (one copy per
//! row count) and masked loads and stores of columns, so there are no edge loops: every
//! value of `C` is computed the same way wherever it sits, which keeps results independent
//! of how rows are split between threads.
//!
//! Blocking: `k` in blocks of [`KC`] (a `KC × COLS` panel of `B` is 32 KiB, L1), rows in
//! blocks of [`MC`] (an `MC × KC` block of `A` is 144 KiB, L2). For each block of `k` and of
//! rows, each panel of `B` serves every tile of the row block from L1 (copied into a
//! contiguous buffer first when it serves several tiles: panel by panel, the next one fetched
//! into L2 while the tiles run, in products of one row block; the whole block of `B` at
//! once, its rows read in order, in products of several; a `B` used for many products is
//! packed once by the caller, see `packed`), and the row block of `A` is read from memory
//! once, then from L2. A product with `k > KC` adds each block's partial sums to `C` (in
//! the same order whatever the split).
//!
//! # The optimizers' updates
//!
//! Adam and RMSprop divide by `sqrt(v) + eps` for every parameter. The square root and the
//! division share one divider (measured: about 0.9 ns per parameter at 16 lanes, bound by
//! it), so this level computes them from the 14-bit estimates `vrsqrt14ps` and `vrcp14ps`,
//! each refined by one Newton step: the quotient is within about 2 units in the last place
//! of the exact one (tested), and the parameters, which change by much less than their own
//! size, mostly come out identical. Where an estimate fails (a zero, infinite or NaN `v`,
//! an infinite denominator) the result is fixed up from the operand's class, as the exact
//! operations give it (`vfixupimmps`, no branch); an epsilon outside [2^-40, 2^100] takes
//! the exact operations. The moments are computed exactly as the portable level does.
//!
//! A first moment whose gradient stays zero (an MNIST pixel blank in every image of the
//! batch) decays into the subnormal range after some hundred steps and stays there, and
//! every operation with a subnormal operand or result takes a microcode assist of about 130
//! cycles (measured on a Xeon: Adam's update of an MNIST MLP took four times as long after
//! 1,500 steps as with such values flushed). Vectors of zero gradients with first moments
//! below 2^-90 take `AdamConsts::idle`, which gives the same bits without a floating-point
//! operation on a subnormal value: the moment's product in f64 and rounded by an integer
//! conversion, the parameter left as the step (bounded) leaves it. Vectors of zero
//! gradients whose moments are all zero (a pixel blank in every batch so far) are left as
//! they are, which is what the update gives them.
#![allow(
    unsafe_code,
    reason = "AVX-512 intrinsics: raw-pointer and masked loads and stores, calls into \
              `#[target_feature]` functions, and the unsafe constructor of the token that \
              proves the CPU has them"
)]

use super::portable::Isa;
use super::update::{AdamStep, GradTransform, RmsPropStep, Rule};
use core::arch::x86_64::{
    __m256i, _mm512_castsi256_si512, _mm512_castsi512_si256, _mm512_cmpeq_epi32_mask,
    _mm512_cmplt_epi32_mask, _mm512_cvtepi32_pd, _mm512_cvtpd_epi32, _mm512_extracti64x4_epi64,
    _mm512_fixupimm_ps, _mm512_inserti64x4, _mm512_mask_cmplt_epi32_mask,
    _mm512_mask_test_epi32_mask, _mm512_maskz_mov_ps, _mm512_mul_pd, _mm512_set1_pd,
    _mm512_setzero_si512, _CMP_EQ_OQ, _CMP_UNORD_Q,
};
use core::arch::x86_64::{
    __m512, __mmask16, _mm512_add_epi32, _mm512_add_ps, _mm512_and_si512, _mm512_andnot_si512,
    _mm512_castpd_ps, _mm512_castps_pd, _mm512_castps_si512, _mm512_castsi512_ps,
    _mm512_cmp_ps_mask, _mm512_cmpge_epu32_mask, _mm512_cmpgt_epu32_mask, _mm512_cvtepi32_ps,
    _mm512_cvttps_epi32, _mm512_div_ps, _mm512_fmadd_ps, _mm512_fmsub_ps, _mm512_fnmadd_ps,
    _mm512_loadu_ps, _mm512_mask_blend_epi32, _mm512_mask_blend_ps, _mm512_mask_cmp_ps_mask,
    _mm512_mask_cmpge_epu32_mask, _mm512_mask_compressstoreu_epi32, _mm512_mask_reduce_max_ps,
    _mm512_mask_storeu_ps, _mm512_maskz_compress_epi32, _mm512_maskz_loadu_ps,
    _mm512_maskz_mov_epi32, _mm512_max_ps, _mm512_min_ps, _mm512_mul_ps, _mm512_or_si512,
    _mm512_rcp14_ps, _mm512_reduce_add_ps, _mm512_roundscale_ps, _mm512_rsqrt14_ps,
    _mm512_scalef_ps, _mm512_set1_epi32, _mm512_set1_ps, _mm512_setr_epi32, _mm512_setzero_ps,
    _mm512_shuffle_f32x4, _mm512_slli_epi32, _mm512_sqrt_ps, _mm512_storeu_ps, _mm512_storeu_si512,
    _mm512_sub_ps, _mm512_unpackhi_pd, _mm512_unpackhi_ps, _mm512_unpacklo_pd, _mm512_unpacklo_ps,
    _mm_prefetch, _CMP_LT_OQ, _CMP_NEQ_UQ, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT,
    _MM_HINT_T1,
};

/// Proof that the CPU has AVX-512F, AVX2, FMA and POPCNT: a value of this type exists only
/// if it does, which makes the level's methods safe to call.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512(());

impl Avx512 {
    /// The token.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX2, FMA and POPCNT (every CPU with AVX-512F has
    /// POPCNT; `dispatch::supported` checks all four).
    #[inline(always)]
    pub(super) const unsafe fn new_unchecked() -> Self {
        Avx512(())
    }
}

/// Rows of the register tile.
pub(super) const ROWS: usize = 12;
/// Columns of the register tile: two 16-lane registers.
pub(super) const COLS: usize = 32;
/// Steps of `k` per block: a `KC × COLS` panel of `B` (32 KiB) stays in L1.
const KC: usize = 256;
/// Rows per block: an `MC × KC` block of `A` (192 KiB) stays in L2. Each block copies the
/// panels of `B` it reads, so products of up to this many rows copy them once: a recurrent
/// layer's kernel gradient over `F + H` rows (156 for an LSTM reading 28 features with 128
/// units) is one block. The blocks do not change the sums (only `k` is summed in blocks).
/// Products of more rows pack each block of `k` rows of `B` whole, once, before its tiles
/// run (`blocked_packing`); up to `MC` rows, from 2 tiles on, each panel is copied as the
/// tiles reach it, while the next one is fetched ([`prefetch_next_panel`]). Measured on a
/// GAN's generator (a batch of 64 times weights that do not stay in cache from one step to
/// the next), on one thread: packing whole blocks took a fifth of its forward pass, and
/// with the panels fetched ahead the pass took 5% less time.
const MC: usize = 192;
const _: () = assert!(MC.is_multiple_of(ROWS));

impl Isa for Avx512 {
    const MR: usize = ROWS;

    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        // Lowered to one FMA instruction inside `#[target_feature(enable = "fma")]` callers.
        a.mul_add(b, c)
    }

    #[inline(always)]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: `self` exists, so the CPU has AVX-512F (`Avx512::new_unchecked`).
        unsafe { dot(a, b) }
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
        // SAFETY: `self` exists, so the CPU has AVX-512F and FMA (`Avx512::new_unchecked`).
        unsafe { blocked(m, k, n, a, rsa, csa, b, c, accumulate) }
    }

    #[inline(always)]
    fn sparse_rows<const OUT: usize>(
        self,
        x: &[f32],
        w: &[f32],
        first: usize,
        nonzero: &mut [u32],
        acc: &mut [f32; OUT],
    ) {
        if OUT > 16 * SPARSE_VECTORS || x.len() > SPARSE_INPUTS {
            super::portable::sparse_rows(self, x, w, first, nonzero, acc);
            return;
        }
        // SAFETY: `self` exists, so the CPU has AVX-512F, FMA and POPCNT
        // (`Avx512::new_unchecked`).
        unsafe { sparse_rows(x, w, first, nonzero, acc) }
    }

    #[inline(always)]
    fn nn_small(self, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        // The tile with its masked edges suits small products too (an output layer of 10
        // values: one masked register per row, where a loop vectorised for 16 lanes runs
        // one value at a time). Callers pass `a` of `m` rows and `c` of `m * n` values.
        let m = a.len().checked_div(k).unwrap_or(0);
        // SAFETY: `self` exists, so the CPU has AVX-512F and FMA (`Avx512::new_unchecked`).
        unsafe { blocked(m, k, n, a, k, 1, b, c, accumulate) }
    }

    #[inline(always)]
    fn tn_small(self, m: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        // As `nn_small`: `a` holds `k` rows of `m`.
        let k = a.len().checked_div(m).unwrap_or(0);
        // SAFETY: `self` exists, so the CPU has AVX-512F and FMA (`Avx512::new_unchecked`).
        unsafe { blocked(m, k, n, a, 1, m, b, c, accumulate) }
    }

    #[inline(always)]
    fn nt(self, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        // SAFETY: `self` exists, so the CPU has AVX-512F and FMA (`Avx512::new_unchecked`).
        unsafe { nt(self, k, n, a, b, c, accumulate) }
    }

    #[inline(always)]
    fn adam(self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
        // SAFETY: `self` exists, so the CPU has AVX-512F and FMA (`Avx512::new_unchecked`).
        unsafe { adam(p, g, m, v, s) }
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
        // SAFETY: `self` exists, so the CPU has AVX-512F and FMA (`Avx512::new_unchecked`).
        unsafe { rmsprop(p, g, v, buf, s) }
    }
}

impl Avx512 {
    /// `C[m×n] (+)= A[m×k] · B`, `A` row-major, `B` packed in panels of [`COLS`] columns
    /// (see `super::pack_b`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn packed(
        self,
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        accumulate: bool,
    ) {
        // SAFETY: `self` exists, so the CPU has AVX-512F and FMA (`Avx512::new_unchecked`).
        unsafe { packed(m, k, n, a, b, c, accumulate) }
    }
}

/// The mask of the first `count` lanes (all 16 from 16 on).
#[inline(always)]
fn lanes(count: usize) -> __mmask16 {
    if count >= 16 {
        0xFFFF
    } else {
        (1u16 << count) - 1
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

/// `C[m×n] (+)= A · B`, `A(i, p) = a[i * rsa + p * csa]`, `B` row-major `n` wide, `C`
/// row-major `n` wide, blocked as the module docs say. The callers size the slices from
/// checked products (`a` holds every `A(i, p)`, `b` at least `k * n` values, `c` at least
/// `m * n`), so no index here wraps; every slice is indexed with bounds checks, and the tile
/// checks its own bounds.
#[target_feature(enable = "avx512f,avx2,fma")]
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
    if m > MC && k.saturating_mul(n) >= KC * COLS {
        // Every panel of a block of `k` rows of `B`, packed at once by reading its rows in
        // order (the prefetchers follow them; panel by panel, each row's 128 bytes came from
        // memory on their own), in a buffer kept by the thread.
        std::thread_local! {
            static PANELS: core::cell::RefCell<std::vec::Vec<f32>> =
                const { core::cell::RefCell::new(std::vec::Vec::new()) };
        }
        let len = k_block(k) * n.div_ceil(COLS) * COLS;
        let done = PANELS.with(|cell| {
            let Ok(mut buffer) = cell.try_borrow_mut() else {
                return false;
            };
            if buffer.len() < len {
                buffer.resize(len, 0.0);
            }
            blocked_packing(m, k, n, a, rsa, csa, b, c, accumulate, &mut buffer[..len]);
            true
        });
        if !done {
            let mut panel = [0.0f32; KC * COLS];
            blocked_with(m, k, n, a, rsa, csa, b, c, accumulate, Some(&mut panel));
        }
    } else if m > ROWS && k.saturating_mul(n) >= KC * COLS {
        let mut panel = [0.0f32; KC * COLS];
        blocked_with(m, k, n, a, rsa, csa, b, c, accumulate, Some(&mut panel));
    } else {
        blocked_with(m, k, n, a, rsa, csa, b, c, accumulate, None);
    }
}

/// [`blocked_with`] for products whose every row block takes several tiles: each block of
/// `kc` rows of `B` is first packed in panels of [`COLS`] columns into `panels` (at least
/// `kc * n` rounded up to whole panels), which the tiles then read as `packed` does. The
/// same tiles and order of additions as [`blocked_with`], so the same values.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn blocked_packing(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
    panels: &mut [f32],
) {
    let kc = k_block(k);
    let mut k0 = 0;
    while k0 < k {
        let kc = kc.min(k - k0);
        let add = accumulate || k0 > 0;
        pack_columns(&b[k0 * n..], kc, n, (0, n), panels);
        for i_block in (0..m).step_by(MC) {
            let rows = MC.min(m - i_block);
            for j in (0..n).step_by(COLS) {
                let cols = COLS.min(n - j);
                let panel = &panels[j * kc..];
                for i in (i_block..i_block + rows).step_by(ROWS) {
                    let t = Tile {
                        k: kc,
                        rsa,
                        csa,
                        rsb: COLS,
                        cols,
                        rsc: n,
                        add,
                    };
                    run_rows(
                        t,
                        ROWS.min(m - i),
                        &a[i * rsa + k0 * csa..],
                        panel,
                        &mut c[i * n + j..],
                    );
                }
            }
        }
        k0 += kc;
    }
}

/// [`blocked`] on up to `threads` threads of the current rayon pool, split by columns of `C`
/// at whole panels of [`COLS`] (halves, each again while threads remain): for products of
/// few rows, where each thread then packs and reads only its own columns of `B` (split by
/// rows, every thread packed all of `B`), and the tiles keep their rows. Every value of `C`
/// is computed as [`blocked`] computes it, so results do not depend on the split. The
/// callers size the slices as for [`blocked`].
#[allow(clippy::too_many_arguments)]
pub(super) fn blocked_columns(
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
    let c = Out::of(c);
    let keep = keep.map(Out::of);
    super::split_columns(threads, (0, n), COLS, &|lo, hi| {
        // SAFETY: `blocked_columns` exists only at the AVX-512 level (its caller checks
        // `level()`), so the CPU has the features; each call writes the columns `lo..hi` of
        // `C` (and of `keep`), which no other call writes (`split_columns` gives disjoint
        // ranges), through `c` (and `keep`), made from mutable borrows, which last until
        // every call returned.
        unsafe {
            edged_columns(m, n, (lo, hi), c, (edges, keep), &|bias| {
                columns(m, k, n, a, rsa, csa, b, c, (accumulate, bias), lo, hi);
            })
        };
    });
}

/// Runs `product(bias)` on columns `lo..hi` of the `m` rows of `n` values of `C` (`c`),
/// with [`affine`](super::affine)'s edges around it when given: the product is then to
/// start its values from `bias` (the edges' row of `n` values; `None` without edges), and
/// after it the values are copied to `keep` and the edges' `then` runs on each row's part.
/// Shared by the AVX-512 and AVX2 levels' column splits.
///
/// # Safety
/// Columns `lo..hi` of `C` and of `keep` (both `m * n` values) must be writable through
/// `c` and `keep` and accessed by nothing else while this runs.
///
/// # Panics
/// If `lo..hi` is not inside `0..n`, or `C` or `keep` is shorter than `m * n` values.
pub(super) unsafe fn edged_columns(
    m: usize,
    n: usize,
    (lo, hi): (usize, usize),
    c: Out,
    (edges, keep): (Option<&super::Edges<'_>>, Option<Out>),
    product: &dyn Fn(Option<&[f32]>),
) {
    let Some(edges) = edges else {
        product(None);
        return;
    };
    assert!(
        lo <= hi && hi <= n && edges.bias.len() == n && c.len >= m * n,
        "edged_columns: bad shape"
    );
    let width = hi - lo;
    product(Some(edges.bias));
    super::alone(|| {
        for i in 0..m {
            // SAFETY: as above.
            let part = unsafe { c.from(i * n + lo).values(width) };
            if let Some(keep) = keep {
                // SAFETY: as above, `keep` checked by `values`.
                unsafe { keep.from(i * n + lo).values(width) }.copy_from_slice(part);
            }
            (edges.then)(part);
        }
    });
}

/// Sets columns `lo..hi` of the `m` rows of `n` values of `C` (`c`) to `bias` (a row of
/// `n`): where a product that adds onto `C` is to start from the bias.
///
/// # Safety
/// Columns `lo..hi` of `C` must be writable through `c` and accessed by nothing else while
/// this runs.
///
/// # Panics
/// If `lo..hi` is not inside `0..n`, `bias` is not `n` values or `C` is shorter than
/// `m * n`.
pub(super) unsafe fn start_from_bias(
    m: usize,
    n: usize,
    (lo, hi): (usize, usize),
    c: Out,
    bias: &[f32],
) {
    assert!(
        lo <= hi && hi <= n && bias.len() == n && c.len >= m * n,
        "start_from_bias: bad shape"
    );
    for i in 0..m {
        // SAFETY: in bounds (asserted), and the caller's contract makes the access unique.
        unsafe { c.from(i * n + lo).values(hi - lo) }.copy_from_slice(&bias[lo..hi]);
    }
}

/// Columns `lo..hi` of [`blocked`]'s `C` (`lo` a multiple of [`COLS`], `hi` too or `n`),
/// written through `c`: the same tiles, blocks and order of additions, each panel of `B`
/// that serves several tiles copied as the tiles reach it, the next one fetched meanwhile
/// (the callers split products of few rows, one block of [`MC`]). With a bias (a row of
/// `n` values) the values are the bias plus the product (`accumulate` is then ignored):
/// each tile's part of `C` is set to the bias just before the tile adds onto it, in L1
/// ([`start_tile`]; set beforehand, the whole part had left L1 when the tiles read it).
///
/// # Safety
/// The values of columns `lo..hi` of `C` (`m` rows of `n`) must be writable through `c`
/// and accessed by nothing else while this runs.
#[target_feature(enable = "avx512f,avx2,fma")]
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
    (accumulate, bias): (bool, Option<&[f32]>),
    lo: usize,
    hi: usize,
) {
    assert!(
        lo.is_multiple_of(COLS) && lo <= hi && hi <= n,
        "columns: bad range"
    );
    // With no step of `k` no tile would run to start `C` from the bias (the callers split
    // only products of many multiply-adds).
    assert!(
        bias.is_none_or(|bias| bias.len() == n && k > 0 && c.len >= m * n),
        "columns: bad bias"
    );
    let kc = k_block(k);
    // Room for one panel, copied where it serves several tiles.
    let mut panel = [0.0f32; KC * COLS];
    let mut k0 = 0;
    while k0 < k {
        let kc = kc.min(k - k0);
        let add = accumulate || k0 > 0 || bias.is_some();
        for i_block in (0..m).step_by(MC) {
            let rows = MC.min(m - i_block);
            for j in (lo..hi).step_by(COLS) {
                let cols = COLS.min(n - j);
                let (b, rsb) = if rows > ROWS {
                    prefetch_next_panel::<COLS>(b, n, (k0, kc, k), j, (lo, hi));
                    copy_panel(&b[k0 * n + j..], n, cols, &mut panel[..kc * COLS]);
                    (&panel[..], COLS)
                } else {
                    (&b[k0 * n + j..], n)
                };
                for i in (i_block..i_block + rows).step_by(ROWS) {
                    let t = Tile {
                        k: kc,
                        rsa,
                        csa,
                        rsb,
                        cols,
                        rsc: n,
                        add,
                    };
                    if let (Some(bias), 0) = (bias, k0) {
                        // SAFETY: lanes `j..j + cols` of `bias` (`j + cols <= n =
                        // bias.len()`, asserted); rows `i..i + ROWS.min(m - i)` of `C` at
                        // columns `j..j + cols`, inside `c.len >= m * n` (asserted) and
                        // inside `lo..hi`, which the caller's contract makes writable and
                        // unique.
                        unsafe {
                            start_tile(&bias[j..j + cols], ROWS.min(m - i), n, c.from(i * n + j))
                        };
                    }
                    // SAFETY: the tile's values are in rows `i..` and columns `j..j + cols`
                    // of `C`, inside `lo..hi`: the caller's contract.
                    unsafe {
                        run_rows_to(
                            t,
                            ROWS.min(m - i),
                            &a[i * rsa + k0 * csa..],
                            b,
                            c.from(i * n + j),
                        );
                    }
                }
            }
        }
        k0 += kc;
    }
}

/// Sets `rows` rows (`rsc` values apart) of the first `bias.len()` (at most [`COLS`])
/// values of `c` to `bias`: a tile's part of `C`, which the tile then adds onto while it
/// is in L1 (set for a whole panel of rows beforehand, rows of a power-of-two width shared
/// a few cache sets and had left L1 when the tiles read them).
///
/// # Safety
/// Those values must be writable through `c` and accessed by nothing else while this runs.
///
/// # Panics
/// If `bias` is longer than [`COLS`] or `c` is too short.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn start_tile(bias: &[f32], rows: usize, rsc: usize, c: Out) {
    let cols = bias.len();
    assert!(cols <= COLS, "start_tile: bad width");
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(
        matches!(mul_add(rows - 1, rsc, cols), Some(e) if e <= c.len),
        "start_tile: C too short"
    );
    let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(16)));
    let pb = bias.as_ptr();
    // SAFETY: the lanes read are those of `bias` (`m1` empty when `cols <= 16`, the pointer
    // then made with `wrapping_add` and not accessed); the lanes written are `r * rsc + j`
    // for `j < cols`, at most `(rows - 1) * rsc + cols <= c.len` (asserted), writable and
    // unique (the caller's contract). Masked-off lanes are not accessed.
    unsafe {
        let (b0, b1) = (
            _mm512_maskz_loadu_ps(m0, pb),
            _mm512_maskz_loadu_ps(m1, pb.wrapping_add(16)),
        );
        for r in 0..rows {
            let out = c.ptr.add(r * rsc);
            _mm512_mask_storeu_ps(out, m0, b0);
            _mm512_mask_storeu_ps(out.wrapping_add(16), m1, b1);
        }
    }
}

/// Packs columns `lo..hi` (`lo` a multiple of [`COLS`]) of `rows` rows of `n` values of `b`
/// (row-major) into `out` in panels of [`COLS`] columns: panel `p` holds columns `lo + p *
/// COLS..` as `rows` rows of [`COLS`] values from `p * rows * COLS` on (the last padded
/// with zeros). Reads `b` in order.
///
/// # Panics
/// If `b` holds fewer than `rows * n` values, `hi` exceeds `n`, or `out` is shorter than
/// `rows` times `hi - lo` rounded up to whole panels.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn pack_columns(b: &[f32], rows: usize, n: usize, (lo, hi): (usize, usize), out: &mut [f32]) {
    let panels = (hi - lo).div_ceil(COLS);
    assert!(
        lo <= hi && hi <= n && b.len() >= rows * n && out.len() >= rows * panels * COLS,
        "pack_columns: slices too short"
    );
    let (pb, po) = (b.as_ptr(), out.as_mut_ptr());
    for p in 0..rows {
        for panel in 0..panels {
            let j = lo + panel * COLS;
            let cols = COLS.min(hi - j);
            let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(16)));
            // SAFETY: the lanes read are `p * n + j + jj` for `jj < cols`, `j + cols <= hi
            // <= n`, below `rows * n <= b.len()` (asserted; `row + 16` is made with
            // `wrapping_add` and read only through `m1`, empty when `cols <= 16`); the 32
            // values written at `(panel * rows + p) * COLS` are below `rows * panels * COLS
            // <= out.len()` (asserted), and `out` is borrowed mutably. Masked-off lanes are
            // not read.
            unsafe {
                let row = pb.add(p * n + j);
                let to = po.add((panel * rows + p) * COLS);
                _mm512_storeu_ps(to, _mm512_maskz_loadu_ps(m0, row));
                _mm512_storeu_ps(to.add(16), _mm512_maskz_loadu_ps(m1, row.wrapping_add(16)));
            }
        }
    }
}

/// [`blocked`], with a `panel` each block of `B` that serves several tiles (`kc × COLS`) first
/// copied into a contiguous panel on the stack: the tiles then read it from L1, where rows of
/// `B` `4 n` bytes apart fall into few cache sets (with `n = 512`, a block of 64 rows did not
/// stay there). The same tiles and additions either way, so the same values; `PACK` is for
/// products large enough that the copies (a `1 / tiles` share of the reads of `B`) and the
/// 32 KiB panel are worth it.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
#[inline]
fn blocked_with(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
    mut panel: Option<&mut [f32; KC * COLS]>,
) {
    let kc = k_block(k);
    let mut k0 = 0;
    while k0 < k {
        let kc = kc.min(k - k0);
        let add = accumulate || k0 > 0;
        for i_block in (0..m).step_by(MC) {
            let rows = MC.min(m - i_block);
            for j in (0..n).step_by(COLS) {
                let cols = COLS.min(n - j);
                let (b, rsb) = match panel.as_deref_mut() {
                    Some(panel) if rows > ROWS => {
                        prefetch_next_panel::<COLS>(b, n, (k0, kc, k), j, (0, n));
                        copy_panel(&b[k0 * n + j..], n, cols, &mut panel[..kc * COLS]);
                        (&panel[..], COLS)
                    }
                    _ => (&b[k0 * n + j..], n),
                };
                for i in (i_block..i_block + rows).step_by(ROWS) {
                    let a = &a[i * rsa + k0 * csa..];
                    let c = &mut c[i * n + j..];
                    let t = Tile {
                        k: kc,
                        rsa,
                        csa,
                        rsb,
                        cols,
                        rsc: n,
                        add,
                    };
                    run_rows(t, ROWS.min(m - i), a, b, c);
                }
            }
        }
        k0 += kc;
    }
}

/// Fetches into L2 the panel of `WIDTH` columns of `B` (`k` rows of `n`, row-major) copied
/// after the one of columns `j..` of the block of rows `k0..k0 + kc`, of the columns
/// `lo..hi` the caller copies: the next panel of the block, else the first of the next
/// block (none after the last). Each row's `WIDTH` values take at most `WIDTH / 16 + 1`
/// cache lines; one prefetch each (and the row's last value). Shared by the AVX-512 level
/// (panels of [`COLS`]) and the AVX2 level (16); a prefetch needs only SSE, and only
/// hints, whatever the address (the pointers are made with `wrapping_add`).
#[inline]
pub(super) fn prefetch_next_panel<const WIDTH: usize>(
    b: &[f32],
    n: usize,
    (k0, kc, k): (usize, usize, usize),
    j: usize,
    (lo, hi): (usize, usize),
) {
    let (row0, rows, col) = if j + WIDTH < hi {
        (k0, kc, j + WIDTH)
    } else if k0 + kc < k {
        (k0 + kc, kc.min(k - k0 - kc), lo)
    } else {
        return;
    };
    let pb = b.as_ptr();
    for p in row0..row0 + rows {
        let row = pb.wrapping_add(p * n + col);
        for at in (0..WIDTH).step_by(16).chain([WIDTH - 1]) {
            // SAFETY: a prefetch reads nothing and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(row.wrapping_add(at).cast()) };
        }
    }
}

/// Copies the first `cols` (at most [`COLS`]) values of rows `p * rsb` of `b` into the rows
/// of [`COLS`] values of `panel` (as many as it holds), in two masked register moves per
/// row: a call to `memcpy` per row of 128 bytes took a tenth of a GAN's training time.
///
/// # Panics
/// If `cols` is out of range or `b` is too short for the rows.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn copy_panel(b: &[f32], rsb: usize, cols: usize, panel: &mut [f32]) {
    let rows = panel.len() / COLS;
    assert!((1..=COLS).contains(&cols), "copy_panel: bad width");
    if rows == 0 {
        return;
    }
    let end = mul_add(rows - 1, rsb, cols);
    assert!(
        matches!(end, Some(e) if e <= b.len()),
        "copy_panel: B too short"
    );
    let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(16)));
    let (pb, pp) = (b.as_ptr(), panel.as_mut_ptr());
    for p in 0..rows {
        // SAFETY: the lanes read are `p * rsb + j` for `j < cols`, at most `(rows - 1) * rsb
        // + cols <= b.len()` (asserted; `row + 16` is made with `wrapping_add` and read only
        // through `m1`, empty when `cols <= 16`); the lanes written are `p * COLS + j` for
        // `j < COLS`, inside `panel` (`rows * COLS <= panel.len()`), which is borrowed
        // mutably. Masked-off lanes are not accessed (loaded as zeros, stored as zeros).
        unsafe {
            let row = pb.add(p * rsb);
            let out = pp.add(p * COLS);
            _mm512_storeu_ps(out, _mm512_maskz_loadu_ps(m0, row));
            _mm512_storeu_ps(out.add(16), _mm512_maskz_loadu_ps(m1, row.wrapping_add(16)));
        }
    }
}

/// [`blocked`] with `A` row-major (`rsa = k`, `csa = 1`) and `B` packed: panel `j / COLS`
/// holds `k` rows of [`COLS`] contiguous values from `j * k` on (the last panel padded), so a
/// tile reads its `kc × COLS` block of `B` as one contiguous run, which stays in L1 for the
/// next tile (rows of a row-major `B` `4 n` bytes apart fall into few cache sets: with
/// `n = 512`, a panel of 128 rows did not fit). The same tiles, blocks and order of
/// additions as [`blocked`], so the same values. The callers size the slices: `a` at least
/// `m * k` values, `b` `k` rows of every panel, `c` `m * n`.
#[target_feature(enable = "avx512f,avx2,fma")]
fn packed(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    let kc = k_block(k);
    let mut k0 = 0;
    while k0 < k {
        let kc = kc.min(k - k0);
        let add = accumulate || k0 > 0;
        for i_block in (0..m).step_by(MC) {
            let rows = MC.min(m - i_block);
            for j in (0..n).step_by(COLS) {
                let cols = COLS.min(n - j);
                let panel = &b[j * k + k0 * COLS..];
                for i in (i_block..i_block + rows).step_by(ROWS) {
                    let t = Tile {
                        k: kc,
                        rsa: k,
                        csa: 1,
                        rsb: COLS,
                        cols,
                        rsc: n,
                        add,
                    };
                    run_rows(
                        t,
                        ROWS.min(m - i),
                        &a[i * k + k0..],
                        panel,
                        &mut c[i * n + j..],
                    );
                }
            }
        }
        k0 += kc;
    }
}

/// Steps of `k` per block: `k` in as few blocks of at most [`KC`] as possible, of equal
/// length but the last (`k = 288` is two blocks of 144, not 256 and 32).
#[inline(always)]
fn k_block(k: usize) -> usize {
    k.div_ceil(k.div_ceil(KC).max(1)).max(1)
}

/// Runs `t` on the tile of `rows` rows (1 to [`ROWS`]).
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn run_rows(t: Tile, rows: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    // SAFETY: `c` is borrowed mutably: its `c.len()` values are writable and nothing else
    // accesses them.
    unsafe { run_rows_to(t, rows, a, b, Out::of(c)) }
}

/// [`run_rows`] writing `C` through `c` (see [`Out`]).
///
/// # Safety
/// The tile's values of `C` (row `r < rows` at `r * t.rsc`, columns `j < t.cols`) must be
/// writable through `c` and accessed by nothing else while this runs.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn run_rows_to(t: Tile, rows: usize, a: &[f32], b: &[f32], c: Out) {
    // SAFETY: the caller's contract.
    unsafe {
        match rows {
            12 => t.run::<12>(a, b, c),
            11 => t.run::<11>(a, b, c),
            10 => t.run::<10>(a, b, c),
            9 => t.run::<9>(a, b, c),
            8 => t.run::<8>(a, b, c),
            7 => t.run::<7>(a, b, c),
            6 => t.run::<6>(a, b, c),
            5 => t.run::<5>(a, b, c),
            4 => t.run::<4>(a, b, c),
            3 => t.run::<3>(a, b, c),
            2 => t.run::<2>(a, b, c),
            _ => t.run::<1>(a, b, c),
        }
    }
}

/// Where a product writes `C`: `len` values from `ptr`, which the tiles index with their
/// bounds checked against `len`. Threads that write disjoint columns of one `C` share it
/// (rows of `C` interleave their columns, so no slice can be split between them).
#[derive(Clone, Copy)]
pub(super) struct Out {
    pub(super) ptr: *mut f32,
    pub(super) len: usize,
}

// SAFETY: an `Out` is only a place; the functions that write through it require (unsafe
// contracts) that no two threads write the same values and that nothing else accesses them.
unsafe impl Send for Out {}
// SAFETY: as for `Send`.
unsafe impl Sync for Out {}

impl Out {
    /// The values of `c`.
    pub(super) fn of(c: &mut [f32]) -> Self {
        Out {
            ptr: c.as_mut_ptr(),
            len: c.len(),
        }
    }

    /// The values from `at` on (none if `at` is past the end).
    pub(super) fn from(self, at: usize) -> Self {
        let at = at.min(self.len);
        Out {
            ptr: self.ptr.wrapping_add(at),
            len: self.len - at,
        }
    }

    /// The first `len` values as a slice.
    ///
    /// # Safety
    /// Nothing else may access those values while the slice lives, and the borrow the
    /// `Out` was made from must last as long.
    ///
    /// # Panics
    /// If there are fewer than `len` values.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn values<'a>(self, len: usize) -> &'a mut [f32] {
        assert!(len <= self.len, "Out::values: past the end");
        // SAFETY: in bounds (asserted); the caller's contract makes the access unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, len) }
    }
}

/// `C[m×n] (+)= A[m×k] · B[n×k]ᵀ`, `m = a.len() / k` (see `portable::nt`). Products with
/// at least 16 columns and [`NT_TILED`] multiply-adds copy `Bᵀ` a panel of [`COLS`]
/// columns at a time into a buffer on the stack and run the register tile over it (`k`
/// blocked as in [`blocked`]); smaller ones are dot products.
#[target_feature(enable = "avx512f,avx2,fma")]
fn nt(isa: Avx512, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    let m = a.len().checked_div(k).unwrap_or(0);
    if n < 16 || m.saturating_mul(k).saturating_mul(n) < NT_TILED {
        super::portable::nt_small(isa, k, n, a, b, c, accumulate);
        return;
    }
    let (a, b, c) = (&a[..m * k], &b[..n * k], &mut c[..m * n]);
    let kc = k_block(k);
    let mut panel = [0.0f32; KC * COLS];
    let mut k0 = 0;
    while k0 < k {
        let kc = kc.min(k - k0);
        for j in (0..n).step_by(COLS) {
            let cols = COLS.min(n - j);
            // panel[p][jj] = B[j + jj][k0 + p]: `kc` rows of `COLS` (the last `cols` used).
            for (jj, b_row) in b[j * k..].chunks_exact(k).take(cols).enumerate() {
                for (p, &v) in b_row[k0..k0 + kc].iter().enumerate() {
                    panel[p * COLS + jj] = v;
                }
            }
            let t = Tile {
                k: kc,
                rsa: k,
                csa: 1,
                rsb: COLS,
                cols,
                rsc: n,
                add: accumulate || k0 > 0,
            };
            for i in (0..m).step_by(ROWS) {
                run_rows(
                    t,
                    ROWS.min(m - i),
                    &a[i * k + k0..],
                    &panel,
                    &mut c[i * n + j..],
                );
            }
        }
        k0 += kc;
    }
}

/// Rows `c0..c1` of the transpose of `m` (`rows × cols`, row-major) into `t` (`(c1 - c0) ×
/// rows`, row-major): columns `c0..c1` of `m`, in 16 × 16 blocks of registers (see
/// [`transpose_blocks`]); with `sums`, also the sum of each of those columns (its values
/// added in row order to 0).
///
/// # Panics
/// If `m` holds fewer than `rows * cols` values, the columns are out of range, or `t` is
/// shorter than `(c1 - c0) * rows` (`sums` than `c1 - c0`).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) fn transpose_columns(
    m: &[f32],
    rows: usize,
    cols: usize,
    range: (usize, usize),
    t: &mut [f32],
    sums: Option<&mut [f32]>,
) {
    transpose_blocks::<16>(m, rows, cols, range, t, sums, |src, dst, sums| {
        // SAFETY: `transpose_blocks` passes a block of 16 × 16 values inside `m` and `t`,
        // and 16 sums inside `sums` (its contract); the CPU has AVX-512F (this function's
        // features).
        unsafe {
            let mut r = [_mm512_setzero_ps(); 16];
            for (i, v) in r.iter_mut().enumerate() {
                *v = _mm512_loadu_ps(src.0.add(i * src.1));
            }
            if let Some(sums) = sums {
                let mut sum = _mm512_loadu_ps(sums);
                for v in &r {
                    sum = _mm512_add_ps(sum, *v);
                }
                _mm512_storeu_ps(sums, sum);
            }
            for (j, v) in transpose16(r).iter().enumerate() {
                _mm512_storeu_ps(dst.0.add(j * dst.1), *v);
            }
        }
    });
}

/// A pointer and the distance between its rows, in values.
pub(super) type Strided<P> = (P, usize);

/// Rows `c0..c1` of `mᵀ` into `t` and the columns' sums into `sums` (when given), as
/// [`transpose_columns`] documents: whole `B × B` blocks by `block`, the edges one value at
/// a time. `block(src, dst, sums)` must write the transpose of the block of `B` rows of `B`
/// values at `src` to the `B` rows at `dst`, and with `sums` add each column's values, in
/// row order, to its sum (`B` values at `sums`). Every column's sum is thus in row order
/// (the rows of each block from the top, the blocks from the top, then the rows below them).
///
/// # Panics
/// As [`transpose_columns`].
#[inline(always)]
pub(super) fn transpose_blocks<const B: usize>(
    m: &[f32],
    rows: usize,
    cols: usize,
    (c0, c1): (usize, usize),
    t: &mut [f32],
    sums: Option<&mut [f32]>,
    block: impl Fn(Strided<*const f32>, Strided<*mut f32>, Option<*mut f32>),
) {
    let len = mul_add(rows, cols, 0).expect("transpose: rows * cols overflows");
    assert!(
        m.len() >= len && c0 <= c1 && c1 <= cols && t.len() >= (c1 - c0) * rows,
        "transpose: slices too short"
    );
    let sums = sums.map(|sums| {
        assert!(sums.len() >= c1 - c0, "transpose: sums too short");
        sums[..c1 - c0].fill(0.0);
        sums.as_mut_ptr()
    });
    // Columns `c0..c1` of `m` are the `width` columns from `src`; `T[c][r]` (for those
    // columns) is at `dst + c * rows + r`.
    let (src, width, dst) = (m.as_ptr().wrapping_add(c0), c1 - c0, t.as_mut_ptr());
    let (full_rows, full_cols) = (rows - rows % B, width - width % B);
    // SAFETY (every access and pointer below): the values read are `r * cols + c` of
    // `src` for `r < rows`, `c < width` (so `c0 + c < c1 <= cols`), inside `m`; those written
    // `c * rows + r`, inside `t` (asserted), which is borrowed mutably and cannot overlap
    // `m`; the sums `c`, inside `sums` (asserted), borrowed mutably too.
    unsafe {
        for r0 in (0..full_rows).step_by(B) {
            for c in (0..full_cols).step_by(B) {
                block(
                    (src.add(r0 * cols + c), cols),
                    (dst.add(c * rows + r0), rows),
                    sums.map(|s| s.add(c)),
                );
            }
        }
        // The edges: the columns right of the blocks, then the rows below them.
        for r in 0..full_rows {
            for c in full_cols..width {
                let v = *src.add(r * cols + c);
                *dst.add(c * rows + r) = v;
                if let Some(sums) = sums {
                    *sums.add(c) += v;
                }
            }
        }
        for r in full_rows..rows {
            for c in 0..width {
                let v = *src.add(r * cols + c);
                *dst.add(c * rows + r) = v;
                if let Some(sums) = sums {
                    *sums.add(c) += v;
                }
            }
        }
    }
}

/// The transpose of the 16 × 16 block whose rows are `r`: its columns. Unpacking pairs of
/// rows (values, then pairs of values) gives in register `4 g + c`, 128-bit lane `l`, rows
/// `4 g..4 g + 4` of column `4 l + c`; two rounds of lane shuffles gather each column's
/// four lanes.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    let mut t = [_mm512_setzero_ps(); 16];
    for g in 0..4 {
        let q = 4 * g;
        let lo01 = _mm512_unpacklo_ps(r[q], r[q + 1]);
        let hi01 = _mm512_unpackhi_ps(r[q], r[q + 1]);
        let lo23 = _mm512_unpacklo_ps(r[q + 2], r[q + 3]);
        let hi23 = _mm512_unpackhi_ps(r[q + 2], r[q + 3]);
        let pd = _mm512_castps_pd;
        t[q] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(lo01), pd(lo23)));
        t[q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(lo01), pd(lo23)));
        t[q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(hi01), pd(hi23)));
        t[q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(hi01), pd(hi23)));
    }
    let mut out = [_mm512_setzero_ps(); 16];
    for c in 0..4 {
        // Columns c and 8 + c (lanes 0, 2 of each), then 4 + c and 12 + c (lanes 1, 3).
        let a = _mm512_shuffle_f32x4::<0x88>(t[c], t[4 + c]);
        let b = _mm512_shuffle_f32x4::<0xDD>(t[c], t[4 + c]);
        let a2 = _mm512_shuffle_f32x4::<0x88>(t[8 + c], t[12 + c]);
        let b2 = _mm512_shuffle_f32x4::<0xDD>(t[8 + c], t[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(a, a2);
        out[8 + c] = _mm512_shuffle_f32x4::<0xDD>(a, a2);
        out[4 + c] = _mm512_shuffle_f32x4::<0x88>(b, b2);
        out[12 + c] = _mm512_shuffle_f32x4::<0xDD>(b, b2);
    }
    out
}

/// Most outputs [`sparse_rows`] keeps in registers: 8 vectors of 16.
const SPARSE_VECTORS: usize = 8;
/// Most inputs [`sparse_rows`] takes at once (the callers pass at most 1,024).
const SPARSE_INPUTS: usize = 1024;

/// `acc += Σ_j x[j] · W[first + j]` over the non-zero `x[j]` (`W` rows of `OUT`, at most
/// `16 * SPARSE_VECTORS`; `x` at most [`SPARSE_INPUTS`] long; `nonzero` room for the indices,
/// at least `x.len()`): the indices of the non-zero inputs 16 at a time by a compare and a
/// compress, then each row of weights into accumulators held in registers ([`add_row`]).
///
/// No software prefetch: with the weights on a cache line (as `Params` places them),
/// prefetching each row 8 indices ahead cost time (measured on 784 → 128: 775 ns without,
/// 828 with on digits, 3.37 and 3.64 us on dense inputs, the read of all 401 KB from L2
/// taking 2.95 us).
///
/// Each row adds one fused multiply-add to each of the `OUT / 16` (rounded up) vectors of
/// outputs, which depends on the one of the row before: in a narrow layer, that
/// chain (4 cycles a step) and not the weights bounded the time (a 128 → 10 layer: one
/// vector, one multiply-add every 4 cycles). So layers of one or two vectors (up to 32
/// outputs) spread the rows over [`SETS`] sets of accumulators ([`narrow_rows`]), summed at
/// the end, and round differently from the portable level, within
/// the kernels' tolerance (see `levels.rs`). Wider layers use one set: the same fused
/// multiply-adds in the same order as `portable::sparse_rows` computes them.
///
/// # Safety
/// The CPU must have POPCNT (on top of the token's features): the count of each block of
/// indices is one instruction rather than a dozen.
#[target_feature(enable = "avx512f,avx2,fma,popcnt")]
#[inline]
unsafe fn sparse_rows<const OUT: usize>(
    x: &[f32],
    w: &[f32],
    first: usize,
    nonzero: &mut [u32],
    acc: &mut [f32; OUT],
) {
    let vectors = OUT.div_ceil(16);
    assert!(
        vectors <= SPARSE_VECTORS && x.len() <= SPARSE_INPUTS,
        "sparse_rows: too many outputs or inputs"
    );
    // The rows used are `first + j` for `j < x.len()`: all of them inside `w`.
    let rows_end = first
        .checked_add(x.len())
        .and_then(|rows| rows.checked_mul(OUT));
    assert!(
        matches!(rows_end, Some(end) if end <= w.len()),
        "sparse_rows: W too short"
    );
    // Indices of the non-zero inputs (NaN counts as non-zero), 16 lanes at a time.
    assert!(
        nonzero.len() >= x.len(),
        "sparse_rows: no room for the indices"
    );
    let steps = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut count = 0;
    let mut j = 0;
    while j < x.len() {
        let mask = lanes(x.len() - j);
        // SAFETY: the lanes enabled are `j + l < x.len()`. The indices go to `count <= j`:
        // 16 of them when that fits in `nonzero`, else only the `hit.count_ones() <=
        // x.len() - j` found (the compressing store writes no more), also inside since
        // `nonzero.len() >= x.len()` (asserted).
        unsafe {
            let xs = _mm512_maskz_loadu_ps(mask, x.as_ptr().add(j));
            let hit = _mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(mask, xs, _mm512_setzero_ps());
            let index = _mm512_add_epi32(_mm512_set1_epi32(j as i32), steps);
            let at = nonzero.as_mut_ptr().add(count);
            if count + 16 <= nonzero.len() {
                _mm512_storeu_si512(at.cast(), _mm512_maskz_compress_epi32(hit, index));
            } else {
                _mm512_mask_compressstoreu_epi32(at.cast(), hit, index);
            }
            count += hit.count_ones() as usize;
        }
        j += 16;
    }
    let nonzero = &nonzero[..count];
    if OUT <= 16 * NARROW_VECTORS {
        narrow_rows(x, w, first, nonzero, acc);
        return;
    }
    let mut sums = [_mm512_setzero_ps(); SPARSE_VECTORS];
    load_sums(&mut sums, acc);
    if count == x.len() {
        // No zero input: the list is `0, 1, 2, ...`, and the rows are read without it, in
        // the same order (measured on 784 → 128, dense inputs: 3.08 us rather than 3.37).
        for j in 0..count {
            // SAFETY: `j < x.len()`, so the row `first + j` is inside `w` (asserted above).
            unsafe { add_row::<OUT, SPARSE_VECTORS>(&mut sums, x, w, first, j) };
        }
    } else {
        for &j in nonzero {
            // SAFETY: `j` is an index of `x` (every index the compress wrote below `count`
            // is), so the row `first + j` is inside `w` (asserted above).
            unsafe { add_row::<OUT, SPARSE_VECTORS>(&mut sums, x, w, first, j as usize) };
        }
    }
    store_sums(&sums, acc);
}

/// The first `OUT / 16` (rounded up) registers of `sums` from `acc`, the lanes past `OUT`
/// zero.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn load_sums<const OUT: usize, const N: usize>(sums: &mut [__m512; N], acc: &[f32; OUT]) {
    for (v, sum) in sums.iter_mut().enumerate().take(OUT.div_ceil(16)) {
        // SAFETY: the lanes enabled are `16 v + l < OUT`, inside `acc`.
        *sum = unsafe { _mm512_maskz_loadu_ps(lanes(OUT - 16 * v), acc.as_ptr().add(16 * v)) };
    }
}

/// `acc` from the first `OUT / 16` (rounded up) registers of `sums` (the inverse of
/// [`load_sums`]).
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn store_sums<const OUT: usize, const N: usize>(sums: &[__m512; N], acc: &mut [f32; OUT]) {
    for (v, sum) in sums.iter().enumerate().take(OUT.div_ceil(16)) {
        // SAFETY: the lanes enabled are `16 v + l < OUT`, inside `acc`, borrowed mutably.
        unsafe { _mm512_mask_storeu_ps(acc.as_mut_ptr().add(16 * v), lanes(OUT - 16 * v), *sum) };
    }
}

/// The step of [`sparse_rows`] and [`narrow_rows`]: input `j` times its row of weights,
/// `sums[v] += x[j] · W[first + j][16 v ..]` for the `OUT / 16` (rounded up) vectors of the
/// row (`W` rows of `OUT`; the last vector masked to the outputs left).
///
/// # Safety
/// `j < x.len()` and the row `first + j` lies inside `w` (`(first + j + 1) * OUT <=
/// w.len()`, no overflow); `sums` has room for the row (`16 * N >= OUT`).
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn add_row<const OUT: usize, const N: usize>(
    sums: &mut [__m512; N],
    x: &[f32],
    w: &[f32],
    first: usize,
    j: usize,
) {
    // SAFETY: `j < x.len()` and the row is inside `w` (the caller's promise); the lanes
    // enabled are `16 v + l < OUT`.
    unsafe {
        let s = _mm512_set1_ps(*x.get_unchecked(j));
        let row = w.as_ptr().add((first + j) * OUT);
        for (v, sum) in sums.iter_mut().enumerate().take(OUT.div_ceil(16)) {
            let weights = _mm512_maskz_loadu_ps(lanes(OUT - 16 * v), row.add(16 * v));
            *sum = _mm512_fmadd_ps(s, weights, *sum);
        }
    }
}

/// Most outputs of a layer [`narrow_rows`] takes: 2 vectors of 16.
const NARROW_VECTORS: usize = 2;
/// Sets of accumulators of [`narrow_rows`]: 4 or 8 chains of multiply-adds.
const SETS: usize = 4;

/// [`sparse_rows`] for a layer of at most `16 * NARROW_VECTORS` outputs (`OUT`), after its
/// list `nonzero` of the non-zero inputs (indices of `x`; the rows `first + j` of `W`): row
/// `k` of the list into set `k mod SETS` of accumulators ([`add_row`]), the sets summed
/// pairwise at the end, `(0 + 2) + (1 + 3)` (set 0 starts from `acc`, the others from
/// `-0.0`, which adds nothing, not even to a `-0.0`).
///
/// # Panics
/// If an index is not one of `x` or `W` lacks its row.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn narrow_rows<const OUT: usize>(
    x: &[f32],
    w: &[f32],
    first: usize,
    nonzero: &[u32],
    acc: &mut [f32; OUT],
) {
    assert!(OUT <= 16 * NARROW_VECTORS, "narrow_rows: too many outputs");
    // Every row `first + j` with `j < x.len()` is inside `w`.
    let rows_end = first
        .checked_add(x.len())
        .and_then(|rows| rows.checked_mul(OUT));
    assert!(
        matches!(rows_end, Some(end) if end <= w.len()),
        "narrow_rows: W too short"
    );
    let mut sums = [[_mm512_set1_ps(-0.0); NARROW_VECTORS]; SETS];
    load_sums(&mut sums[0], acc);
    // Row `j` of `W` into `sums`.
    let row = |j: u32, sums: &mut [__m512; NARROW_VECTORS]| {
        let j = j as usize;
        assert!(j < x.len(), "narrow_rows: an index outside x");
        // SAFETY: `j < x.len()` (just checked), so the row `first + j` is inside `w`
        // (asserted above); `16 * NARROW_VECTORS >= OUT` (asserted above).
        unsafe { add_row::<OUT, NARROW_VECTORS>(sums, x, w, first, j) };
    };
    let mut rows = nonzero.chunks_exact(SETS);
    for block in &mut rows {
        for (&j, sums) in block.iter().zip(&mut sums) {
            row(j, sums);
        }
    }
    for (&j, sums) in rows.remainder().iter().zip(&mut sums) {
        row(j, sums);
    }
    let [zero, one, two, three] = sums;
    let mut total = [_mm512_setzero_ps(); NARROW_VECTORS];
    for (v, sum) in total.iter_mut().enumerate() {
        *sum = _mm512_add_ps(
            _mm512_add_ps(zero[v], two[v]),
            _mm512_add_ps(one[v], three[v]),
        );
    }
    store_sums(&total, acc);
}

/// Multiply-adds from which [`nt`] runs the register tile rather than dot products.
const NT_TILED: usize = 4096;

/// The shape of one register tile: `k` steps, strides of `A` (`rsa`, `csa`), `B` (`rsb`) and
/// `C` (`rsc`), `cols` columns (1 to [`COLS`]), and whether to add to `C`.
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
    /// Runs the tile with `R` rows, its columns of `A` contiguous when `rsa` is 1.
    ///
    /// # Safety
    /// As [`run_rows_to`]'s.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn run<const R: usize>(self, a: &[f32], b: &[f32], c: Out) {
        // SAFETY: the caller's contract (that of `run_rows_to`).
        unsafe {
            if self.rsa == 1 {
                self.kernel::<R, true>(a, b, c);
            } else {
                self.kernel::<R, false>(a, b, c);
            }
        }
    }

    /// `C[r][j] (+)= Σ_p A(r, p) · B[p][j]` for `r < R`, `j < cols`, `p < k`, with
    /// `A(r, p) = a[r * rsa + p * csa]` (`rsa` is 1 when `A_COLUMNS`), `B[p][j] = b[p * rsb +
    /// j]`, `C[r][j] = c[r * rsc + j]`. Each value is summed from zero in the order of `p`,
    /// then stored or added to `C`: the same arithmetic for every `R` and `cols`.
    ///
    /// # Panics
    /// If `R` or `cols` is out of range, or a slice (or `c.len`) is too short for the tile
    /// (whatever the strides: no bound wraps).
    ///
    /// # Safety
    /// As [`run_rows_to`]'s: the tile's values of `C` writable through `c`, and accessed by
    /// nothing else meanwhile.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn kernel<const R: usize, const A_COLUMNS: bool>(self, a: &[f32], b: &[f32], c: Out) {
        let Tile { cols, rsc, add, .. } = self;
        let c_end = mul_add(R - 1, rsc, cols);
        assert!(matches!(c_end, Some(e) if e <= c.len), "tile: C too short");
        let Some(acc) = self.sums::<R, A_COLUMNS>(a, b) else {
            return;
        };
        // Lanes of the two column registers: `cols` in all.
        let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(16)));
        let pc = c.ptr;
        for (r, acc_r) in acc.iter().enumerate() {
            // SAFETY: the lanes enabled are `r * rsc + j` for `j < cols`, at most
            // `(R - 1) * rsc + cols <= c.len` (asserted): the tile's values, writable
            // through `c` and accessed by nothing else (the caller's contract); masked-off
            // lanes are not accessed.
            unsafe {
                let out = pc.add(r * rsc);
                let out1 = out.wrapping_add(16);
                let (mut v0, mut v1) = (acc_r[0], acc_r[1]);
                if add {
                    v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, out), v0);
                    v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, out1), v1);
                }
                _mm512_mask_storeu_ps(out, m0, v0);
                _mm512_mask_storeu_ps(out1, m1, v1);
            }
        }
    }

    /// The tile's sums `Σ_p A(r, p) · B[p][j]` (see [`kernel`](Self::kernel)), row `r` in
    /// two registers (columns `j < 16` and `16 <= j < 32`), each summed from zero in the
    /// order of `p`; `None` when `k` is 0.
    ///
    /// # Panics
    /// If `R` or `cols` is out of range, or `a` or `b` is too short for the tile.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    fn sums<const R: usize, const A_COLUMNS: bool>(
        self,
        a: &[f32],
        b: &[f32],
    ) -> Option<[[__m512; 2]; R]> {
        let Tile {
            k,
            rsa,
            csa,
            rsb,
            cols,
            ..
        } = self;
        assert!(
            (1..=ROWS).contains(&R) && (1..=COLS).contains(&cols) && (!A_COLUMNS || rsa == 1),
            "tile: bad shape"
        );
        if k == 0 {
            return None;
        }
        // Every element read below is inside these bounds, computed without wrapping (a
        // bound that overflows is out of every slice).
        let a_last = match (k - 1).checked_mul(csa) {
            Some(cols) => mul_add(R - 1, rsa, cols),
            None => None,
        };
        assert!(
            matches!(a_last, Some(i) if i < a.len()),
            "tile: A too short"
        );
        let b_end = mul_add(k - 1, rsb, cols);
        assert!(
            matches!(b_end, Some(e) if e <= b.len()),
            "tile: B too short"
        );
        // Lanes of the two column registers: `cols` in all.
        let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(16)));
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc: [[__m512; 2]; R] = [[_mm512_setzero_ps(); 2]; R];
        for p in 0..k {
            // SAFETY: the lanes enabled in `m0` and `m1` are `p * rsb + j` for `j < cols`,
            // at most `(k - 1) * rsb + cols <= b.len()` (asserted); masked-off lanes are not
            // accessed, so `row + 16` may point past `b` when `cols <= 16` (it is made with
            // `wrapping_add`, and `m1` is then empty).
            let (b0, b1) = unsafe {
                let row = pb.add(p * rsb);
                (
                    _mm512_maskz_loadu_ps(m0, row),
                    _mm512_maskz_loadu_ps(m1, row.wrapping_add(16)),
                )
            };
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let at = if A_COLUMNS {
                    r + p * csa
                } else {
                    r * rsa + p * csa
                };
                // SAFETY: `at <= (R - 1) * rsa + (k - 1) * csa < a.len()` (asserted).
                let av = _mm512_set1_ps(unsafe { *pa.add(at) });
                acc_r[0] = _mm512_fmadd_ps(av, b0, acc_r[0]);
                acc_r[1] = _mm512_fmadd_ps(av, b1, acc_r[1]);
            }
        }
        Some(acc)
    }
}

/// Dot product of the common length of `a` and `b`: two 16-lane accumulators over blocks
/// of 32, the rest in masked loads, then a reduction of the lanes.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: `i + 32 <= n`: inside both slices.
        unsafe {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
                acc1,
            );
        }
        i += 32;
    }
    while i < n {
        let mask = lanes(n - i);
        // SAFETY: the lanes enabled are `i + j` for `j < n - i`: inside both slices.
        unsafe {
            acc0 = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(mask, pa.add(i)),
                _mm512_maskz_loadu_ps(mask, pb.add(i)),
                acc0,
            );
        }
        i += 16;
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
}

/// The divisor's constant of [`quotient`], and whether the estimates may be used with it.
#[derive(Clone, Copy)]
struct Consts {
    /// Epsilon in every lane.
    eps: __m512,
    /// Whether epsilon is in [2^-40, 2^100], where the estimates keep their precision.
    fast: bool,
}

impl Consts {
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    fn new(eps: f32) -> Self {
        Consts {
            eps: _mm512_set1_ps(eps),
            fast: (f32::from_bits(87 << 23)..=f32::from_bits(227 << 23)).contains(&eps),
        }
    }
}

/// `a / (sqrt(x) + eps)` for `x >= 0`, from refined estimates (see the module docs): within
/// 4 units in the last place of the exact value, as the exact f32 operations are within 2.5
/// (tested); exact operations for an epsilon where the estimates could lose precision.
///
/// With epsilon in [2^-40, 2^100] (`Consts::fast`) and a finite positive `x`, every step
/// below stays in the normal range (a subnormal `x`, whose estimated root is less precise,
/// has a root below 2^-63, lost when added to epsilon), and the quotient overflows, or is
/// NaN, exactly when `a` is infinite or NaN (then the exact quotient is too). The special
/// values of `x` and of the divisor, where the estimates give NaN, are fixed up from their
/// classes (one instruction each, no comparison and no branch): the root of a zero is that
/// zero, of infinity infinity, of NaN NaN; the inverse of an infinite divisor is zero.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn quotient(a: __m512, x: __m512, k: Consts) -> __m512 {
    if !k.fast {
        return _mm512_div_ps(a, _mm512_add_ps(_mm512_sqrt_ps(x), k.eps));
    }
    // sqrt(x): `y` estimates 1 / sqrt(x) and `h = x y` sqrt(x), to 2^-14; one Newton step
    // on the residual `x - h²` (exact in a fused multiply-add) gives `s` to about 2^-27
    // before rounding.
    let y = _mm512_rsqrt14_ps(x);
    let h = _mm512_mul_ps(x, y);
    let half_y = _mm512_mul_ps(_mm512_set1_ps(0.5), y);
    let s = _mm512_fmadd_ps(_mm512_fnmadd_ps(h, h, x), half_y, h);
    let s = _mm512_fixupimm_ps::<0>(s, x, _mm512_set1_epi32(ROOT_FIXUP));
    let d = _mm512_add_ps(s, k.eps);
    // a / d: the estimate `r` of 1 / d, one Newton step `r + r (1 - d r)`, then `a r`.
    let r = _mm512_rcp14_ps(d);
    let r = _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0)), r);
    let r = _mm512_fixupimm_ps::<0>(r, d, _mm512_set1_epi32(INVERSE_FIXUP));
    _mm512_mul_ps(a, r)
}

/// The table of `vfixupimmps` (a response of 4 bits for each class of the value
/// classified: quiet NaN, signalling NaN, zero, one, -infinity, +infinity, negative,
/// positive, from the lowest bits) that gives [`quotient`]'s root of `x` as `sqrt` does in
/// its special cases: `x` itself for a quiet NaN or a zero (1), `x` made quiet for a
/// signalling NaN (2), +infinity for +infinity (5); the estimate otherwise (0: kept; a
/// negative `x`, outside the contract, gives NaN as `sqrt` does).
const ROOT_FIXUP: i32 = 1 | 2 << 4 | 1 << 8 | 5 << 20;

/// The table of `vfixupimmps` (see [`ROOT_FIXUP`]) that gives [`quotient`]'s inverse of an
/// infinite divisor, +0 (8), as the division does (the Newton step gives NaN there).
const INVERSE_FIXUP: i32 = 8 << 20;

/// The effective gradient (see [`GradTransform::apply`]) of 16 gradients `g` of parameters
/// `p`: clamped (NaN passes through, as in `f32::clamp`), scaled, plus the L2 penalty; `g`
/// itself when `PLAIN` (no clipping, no penalty).
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn effective<const PLAIN: bool>(t: GradTransform, g: __m512, p: __m512) -> __m512 {
    if PLAIN {
        return g;
    }
    // `max(lo, g)` is `g` unless `lo > g` (so NaN stays), likewise `min(hi, .)`.
    let clamped = _mm512_min_ps(
        _mm512_set1_ps(t.limit),
        _mm512_max_ps(_mm512_set1_ps(-t.limit), g),
    );
    _mm512_fmadd_ps(
        clamped,
        _mm512_set1_ps(t.scale),
        _mm512_mul_ps(_mm512_set1_ps(t.weight_decay), p),
    )
}

/// Whether `t` leaves the gradient as it is.
fn plain(t: GradTransform) -> bool {
    t.limit == f32::INFINITY && t.scale == 1.0 && t.weight_decay == 0.0
}

/// `values[i] = libm::expf(values[i])` for every value, bit for bit: 16 lanes at a time by
/// [`expf_lanes`], or one at a time by `libm::expf` where a vector holds a value it leaves
/// out (`|x| >= 87.34`, infinite or NaN: `expf`'s special cases and scaling steps).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) fn exp_in_place(values: &mut [f32]) {
    in_vectors(values.len(), |i, mask| {
        // SAFETY: the lanes enabled are `i + l < values.len()`.
        let x = unsafe { _mm512_maskz_loadu_ps(mask, values.as_ptr().add(i)) };
        let magnitude = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fff_ffff));
        let special = _mm512_mask_cmpge_epu32_mask(mask, magnitude, _mm512_set1_epi32(0x42ae_ac50));
        if special == 0 {
            // SAFETY: as for the load.
            unsafe { _mm512_mask_storeu_ps(values.as_mut_ptr().add(i), mask, expf_lanes(x)) };
        } else {
            let end = (i + 16).min(values.len());
            for v in &mut values[i..end] {
                *v = libm::expf(*v);
            }
        }
    });
}

/// The softmax of each row of `width` values, in place (see [`super::softmax_in_place`]):
/// a row of at most 16 values in one masked register (its maximum, the exponentials by
/// [`expf_lanes`] unless a lane needs `libm::expf`'s special cases, their sum in order, the
/// products by its inverse: bit for bit the portable level's), wider rows by
/// `portable::softmax_row` with [`exp_in_place`].
/// On the MNIST MLP's 10 outputs: about 65 ns one value at a time, the vector path cuts the
/// three passes and the dependent chains of the maximum and the sum.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) fn softmax_rows(values: &mut [f32], width: usize) {
    for row in values.chunks_exact_mut(width) {
        if width > 16 {
            super::portable::softmax_row(row, |row| exp_in_place(row));
            continue;
        }
        let mask = lanes(width);
        // SAFETY: the lanes enabled are `l < width = row.len()`.
        let x = unsafe { _mm512_maskz_loadu_ps(mask, row.as_ptr()) };
        // A NaN in the row may or may not come out as the maximum: either way it reaches
        // the sum, and the row comes out all NaN, as at the other levels.
        let max = _mm512_mask_reduce_max_ps(mask, x);
        let shifted = _mm512_sub_ps(x, _mm512_set1_ps(max));
        let magnitude =
            _mm512_and_si512(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x7fff_ffff));
        let special = _mm512_mask_cmpge_epu32_mask(mask, magnitude, _mm512_set1_epi32(0x42ae_ac50));
        let e = if special == 0 {
            expf_lanes(shifted)
        } else {
            // SAFETY: as for the load; the values are read back from `row`.
            unsafe {
                _mm512_mask_storeu_ps(row.as_mut_ptr(), mask, shifted);
                exp_in_place(row);
                _mm512_maskz_loadu_ps(mask, row.as_ptr())
            }
        };
        // The sum in order, as the portable level adds (one whole store, read back lane by
        // lane).
        let mut lanes_of_e = [0.0f32; 16];
        // SAFETY: `lanes_of_e` holds 16 values.
        unsafe { _mm512_storeu_ps(lanes_of_e.as_mut_ptr(), e) };
        let mut sum = 0.0;
        for &v in &lanes_of_e[..width] {
            sum += v;
        }
        let y = _mm512_mul_ps(e, _mm512_set1_ps(1.0 / sum));
        // SAFETY: as for the load; `row` is borrowed mutably.
        unsafe { _mm512_mask_storeu_ps(row.as_mut_ptr(), mask, y) };
    }
}

/// `libm::expf` (FreeBSD's `e_expf.c`) on 16 lanes of magnitude below `0x42aeac50` (87.34,
/// where its special cases start), bit for bit: the same operations in the same order,
/// its branches as selects, without fused multiply-adds. There `k` is within ±126, so the
/// final `scalbnf(y, k)` is the single multiply by `2^k`.
#[target_feature(enable = "avx512f,avx2,fma")]
fn expf_lanes(x: __m512) -> __m512 {
    // expf's constants, by their bits.
    const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
    const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
    const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
    const P1: f32 = f32::from_bits(0x3e2a_aa8f);
    const P2: f32 = f32::from_bits(0xbb35_5215);
    let bits = _mm512_castps_si512(x);
    let magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7fff_ffff));
    let negative = _mm512_cmpge_epu32_mask(bits, _mm512_set1_epi32(i32::MIN));
    let above = |bound: i32| _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(bound));
    // |x| > 1.5 ln 2: k = (x / ln 2 ± 0.5) truncated; |x| > 0.5 ln 2: k = ±1; else k = 0.
    let half = _mm512_mask_blend_ps(negative, _mm512_set1_ps(0.5), _mm512_set1_ps(-0.5));
    let rounded = _mm512_cvttps_epi32(_mm512_add_ps(
        _mm512_mul_ps(_mm512_set1_ps(INV_LN2), x),
        half,
    ));
    let one = _mm512_mask_blend_epi32(negative, _mm512_set1_epi32(1), _mm512_set1_epi32(-1));
    let k = _mm512_mask_blend_epi32(above(0x3f85_1592), one, rounded);
    let k = _mm512_maskz_mov_epi32(above(0x3eb1_7218), k);
    // hi = x - k ln2_hi, lo = k ln2_lo, x = hi - lo (with k = 0: hi = x, lo = 0, x itself).
    let kf = _mm512_cvtepi32_ps(k);
    let hi = _mm512_sub_ps(x, _mm512_mul_ps(kf, _mm512_set1_ps(LN2_HI)));
    let lo = _mm512_mul_ps(kf, _mm512_set1_ps(LN2_LO));
    let r = _mm512_sub_ps(hi, lo);
    let rr = _mm512_mul_ps(r, r);
    let p = _mm512_add_ps(_mm512_set1_ps(P1), _mm512_mul_ps(rr, _mm512_set1_ps(P2)));
    let c = _mm512_sub_ps(r, _mm512_mul_ps(rr, p));
    let q = _mm512_div_ps(_mm512_mul_ps(r, c), _mm512_sub_ps(_mm512_set1_ps(2.0), c));
    let y = _mm512_add_ps(_mm512_set1_ps(1.0), _mm512_add_ps(_mm512_sub_ps(q, lo), hi));
    let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(
        k,
        _mm512_set1_epi32(0x7f),
    )));
    let y = _mm512_mul_ps(y, scale);
    // |x| <= 2^-14: 1 + x.
    _mm512_mask_blend_ps(above(0x3900_0000), _mm512_add_ps(_mm512_set1_ps(1.0), x), y)
}

/// Runs `step(i, lanes)` for `i` in steps of 16 below `n`: whole vectors, then the last
/// `n % 16` values with their mask.
#[inline(always)]
fn in_vectors(n: usize, mut step: impl FnMut(usize, __mmask16)) {
    let whole = n - n % 16;
    let mut i = 0;
    while i < whole {
        step(i, 0xFFFF);
        i += 16;
    }
    if whole < n {
        step(whole, lanes(n - whole));
    }
}

/// MXCSR's flush-to-zero and denormals-are-zero bits.
const FTZ_DAZ: u32 = 0x8040;

/// MXCSR's rounding-control bits (all zero: round to nearest).
const ROUNDING: u32 = 0x6000;

/// Whether this thread's MXCSR has the default rounding and subnormal handling (round to
/// nearest, gradual underflow): the mode the optimizers' paths for tiny moments reproduce
/// without operating on subnormal values, here and at the AVX2 level.
#[inline(always)]
pub(super) fn default_mode() -> bool {
    #[allow(
        deprecated,
        reason = "no replacement in `core::arch`; inline assembly is not worth it"
    )]
    // SAFETY: reading MXCSR has no effect.
    let csr = unsafe { core::arch::x86_64::_mm_getcsr() };
    csr & (FTZ_DAZ | ROUNDING) == 0
}

/// The bits of the smallest `|p|` (at least the smallest normal f32) whose unit in the last
/// place is more than four times `q_max`, so that a step of at most `q_max` leaves `p`
/// unchanged: `q_max 2^26` (a quarter of the last place of `p` is more than `|p| 2^-26`)
/// rounded up to an f32; `None` unless that is below `f32::MAX`. The optimizers' paths
/// for tiny moments (here and at the AVX2 level) take a tiny moment's step as zero for
/// parameters from this bound on.
pub(super) fn quarter_ulp_bound(q_max: f64) -> Option<i32> {
    let p_min = q_max * 2f64.powi(26);
    #[allow(clippy::cast_possible_truncation, reason = "rounded up below")]
    let mut p_min32 = p_min as f32;
    if f64::from(p_min32) < p_min {
        p_min32 = f32::from_bits(p_min32.to_bits() + 1);
    }
    #[allow(clippy::cast_possible_wrap, reason = "a positive finite f32's bits")]
    (p_min32 < f32::MAX).then(|| p_min32.max(f32::MIN_POSITIVE).to_bits() as i32)
}

/// While it lives, the floating-point unit of this thread flushes subnormal results to zero
/// and reads subnormal inputs as zero (MXCSR's FTZ and DAZ, as `torch.set_flush_denormal`
/// sets them); dropped, it restores the caller's setting.
///
/// The optimizers' updates run so when asked (`flush_subnormals`): a moment that decays geometrically (the first moment of
/// a parameter whose gradient has been zero for some hundred steps, an MNIST border pixel's
/// weight) passes through the subnormal range, where every multiply takes a microcode
/// assist of about a hundred cycles; measured on the MNIST MLP (one thread, AVX-512), the
/// whole epoch took 17% less CPU time with these bits set. Values below `f32::MIN_POSITIVE`
/// (1.2e-38) then come out as zero instead of subnormal: the only difference they make.
/// Off by default (gradual underflow, PyTorch's default and the portable level's results).
struct Flushing(u32);

impl Flushing {
    /// Sets the bits when `on` (`None`, nothing changed, otherwise).
    #[inline(always)]
    fn when(on: bool) -> Option<Self> {
        on.then(Self::new)
    }

    #[inline(always)]
    fn new() -> Self {
        // SAFETY: reading and writing MXCSR changes only how this thread rounds and
        // flushes; the previous value is restored by `drop` (also when unwinding).
        #[allow(
            deprecated,
            reason = "no replacement in `core::arch`; inline assembly is not worth it"
        )]
        unsafe {
            let saved = core::arch::x86_64::_mm_getcsr();
            core::arch::x86_64::_mm_setcsr(saved | FTZ_DAZ);
            Flushing(saved)
        }
    }
}

impl Drop for Flushing {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: puts back the value read in `new`.
        #[allow(
            deprecated,
            reason = "no replacement in `core::arch`; inline assembly is not worth it"
        )]
        unsafe {
            core::arch::x86_64::_mm_setcsr(self.0);
        }
    }
}

/// `e^x` as `math::exp_poly` computes it (Cephes' range reduction and polynomial, `x`
/// clamped to `[-87, 88]`), with fused multiply-adds and `2^n` by `vscalefps`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn exp_poly(x: __m512) -> __m512 {
    let x = _mm512_min_ps(
        _mm512_max_ps(x, _mm512_set1_ps(-87.0)),
        _mm512_set1_ps(88.0),
    );
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(core::f32::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm512_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        5e-1,
    ] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let y = _mm512_add_ps(
        _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r),
        _mm512_set1_ps(1.0),
    );
    _mm512_scalef_ps(y, n)
}

/// `1 / d` for `d` in `[1, 2^128)`: the 14-bit estimate `vrcp14ps` refined by one Newton
/// step (within about 2 units in the last place), instead of the divider.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn reciprocal(d: __m512) -> __m512 {
    let r = _mm512_rcp14_ps(d);
    _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0)), r)
}

/// The logistic function, as `math::sigmoid_poly` but with [`reciprocal`].
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn sigmoid(x: __m512) -> __m512 {
    let e = exp_poly(_mm512_sub_ps(_mm512_setzero_ps(), x));
    reciprocal(_mm512_add_ps(e, _mm512_set1_ps(1.0)))
}

/// The hyperbolic tangent, as `math::tanh_poly` (an odd polynomial below `|x| = 0.625`,
/// `1 - 2 / (e^{2|x|} + 1)` above, with the sign of `x`) but with [`reciprocal`].
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn tanh(x: __m512) -> __m512 {
    let sign = _mm512_set1_epi32(i32::MIN);
    let bits = _mm512_castps_si512(x);
    let a = _mm512_castsi512_ps(_mm512_andnot_si512(sign, bits));
    let z = _mm512_mul_ps(x, x);
    let mut p = _mm512_set1_ps(-5.704_988_7e-3);
    for c in [2.063_909e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328e-1] {
        p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(c));
    }
    let small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    let two_a = _mm512_add_ps(
        _mm512_min_ps(a, _mm512_set1_ps(10.0)),
        _mm512_min_ps(a, _mm512_set1_ps(10.0)),
    );
    let q = reciprocal(_mm512_add_ps(exp_poly(two_a), _mm512_set1_ps(1.0)));
    let large = _mm512_fnmadd_ps(_mm512_set1_ps(2.0), q, _mm512_set1_ps(1.0));
    let large = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(large),
        _mm512_and_si512(sign, bits),
    ));
    let is_small = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, _mm512_set1_ps(0.625));
    _mm512_mask_blend_ps(is_small, large, small)
}

/// One LSTM step of one sample (see `super::lstm_step`), 16 units at a time.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) fn lstm_step(s: super::LstmStep<'_>) {
    let h = s.c.len();
    assert!(
        s.gates.len() == 4 * h
            && s.pre.len() == 4 * h
            && s.bias.len() == 4 * h
            && s.c_prev.is_none_or(|c| c.len() == h)
            && s.tc.len() == h
            && s.h.len() == h
            && s.h_copy.len() == h,
        "lstm_step: slices of the wrong length"
    );
    let g = s.gates.as_mut_ptr();
    // The gates first, then the states: every vector of the first pass is independent of
    // the others, so many of their long chains of dependent operations (an exponential and
    // a reciprocal each) are in flight at once; one pass doing both ran at about one
    // instruction per cycle. The same operations on each value either way.
    let (pre, bias) = (s.pre.as_ptr(), s.bias.as_ptr());
    for k in 0..4 {
        in_vectors(h, |j, mask| {
            let at = k * h + j;
            // SAFETY: `j + lanes <= h` for the lanes of `mask`, and `pre`, `bias` and the
            // gates hold `4 h` values (asserted above); masked-off lanes are neither read
            // nor written.
            unsafe {
                let v = _mm512_add_ps(
                    _mm512_maskz_loadu_ps(mask, pre.add(at)),
                    _mm512_maskz_loadu_ps(mask, bias.add(at)),
                );
                let a = if k == 2 { tanh(v) } else { sigmoid(v) };
                _mm512_mask_storeu_ps(g.add(at), mask, a);
            }
        });
    }
    in_vectors(h, |j, mask| {
        // SAFETY: `j + lanes <= h` for the lanes of `mask`, and every slice holds `h` values
        // per gate (asserted above); masked-off lanes are neither read nor written.
        unsafe {
            let gate = |k: usize| _mm512_maskz_loadu_ps(mask, g.add(k * h + j));
            let (i, f, gg, o) = (gate(0), gate(1), gate(2), gate(3));
            let ig = _mm512_mul_ps(i, gg);
            let c = match s.c_prev {
                Some(cp) => _mm512_fmadd_ps(f, _mm512_maskz_loadu_ps(mask, cp.as_ptr().add(j)), ig),
                None => ig,
            };
            _mm512_mask_storeu_ps(s.c.as_mut_ptr().add(j), mask, c);
            let tc = tanh(c);
            _mm512_mask_storeu_ps(s.tc.as_mut_ptr().add(j), mask, tc);
            let out = _mm512_mul_ps(o, tc);
            _mm512_mask_storeu_ps(s.h.as_mut_ptr().add(j), mask, out);
            _mm512_mask_storeu_ps(s.h_copy.as_mut_ptr().add(j), mask, out);
        }
    });
}

/// Adam's update (see `update::adam`), 16 parameters at a time.
#[target_feature(enable = "avx512f,avx2,fma")]
fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
    let _flushing = Flushing::when(s.grad.flush);
    if plain(s.grad) {
        adam_with::<true>(p, g, m, v, s);
    } else {
        adam_with::<false>(p, g, m, v, s);
    }
}

/// [`adam`] for a plain gradient or not.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn adam_with<const PLAIN: bool>(
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    s: AdamStep,
) {
    let n = p.len();
    assert!(
        g.len() >= n && m.len() >= n && v.len() >= n,
        "adam: slices too short"
    );
    let k = AdamConsts::new(s);
    let (pp, pg, pm, pv) = (p.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr(), v.as_mut_ptr());
    in_vectors(n, |i, mask| {
        // SAFETY: the lanes enabled are `i + j < n`, inside the four slices (`p` is `n`
        // long, the others at least, asserted); the mutable ones are borrowed mutably and
        // distinct, so nothing else reads or writes them.
        unsafe {
            let gv = _mm512_maskz_loadu_ps(mask, pg.add(i));
            k.update::<PLAIN>(mask, gv, pp.add(i), pm.add(i), pv.add(i));
        }
    });
}

/// The constants of one Adam step in vector registers.
#[derive(Clone, Copy)]
struct AdamConsts {
    s: AdamStep,
    b1: __m512,
    b2: __m512,
    o1: __m512,
    o2: __m512,
    lr_c1: __m512,
    c2: __m512,
    decay: __m512,
    k: Consts,
    /// The bound of [`idle`](Self::idle), when it may be used.
    idle: Option<IdleBound>,
}

/// The constant of [`AdamConsts::idle`]: the bit pattern of the smallest `|p|` (normal)
/// for which a step computed from a first moment below [`TINY`] is less than a quarter of
/// the parameter's unit in the last place.
#[derive(Clone, Copy)]
struct IdleBound {
    p_min: i32,
    /// Whether the step of a zero first moment is +0 (`lr c1` not negative), so that
    /// [`AdamConsts::quiet`] may skip the vectors of zero moments and gradients.
    zero_step: bool,
}

/// First moments below 2^-90 (biased exponent below 37) are "tiny" for
/// [`AdamConsts::idle`]: above it, the moment times any learning rate from 2^-35 on is
/// normal, so that `update` computes it without subnormal values.
const TINY: i32 = 37 << 23;

impl AdamConsts {
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    fn new(s: AdamStep) -> Self {
        let lr_c1 = s.lr * s.c1;
        // A tiny first moment `m` (below 2^-90) gives `|m'| <= 2^-90 + 2^-150` (beta1 at
        // most 1), `|a| = |round(lr_c1 m')| <= |lr_c1| |m'| (1 + 2^-23) + 2^-150`, and a
        // step `|q| <= |a| / eps (1 + 2^-19)` (the quotient is within a few units in the
        // last place, its divisor at least eps); the factor 1.01 covers these roundings.
        // Below a quarter of the unit in the last place of `p` from `quarter_ulp_bound` on.
        let lr = f64::from(lr_c1).abs();
        let q_max = 1.01 * (lr * 2f64.powi(-90) + (lr + 1.0) * 2f64.powi(-149))
            / f64::from(s.epsilon)
            + 2f64.powi(-149);
        // The rounding mode and the handling of subnormal values must be the default ones
        // (those `scaled` reproduces).
        let usable = default_mode()
            && s.decay == 1.0
            && plain(s.grad)
            && !s.grad.flush
            && (0.5..1.0).contains(&s.beta1)
            && (0.5..1.0).contains(&s.beta2)
            && s.c2.is_finite()
            && lr.is_finite()
            && s.epsilon > 0.0;
        let idle = quarter_ulp_bound(q_max)
            .filter(|_| usable)
            .map(|p_min| IdleBound {
                p_min,
                zero_step: lr_c1.is_sign_positive(),
            });
        AdamConsts {
            s,
            b1: _mm512_set1_ps(s.beta1),
            b2: _mm512_set1_ps(s.beta2),
            o1: _mm512_set1_ps(1.0 - s.beta1),
            o2: _mm512_set1_ps(1.0 - s.beta2),
            lr_c1: _mm512_set1_ps(lr_c1),
            c2: _mm512_set1_ps(s.c2),
            decay: _mm512_set1_ps(s.decay),
            k: Consts::new(s.epsilon),
            idle,
        }
    }

    /// The update of 16 parameters whose gradients are all zero (`g`, in the lanes of
    /// `mask`) when it needs no arithmetic: nothing to do where both moments are +0 (the
    /// update leaves them and the parameter as they are: `m' = b1 0 + (1 - b1) 0 = +0`,
    /// likewise `v'`, and the step `lr c1 0 / (0 + eps)` is +0, which subtracted from a
    /// parameter gives it back, a NaN excepted, checked); [`idle`](Self::idle) where some
    /// first moments are tiny. Returns `false`, having written nothing, otherwise: then
    /// `update` runs. Only integer tests, and no call, for the vectors of zero gradients
    /// that need the arithmetic (an MNIST pixel blank in the batch only).
    ///
    /// # Safety
    /// As [`update`](Self::update)'s.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn quiet(
        &self,
        bound: IdleBound,
        mask: __mmask16,
        g: __m512,
        at_p: *mut f32,
        at_m: *mut f32,
        at_v: *mut f32,
    ) -> bool {
        // SAFETY: the caller's contract.
        unsafe {
            let m = _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, at_m));
            let v = _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, at_v));
            let state =
                _mm512_mask_test_epi32_mask(mask, _mm512_or_si512(m, v), _mm512_set1_epi32(-1));
            if state == 0 && bound.zero_step {
                let p = _mm512_maskz_loadu_ps(mask, at_p);
                if _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(p, p) == 0 {
                    return true;
                }
            }
            // Tiny first moments: magnitudes (the bits of non-negative floats are in the
            // order of their values) below `TINY`, not zero.
            let magnitude = _mm512_and_si512(m, _mm512_set1_epi32(0x7FFF_FFFF));
            let tiny = _mm512_mask_cmplt_epi32_mask(
                _mm512_mask_test_epi32_mask(mask, magnitude, magnitude),
                magnitude,
                _mm512_set1_epi32(TINY),
            );
            tiny != 0 && self.idle(bound, mask, g, at_p, at_m, at_v)
        }
    }

    /// The update of 16 parameters whose gradients are all zero (`g`, in the lanes of
    /// `mask`) and some of whose first moments are tiny (below 2^-60), with the results
    /// [`update`](Self::update) gives, without operating on subnormal values. A first
    /// moment that decays geometrically while its gradient stays zero (the weight of an
    /// MNIST pixel that is blank in the batch) reaches the subnormal range after some
    /// hundred steps and stays there (`0.9 m` rounds back to `m` below 5 units of 2^-149),
    /// and every operation with a subnormal operand or result then takes a microcode assist
    /// of about 130 cycles (measured: `update` over an MNIST MLP's Adam state after 1,500
    /// steps took 3.5 times as long as with the subnormals flushed).
    ///
    /// In the lanes of tiny first moments: `m' = fma(b1, m, o1 g)` is computed exactly by
    /// [`scaled`], and the step `q` is below a quarter of the parameter's unit in the last
    /// place (checked from the bound [`IdleBound`] of `|q|`), so that `update` leaves the
    /// parameter as it is; these lanes run `update`'s operations with a first moment of
    /// zero, which leaves it too, and gives the same `v'` (the second moments are checked
    /// to be zero or at least 2^-125, so that `b2 v` is normal); when every lane is tiny,
    /// only the moments are computed and stored. The other lanes run
    /// `update`'s operations on their own values. Returns `false`, having written nothing,
    /// when no first moment is tiny or a check fails (a subnormal or non-finite parameter
    /// or second moment, a step not small enough): then `update` runs.
    ///
    /// # Safety
    /// As [`update`](Self::update)'s.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline(never)]
    #[cold]
    unsafe fn idle(
        &self,
        bound: IdleBound,
        mask: __mmask16,
        g: __m512,
        at_p: *mut f32,
        at_m: *mut f32,
        at_v: *mut f32,
    ) -> bool {
        // SAFETY: the caller's contract.
        unsafe {
            let p = _mm512_maskz_loadu_ps(mask, at_p);
            let m = _mm512_maskz_loadu_ps(mask, at_m);
            let v = _mm512_maskz_loadu_ps(mask, at_v);
            // Integer comparisons of magnitudes (the bits of non-negative floats are in the
            // order of their values): no floating-point operation on a subnormal value.
            let magnitude = |x: __m512| {
                _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7FFF_FFFF))
            };
            let below = |x: __m512, bits: i32| {
                _mm512_cmplt_epi32_mask(magnitude(x), _mm512_set1_epi32(bits))
            };
            let zero = |x: __m512| _mm512_cmpeq_epi32_mask(magnitude(x), _mm512_setzero_si512());
            let tiny = below(m, TINY) & !zero(m) & mask;
            if tiny == 0 {
                return false;
            }
            let infinity = 0x7F80_0000;
            // The parameters of tiny lanes at least `p_min` and finite; the second moments
            // zero or from 2^-125 (then `b2 v`, with `b2 >= 0.5`, is normal) and finite.
            let p_ok = !below(p, bound.p_min) & below(p, infinity);
            let v_ok = (zero(v) | !below(v, 2 << 23)) & below(v, infinity);
            if (p_ok | !tiny) & v_ok & mask != mask {
                return false;
            }
            // The new first moments of the tiny lanes: those of at least 2^-125 by the
            // multiply-add (`b1 m`, with `b1 >= 0.5`, is normal), the others by `scaled`.
            let deep = below(m, 2 << 23) & tiny;
            let t1 = _mm512_mul_ps(self.o1, g);
            let mut m_exact = _mm512_fmadd_ps(self.b1, _mm512_maskz_mov_ps(tiny & !deep, m), t1);
            if deep != 0 {
                let low = scaled(self.s.beta1, _mm512_maskz_mov_ps(deep, m));
                m_exact = _mm512_mask_blend_ps(deep, m_exact, low);
            }
            if tiny == mask {
                // Every parameter stays as it is: the second moments as `rule` gives them.
                let v1 = _mm512_fmadd_ps(self.b2, v, _mm512_mul_ps(_mm512_mul_ps(self.o2, g), g));
                _mm512_mask_storeu_ps(at_m, mask, m_exact);
                _mm512_mask_storeu_ps(at_v, mask, v1);
                return true;
            }
            let (p1, m1, v1) = self.rule::<true>(g, p, _mm512_maskz_mov_ps(!tiny, m), v);
            _mm512_mask_storeu_ps(at_m, mask, _mm512_mask_blend_ps(tiny, m1, m_exact));
            _mm512_mask_storeu_ps(at_v, mask, v1);
            _mm512_mask_storeu_ps(at_p, mask, p1);
            true
        }
    }

    /// Adam's rule on 16 lanes: the parameters, first and second moments after the step
    /// from `p`, `m`, `v` and the gradients `g`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    fn rule<const PLAIN: bool>(
        &self,
        g: __m512,
        p: __m512,
        m: __m512,
        v: __m512,
    ) -> (__m512, __m512, __m512) {
        let AdamConsts {
            s,
            b1,
            b2,
            o1,
            o2,
            lr_c1,
            c2,
            decay,
            k,
            ..
        } = *self;
        let gv = effective::<PLAIN>(s.grad, g, p);
        // m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²
        let mv = _mm512_fmadd_ps(b1, m, _mm512_mul_ps(o1, gv));
        let vv = _mm512_fmadd_ps(b2, v, _mm512_mul_ps(_mm512_mul_ps(o2, gv), gv));
        // p = p decay - lr c1 m / (sqrt(v c2) + eps)
        let step = quotient(_mm512_mul_ps(lr_c1, mv), _mm512_mul_ps(vv, c2), k);
        (_mm512_fmsub_ps(p, decay, step), mv, vv)
    }

    /// The update of the 16 parameters at `at_p` (their moments at `at_m`, `at_v`) from
    /// their gradients `g`, in the lanes of `mask`.
    ///
    /// # Safety
    /// The lanes of `mask` must be inside the three buffers, which nothing else accesses.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn update<const PLAIN: bool>(
        &self,
        mask: __mmask16,
        g: __m512,
        at_p: *mut f32,
        at_m: *mut f32,
        at_v: *mut f32,
    ) {
        // SAFETY: the caller's contract.
        unsafe {
            if let Some(bound) = self.idle {
                if _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(g, _mm512_setzero_ps()) & mask == mask
                    && self.quiet(bound, mask, g, at_p, at_m, at_v)
                {
                    return;
                }
            }
            let p0 = _mm512_maskz_loadu_ps(mask, at_p);
            let (p1, m1, v1) = self.rule::<PLAIN>(
                g,
                p0,
                _mm512_maskz_loadu_ps(mask, at_m),
                _mm512_maskz_loadu_ps(mask, at_v),
            );
            _mm512_mask_storeu_ps(at_m, mask, m1);
            _mm512_mask_storeu_ps(at_v, mask, v1);
            _mm512_mask_storeu_ps(at_p, mask, p1);
        }
    }
}

/// RMSprop's update (see `update::rmsprop`), 16 parameters at a time.
#[target_feature(enable = "avx512f,avx2,fma")]
fn rmsprop(p: &mut [f32], g: &[f32], v: &mut [f32], buf: Option<&mut [f32]>, s: RmsPropStep) {
    let _flushing = Flushing::when(s.grad.flush);
    if plain(s.grad) {
        rmsprop_with::<true>(p, g, v, buf, s);
    } else {
        rmsprop_with::<false>(p, g, v, buf, s);
    }
}

/// [`rmsprop`] for a plain gradient or not.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn rmsprop_with<const PLAIN: bool>(
    p: &mut [f32],
    g: &[f32],
    v: &mut [f32],
    buf: Option<&mut [f32]>,
    s: RmsPropStep,
) {
    let n = p.len();
    assert!(
        g.len() >= n && v.len() >= n && buf.as_ref().is_none_or(|b| b.len() >= n),
        "rmsprop: slices too short"
    );
    let k = RmsPropConsts::new(s);
    let (pp, pg, pv) = (p.as_mut_ptr(), g.as_ptr(), v.as_mut_ptr());
    let pb = buf.map(<[f32]>::as_mut_ptr);
    in_vectors(n, |i, mask| {
        // SAFETY: the lanes enabled are `i + j < n`, inside every slice (`p` is `n` long,
        // the others at least, asserted); the mutable ones are borrowed mutably and
        // distinct, so nothing else reads or writes them.
        unsafe {
            let gv = _mm512_maskz_loadu_ps(mask, pg.add(i));
            k.update::<PLAIN>(mask, gv, pp.add(i), pv.add(i), pb.map(|b| b.add(i)));
        }
    });
}

/// `b x` rounded to f32 as a multiply-add with a zero addend rounds it with gradual
/// underflow, for `x` nonzero and below 2^-125 in magnitude (masked-off lanes hold zeros,
/// which give zeros) and `b` in [0.5, 1], without a floating-point operation on a
/// subnormal value: such an `x` is `k` 2^-149 with `k` its bits (below 2^24: the subnormal
/// values and the lowest normal binade, whose spacing is the same), `b k` is exact in f64
/// and below 2^24, and its conversion to an integer (to nearest, ties to even, as the
/// multiply-add rounds) is the bit pattern of the result, with the sign of `x` (that of
/// the exact product, also when it rounds to zero).
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn scaled(b: f32, x: __m512) -> __m512 {
    let bits = _mm512_castps_si512(x);
    let k = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFF_FFFF));
    let bd = _mm512_set1_pd(f64::from(b));
    let round = |k: __m256i| _mm512_cvtpd_epi32(_mm512_mul_pd(bd, _mm512_cvtepi32_pd(k)));
    let low = round(_mm512_castsi512_si256(k));
    let high = round(_mm512_extracti64x4_epi64::<1>(k));
    let magnitude = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(low), high);
    _mm512_castsi512_ps(_mm512_or_si512(
        magnitude,
        _mm512_and_si512(bits, _mm512_set1_epi32(i32::MIN)),
    ))
}

/// The constants of one RMSprop step in vector registers.
#[derive(Clone, Copy)]
struct RmsPropConsts {
    s: RmsPropStep,
    rho: __m512,
    o: __m512,
    lr: __m512,
    momentum: __m512,
    k: Consts,
}

impl RmsPropConsts {
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    fn new(s: RmsPropStep) -> Self {
        RmsPropConsts {
            s,
            rho: _mm512_set1_ps(s.rho),
            o: _mm512_set1_ps(1.0 - s.rho),
            lr: _mm512_set1_ps(s.lr),
            momentum: _mm512_set1_ps(s.momentum),
            k: Consts::new(s.epsilon),
        }
    }

    /// The update of the 16 parameters at `at_p` (their mean squares at `at_v`, momentum
    /// buffer at `at_b` when used) from their gradients `g`, in the lanes of `mask`.
    ///
    /// # Safety
    /// The lanes of `mask` must be inside the buffers, which nothing else accesses.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn update<const PLAIN: bool>(
        &self,
        mask: __mmask16,
        g: __m512,
        at_p: *mut f32,
        at_v: *mut f32,
        at_b: Option<*mut f32>,
    ) {
        let RmsPropConsts {
            s,
            rho,
            o,
            lr,
            momentum,
            k,
        } = *self;
        // SAFETY: the caller's contract.
        unsafe {
            let p0 = _mm512_maskz_loadu_ps(mask, at_p);
            let gv = effective::<PLAIN>(s.grad, g, p0);
            // v = rho v + (1 - rho) g²
            let vv = _mm512_fmadd_ps(
                rho,
                _mm512_maskz_loadu_ps(mask, at_v),
                _mm512_mul_ps(_mm512_mul_ps(o, gv), gv),
            );
            _mm512_mask_storeu_ps(at_v, mask, vv);
            let updated = match at_b {
                // p -= lr g / (sqrt(v) + eps)
                None => _mm512_sub_ps(p0, quotient(_mm512_mul_ps(lr, gv), vv, k)),
                // b = momentum b + g / (sqrt(v) + eps); p -= lr b
                Some(at_b) => {
                    let bv = _mm512_fmadd_ps(
                        momentum,
                        _mm512_maskz_loadu_ps(mask, at_b),
                        quotient(gv, vv, k),
                    );
                    _mm512_mask_storeu_ps(at_b, mask, bv);
                    _mm512_fnmadd_ps(lr, bv, p0)
                }
            };
            _mm512_mask_storeu_ps(at_p, mask, updated);
        }
    }
}

/// Where [`tn_update`] applies each gradient it computes.
enum Apply<'a> {
    /// Adam's update of the parameters and their two moments.
    Adam(AdamConsts, &'a mut [f32], &'a mut [f32]),
    /// RMSprop's update of the parameters, their mean squares and (with momentum) the
    /// momentum buffer.
    RmsProp(RmsPropConsts, &'a mut [f32], Option<&'a mut [f32]>),
}

/// Values of the gradient [`tn_update`] computes (a block of whole rows) before it updates
/// their parameters in one pass.
const UPDATE_BLOCK: usize = 4096;

impl Apply<'_> {
    /// Updates the parameters `p` (those from `at` on of the buffers) from their gradients
    /// `g` plus `prev`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    fn run<const PLAIN: bool>(
        &mut self,
        at: usize,
        p: &mut [f32],
        g: &[f32],
        prev: Option<&[f32]>,
    ) {
        let n = p.len();
        let fits = |len: usize| at.checked_add(n).is_some_and(|e| e <= len);
        let buffers_fit = match self {
            Apply::Adam(_, m, v) => fits(m.len()) && fits(v.len()),
            Apply::RmsProp(_, v, buf) => {
                fits(v.len()) && buf.as_ref().is_none_or(|b| fits(b.len()))
            }
        };
        assert!(
            g.len() >= n && prev.is_none_or(|g| g.len() >= n) && buffers_fit,
            "run: slices too short"
        );
        let _flushing = Flushing::when(match self {
            Apply::Adam(k, ..) => k.s.grad.flush,
            Apply::RmsProp(k, ..) => k.s.grad.flush,
        });
        let (pp, pg) = (p.as_mut_ptr(), g.as_ptr());
        let pprev = prev.map(<[f32]>::as_ptr);
        match self {
            Apply::Adam(k, m, v) => {
                let (pm, pv) = (
                    m.as_mut_ptr().wrapping_add(at),
                    v.as_mut_ptr().wrapping_add(at),
                );
                in_vectors(n, |i, mask| unsafe {
                    let mut gv = _mm512_maskz_loadu_ps(mask, pg.add(i));
                    if let Some(pr) = pprev {
                        gv = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, pr.add(i)), gv);
                    }
                    k.update::<PLAIN>(mask, gv, pp.add(i), pm.add(i), pv.add(i));
                });
            }
            Apply::RmsProp(k, v, buf) => {
                let pv = v.as_mut_ptr().wrapping_add(at);
                let pb = buf.as_mut().map(|b| b.as_mut_ptr().wrapping_add(at));
                in_vectors(n, |i, mask| unsafe {
                    let mut gv = _mm512_maskz_loadu_ps(mask, pg.add(i));
                    if let Some(pr) = pprev {
                        gv = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, pr.add(i)), gv);
                    }
                    k.update::<PLAIN>(mask, gv, pp.add(i), pv.add(i), pb.map(|b| b.add(i)));
                });
            }
        }
    }
}

/// `G = Aᵀ B` for `A` of `k` rows of `m` (`A(i, p) = a[i + p * lda]`), `B` of `k` rows of
/// `n` (`k` at most [`KC`]: one block), plus `prev` when given (`prev + G`, as the product adds to `C`), applied at once
/// by `rule` to the parameters `p` (`m * n` values, `G`'s layout) and the optimizer's
/// buffers of the same length: each tile of `G` is summed in registers exactly as
/// [`blocked`] sums it (so the values are those `blocked` would store) and updates its
/// parameters right away; `G` itself is never stored. With rows of `G` too long for the
/// gradient block and `room` (values this may overwrite) large enough, the tiles read `B`
/// from a copy there in panels of [`COLS`] columns (`k` rows of `COLS` contiguous values
/// each): the rows of a row-major `B` are `4 n` bytes apart, and for a power-of-two `n`
/// they share few L1 sets, so that a tile's `k` rows of `B` did not stay in L1 (a
/// discriminator's 784 × 512 weights, `k` = 128, its GAN step: the update took 13% less
/// time from the panels). Returns `false`, doing nothing, when `k` exceeds one block or a
/// slice is shorter than `m * n`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) fn tn_update(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    prev: Option<&[f32]>,
    (p, room): (&mut [f32], &mut [f32]),
    rule: Rule<'_>,
) -> bool {
    let Some(len) = m.checked_mul(n) else {
        return false;
    };
    let a_ok = lda >= m && mul_add(k.saturating_sub(1), lda, m).is_some_and(|l| l <= a.len());
    let b_ok = n.checked_mul(k).is_some_and(|l| l <= b.len());
    if k == 0 || k > KC || !a_ok || !b_ok || p.len() < len || prev.is_some_and(|g| g.len() < len) {
        return false;
    }
    let plain_grad = match &rule {
        Rule::Adam(s, ..) => plain(s.grad),
        Rule::RmsProp(s, ..) => plain(s.grad),
    };
    let mut apply = match rule {
        Rule::Adam(s, m1, v) if m1.len() >= len && v.len() >= len => {
            Apply::Adam(AdamConsts::new(s), m1, v)
        }
        Rule::RmsProp(s, v, buf)
            if v.len() >= len && buf.as_ref().is_none_or(|b| b.len() >= len) =>
        {
            Apply::RmsProp(RmsPropConsts::new(s), v, buf)
        }
        _ => return false,
    };
    if plain_grad {
        tn_update_with::<true>(m, k, n, a, lda, b, prev, (p, room), &mut apply);
    } else {
        tn_update_with::<false>(m, k, n, a, lda, b, prev, (p, room), &mut apply);
    }
    true
}

/// Where [`tn_update`]'s tiles read `B` (`k` rows of `n` columns).
#[derive(Clone, Copy)]
enum B<'a> {
    /// Row-major.
    Rows(&'a [f32]),
    /// In panels of [`COLS`] columns, each `k` rows of `COLS` contiguous values (the last
    /// padded with zeros), as [`copy_panel`] writes them.
    Panels(&'a [f32]),
}

impl<'a> B<'a> {
    /// `B` from column `j` on (a multiple of [`COLS`]) and the distance between its rows.
    fn at(self, j: usize, k: usize, n: usize) -> (&'a [f32], usize) {
        match self {
            B::Rows(b) => (&b[j..], n),
            B::Panels(b) => (&b[j / COLS * k * COLS..], COLS),
        }
    }
}

/// [`tn_update`] after its checks, for a plain gradient or not.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
fn tn_update_with<const PLAIN: bool>(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    prev: Option<&[f32]>,
    (p, room): (&mut [f32], &mut [f32]),
    apply: &mut Apply<'_>,
) {
    let block_rows = if n <= UPDATE_BLOCK / ROWS {
        UPDATE_BLOCK / n / ROWS * ROWS
    } else {
        0
    };
    // Wide rows, whose tiles stream the parameters: `B` from panels where `room` holds
    // them (`k <= KC`, so `k * COLS` does not overflow). Narrow ones (below) gained
    // nothing from them (measured on 512 × 256 weights).
    let b = match n.div_ceil(COLS).checked_mul(k * COLS) {
        Some(len) if block_rows == 0 && len <= room.len() => {
            let room = &mut room[..len];
            for (j, panel) in (0..n).step_by(COLS).zip(room.chunks_exact_mut(k * COLS)) {
                copy_panel(&b[j..], n, COLS.min(n - j), panel);
            }
            B::Panels(room)
        }
        _ => B::Rows(b),
    };
    if block_rows > 0 {
        // On a cache line, as the parameters and the optimizer's buffers are.
        #[repr(align(64))]
        struct Block([f32; UPDATE_BLOCK]);
        let mut block = Block([0.0; UPDATE_BLOCK]);
        let g = &mut block.0;
        for i0 in (0..m).step_by(block_rows) {
            let rows = block_rows.min(m - i0);
            let len = rows * n;
            for i in (i0..i0 + rows).step_by(ROWS) {
                for j in (0..n).step_by(COLS) {
                    let (b, rsb) = b.at(j, k, n);
                    let t = Tile {
                        k,
                        rsa: 1,
                        csa: lda,
                        rsb,
                        cols: COLS.min(n - j),
                        rsc: n,
                        add: false,
                    };
                    run_rows(
                        t,
                        ROWS.min(i0 + rows - i),
                        &a[i..],
                        b,
                        &mut g[(i - i0) * n + j..len],
                    );
                }
            }
            let at = i0 * n;
            apply.run::<PLAIN>(
                at,
                &mut p[at..at + len],
                &g[..len],
                prev.map(|g| &g[at..at + len]),
            );
        }
        return;
    }
    // Tiles in the order of the parameters (rows of `G` outer, columns inner), so that the
    // parameters and the optimizer's buffers stream through memory in order; each tile
    // prefetches the next one's.
    for i in (0..m).step_by(ROWS) {
        for j in (0..n).step_by(COLS) {
            tn_update_tile::<PLAIN>(i, j, m, k, n, a, lda, b.at(j, k, n), prev, p, apply);
        }
    }
}

/// The tile of [`tn_update_with`] at row `i`, column `j`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
fn tn_update_tile<const PLAIN: bool>(
    i: usize,
    j: usize,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    (b, rsb): (&[f32], usize),
    prev: Option<&[f32]>,
    p: &mut [f32],
    apply: &mut Apply<'_>,
) {
    {
        let t = Tile {
            k,
            rsa: 1,
            csa: lda,
            rsb,
            cols: COLS.min(n - j),
            rsc: n,
            add: false,
        };
        // The next tile in the order of the parameters.
        let ahead = if j + COLS < n {
            Some((i * n + j + COLS, ROWS.min(m - i)))
        } else if i + ROWS < m {
            Some(((i + ROWS) * n, ROWS.min(m - i - ROWS)))
        } else {
            None
        };
        let a = &a[i..];
        let at = i * n + j;
        match ROWS.min(m - i) {
            12 => t.update::<12, PLAIN>(a, b, at, ahead, prev, p, apply),
            11 => t.update::<11, PLAIN>(a, b, at, ahead, prev, p, apply),
            10 => t.update::<10, PLAIN>(a, b, at, ahead, prev, p, apply),
            9 => t.update::<9, PLAIN>(a, b, at, ahead, prev, p, apply),
            8 => t.update::<8, PLAIN>(a, b, at, ahead, prev, p, apply),
            7 => t.update::<7, PLAIN>(a, b, at, ahead, prev, p, apply),
            6 => t.update::<6, PLAIN>(a, b, at, ahead, prev, p, apply),
            5 => t.update::<5, PLAIN>(a, b, at, ahead, prev, p, apply),
            4 => t.update::<4, PLAIN>(a, b, at, ahead, prev, p, apply),
            3 => t.update::<3, PLAIN>(a, b, at, ahead, prev, p, apply),
            2 => t.update::<2, PLAIN>(a, b, at, ahead, prev, p, apply),
            _ => t.update::<1, PLAIN>(a, b, at, ahead, prev, p, apply),
        }
    }
}

impl Tile {
    /// The tile's sums (see [`sums`](Self::sums), `A` by columns), plus `prev` when given,
    /// applied as the gradients of the parameters at `at + r * rsc + j` (`r < R`,
    /// `j < cols`) of `p` and of `apply`'s buffers.
    ///
    /// # Panics
    /// If a slice is too short for the tile.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn update<const R: usize, const PLAIN: bool>(
        self,
        a: &[f32],
        b: &[f32],
        at: usize,
        ahead: Option<(usize, usize)>,
        prev: Option<&[f32]>,
        p: &mut [f32],
        apply: &mut Apply<'_>,
    ) {
        let end = mul_add(R - 1, self.rsc, self.cols).and_then(|e| e.checked_add(at));
        let fits = |len: usize| matches!(end, Some(e) if e <= len);
        let buffers_fit = match apply {
            Apply::Adam(_, m, v) => fits(m.len()) && fits(v.len()),
            Apply::RmsProp(_, v, buf) => {
                fits(v.len()) && buf.as_ref().is_none_or(|b| fits(b.len()))
            }
        };
        assert!(
            fits(p.len()) && prev.is_none_or(|g| fits(g.len())) && buffers_fit,
            "tile: parameters too short"
        );
        let pp = p.as_mut_ptr();
        // The next tile's parameters and buffers (`rows` rows of 32 values at `next`),
        // fetched into L2 while this one's sums are computed (into L1, the prefetches of 72
        // lines a tile held up the loads of the update: an MNIST MLP's step took 5% more
        // CPU time than with none; into L2 as fast as none, and they help where the buffers
        // do not fit in L2). A prefetch only hints, whatever the
        // address: the pointers are made with `wrapping_add`.
        if let Some((next, rows)) = ahead {
            let (s1, s2) = match apply {
                Apply::Adam(_, m, v) => (m.as_ptr(), Some(v.as_ptr())),
                Apply::RmsProp(_, v, buf) => (v.as_ptr(), buf.as_ref().map(|b| b.as_ptr())),
            };
            for r in 0..rows {
                let i = next + r * self.rsc;
                for at in [i, i + 16] {
                    _mm_prefetch::<_MM_HINT_T1>(pp.wrapping_add(at).cast_const().cast());
                    _mm_prefetch::<_MM_HINT_T1>(s1.wrapping_add(at).cast());
                    if let Some(s2) = s2 {
                        _mm_prefetch::<_MM_HINT_T1>(s2.wrapping_add(at).cast());
                    }
                    if let Some(g) = prev {
                        _mm_prefetch::<_MM_HINT_T1>(g.as_ptr().wrapping_add(at).cast());
                    }
                }
            }
        }
        let Some(mut acc) = self.sums::<R, true>(a, b) else {
            return;
        };
        let (m0, m1) = (lanes(self.cols), lanes(self.cols.saturating_sub(16)));
        let at_lane = |r: usize, half: usize| at + r * self.rsc + 16 * half;
        // The gradients: the sums plus the earlier gradient, added as `gemm_tn_update`'s
        // other path adds them (not flushed).
        if let Some(prev) = prev {
            let pg = prev.as_ptr();
            for (r, acc_r) in acc.iter_mut().enumerate() {
                for (half, (sum, mask)) in acc_r.iter_mut().zip([m0, m1]).enumerate() {
                    // SAFETY: the lanes enabled are `at + r * rsc + j` for `j < cols`, inside
                    // `prev` (asserted).
                    *sum = unsafe {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(mask, pg.add(at_lane(r, half))), *sum)
                    };
                }
            }
        }
        // The update as `adam` and `rmsprop` run it.
        let _flushing = Flushing::when(match apply {
            Apply::Adam(k, ..) => k.s.grad.flush,
            Apply::RmsProp(k, ..) => k.s.grad.flush,
        });
        for (r, acc_r) in acc.iter().enumerate() {
            for (half, (&g, mask)) in acc_r.iter().zip([m0, m1]).enumerate() {
                if mask == 0 {
                    continue;
                }
                let i = at_lane(r, half);
                // SAFETY: the lanes enabled are `at + r * rsc + j` for `j < cols`, at most
                // `at + (R - 1) * rsc + cols`, inside every buffer (asserted); the mutable
                // ones are borrowed mutably and distinct.
                unsafe {
                    match apply {
                        Apply::Adam(k, m, v) => k.update::<PLAIN>(
                            mask,
                            g,
                            pp.add(i),
                            m.as_mut_ptr().add(i),
                            v.as_mut_ptr().add(i),
                        ),
                        Apply::RmsProp(k, v, buf) => k.update::<PLAIN>(
                            mask,
                            g,
                            pp.add(i),
                            v.as_mut_ptr().add(i),
                            buf.as_mut().map(|b| b.as_mut_ptr().add(i)),
                        ),
                    }
                }
            }
        }
    }
}

/// Independent chains of 16-lane fused multiply-adds in [`fma_chains`]: enough to keep two
/// FMA units busy through a latency of 4 cycles (at least 8), without spilling.
const CHAINS: usize = 12;

/// `iterations` steps of [`CHAINS`] independent 16-lane fused multiply-adds (32
/// floating-point operations each): the peak the register tile aims at. Returns the chains'
/// sum, so that the work is not optimised away (see `kernels::fma_peak`).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) fn fma_chains(iterations: u64) -> (f32, u64) {
    let (x, y) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_setzero_ps(); CHAINS];
    for _ in 0..iterations {
        for a in &mut acc {
            *a = _mm512_fmadd_ps(*a, x, y);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm512_setzero_ps(), |s, &a| _mm512_add_ps(s, a));
    (_mm512_reduce_add_ps(sum), iterations * (CHAINS as u64) * 32)
}

#[cfg(test)]
mod tests {
    use super::{quotient, Avx512, Consts, Isa};
    use crate::rng::Rng;
    use core::arch::x86_64::{_mm512_loadu_ps, _mm512_storeu_ps};
    use std::vec::Vec;

    /// The token, if this CPU has the level.
    fn token() -> Option<Avx512> {
        let has = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("popcnt");
        if !has {
            std::eprintln!("no AVX-512F on this CPU: nothing to test");
        }
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA (checked just above).
        has.then(|| unsafe { Avx512::new_unchecked() })
    }

    /// `exp_in_place` against `libm::expf`, bit for bit: every 257th bit pattern (both signs,
    /// zeros, subnormals, the special cases, infinities, NaNs) and every 31st in [-88, 88]
    /// (vectors of lanes from both sides of each branch of `expf`), in slices of 1,000
    /// values (masked tails; vectors mixing special values with others).
    #[test]
    fn exp_in_place_is_libm_expf_bit_for_bit() {
        let Some(_) = token() else { return };
        let all = (0..=u32::MAX).step_by(257).map(f32::from_bits);
        let near = (0..=88.0f32.to_bits()).step_by(31).map(f32::from_bits);
        let values: Vec<f32> = all.chain(near.clone()).chain(near.map(|v| -v)).collect();
        let mut got = values.clone();
        for part in got.chunks_mut(1000) {
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA (`token`).
            unsafe { super::exp_in_place(part) };
        }
        for (&x, &g) in values.iter().zip(&got) {
            let want = libm::expf(x);
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "exp({x:e}) = {g:e}, libm says {want:e}"
            );
        }
    }

    /// `quotient` on 16 lanes.
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn quotients(a: &[f32; 16], x: &[f32; 16], eps: f32) -> [f32; 16] {
        let mut out = [0.0f32; 16];
        // SAFETY: each array holds the 16 values loaded or stored.
        unsafe {
            let q = quotient(
                _mm512_loadu_ps(a.as_ptr()),
                _mm512_loadu_ps(x.as_ptr()),
                Consts::new(eps),
            );
            _mm512_storeu_ps(out.as_mut_ptr(), q);
        }
        out
    }

    /// Units in the last place of `want` between `got` and `want`.
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        let ulp = f64::from(f32::from_bits(w.abs().to_bits() + 1) - w.abs());
        (f64::from(got) - want).abs() / ulp
    }

    /// The refined estimates against the exact quotient in f64, over magnitudes from
    /// denormal to huge, zero and infinite `x`, and tiny, usual and huge `eps`.
    #[test]
    fn quotient_is_within_2_5_ulps_of_the_exact_one() {
        let Some(_) = token() else { return };
        let mut rng = Rng::new(5);
        // The f32 operations round three times: the quotient is within 1.5 ulps of the
        // value in f64, and the estimates within one more.
        let (mut worst, mut worst_exact) = (0.0f64, 0.0f64);
        let (mut same, mut total) = (0usize, 0usize);
        for eps in [1e-8f32, 1e-7, 1e-3, 1e-30, 3.0] {
            for round in 0..2000 {
                let x: [f32; 16] = core::array::from_fn(|i| match (round + i) % 7 {
                    0 => 0.0,
                    1 => f32::INFINITY,
                    2 => rng.uniform(0.0, 1.0) * 1e-40,
                    _ => libm::exp2f(rng.uniform(-120.0, 120.0)) * rng.uniform(1.0, 2.0),
                });
                let a: [f32; 16] = core::array::from_fn(|_| {
                    rng.uniform(-1.0, 1.0) * libm::exp2f(rng.uniform(-60.0, 60.0))
                });
                // SAFETY: the CPU has AVX-512F (`token`).
                let q = unsafe { quotients(&a, &x, eps) };
                for i in 0..16 {
                    let want = f64::from(a[i]) / (f64::from(x[i]).sqrt() + f64::from(eps));
                    let exact = a[i] / (x[i].sqrt() + eps);
                    if !exact.is_normal() {
                        // Zero or infinite exactly; a subnormal to its last place.
                        let diff = (q[i] - exact).abs();
                        assert!(
                            q[i] == exact || diff <= f32::from_bits(1),
                            "a {} x {} eps {eps}: {} vs {exact}",
                            a[i],
                            x[i],
                            q[i]
                        );
                        continue;
                    }
                    let e = ulps(q[i], want);
                    worst = worst.max(e);
                    worst_exact = worst_exact.max(ulps(exact, want));
                    same += usize::from(q[i] == exact);
                    total += 1;
                    assert!(
                        e <= 2.5,
                        "a {} x {} eps {eps}: {} vs {want} ({e} ulps)",
                        a[i],
                        x[i],
                        q[i]
                    );
                }
            }
        }
        std::eprintln!("worst: {worst:.2} ulps (exact f32 operations: {worst_exact:.2}); {same} of {total} identical");
    }

    /// Tiles of every height and width, against a plain triple loop: also where the tile
    /// reads past neither `B` nor `C` (slices exactly as long as the tile needs), with `B`
    /// read in place, copied panel by panel and packed whole.
    #[test]
    fn blocked_matches_the_reference_at_every_edge() {
        let Some(isa) = token() else { return };
        let mut rng = Rng::new(3);
        for &shape in &[
            (1, 1, 1),
            (12, 3, 32),
            (13, 5, 33),
            (11, 300, 17),
            (25, 257, 70),
            (150, 20, 64),
            // One block of rows, panels copied one by one (each fetched while the tiles
            // run over the one before), over two blocks of `k` and a narrow last panel.
            (64, 260, 100),
            // Two blocks of rows (the second of 9): blocks of `B` packed whole.
            (super::MC + 9, 300, 70),
        ] {
            let (m, k, n) = shape;
            super::super::check_blocked(
                &mut rng,
                shape,
                |a, rsa, csa, b, c, accumulate| isa.blocked(m, k, n, a, rsa, csa, b, c, accumulate),
                |_, _, _, _, _| {},
            );
        }
    }

    /// `scaled` against the fused multiply-add it stands for (`f32::mul_add`, computed with
    /// gradual underflow) for every subnormal `k` 2^-149 up to 2^16 units, then spread over
    /// the rest of the range below 2^-125 (the lowest normal binade included), both signs,
    /// with factors that make ties (0.5, 0.75) and others.
    /// `quarter_ulp_bound`: exact powers of two, rounding up (0.7 rounds down to an f32),
    /// the floor at the smallest normal value, the refusal of bounds that overflow; and the
    /// property the optimizers rely on, for every bound computed here.
    #[test]
    fn quarter_ulp_bound_is_the_smallest_parameter_a_step_leaves_unchanged() {
        let at = |x: f64| x * 2f64.powi(-26);
        assert_eq!(
            super::quarter_ulp_bound(at(1.0)),
            Some(1f32.to_bits() as i32)
        );
        assert_eq!(
            super::quarter_ulp_bound(at(2f64.powi(-100))),
            Some(2f32.powi(-100).to_bits() as i32)
        );
        let up = f32::from_bits(0.7f32.to_bits() + 1);
        assert!(f64::from(0.7f32) < 0.7 && f64::from(up) > 0.7);
        assert_eq!(super::quarter_ulp_bound(at(0.7)), Some(up.to_bits() as i32));
        assert_eq!(
            super::quarter_ulp_bound(2f64.powi(-200)),
            Some(f32::MIN_POSITIVE.to_bits() as i32)
        );
        assert_eq!(super::quarter_ulp_bound(at(f64::from(f32::MAX))), None);
        assert_eq!(super::quarter_ulp_bound(f64::INFINITY), None);
        assert_eq!(super::quarter_ulp_bound(f64::NAN), None);
        for q_max in [1e-30, 3.7e-20, 1e-9, 0.123, 5e20] {
            let p = f32::from_bits(super::quarter_ulp_bound(q_max).unwrap() as u32);
            let ulp = f64::from(f32::from_bits(p.to_bits() + 1) - p);
            assert!(ulp / 4.0 > q_max, "{q_max}: p {p}");
            // The next smaller parameter is not far below the bound (the bound is tight).
            assert!(f64::from(f32::from_bits(p.to_bits() - 1)) < q_max * 2f64.powi(26));
        }
    }

    #[test]
    fn scaled_rounds_as_the_multiply_add_does() {
        if token().is_none() {
            return;
        }
        let mut rng = Rng::new(11);
        let mut ks: Vec<u32> = (1..1 << 16).collect();
        ks.extend(
            (0..1 << 16).map(|_| u32::try_from(rng.below(1 << 24).max(1)).expect("below 2^24")),
        );
        for b in [0.5f32, 0.75, 0.9, 0.999, 0.999_999_94, 0.6180339] {
            for chunk in ks.chunks(16) {
                let x: [f32; 16] = core::array::from_fn(|i| {
                    let k = chunk.get(i).copied().unwrap_or(1);
                    f32::from_bits(k | if i % 3 == 0 { 1 << 31 } else { 0 })
                });
                // SAFETY: the CPU has AVX-512F (`token`); the arrays hold 16 values.
                let got: [f32; 16] = unsafe {
                    let mut out = [0.0f32; 16];
                    _mm512_storeu_ps(
                        out.as_mut_ptr(),
                        super::scaled(b, _mm512_loadu_ps(x.as_ptr())),
                    );
                    out
                };
                for i in 0..16 {
                    let want = b.mul_add(x[i], 0.0);
                    assert_eq!(
                        got[i].to_bits(),
                        want.to_bits(),
                        "{b} * {:e} (bits {:#x}): {:e} vs {want:e}",
                        x[i],
                        x[i].to_bits(),
                        got[i]
                    );
                }
            }
        }
    }

    /// Adam's update at this level with and without `AdamConsts::idle` (the path of zero
    /// gradients and tiny first moments): the same bits for every parameter and moment,
    /// over vectors that mix zero, subnormal, tiny and normal first moments, second moments
    /// zero, subnormal, near 2^-125, normal or infinite, parameters normal, tiny, subnormal,
    /// zero, infinite or NaN, gradients zero (of both signs) or not, several steps'
    /// constants, and a length with a masked tail. The idle path must take most of the
    /// vectors it may take.
    #[test]
    fn adam_takes_the_idle_path_with_the_same_results() {
        use super::{in_vectors, AdamConsts};
        use crate::kernels::update::{AdamStep, GradTransform};
        use core::arch::x86_64::{
            _mm512_cmp_ps_mask, _mm512_maskz_loadu_ps, _mm512_setzero_ps, _CMP_EQ_OQ,
        };
        if token().is_none() {
            return;
        }
        let mut rng = Rng::new(12);
        let pick = |rng: &mut Rng, n: usize| rng.below(n);
        let sign = |rng: &mut Rng, x: f32| if rng.below(2) == 0 { x } else { -x };
        let n = 16 * 600 + 7;
        let (mut taken, mut eligible, mut skipped, mut shortcut) = (0usize, 0usize, 0, 0);
        for (b1, b2, lr, eps, t) in [
            (0.9f32, 0.999f32, 1e-3f32, 1e-8f32, 1000i32),
            (0.9, 0.999, 1e-3, 1e-7, 1),
            (0.5, 0.75, 0.1, 1e-3, 10),
            (0.75, 0.5, 1e3, 1e-30, 3),
            (0.99, 0.9999, 1e-6, 1.0, 100_000),
        ] {
            let (c1, c2) = (1.0 / (1.0 - b1.powi(t)), 1.0 / (1.0 - b2.powi(t)));
            let step = AdamStep {
                grad: GradTransform {
                    limit: f32::INFINITY,
                    scale: 1.0,
                    weight_decay: 0.0,
                    flush: false,
                },
                beta1: b1,
                beta2: b2,
                c1,
                c2,
                epsilon: eps,
                lr,
                decay: 1.0,
            };
            let mut m = Vec::with_capacity(n);
            let mut v = Vec::with_capacity(n);
            let mut p = Vec::with_capacity(n);
            let mut g = Vec::with_capacity(n);
            for i in 0..n {
                let kind = (i / 16) % 8;
                // Vectors of zero moments (kind 0: left as they are, but, one time in four
                // each, for a -0 first or second moment or a NaN parameter in one lane) and
                // of tiny first moments only (kind 1).
                let (still, all_tiny) = (kind == 0, kind == 1);
                let odd = |what: usize| still && i % 16 == 5 && (i / 128) % 4 == what;
                let mv = match pick(&mut rng, 9) {
                    _ if odd(1) => -0.0,
                    _ if still => 0.0,
                    k if all_tiny && k % 2 == 0 => f32::from_bits(1 + (rng.below(8) as u32)),
                    _ if all_tiny => libm::exp2f(rng.uniform(-125.0, -91.0)),
                    0 => 0.0,
                    1 => f32::from_bits(1 + (rng.below(8) as u32)),
                    2 => f32::from_bits(1 + (rng.below((1 << 23) - 1) as u32)),
                    3 => f32::from_bits((1 << 23) + (rng.below(1 << 23) as u32)),
                    4 => libm::exp2f(rng.uniform(-125.0, -89.0)),
                    5 => libm::exp2f(rng.uniform(-92.0, -88.0)),
                    6 if kind == 7 => f32::INFINITY,
                    _ => libm::exp2f(rng.uniform(-40.0, -5.0)),
                };
                m.push(if still { mv } else { sign(&mut rng, mv) });
                v.push(match pick(&mut rng, 8) {
                    _ if odd(2) => -0.0,
                    _ if still => 0.0,
                    0 => 0.0,
                    1 if kind >= 6 => f32::from_bits(1 + (rng.below(1 << 23) as u32)),
                    2 => f32::from_bits((1 << 23) + (rng.below(3 << 23) as u32)),
                    3 if kind == 7 => f32::INFINITY,
                    _ => libm::exp2f(rng.uniform(-60.0, -5.0)),
                });
                let pv = match pick(&mut rng, 12) {
                    _ if odd(3) => f32::NAN,
                    0 if still => 0.0,
                    0 if kind >= 5 => 0.0,
                    1 if kind >= 5 => f32::from_bits(1 + (rng.below(1 << 23) as u32)),
                    2 => libm::exp2f(rng.uniform(-60.0, -10.0)),
                    3 if kind == 7 => f32::NAN,
                    4 if kind == 7 => f32::INFINITY,
                    _ => rng.uniform(0.001, 1.0),
                };
                p.push(sign(&mut rng, pv));
                // Gradients: zero in whole vectors but the last kinds, of either sign.
                g.push(match kind {
                    6 if i % 16 == 3 => rng.uniform(-1e-3, 1e-3),
                    7 if pick(&mut rng, 2) == 0 => rng.uniform(-1.0, 1.0),
                    _ => sign(&mut rng, 0.0),
                });
            }
            let (mut p1, mut m1, mut v1) = (p.clone(), m.clone(), v.clone());
            let (mut p2, mut m2, mut v2) = (p.clone(), m.clone(), v.clone());
            // SAFETY: the CPU has AVX-512F (`token`); the lanes enabled are inside the four
            // buffers of `n` values, borrowed mutably here.
            unsafe {
                let k = AdamConsts::new(step);
                let bound = k.idle.expect("these steps allow the idle path");
                let mut plain = k;
                plain.idle = None;
                in_vectors(n, |i, mask| {
                    let gv = _mm512_maskz_loadu_ps(mask, g.as_ptr().add(i));
                    plain.update::<true>(
                        mask,
                        gv,
                        p1.as_mut_ptr().add(i),
                        m1.as_mut_ptr().add(i),
                        v1.as_mut_ptr().add(i),
                    );
                    let (pp, pm, pv) = (
                        p2.as_mut_ptr().add(i),
                        m2.as_mut_ptr().add(i),
                        v2.as_mut_ptr().add(i),
                    );
                    let zero =
                        _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(gv, _mm512_setzero_ps()) & mask == mask;
                    let tiny = (0..16).any(|j| {
                        (mask >> j) & 1 == 1
                            && m[i + j] != 0.0
                            && m[i + j].abs() < libm::exp2f(-90.0)
                    });
                    let moments = (0..16).all(|j| {
                        (mask >> j) & 1 == 0
                            || (m[i + j].to_bits() | v[i + j].to_bits() == 0 && !p[i + j].is_nan())
                    });
                    eligible += usize::from(zero && (tiny || moments));
                    let every_tiny = (0..16).all(|j| {
                        (mask >> j) & 1 == 0
                            || (m[i + j] != 0.0 && m[i + j].abs() < libm::exp2f(-90.0))
                    });
                    if zero && k.quiet(bound, mask, gv, pp, pm, pv) {
                        taken += 1;
                        skipped += usize::from(moments);
                        shortcut += usize::from(every_tiny);
                    } else {
                        plain.update::<true>(mask, gv, pp, pm, pv);
                    }
                });
            }
            for i in 0..n {
                let same = |a: f32, b: f32| a.to_bits() == b.to_bits();
                assert!(
                    same(p1[i], p2[i]) && same(m1[i], m2[i]) && same(v1[i], v2[i]),
                    "b1 {b1} lr {lr} eps {eps}, value {i} (p {:e} m {:e} v {:e} g {:e}): \
                     p {:e} / {:e}, m {:e} / {:e}, v {:e} / {:e}",
                    p[i],
                    m[i],
                    v[i],
                    g[i],
                    p1[i],
                    p2[i],
                    m1[i],
                    m2[i],
                    v1[i],
                    v2[i]
                );
            }
        }
        assert!(
            taken * 4 >= eligible && taken > 100 && skipped > 50 && shortcut > 50,
            "the idle path took {taken} of {eligible} vectors ({skipped} of zero moments, \
             {shortcut} of tiny first moments only)"
        );
    }

    /// The LSTM step at this level against the same step in f64 with exact functions: the
    /// gates (pre-activations from -100 to 100, and near 0 where tanh switches formulas) and
    /// the states within a few units in the last place of their size; 21 units, so that a
    /// masked tail runs too.
    #[test]
    fn lstm_step_is_within_a_few_ulp_of_exact_math() {
        if token().is_none() {
            return;
        }
        const H: usize = 21;
        let mut rng = Rng::new(7);
        for round in 0..200 {
            let scale = [0.7, 3.0, 12.0, 100.0][round % 4];
            let pre: Vec<f32> = (0..4 * H).map(|_| rng.uniform(-scale, scale)).collect();
            let bias: Vec<f32> = (0..4 * H).map(|_| rng.uniform(-0.5, 0.5)).collect();
            let cp: Vec<f32> = (0..H).map(|_| rng.uniform(-3.0, 3.0)).collect();
            let mut gates = [f32::NAN; 4 * H];
            let (mut c, mut tc, mut h, mut h2) = ([0.0; H], [0.0; H], [0.0; H], [0.0; H]);
            let with_prev = round % 3 != 0;
            let step = super::super::LstmStep {
                pre: &pre,
                bias: &bias,
                gates: &mut gates,
                c_prev: with_prev.then_some(&cp[..]),
                c: &mut c,
                tc: &mut tc,
                h: &mut h,
                h_copy: &mut h2,
            };
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA (`token`).
            unsafe { super::lstm_step(step) };
            let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
            for j in 0..H {
                let a = |k: usize| {
                    // The sum rounded to f32 as the kernel does (at -58, one rounding moves
                    // e^x by 1e-6 of itself).
                    f64::from(pre[k * H + j] + bias[k * H + j])
                };
                let want = [sigmoid(a(0)), sigmoid(a(1)), a(2).tanh(), sigmoid(a(3))];
                for (k, &w) in want.iter().enumerate() {
                    let got = gates[k * H + j];
                    let tol = 4.0 * f64::from(f32::EPSILON) * w.abs().max(1e-30) + 1e-38;
                    assert!(
                        (f64::from(got) - w).abs() <= tol,
                        "gate {k} unit {j}: {got} vs {w}"
                    );
                }
                // The states from this level's gates, each operation exact, then compared at
                // the size of their terms.
                let (i, f, g, o) = (
                    f64::from(gates[j]),
                    f64::from(gates[H + j]),
                    f64::from(gates[2 * H + j]),
                    f64::from(gates[3 * H + j]),
                );
                let prev = if with_prev { f64::from(cp[j]) } else { 0.0 };
                let cw = f * prev + i * g;
                let size = (f * prev).abs() + (i * g).abs();
                let eps = f64::from(f32::EPSILON);
                assert!(
                    (f64::from(c[j]) - cw).abs() <= 2.0 * eps * size + 1e-38,
                    "c {j}"
                );
                let tw = f64::from(c[j]).tanh();
                assert!(
                    (f64::from(tc[j]) - tw).abs() <= 4.0 * eps * tw.abs() + 1e-38,
                    "tanh(c) {j}"
                );
                let hw = o * f64::from(tc[j]);
                assert!(
                    (f64::from(h[j]) - hw).abs() <= eps * hw.abs() + 1e-38,
                    "h {j}"
                );
                assert_eq!(h[j].to_bits(), h2[j].to_bits());
            }
        }
    }
}
