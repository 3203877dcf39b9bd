//! The kernels' loops, written once in plain Rust and generic over the instruction-set level
//! ([`Isa`]): the level decides how a multiply-add is compiled and may replace the register
//! tile, the dot product, the whole blocked product or the optimizers' updates with its own. [`Portable`] is the level of every target; the
//! SIMD levels live in their own files and reach these loops through
//! [`dispatch`](super::dispatch), which compiles each loop once per level.
//!
//! No `unsafe` here: every access is a bounds-checked slice operation.

#[cfg(feature = "alloc")]
use super::update::{self, AdamStep, RmsPropStep};

/// An instruction-set level as the generic loops see it: how a multiply-add is compiled, the
/// register tile of the blocked product (or the whole product), the dot product and the
/// optimizers' updates.
///
/// Implemented by zero-sized tokens passed by value. A SIMD level's token can only be made
/// once the CPU was found to support the level (see [`dispatch`](super::dispatch)), so its
/// methods are safe to call wherever a token is at hand.
pub(super) trait Isa: Copy {
    /// Rows of the register tile of the blocked product ([`Isa::tile`]): a divisor of
    /// [`ALIGN`](super::ALIGN).
    const MR: usize = MR;

    /// `a * b + c`.
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32;

    /// One `MR × NR` tile of the blocked product (see [`tile`] for the arguments).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
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
        if rsa == 1 {
            tile::<Self, true>(self, k, a, rsa, csa, b, rsb, c, rsc, accumulate);
        } else {
            tile::<Self, false>(self, k, a, rsa, csa, b, rsb, c, rsc, accumulate);
        }
    }

    /// Dot product of the common length of `a` and `b`.
    #[inline(always)]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        dot_portable(self, a, b)
    }

    /// The whole blocked product (see [`blocked`] for the arguments): by default full
    /// [`Isa::tile`]s and ragged edges by plain loops ([`tiles_and_edges`]).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
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
        tiles_and_edges(self, m, k, n, a, rsa, csa, b, c, accumulate);
    }

    /// `acc += Σ_j x[j] · W[first + j]` over the non-zero `x[j]` (see [`sparse_rows`]).
    #[inline(always)]
    fn sparse_rows<const OUT: usize>(
        self,
        x: &[f32],
        w: &[f32],
        first: usize,
        nonzero: &mut [u32],
        acc: &mut [f32; OUT],
    ) {
        sparse_rows(self, x, w, first, nonzero, acc);
    }

    /// `C (+)= A B` for products too small for [`Isa::blocked`] (see [`nn_small`] for the
    /// arguments): by default by rows ([`nn_rows`]).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn nn_small(self, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        nn_rows(self, k, n, a, b, c, accumulate);
    }

    /// `C (+)= Aᵀ B` for products too small for [`Isa::blocked`] (see [`tn_small`] for the
    /// arguments): by default row by row ([`tn_rows`]).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn tn_small(self, m: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        tn_rows(self, m, n, a, b, c, accumulate);
    }

    /// `C (+)= A Bᵀ` (see [`nt`] for the arguments): by default one dot product per value
    /// ([`nt_small`]).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn nt(self, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
        nt_small(self, k, n, a, b, c, accumulate);
    }

    /// Adam's update of one range of parameters (see [`update::adam`]).
    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn adam(self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
        update::adam(p, g, m, v, s);
    }

    /// RMSprop's update of one range of parameters (see [`update::rmsprop`]).
    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn rmsprop(
        self,
        p: &mut [f32],
        g: &[f32],
        v: &mut [f32],
        buf: Option<&mut [f32]>,
        s: RmsPropStep,
    ) {
        update::rmsprop(p, g, v, buf, s);
    }
}

/// The portable level: the generic loops as they are, which the compiler vectorises for
/// whatever the build targets. A multiply-add is a multiply and an add, except in builds
/// that enable FMA at compile time (then it is fused, as on the AVX2 level).
#[derive(Clone, Copy, Debug)]
pub(super) struct Portable;

impl Isa for Portable {
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        mul_add(a, b, c)
    }
}

/// The portable multiply-add: fused when the build enables FMA (and `std`, which has it).
#[cfg(all(feature = "std", target_feature = "fma"))]
#[inline(always)]
fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}

/// The portable multiply-add: a multiply, then an add.
#[cfg(not(all(feature = "std", target_feature = "fma")))]
#[inline(always)]
fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    a * b + c
}

