//! Hot loops: matrix products on flat row-major slices.
//!
//! Three products cover every dense layer, forward and backward:
//!
//! | function | computes | used for |
//! |---|---|---|
//! | [`gemm_nn`] | `C = A B` | forward `Y = X W` |
//! | [`gemm_nt`] | `C = A Bᵀ` | input gradient `dX = dY Wᵀ` |
//! | [`gemm_tn`] | `C = Aᵀ B` | weight gradient `dW = Xᵀ dY` |
//!
//! Each writes `C` (or adds to it with `accumulate`). Small products run simple loops, which
//! the compiler vectorises; large `gemm_nn` and `gemm_tn` products a register-blocked kernel
//! (6 × 16 tiles, no packing, no allocation), split by rows across the threads of a rayon
//! pool the caller runs in. `gemm_nt` is dot products throughout (the layers transpose into
//! scratch where that is faster). With `std` on x86-64 both are compiled twice and the AVX2+FMA copy is
//! chosen at run time, so a default `cargo build --release` still uses fused multiply-adds
//! on CPUs that have them.
//!
//! ```
//! use nn_core::kernels::gemm_nn;
//! // [1 2] [5 6]   [19 22]
//! // [3 4] [7 8] = [43 50]
//! let mut c = [0.0; 4];
//! gemm_nn(2, 2, 2, &[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], &mut c, false);
//! assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
//! ```
// Unsafe is confined to this module: calling `#[target_feature]` functions after checking the
// CPU supports them, and AVX2 loads in the dot product.
#![allow(unsafe_code)]

/// Products with at least this many multiply-adds use the register-blocked kernel (below it,
/// the simple loops win: no tile edges to handle).
pub const LARGE_PRODUCT: usize = 48 * 48 * 48;

/// How a multiply-add is compiled: separately (portable) or fused (FMA instruction).
trait MulAdd {
    /// Rows of the register tile of the blocked product (see [`tile`]).
    const MR: usize = 4;

    fn mul_add(a: f32, b: f32, c: f32) -> f32;

    /// One `MR × NR` tile of the blocked product (see [`tile`] for the arguments).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn tile(
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
            tile::<Self, true>(k, a, rsa, csa, b, rsb, c, rsc, accumulate);
        } else {
            tile::<Self, false>(k, a, rsa, csa, b, rsb, c, rsc, accumulate);
        }
    }

    /// Dot product of two equally long slices.
    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_portable::<Self>(a, b)
    }
}

struct Separate;
impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

#[cfg(feature = "std")]
struct Fused;
#[cfg(feature = "std")]
impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        // Lowered to one FMA instruction inside `#[target_feature(enable = "fma")]` callers.
        a.mul_add(b, c)
    }

    #[cfg(target_arch = "x86_64")]
    const MR: usize = 6;

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_avx2(a, b)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn tile(
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
        tile_6x16_avx2(k, a, rsa, csa, b, rsb, c, rsc, accumulate);
    }
}

/// The 6 × 16 tile with AVX2 and FMA: twelve 8-lane accumulators, two loads of `B` and six
/// broadcasts of `A` per step of `k`. Written with intrinsics because LLVM spills the
/// portable version's accumulators at this size (measured).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile_6x16_avx2(
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
    use core::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_storeu_ps,
    };
    const ROWS: usize = 6;
    if k == 0 {
        return;
    }
    // Every element read or written below is inside these bounds.
    assert!(
        (ROWS - 1) * rsa + (k - 1) * csa < a.len(),
        "tile: A too short"
    );
    assert!((k - 1) * rsb + NR <= b.len(), "tile: B too short");
    assert!((ROWS - 1) * rsc + NR <= c.len(), "tile: C too short");
    // SAFETY: `Fused` (the only caller) runs only in code compiled with AVX2 and FMA after the
    // CPU was checked to have them; all pointer offsets are within the slices (asserted).
    unsafe {
        let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let mut acc: [[__m256; 2]; ROWS] = [[_mm256_setzero_ps(); 2]; ROWS];
        for p in 0..k {
            let b0 = _mm256_loadu_ps(pb.add(p * rsb));
            let b1 = _mm256_loadu_ps(pb.add(p * rsb + 8));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*pa.add(r * rsa + p * csa));
                acc_r[0] = _mm256_fmadd_ps(av, b0, acc_r[0]);
                acc_r[1] = _mm256_fmadd_ps(av, b1, acc_r[1]);
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
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

/// Dot product with AVX2 and FMA: two 8-lane accumulators. LLVM's own vectorisation of
/// short, fully unrolled dot products interleaves lanes badly (measured: 64 shuffles for a
/// 64-long dot), hence the intrinsics.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use core::arch::x86_64::{
        _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    let n = a.len().min(b.len());
    let chunks = n / 16;
    let mut lanes = [0.0f32; 8];
    // SAFETY: `Fused` (the only caller) is used only in code compiled with AVX2 and FMA
    // enabled, after the CPU was checked to have them. Every load reads 8 floats starting at
    // `16 i` or `16 i + 8` with `16 (i + 1) <= n`, inside both slices.
    unsafe {
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for i in 0..chunks {
            let p = 16 * i;
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(p)), _mm256_loadu_ps(pb.add(p)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(p + 8)),
                _mm256_loadu_ps(pb.add(p + 8)),
                acc1,
            );
        }
        _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_add_ps(acc0, acc1));
    }
    let mut total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for j in 16 * chunks..n {
        total = a[j].mul_add(b[j], total);
    }
    total
}

/// `acc[i] += s * row[i]`, the inner step of every small product.
#[inline(always)]
fn axpy<F: MulAdd + ?Sized>(s: f32, row: &[f32], acc: &mut [f32]) {
    for (a, &r) in acc.iter_mut().zip(row) {
        *a = F::mul_add(s, r, *a);
    }
}

/// `acc[i] += x[i] * y[i]` for one 8-lane chunk (one vector FMA).
#[inline(always)]
fn lanes8<F: MulAdd + ?Sized>(acc: &mut [f32; 8], x: &[f32], y: &[f32]) {
    let (x, y): (&[f32; 8], &[f32; 8]) = (
        x.try_into().unwrap_or(&[0.0; 8]),
        y.try_into().unwrap_or(&[0.0; 8]),
    );
    for i in 0..8 {
        acc[i] = F::mul_add(x[i], y[i], acc[i]);
    }
}

/// Dot product over 8-lane chunks, with two independent accumulators to hide FMA latency.
#[inline(always)]
fn dot_portable<F: MulAdd + ?Sized>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (mut acc0, mut acc1) = ([0.0f32; 8], [0.0f32; 8]);
    let (mut ca, mut cb) = (a.chunks_exact(16), b.chunks_exact(16));
    for (x, y) in (&mut ca).zip(&mut cb) {
        let (x0, x1) = x.split_at(8);
        let (y0, y1) = y.split_at(8);
        lanes8::<F>(&mut acc0, x0, y0);
        lanes8::<F>(&mut acc1, x1, y1);
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut tail = 0.0;
    for (&x, &y) in ra.iter().zip(rb) {
        tail = F::mul_add(x, y, tail);
    }
    let mut lanes = [0.0f32; 8];
    for i in 0..8 {
        lanes[i] = acc0[i] + acc1[i];
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

#[inline(always)]
fn nn_small<F: MulAdd>(k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    for (a_row, c_row) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        if !accumulate {
            c_row.fill(0.0);
        }
        for (&s, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            axpy::<F>(s, b_row, c_row);
        }
    }
}

#[inline(always)]
fn nt_small<F: MulAdd>(k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    for (a_row, c_row) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        for (c_ij, b_row) in c_row.iter_mut().zip(b.chunks_exact(k)) {
            let d = F::dot(a_row, b_row);
            *c_ij = if accumulate { *c_ij + d } else { d };
        }
    }
}

#[inline(always)]
fn tn_small<F: MulAdd>(m: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    if !accumulate {
        c.fill(0.0);
    }
    for (a_row, b_row) in a.chunks_exact(m).zip(b.chunks_exact(n)) {
        for (&s, c_row) in a_row.iter().zip(c.chunks_exact_mut(n)) {
            axpy::<F>(s, b_row, c_row);
        }
    }
}