/// Rows and columns of the portable register tile of the blocked product: 4 × 16
/// accumulators are eight 8-lane registers, leaving room for two rows of `B` and the
/// broadcasts of `A` without spilling (6 × 16 spilled, measured; the AVX2 tile is 6 × 16).
/// `NR` is the tile width of every level.
const MR: usize = 4;
pub(super) const NR: usize = 16;

/// `acc[i] += s * row[i]`, the inner step of every small product.
#[inline(always)]
fn axpy<F: Isa>(isa: F, s: f32, row: &[f32], acc: &mut [f32]) {
    for (a, &r) in acc.iter_mut().zip(row) {
        *a = isa.mul_add(s, r, *a);
    }
}

/// `acc[i] += x[i] * y[i]` for one 8-lane chunk (one vector FMA).
#[inline(always)]
fn lanes8<F: Isa>(isa: F, acc: &mut [f32; 8], x: &[f32], y: &[f32]) {
    let (x, y): (&[f32; 8], &[f32; 8]) = (
        x.try_into().unwrap_or(&[0.0; 8]),
        y.try_into().unwrap_or(&[0.0; 8]),
    );
    for i in 0..8 {
        acc[i] = isa.mul_add(x[i], y[i], acc[i]);
    }
}

/// Dot product over 8-lane chunks, with two independent accumulators to hide FMA latency.
#[inline(always)]
fn dot_portable<F: Isa>(isa: F, a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (mut acc0, mut acc1) = ([0.0f32; 8], [0.0f32; 8]);
    let (mut ca, mut cb) = (a.chunks_exact(16), b.chunks_exact(16));
    for (x, y) in (&mut ca).zip(&mut cb) {
        let (x0, x1) = x.split_at(8);
        let (y0, y1) = y.split_at(8);
        lanes8(isa, &mut acc0, x0, y0);
        lanes8(isa, &mut acc1, x1, y1);
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut tail = 0.0;
    for (&x, &y) in ra.iter().zip(rb) {
        tail = isa.mul_add(x, y, tail);
    }
    let mut lanes = [0.0f32; 8];
    for i in 0..8 {
        lanes[i] = acc0[i] + acc1[i];
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

/// `C[m×n] (+)= A[m×k] · B[k×n]` by rows (`m` is the number of rows of `A` in `a`).
#[inline(always)]
pub(super) fn nn_small<F: Isa>(
    isa: F,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    isa.nn_small(k, n, a, b, c, accumulate);
}

/// [`nn_small`] by rows: each row of `C` accumulated from the rows of `B`.
#[inline(always)]
pub(super) fn nn_rows<F: Isa>(
    isa: F,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    for (a_row, c_row) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        if !accumulate {
            c_row.fill(0.0);
        }
        for (&s, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            axpy(isa, s, b_row, c_row);
        }
    }
}

/// `C[m×n] (+)= A[m×k] · B[n×k]ᵀ` as the level does it ([`Isa::nt`]); `m` is the number of
/// rows of `A` in `a` (and of `C` in `c`).
#[inline(always)]
pub(super) fn nt<F: Isa>(
    isa: F,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    isa.nt(k, n, a, b, c, accumulate);
}

/// `C[m×n] (+)= A[m×k] · B[n×k]ᵀ`, one dot product per element.
#[inline(always)]
pub(super) fn nt_small<F: Isa>(
    isa: F,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    for (a_row, c_row) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        for (c_ij, b_row) in c_row.iter_mut().zip(b.chunks_exact(k)) {
            let d = isa.dot(a_row, b_row);
            *c_ij = if accumulate { *c_ij + d } else { d };
        }
    }
}

/// `C[m×n] (+)= A[k×m]ᵀ · B[k×n]`, accumulated row of `A` by row of `B`.
#[inline(always)]
pub(super) fn tn_small<F: Isa>(
    isa: F,
    m: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    isa.tn_small(m, n, a, b, c, accumulate);
}

/// [`tn_small`] row of `A` by row of `B`.
#[inline(always)]
pub(super) fn tn_rows<F: Isa>(
    isa: F,
    m: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    if !accumulate {
        c.fill(0.0);
    }
    for (a_row, b_row) in a.chunks_exact(m).zip(b.chunks_exact(n)) {
        for (&s, c_row) in a_row.iter().zip(c.chunks_exact_mut(n)) {
            axpy(isa, s, b_row, c_row);
        }
    }
}

/// `acc += Σ_j x[j] · W[first + j]` over the non-zero `x[j]` only (`W` rows of `OUT`), with
/// `nonzero` as room for their indices (at least `x.len()`). Each output sums from its
/// value in `acc` in the order of `j`, whatever the level.
#[inline(always)]
pub(super) fn sparse_rows<F: Isa, const OUT: usize>(
    isa: F,
    x: &[f32],
    w: &[f32],
    first: usize,
    nonzero: &mut [u32],
    acc: &mut [f32; OUT],
) {
    let mut count = 0;
    for (j, &s) in x.iter().enumerate() {
        nonzero[count] = j as u32;
        count += usize::from(s != 0.0);
    }
    for &j in &nonzero[..count] {
        let j = j as usize;
        let w_row = &w[(first + j) * OUT..(first + j) * OUT + OUT];
        for (a, &wv) in acc.iter_mut().zip(w_row) {
            *a = isa.mul_add(x[j], wv, *a);
        }
    }
}

/// The softmax of one row in place, `exp` the exponential of each value of a slice:
/// the maximum subtracted (ignoring NaN), the exponentials, their sum in order, each value
/// times its inverse.
#[inline]
pub(super) fn softmax_row(row: &mut [f32], exp: impl FnOnce(&mut [f32])) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for v in row.iter_mut() {
        *v -= max;
    }
    exp(row);
    let mut sum = 0.0;
    for &v in row.iter() {
        sum += v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `y = W x + b` for one sample, `W` stored as `IN` rows of `OUT` (see [`crate::layers::Dense`]).
#[inline(always)]
pub(super) fn dense_one<F: Isa, const IN: usize, const OUT: usize>(
    isa: F,
    w: &[f32],
    b: &[f32],
    x: &[f32],
    y: &mut [f32; OUT],
) {
    // Checked when the function is compiled for `IN` and `OUT`: a build error, not a wrap.
    let weights = const {
        match IN.checked_mul(OUT) {
            Some(weights) => weights,
            None => panic!("dense_forward_one: IN * OUT overflows usize"),
        }
    };
    let (w, b, x) = (&w[..weights], &b[..OUT], &x[..IN]);
    if OUT == 1 {
        // One output: a contiguous dot product over the inputs.
        y[0] = b[0] + isa.dot(x, w);
    } else if (8..=128).contains(&OUT) {
        // Column form on a local fixed-size accumulator, which the compiler keeps in
        // registers (or L1) across the loop while the weights stream through. Measured on
        // 784 -> 128: faster than splitting the outputs into blocks.
        // A zero input (an image's background, a ReLU that is off) adds nothing, so its row
        // of weights is not even read: first the indices of the non-zero inputs, without
        // branches, then one row per index. This bounds inference by the weights of the
        // non-zero inputs rather than by all of them.
        let mut acc = [0.0f32; OUT];
        acc.copy_from_slice(b);
        if IN <= 1024 {
            // One list (at most 4 KB of stack).
            let mut nonzero = [0u32; IN];
            isa.sparse_rows(x, w, 0, &mut nonzero, &mut acc);
        } else {
            // Wider inputs in chunks, so the list stays a fixed 4 KB of stack.
            let mut nonzero = [0u32; 1024];
            for (c, xs) in x.chunks(1024).enumerate() {
                isa.sparse_rows(xs, w, c * 1024, &mut nonzero, &mut acc);
            }
        }
        *y = acc;
    } else if OUT > 128 {
        // Wider layers: 64 outputs at a time, so the accumulator stays small.
        const BLOCK: usize = 64;
        for start in (0..OUT).step_by(BLOCK) {
            let acc = &mut y[start..(start + BLOCK).min(OUT)];
            acc.copy_from_slice(&b[start..start + acc.len()]);
            for (&s, w_row) in x.iter().zip(w.chunks_exact(OUT)) {
                axpy(isa, s, &w_row[start..start + acc.len()], acc);
            }
        }
    } else {
        // A few outputs: one strided dot product each.
        for (o, y_o) in y.iter_mut().enumerate() {
            let mut part = [0.0f32; 8];
            for (j, &xj) in x.iter().enumerate() {
                part[j % 8] = isa.mul_add(xj, w[j * OUT + o], part[j % 8]);
            }
            *y_o = b[o] + part.iter().sum::<f32>();
        }
    }
}

/// One `MR × NR` tile: `C[r][j] (+)= Σ_p A(r, p) · B[p][j]`, where `A(r, p)` is
/// `a[r * rsa + p * csa]` (with `A_COLUMNS`, `rsa` is 1: a tile's column of `A` is
/// contiguous) and rows of `B` start every `rsb` values. No packing: `B`'s rows are
/// contiguous along `j`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<F: Isa, const A_COLUMNS: bool>(
    isa: F,
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
    let mut acc = [[0.0f32; NR]; MR];
    for p in 0..k {
        let row: &[f32; NR] = b[p * rsb..p * rsb + NR].try_into().unwrap_or(&[0.0; NR]);
        let col: [f32; MR] = if A_COLUMNS {
            a[p * csa..p * csa + MR].try_into().unwrap_or([0.0; MR])
        } else {
            core::array::from_fn(|r| a[r * rsa + p * csa])
        };
        for (acc_r, &av) in acc.iter_mut().zip(&col) {
            for (x, &bv) in acc_r.iter_mut().zip(row) {
                *x = isa.mul_add(av, bv, *x);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let out = &mut c[r * rsc..r * rsc + NR];
        if accumulate {
            for (o, v) in out.iter_mut().zip(acc_r) {
                *o += v;
            }
        } else {
            out.copy_from_slice(acc_r);
        }
    }
}

/// Row `i` of `C`, columns `cols`, by plain loops: the ragged edges of [`blocked`]. (A
/// function, not a closure: closures do not inherit the caller's target features, so
/// `mul_add` in one would become a library call.)
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn edge<F: Isa>(
    isa: F,
    i: usize,
    cols: core::ops::Range<usize>,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    let out = &mut c[i * n + cols.start..i * n + cols.end];
    if !accumulate {
        out.fill(0.0);
    }
    for p in 0..k {
        axpy(
            isa,
            a[i * rsa + p * csa],
            &b[p * n + cols.start..p * n + cols.end],
            out,
        );
    }
}

/// `C[m×n] (+)= A · B` with `A(i, p) = a[i * rsa + p * csa]` and `B` row-major (`n` wide),
/// as the level does it ([`Isa::blocked`]).
///
/// The callers size `a`, `b` and `c` from checked products, so no index computed by a level
/// wraps (each is below the length of the slice it indexes).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn blocked<F: Isa>(
    isa: F,
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
    isa.blocked(m, k, n, a, rsa, csa, b, c, accumulate);
}

/// [`blocked`] by full tiles through [`Isa::tile`] and the ragged right and bottom edges
/// through [`edge`] (the portable and AVX2 levels). Every access is bounds-checked, and a
/// level's own tile checks its bounds without wrapping.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tiles_and_edges<F: Isa>(
    isa: F,
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
    let (m_full, n_full) = (m - m % F::MR, n - n % NR);
    for j in (0..n_full).step_by(NR) {
        for i in (0..m_full).step_by(F::MR) {
            isa.tile(
                k,
                &a[i * rsa..],
                rsa,
                csa,
                &b[j..],
                n,
                &mut c[i * n + j..],
                n,
                accumulate,
            );
        }
    }
    if n_full < n {
        for i in 0..m {
            edge(isa, i, n_full..n, k, n, a, rsa, csa, b, c, accumulate);
        }
    }
    for i in m_full..m {
        edge(isa, i, 0..n_full, k, n, a, rsa, csa, b, c, accumulate);
    }
}

/// Adam's update of one range of parameters at the level of `isa` (see [`Isa::adam`]).
#[cfg(feature = "alloc")]
#[inline(always)]
pub(super) fn adam<F: Isa>(
    isa: F,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    s: AdamStep,
) {
    isa.adam(p, g, m, v, s);
}

/// RMSprop's update of one range of parameters at the level of `isa` (see [`Isa::rmsprop`]).
#[cfg(feature = "alloc")]
#[inline(always)]
pub(super) fn rmsprop<F: Isa>(
    isa: F,
    p: &mut [f32],
    g: &[f32],
    v: &mut [f32],
    buf: Option<&mut [f32]>,
    s: RmsPropStep,
) {
    isa.rmsprop(p, g, v, buf, s);
}