/// `acc += Σ_j x[j] · W[first + j]` over the non-zero `x[j]` only (`W` rows of `OUT`), with
/// `nonzero` as room for their indices (at least `x.len()`).
#[inline(always)]
fn sparse_rows<F: MulAdd, const OUT: usize>(
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
            *a = F::mul_add(x[j], wv, *a);
        }
    }
}

/// `y = W x + b` for one sample, `W` stored as `IN` rows of `OUT` (see [`crate::layers::Dense`]).
#[inline(always)]
fn dense_one<F: MulAdd, const IN: usize, const OUT: usize>(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    y: &mut [f32; OUT],
) {
    let (w, b, x) = (&w[..IN * OUT], &b[..OUT], &x[..IN]);
    if OUT == 1 {
        // One output: a contiguous dot product over the inputs.
        y[0] = b[0] + F::dot(x, w);
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
            sparse_rows::<F, OUT>(x, w, 0, &mut nonzero, &mut acc);
        } else {
            // Wider inputs in chunks, so the list stays a fixed 4 KB of stack.
            let mut nonzero = [0u32; 1024];
            for (c, xs) in x.chunks(1024).enumerate() {
                sparse_rows::<F, OUT>(xs, w, c * 1024, &mut nonzero, &mut acc);
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
                axpy::<F>(s, &w_row[start..start + acc.len()], acc);
            }
        }
    } else {
        // A few outputs: one strided dot product each.
        for (o, y_o) in y.iter_mut().enumerate() {
            let mut part = [0.0f32; 8];
            for (j, &xj) in x.iter().enumerate() {
                part[j % 8] = F::mul_add(xj, w[j * OUT + o], part[j % 8]);
            }
            *y_o = b[o] + part.iter().sum::<f32>();
        }
    }
}

/// Defines a public kernel that runs the `Separate` body, or the `Fused` one compiled for
/// AVX2+FMA when the CPU has them (checked once, cached).
macro_rules! dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident $(<$(const $cg:ident: usize),*>)? ($($arg:ident: $ty:ty),*) => $body:ident;) => {
        $(#[$doc])*
        #[inline]
        $vis fn $name $(<$(const $cg: usize),*>)? ($($arg: $ty),*) {
            #[cfg(all(feature = "std", target_arch = "x86_64", not(target_feature = "fma")))]
            {
                #[target_feature(enable = "avx2,fma")]
                fn fused $(<$(const $cg: usize),*>)? ($($arg: $ty),*) {
                    $body::<Fused $($(, $cg)*)?>($($arg),*)
                }
                if cpu::has_avx2_fma() {
                    // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                    return unsafe { fused $(::<$($cg),*>)? ($($arg),*) };
                }
            }
            #[cfg(all(feature = "std", target_feature = "fma"))]
            return $body::<Fused $($(, $cg)*)?>($($arg),*);
            #[allow(unreachable_code)]
            $body::<Separate $($(, $cg)*)?>($($arg),*)
        }
    };
}

dispatch! {
    /// `y = W x + b` for one sample of a dense layer: `w` holds `IN` rows of `OUT` weights,
    /// `b` the `OUT` biases. Allocation-free.
    pub fn dense_forward_one<const IN: usize, const OUT: usize>(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32; OUT]) => dense_one;
}

dispatch! {
    #[allow(clippy::too_many_arguments)]
    fn blocked_dispatch(m: usize, k: usize, n: usize, a: &[f32], rsa: usize, csa: usize, b: &[f32], c: &mut [f32], accumulate: bool) => blocked;
}
dispatch! {
    fn nn_small_dispatch(k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) => nn_small;
}
dispatch! {
    fn nt_small_dispatch(k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) => nt_small;
}
dispatch! {
    fn tn_small_dispatch(m: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) => tn_small;
}

/// Runs `f` inside a function compiled for AVX2 when the CPU has it (with `std` on x86-64),
/// so that plain element-wise loops in `f` are vectorised 8 lanes wide in a default build.
/// No fused multiply-adds are introduced (Rust never contracts `a * b + c`), so results are
/// identical on every CPU. Used by the optimizers' update loops.
#[inline]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "std", target_arch = "x86_64", not(target_feature = "avx2")))]
    {
        #[target_feature(enable = "avx2")]
        fn wide<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if cpu::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { wide(f) };
        }
    }
    f()
}

/// Runtime CPU-feature detection, cached.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod cpu {
    use core::sync::atomic::{AtomicU8, Ordering};

    static STATE: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 no, 2 yes

    /// Whether this CPU has AVX2 and FMA.
    #[inline]
    pub fn has_avx2_fma() -> bool {
        match STATE.load(Ordering::Relaxed) {
            0 => {
                let yes =
                    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
                STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
                yes
            }
            s => s == 2,
        }
    }
}

/// Rows and columns of the portable register tile of the blocked product: 4 × 16
/// accumulators are eight 8-lane registers, leaving room for two rows of `B` and the
/// broadcasts of `A` without spilling (6 × 16 spilled, measured; the AVX2 tile is 6 × 16).
const MR: usize = 4;
const NR: usize = 16;

/// One `MR × NR` tile: `C[r][j] (+)= Σ_p A(r, p) · B[p][j]`, where `A(r, p)` is
/// `a[r * rsa + p * csa]` (with `A_COLUMNS`, `rsa` is 1: a tile's column of `A` is
/// contiguous) and rows of `B` start every `rsb` values. No packing: `B`'s rows are
/// contiguous along `j`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<F: MulAdd + ?Sized, const A_COLUMNS: bool>(
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
                *x = F::mul_add(av, bv, *x);
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
fn edge<F: MulAdd>(
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
        axpy::<F>(
            a[i * rsa + p * csa],
            &b[p * n + cols.start..p * n + cols.end],
            out,
        );
    }
}

/// `C[m×n] (+)= A · B` with `A(i, p) = a[i * rsa + p * csa]` and `B` row-major (`n` wide):
/// full tiles through [`tile`], the ragged right and bottom edges through [`edge`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn blocked<F: MulAdd>(
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
            F::tile(
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
            edge::<F>(i, n_full..n, k, n, a, rsa, csa, b, c, accumulate);
        }
    }
    for i in m_full..m {
        edge::<F>(i, 0..n_full, k, n, a, rsa, csa, b, c, accumulate);
    }
}

/// Products with at least this many multiply-adds are split across the threads of the
/// current rayon pool (see [`in_parallel`]).
pub const PARALLEL_PRODUCT: usize = 256 * 1024;

/// The number of threads to split work across: that of the rayon pool the caller runs in
/// (e.g. a [`Trainer`](crate::train::Trainer) with `threads(n)`), or 1 outside any pool.
#[must_use]
pub fn in_parallel() -> usize {
    #[cfg(feature = "std")]
    if rayon::current_thread_index().is_some() {
        return rayon::current_num_threads();
    }
    1
}

/// [`blocked`] with its rows split across the pool's threads (tile-aligned halves, each half
/// again while threads remain). Each thread writes its own rows of `C` and sums in the same
/// order, so results do not depend on the number of threads.
#[allow(clippy::too_many_arguments)]
fn blocked_parallel(
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
    split_rows(in_parallel(), m, k, n, a, rsa, csa, b, c, accumulate);
}

#[allow(clippy::too_many_arguments)]
fn split_rows(
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
) {
    // Split at a multiple of every tile height (4 portable, 6 with AVX2), so that the same rows
    // end up in tiles or in the edge loops (which round differently when accumulating)
    // whatever the number of threads: results stay bit-identical.
    const ALIGN: usize = 12;
    let top = (m / 2 / ALIGN) * ALIGN;
    #[cfg(feature = "std")]
    if threads >= 2 && top > 0 && m * k * n >= PARALLEL_PRODUCT {
        let (c_top, c_bottom) = c.split_at_mut(top * n);
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        rayon::join(
            || split_rows(t_top, top, k, n, a, rsa, csa, b, c_top, accumulate),
            || {
                split_rows(
                    t_bottom,
                    m - top,
                    k,
                    n,
                    &a[top * rsa..],
                    rsa,
                    csa,
                    b,
                    c_bottom,
                    accumulate,
                )
            },
        );
        return;
    }
    let _ = (threads, top);
    blocked_dispatch(m, k, n, a, rsa, csa, b, c, accumulate);
}

/// Runs `f(first, out)` on consecutive chunks of `out` (rows of `row_len` values), split
/// across the current pool's threads when the work is large enough; `f` gets the index of
/// its chunk's first row. Each row is written by one call, so results do not depend on the
/// number of threads.
pub fn par_rows(
    out: &mut [f32],
    row_len: usize,
    work_per_row: usize,
    f: &(impl Fn(usize, &mut [f32]) + Sync),
) {
    split_out(in_parallel(), 0, out, row_len, work_per_row, f);
}

fn split_out(
    threads: usize,
    first: usize,
    out: &mut [f32],
    row_len: usize,
    work_per_row: usize,
    f: &(impl Fn(usize, &mut [f32]) + Sync),
) {
    let rows = out.len() / row_len.max(1);
    #[cfg(feature = "std")]
    if threads >= 2 && rows >= 2 && rows * work_per_row >= 64 * 1024 {
        let half = rows / 2;
        let (top, bottom) = out.split_at_mut(half * row_len);
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        rayon::join(
            || split_out(t_top, first, top, row_len, work_per_row, f),
            || split_out(t_bottom, first + half, bottom, row_len, work_per_row, f),
        );
        return;
    }
    let _ = (threads, rows, work_per_row);
    f(first, out);
}

fn check(what: &str, len: usize, need: usize) {
    assert!(
        len >= need,
        "{what}: slice of {len} values, product needs {need}"
    );
}

/// Handles a product with a zero dimension (nothing to do, or an empty sum: `C = 0`);
/// returns whether it was one.
fn empty(m: usize, k: usize, n: usize, c: &mut [f32], accumulate: bool) -> bool {
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return true;
    }
    false
}

/// `C[m×n] = A[m×k] · B[k×n]` (or `+=` with `accumulate`), all row-major.
///
/// # Panics
/// If a slice is shorter than its shape.
pub fn gemm_nn(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    if empty(m, k, n, c, accumulate) {
        return;
    }
    check("gemm_nn A", a.len(), m * k);
    check("gemm_nn B", b.len(), k * n);
    check("gemm_nn C", c.len(), m * n);
    if m * k * n >= LARGE_PRODUCT && n >= NR {
        blocked_parallel(
            m,
            k,
            n,
            &a[..m * k],
            k,
            1,
            &b[..k * n],
            &mut c[..m * n],
            accumulate,
        );
    } else if n == 1 {
        // A column result: one dot product per row (B, a column, is also a row of Bᵀ).
        nt_small_dispatch(k, 1, &a[..m * k], &b[..k], &mut c[..m], accumulate);
    } else {
        nn_small_dispatch(k, n, &a[..m * k], &b[..k * n], &mut c[..m * n], accumulate);
    }
}

/// `C[m×n] = A[m×k] · B[n×k]ᵀ` (or `+=` with `accumulate`), all row-major.
///
/// # Panics
/// If a slice is shorter than its shape.
pub fn gemm_nt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    if empty(m, k, n, c, accumulate) {
        return;
    }
    check("gemm_nt A", a.len(), m * k);
    check("gemm_nt B", b.len(), n * k);
    check("gemm_nt C", c.len(), m * n);
    if k == 1 {
        // An outer product: B (n×1) is also Bᵀ (1×n), so use the row form.
        nn_small_dispatch(1, n, &a[..m], &b[..n], &mut c[..m * n], accumulate);
    } else {
        nt_small_dispatch(k, n, &a[..m * k], &b[..n * k], &mut c[..m * n], accumulate);
    }
}

/// `C[m×n] = A[k×m]ᵀ · B[k×n]` (or `+=` with `accumulate`), all row-major.
///
/// # Panics
/// If a slice is shorter than its shape.
pub fn gemm_tn(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    if empty(m, k, n, c, accumulate) {
        return;
    }
    check("gemm_tn A", a.len(), k * m);
    check("gemm_tn B", b.len(), k * n);
    check("gemm_tn C", c.len(), m * n);
    if m * k * n >= LARGE_PRODUCT && n >= NR {
        blocked_parallel(
            m,
            k,
            n,
            &a[..k * m],
            1,
            m,
            &b[..k * n],
            &mut c[..m * n],
            accumulate,
        );
    } else if n == 1 {
        // Cᵀ (1×m) = bᵀ (1×k) · A (k×m): one row, accumulated from the rows of A.
        nn_small_dispatch(k, m, &b[..k], &a[..k * m], &mut c[..m], accumulate);
    } else {
        tn_small_dispatch(m, n, &a[..k * m], &b[..k * n], &mut c[..m * n], accumulate);
    }
}

#[cfg(test)]
mod tests {
    use super::{gemm_nn, gemm_nt, gemm_tn, LARGE_PRODUCT};
    use crate::rng::Rng;
    use std::vec::Vec;

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    /// Plain triple loop in f64 over explicit index functions: the reference.
    fn reference(
        m: usize,
        k: usize,
        n: usize,
        a: impl Fn(usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
    ) -> Vec<f32> {
        let mut c = std::vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|p| f64::from(a(i, p)) * f64::from(b(p, j)))
                    .sum::<f64>() as f32;
            }
        }
        c
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "index {i}: {g} vs {w}"
            );
        }
    }

    #[test]
    fn all_three_products_match_the_reference_small_and_large() {
        let mut rng = Rng::new(9);
        // Odd sizes exercise remainders; the last shape crosses LARGE_PRODUCT.
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (4, 20, 64),
            (33, 17, 9),
            (32, 64, 1),
            (32, 1, 64),
            (5, 9, 1),
            (64, 70, 50),
        ] {
            let a = random(m * k, &mut rng);
            let b = random(k * n, &mut rng);
            let mut c = random(m * n, &mut rng);
            gemm_nn(m, k, n, &a, &b, &mut c, false);
            assert_close(
                &c,
                &reference(m, k, n, |i, p| a[i * k + p], |p, j| b[p * n + j]),
            );

            let bt = random(n * k, &mut rng);
            gemm_nt(m, k, n, &a, &bt, &mut c, false);
            assert_close(
                &c,
                &reference(m, k, n, |i, p| a[i * k + p], |p, j| bt[j * k + p]),
            );

            let at = random(k * m, &mut rng);
            let before = c.clone();
            gemm_tn(m, k, n, &at, &b, &mut c, true);
            let prod = reference(m, k, n, |i, p| at[p * m + i], |p, j| b[p * n + j]);
            let want: Vec<f32> = prod.iter().zip(&before).map(|(p, c)| p + c).collect();
            assert_close(&c, &want);
        }
        // The last shape must take the blocked path.
        const { assert!(64 * 70 * 50 >= LARGE_PRODUCT) };
    }

    #[test]
    fn zero_dimensions_are_empty_products_not_panics() {
        let mut c = [1.0f32; 4];
        gemm_nn(2, 0, 2, &[], &[], &mut c, false);
        assert_eq!(c, [0.0; 4]);
        let mut c = [1.0f32; 4];
        gemm_tn(2, 0, 2, &[], &[], &mut c, true);
        assert_eq!(c, [1.0; 4]);
        gemm_nt(0, 3, 2, &[], &[0.0; 6], &mut [], false);
        gemm_nn(2, 3, 0, &[0.0; 6], &[], &mut [], false);
    }

    #[test]
    fn dense_forward_one_matches_gemm() {
        let mut rng = Rng::new(2);
        fn run<const IN: usize, const OUT: usize>(rng: &mut Rng) {
            let w = random(IN * OUT, rng);
            let b = random(OUT, rng);
            // Every third input zero: the sparse path skips those rows.
            let mut x = random(IN, rng);
            x.iter_mut().step_by(3).for_each(|v| *v = 0.0);
            let mut y = [0.0; OUT];
            super::dense_forward_one::<IN, OUT>(&w, &b, &x, &mut y);
            let mut want = b.clone();
            gemm_nn(1, IN, OUT, &x, &w, &mut want, true);
            assert_close(&y, &want);
        }
        run::<20, 64>(&mut rng);
        run::<64, 1>(&mut rng);
        run::<13, 3>(&mut rng);
        run::<7, 9>(&mut rng);
        run::<50, 130>(&mut rng);
        run::<600, 16>(&mut rng);
        run::<2100, 16>(&mut rng);
    }
}
