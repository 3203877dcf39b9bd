//! Hot loops: matrix products on flat row-major slices, the optimizers' updates, and the
//! element-wise passes of the layers.
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
//! (no allocation), split by rows across the threads of a rayon pool the caller runs in.
//! `gemm_nt` is dot products, except at the AVX-512 level, where large ones run its tile on
//! `Bᵀ` copied a panel at a time (the layers also transpose into scratch where that is
//! faster).
//!
//! The loops are written once, generic over the instruction-set [`Level`], and compiled once
//! per level. With `std` on x86-64 the highest level the CPU has is chosen at run time
//! ([`level`]): AVX-512 (a 12 × 32 tile with masked edges and blocking along `k` and the
//! rows, panels of `B` copied where they serve several tiles), else AVX2+FMA (a 6 × 16 tile
//! with masked edges and blocking along `k` and the rows), else the portable loops, so a default
//! `cargo build --release` uses the widest fused multiply-adds of the machine. The
//! environment variable `NN_ISA` caps the level (`NN_ISA=avx2` runs what an AVX2-only CPU
//! runs, `NN_ISA=portable` the portable loops everywhere); see [`level`]. The levels round
//! differently (fused or not, tiles, blocks, estimates in the optimizers' division at the
//! AVX-512 level); `levels.rs` tests each level present against an f64 reference and the
//! portable level, with the tolerances it states. Within a level, results do not depend on
//! the number of threads.
//!
//! Source layout: `kernels/mod.rs` is this safe interface (size checks, threading,
//! [`map`] for element-wise passes); `portable.rs` the generic loops; `update.rs` the
//! optimizers' updates; `avx2.rs` the AVX2+FMA level (register tile and dot product in
//! intrinsics); `avx512.rs` the AVX-512 level (blocked product, `gemm_nt`, dot product,
//! single-sample dense layers, optimizer updates); `dispatch.rs` the CPU detection and the
//! choice of level. All `unsafe` code is in the last three.
//!
//! ```
//! use nn_core::kernels::gemm_nn;
//! // [1 2] [5 6]   [19 22]
//! // [3 4] [7 8] = [43 50]
//! let mut c = [0.0; 4];
//! gemm_nn(2, 2, 2, &[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], &mut c, false);
//! assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
//! ```

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx2;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx512;
mod dispatch;
#[cfg(all(test, feature = "std"))]
mod levels;
mod portable;
#[cfg(feature = "alloc")]
mod update;

#[cfg(feature = "std")]
pub use dispatch::available;
pub use dispatch::{level, vectorized, Level};
use portable::NR;
#[cfg(feature = "alloc")]
pub use update::ParamUpdate;
#[cfg(feature = "alloc")]
pub(crate) use update::{adam_update, rmsprop_update, AdamStep, GradTransform, RmsPropStep};

/// Products with at least this many multiply-adds use the register-blocked kernel (below it,
/// the simple loops win: no tile edges to handle).
pub const LARGE_PRODUCT: usize = 48 * 48 * 48;

/// `y = W x + b` for one sample of a dense layer: `w` holds `IN` rows of `OUT` weights,
/// `b` the `OUT` biases. Allocation-free.
#[inline]
pub fn dense_forward_one<const IN: usize, const OUT: usize>(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    y: &mut [f32; OUT],
) {
    dispatch::dense_one::<IN, OUT>(w, b, x, y);
}

/// `e^v` for every value `v`, in place: [`math::exp`](crate::math::exp) of each, bit for
/// bit at every level (16 lanes at a time at the AVX-512 level). Allocation-free.
#[inline]
pub fn exp_in_place(values: &mut [f32]) {
    dispatch::exp_in_place(values);
}

/// The softmax of each row of `width` values, in place: `e^(v - max) / Σ e^(v - max)` (the
/// maximum of the row subtracted first, so that nothing overflows; a row with a NaN comes
/// out all NaN). Bit for bit at every level: the exponentials are
/// [`math::exp`](crate::math::exp)'s and the sum runs in order (rows of at most 16 values in
/// one register at the AVX-512 level). Allocation-free.
#[inline]
pub fn softmax_in_place(values: &mut [f32], width: usize) {
    dispatch::softmax_in_place(values, width);
}

/// Products with at least this many multiply-adds are split across the threads of the
/// current rayon pool (see [`in_parallel`]).
pub const PARALLEL_PRODUCT: usize = 256 * 1024;

/// The number of threads to split work across: that of the rayon pool the caller runs in
/// (e.g. a [`Trainer`](crate::train::Trainer) with `threads(n)`), or 1 outside any pool.
#[must_use]
pub fn in_parallel() -> usize {
    #[cfg(feature = "std")]
    if rayon::current_thread_index().is_some() && !ALONE.with(core::cell::Cell::get) {
        return rayon::current_num_threads();
    }
    1
}

#[cfg(feature = "std")]
std::thread_local! {
    /// Whether [`alone`] runs on this thread.
    static ALONE: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Runs `f` with the kernels on the calling thread only ([`in_parallel`] is 1 inside it):
/// for a caller that splits its work across the pool's threads itself, in parts whose
/// products and passes are not worth splitting again. Results are the same either way.
pub fn alone<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "std")]
    {
        /// Restores the flag, also when `f` panics.
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                ALONE.with(|a| a.set(self.0));
            }
        }
        let _restore = Restore(ALONE.with(|a| a.replace(true)));
        f()
    }
    #[cfg(not(feature = "std"))]
    f()
}

/// `rayon::join(a, b)`, after which the pool's other threads keep looking for work for a
/// moment ([`stay_warm`]): a training step runs many short parallel parts (each product
/// and activation of each layer) with serial work between them, and a thread that went to
/// sleep in between takes tens of microseconds to wake (more on a virtual machine), which
/// was a large part of a small product's time.
///
/// When `a` ends while another thread still runs `b`, the calling thread waits for `b`
/// spinning for up to [`SPIN_FOR_B`] rounds before it leaves the wait to rayon: rayon's own
/// wait yields the processor between looks (a system call each) and soon sleeps, and the
/// halves of a product end microseconds apart.
#[cfg(feature = "std")]
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    use core::sync::atomic::{AtomicU8, Ordering};
    // Where `b` is: not started, running, done.
    const WAITING: u8 = 0;
    const RUNNING: u8 = 1;
    const DONE: u8 = 2;
    let b_state = AtomicU8::new(WAITING);
    let results = rayon::join(
        || {
            let r = a();
            // Only while `b` runs elsewhere: not started, it runs here after `a`.
            let mut rounds = 0;
            while b_state.load(Ordering::Acquire) == RUNNING && rounds < SPIN_FOR_B {
                core::hint::spin_loop();
                rounds += 1;
            }
            r
        },
        || {
            b_state.store(RUNNING, Ordering::Release);
            let r = b();
            b_state.store(DONE, Ordering::Release);
            r
        },
    );
    stay_warm();
    results
}

/// How many rounds (`spin_loop`, a pause of tens of nanoseconds) [`join`]'s caller spins
/// for the other half: about 0.1 ms, longer than the halves of a product usually end
/// apart (a few microseconds), short enough not to hold a thread that rayon could give
/// other work.
#[cfg(feature = "std")]
const SPIN_FOR_B: u32 = 2_000;

/// Runs `run(lo, hi)` on disjoint ranges of columns that cover `lo..hi`: halves at
/// multiples of `width` (a panel of the caller's tile), each again while threads remain, on
/// up to `threads` threads of the current pool ([`join`]); one range when there is a single
/// thread or panel. The column splits of the levels' blocked products.
#[cfg(feature = "std")]
pub(super) fn split_columns(
    threads: usize,
    (lo, hi): (usize, usize),
    width: usize,
    run: &(impl Fn(usize, usize) + Sync),
) {
    let panels = (hi - lo).div_ceil(width);
    if threads >= 2 && panels >= 2 {
        let mid = lo + panels / 2 * width;
        let (t0, t1) = (threads / 2, threads - threads / 2);
        join(
            || split_columns(t0, (lo, mid), width, run),
            || split_columns(t1, (mid, hi), width, run),
        );
    } else {
        run(lo, hi);
    }
}

/// Whether a [`stay_warm`] task is pending or running (one at a time, in the whole process).
#[cfg(feature = "std")]
static WARM: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// How long a [`stay_warm`] task looks for work after the last it found.
#[cfg(feature = "std")]
const WARM_FOR: std::time::Duration = std::time::Duration::from_micros(500);

/// Inside a pool of two or more threads: gives the pool a task that runs the pool's pending
/// work as it comes (`rayon::yield_now`) and ends [`WARM_FOR`] after the last it found, so
/// that the next parallel part finds a thread awake. The task ends at once if the thread
/// that made it picks it up itself. Results do not change: the same work runs, split the
/// same way.
#[cfg(feature = "std")]
fn stay_warm() {
    use core::sync::atomic::Ordering;
    let spawner = rayon::current_thread_index();
    if spawner.is_none() || rayon::current_num_threads() < 2 || WARM.swap(true, Ordering::AcqRel) {
        return;
    }
    rayon::spawn(move || {
        if rayon::current_thread_index() != spawner {
            let mut last = std::time::Instant::now();
            while last.elapsed() < WARM_FOR {
                match rayon::yield_now() {
                    Some(rayon::Yield::Executed) => last = std::time::Instant::now(),
                    _ => core::hint::spin_loop(),
                }
            }
        }
        WARM.store(false, Ordering::Release);
    });
}

/// Rows of `C` are split between threads at multiples of this at the portable level, a
/// multiple of its tile height (4), so that the same rows end up in tiles or in the edge
/// loops (which round differently when accumulating) whatever the number of threads:
/// results stay bit-identical.
const ALIGN: usize = 12;
const _: () = assert!(ALIGN.is_multiple_of(<portable::Portable as portable::Isa>::MR));

/// The multiple of rows at which [`split_rows`] splits at the current level: [`ALIGN`] at
/// the portable level; the AVX2 and AVX-512 levels compute every value of `C` the same way
/// wherever it sits (no edge loops), so any split gives the same results; there, multiples
/// of 4 balance small products better (32 rows: 16 and 16, not 12 and 20).
fn split_align() -> usize {
    if level() >= Level::Avx2 {
        4
    } else {
        ALIGN
    }
}

/// The blocked product (`dispatch::blocked`) with its rows split across the pool's threads
/// (tile-aligned halves, each half again while threads remain). Each thread writes its own
/// rows of `C` and sums in the same order, so results do not depend on the number of threads.
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
    split_rows(
        in_parallel(),
        m,
        k,
        n,
        a,
        rsa,
        csa,
        b,
        c,
        accumulate,
        (None, None),
    );
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
    (edges, keep): (Option<&Edges<'_>>, Option<&mut [f32]>),
) {
    // `top * n` and `top * rsa` cannot wrap: they are at most the lengths of `c` and `a`.
    let align = split_align();
    let top = (m / 2 / align) * align;
    let large = m.saturating_mul(k).saturating_mul(n) >= PARALLEL_PRODUCT;
    // Few rows (a batch of 32 to 128 samples times the weights, see `column_split_rows`):
    // split by columns at AVX-512 and AVX2, where each thread then reads and copies only
    // its columns of `B` and the tiles keep their rows; the values are those of any other
    // split there.
    #[cfg(feature = "std")]
    let keep = if threads >= 2 && large && m < column_split_rows() && n >= 2 * PANEL {
        let parts = (edges, keep);
        match dispatch::blocked_columns(threads, m, k, n, a, rsa, csa, b, c, accumulate, parts) {
            None => return,
            // Nothing done (the portable level): `keep` back.
            Some(keep) => keep,
        }
    } else {
        keep
    };
    #[cfg(feature = "std")]
    if threads >= 2 && top > 0 && large {
        let (c_top, c_bottom) = c.split_at_mut(top * n);
        let (k_top, k_bottom) = match keep {
            Some(keep) => {
                let (t, b) = keep.split_at_mut(top * n);
                (Some(t), Some(b))
            }
            None => (None, None),
        };
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        join(
            || {
                split_rows(
                    t_top,
                    top,
                    k,
                    n,
                    a,
                    rsa,
                    csa,
                    b,
                    c_top,
                    accumulate,
                    (edges, k_top),
                );
            },
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
                    (edges, k_bottom),
                );
            },
        );
        return;
    }
    let _ = (threads, top, large);
    match edges {
        Some(edges) => {
            edges.before_rows(c);
            dispatch::blocked(m, k, n, a, rsa, csa, b, c, true);
            edges.after_rows(c, keep);
        }
        None => dispatch::blocked(m, k, n, a, rsa, csa, b, c, accumulate),
    }
}

/// What [`affine`] does around its product, on each part of `C` (`n` values a row), on
/// the thread that computes the part: before the product, the part's values start from
/// the bias; after it, they are copied to the caller's `keep` (when given, laid out as
/// `C`) and `then` runs on them while they are in cache.
pub(super) struct Edges<'a> {
    /// One row of `n` values.
    pub(super) bias: &'a [f32],
    /// The element-wise function applied last, in place.
    pub(super) then: &'a (dyn Fn(&mut [f32]) + Sync),
}

impl Edges<'_> {
    /// Starts `c`, whole rows of `C`, from the bias.
    fn before_rows(&self, c: &mut [f32]) {
        for row in c.chunks_exact_mut(self.bias.len()) {
            row.copy_from_slice(self.bias);
        }
    }

    /// Copies `c`, whole rows of `C`, to `keep` (the same rows of the kept values), then
    /// finishes it.
    fn after_rows(&self, c: &mut [f32], keep: Option<&mut [f32]>) {
        if let Some(keep) = keep {
            copy(c, keep);
        }
        alone(|| (self.then)(c));
    }
}

/// `t[c × r] = mᵀ` for `m[r × c]`, both row-major. Rows of `t` (columns of `m`) are split
/// across the threads of the pool the caller runs in when there are enough values (a
/// layer's input gradient transposes its output gradient and its result between products
/// that run on every thread, and the other threads would wait for these copies); at the
/// AVX-512 level each part moves 16 × 16 blocks through registers. Values are only moved,
/// so the result is the same however the work is split.
///
/// # Panics
/// If `m` or `t` holds fewer than `rows * cols` values.
pub fn transpose(m: &[f32], rows: usize, cols: usize, t: &mut [f32]) {
    transpose_with(m, rows, cols, t, None);
}

/// [`transpose`], and the sum of each column of `m` into `sums` (`cols` values, each the
/// column's `rows` values added in row order to 0, as a plain loop over the rows adds
/// them): a dense layer's bias gradient, from the output gradient it transposes anyway for
/// its input gradient, without a pass of its own.
///
/// # Panics
/// As [`transpose`]; also if `sums` holds fewer than `cols` values.
pub(crate) fn transpose_summing(
    m: &[f32],
    rows: usize,
    cols: usize,
    t: &mut [f32],
    sums: &mut [f32],
) {
    check("transpose sums", sums.len(), cols);
    transpose_with(m, rows, cols, t, Some(&mut sums[..cols]));
}

/// [`transpose`] with the columns' sums into `sums` (`cols` values) when given.
fn transpose_with(m: &[f32], rows: usize, cols: usize, t: &mut [f32], sums: Option<&mut [f32]>) {
    let len = size("transpose", "rows * cols", rows, cols);
    check("transpose m", m.len(), len);
    check("transpose t", t.len(), len);
    let (m, t) = (&m[..len], &mut t[..len]);
    transpose_split(in_parallel(), m, rows, cols, (0, cols), t, sums);
}

/// Columns `c0..c1` of `m` (`rows × cols`) as the rows of `t` (`(c1 - c0) × rows`), and
/// their sums into `sums` (`c1 - c0` values) when given, on up to `threads` threads.
fn transpose_split(
    threads: usize,
    m: &[f32],
    rows: usize,
    cols: usize,
    (c0, c1): (usize, usize),
    t: &mut [f32],
    mut sums: Option<&mut [f32]>,
) {
    // Halves at multiples of 16 columns (whole register blocks).
    let mid = c0 + (c1 - c0) / 32 * 16;
    #[cfg(feature = "std")]
    if threads >= 2 && mid > c0 && (c1 - c0) * rows >= PARALLEL_TRANSPOSE {
        let (top, bottom) = t.split_at_mut((mid - c0) * rows);
        let (s_top, s_bottom) = match sums {
            Some(sums) => {
                let (s_top, s_bottom) = sums.split_at_mut(mid - c0);
                (Some(s_top), Some(s_bottom))
            }
            None => (None, None),
        };
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        join(
            || transpose_split(t_top, m, rows, cols, (c0, mid), top, s_top),
            || transpose_split(t_bottom, m, rows, cols, (mid, c1), bottom, s_bottom),
        );
        return;
    }
    let _ = (threads, mid);
    if dispatch::transpose_columns(m, rows, cols, (c0, c1), t, sums.as_deref_mut()) {
        return;
    }
    // A tile of 16 rows at a time: the rows read stay in cache while their values go out
    // to 16 places each.
    const TILE: usize = 16;
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for (c, out) in t.chunks_exact_mut(rows).take(c1 - c0).enumerate() {
            for (r, o) in out[r0..r1].iter_mut().enumerate() {
                *o = m[(r0 + r) * cols + c0 + c];
            }
        }
    }
    if let Some(sums) = sums {
        sums.fill(0.0);
        for row in m.chunks_exact(cols).take(rows) {
            for (s, &v) in sums.iter_mut().zip(&row[c0..c1]) {
                *s += v;
            }
        }
    }
}

/// Values from which [`transpose`] splits its work across threads.
#[cfg(feature = "std")]
const PARALLEL_TRANSPOSE: usize = 16 * 1024;

/// Products with fewer rows than this are split between threads by columns at the AVX2
/// level (see [`split_rows`]): below it, halves of the rows would take fewer than 8
/// register tiles of 6 rows each.
#[cfg(feature = "std")]
const COLUMN_SPLIT_ROWS: usize = 96;

/// The rows below which [`split_rows`] splits a product by columns at the current level:
/// [`COLUMN_SPLIT_ROWS`], and at the AVX-512 level the rows of one block of its kernel
/// (192): each thread then copies and reads only its columns of `B` (split by rows, each
/// thread read all of `B`, from memory when it is a layer's weights), and its tiles keep
/// all the rows. Measured on a GAN's training step, whose discriminator runs a batch of 128
/// through weights of 784 × 512 and 512 × 256: an epoch took 3% less time than with rows
/// split from 96 on.
#[cfg(feature = "std")]
fn column_split_rows() -> usize {
    if level() >= Level::Avx512 {
        192
    } else {
        COLUMN_SPLIT_ROWS
    }
}

/// Columns per panel of a packed `B` at the AVX-512 level (see [`pack_b`]).
const PANEL: usize = 32;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
const _: () = assert!(PANEL == avx512::COLS);

/// Rows of a panel that [`pack_b`] fills at a time from a transposed `B` (8 KiB).
const PACK_ROWS: usize = 64;

/// Values that [`pack_b`] writes for a `k × n` matrix: `k` rows of `n` rounded up to whole
/// panels of 32 columns (enough at every level).
///
/// # Panics
/// If that overflows `usize`.
#[must_use]
pub const fn packed_len(k: usize, n: usize) -> usize {
    match k.checked_mul(n.div_ceil(PANEL) * PANEL) {
        Some(len) => len,
        None => panic!("packed_len: k * n overflows usize"),
    }
}

/// A `k × n` matrix `B` laid out for [`gemm_nn_packed`] by [`pack_b`].
#[derive(Clone, Copy, Debug)]
pub struct PackedB<'a> {
    values: &'a [f32],
    k: usize,
    n: usize,
    /// In panels (AVX-512), else row-major.
    panels: bool,
}

/// Lays out `B` (`k × n`: `b` holds it row-major, or with `transposed` holds `Bᵀ`, `n` rows
/// of `k`) in `out` (at least [`packed_len`]`(k, n)` values) for [`gemm_nn_packed`]: at the
/// AVX-512 level in panels of 32 columns, each `k` rows of 32 contiguous values (the last
/// panel padded with zeros), which the register tile streams from L1 (rows of a row-major
/// `B`, `4 n` bytes apart, share few cache sets: a block of 128 rows of 512 columns did
/// not stay there); at the other levels row-major. Packing once pays when one `B` serves
/// many products, as a recurrent kernel does at every step of a sequence.
///
/// # Panics
/// If `b` or `out` is shorter than the sizes need.
pub fn pack_b<'a>(
    k: usize,
    n: usize,
    b: &[f32],
    transposed: bool,
    out: &'a mut [f32],
) -> PackedB<'a> {
    let len = size("pack_b", "k * n", k, n);
    check("pack_b B", b.len(), len);
    let panels = dispatch::panels();
    let out_len = if panels { packed_len(k, n) } else { len };
    check("pack_b out", out.len(), out_len);
    let (b, out) = (&b[..len], &mut out[..out_len]);
    match (panels, transposed) {
        (false, false) => out.copy_from_slice(b),
        (false, true) => {
            for (j, column) in b.chunks_exact(k.max(1)).take(n).enumerate() {
                for (p, &v) in column.iter().enumerate() {
                    out[p * n + j] = v;
                }
            }
        }
        (true, _) => pack_panels(in_parallel(), k, n, b, transposed, 0, out),
    }
    PackedB {
        values: out,
        k,
        n,
        panels,
    }
}

/// The panels of [`pack_b`] from column `first` on into `out` (whole panels), the panels
/// split between `threads` threads of the pool the caller runs in when there are enough
/// values (the other threads would otherwise wait for this copy: every training step packs
/// a recurrent kernel, before its passes split across threads).
fn pack_panels(
    threads: usize,
    k: usize,
    n: usize,
    b: &[f32],
    transposed: bool,
    first: usize,
    out: &mut [f32],
) {
    let panel_len = (k * PANEL).max(1);
    let panels = out.len() / panel_len;
    #[cfg(feature = "std")]
    if threads >= 2 && panels >= 2 && out.len() >= PARALLEL_PACK {
        let half = panels / 2;
        let (top, bottom) = out.split_at_mut(half * panel_len);
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        join(
            || pack_panels(t_top, k, n, b, transposed, first, top),
            || pack_panels(t_bottom, k, n, b, transposed, first + half * PANEL, bottom),
        );
        return;
    }
    let _ = (threads, panels);
    for (panel, j0) in out
        .chunks_exact_mut(panel_len)
        .zip((first..n).step_by(PANEL))
    {
        let cols = PANEL.min(n - j0);
        if cols < PANEL {
            panel.fill(0.0);
        }
        if transposed {
            // Row `j` of `b` is column `j` of `B`; `PACK_ROWS` rows of the panel at a
            // time, so that the rows written (the whole panel is `4 k PANEL` bytes,
            // more than L1 holds for a large `k`) stay in cache while every column
            // fills its place in them.
            for p0 in (0..k).step_by(PACK_ROWS) {
                let rows = PACK_ROWS.min(k - p0);
                let block = &mut panel[p0 * PANEL..(p0 + rows) * PANEL];
                for (jj, column) in b[j0 * k..].chunks_exact(k).take(cols).enumerate() {
                    for (row, &v) in block.chunks_exact_mut(PANEL).zip(&column[p0..p0 + rows]) {
                        row[jj] = v;
                    }
                }
            }
        } else {
            for (row, b_row) in panel.chunks_exact_mut(PANEL).zip(b.chunks_exact(n)) {
                row[..cols].copy_from_slice(&b_row[j0..j0 + cols]);
            }
        }
    }
}

/// Packed values from which [`pack_panels`] splits its work across threads.
#[cfg(feature = "std")]
const PARALLEL_PACK: usize = 32 * 1024;

/// `C[m×n] = A[m×k] · B` (or `+=` with `accumulate`), `A` and `C` row-major, `B` packed by
/// [`pack_b`]: the same values as [`gemm_nn`] at the AVX-512 level (the same tiles and order
/// of additions), split by rows across up to `threads` threads of the pool the caller runs
/// in (as [`gemm_nn`] splits across all of them); at the other levels, [`gemm_nn`] itself.
///
/// # Panics
/// If a slice is shorter than its shape.
pub fn gemm_nn_packed(
    m: usize,
    a: &[f32],
    b: &PackedB<'_>,
    c: &mut [f32],
    accumulate: bool,
    threads: usize,
) {
    let (k, n) = (b.k, b.n);
    if !b.panels {
        gemm_nn(m, k, n, a, b.values, c, accumulate);
        return;
    }
    let a_len = size("gemm_nn_packed", "m * k", m, k);
    let c_len = size("gemm_nn_packed", "m * n", m, n);
    check("gemm_nn_packed A", a.len(), a_len);
    check("gemm_nn_packed C", c.len(), c_len);
    let (a, c) = (&a[..a_len], &mut c[..c_len]);
    if empty(k, c, accumulate) {
        return;
    }
    split_packed(threads.min(in_parallel()), m, a, b, c, accumulate);
}

/// [`split_rows`] for [`gemm_nn_packed`] (at AVX-512, where any split gives the same values).
fn split_packed(
    threads: usize,
    m: usize,
    a: &[f32],
    b: &PackedB<'_>,
    c: &mut [f32],
    accumulate: bool,
) {
    let (k, n) = (b.k, b.n);
    let top = (m / 2 / 4) * 4;
    #[cfg(feature = "std")]
    if threads >= 2 && top > 0 && m.saturating_mul(k).saturating_mul(n) >= PARALLEL_PRODUCT {
        let (c_top, c_bottom) = c.split_at_mut(top * n);
        let (a_top, a_bottom) = a.split_at(top * k);
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        rayon::join(
            || split_packed(t_top, top, a_top, b, c_top, accumulate),
            || split_packed(t_bottom, m - top, a_bottom, b, c_bottom, accumulate),
        );
        return;
    }
    let _ = (threads, top);
    dispatch::packed(m, k, n, a, b.values, c, accumulate);
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
    if threads >= 2 && rows >= 2 && rows.saturating_mul(work_per_row) >= 64 * 1024 {
        let half = rows / 2;
        let (top, bottom) = out.split_at_mut(half * row_len);
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        join(
            || split_out(t_top, first, top, row_len, work_per_row, f),
            || split_out(t_bottom, first + half, bottom, row_len, work_per_row, f),
        );
        return;
    }
    let _ = (threads, rows, work_per_row);
    f(first, out);
}

/// [`par_rows`] over two outputs split at the same rows: `f(first, a_part, b_part)` on
/// consecutive chunks of `a` (rows of `a_row` values) and the matching rows of `b` (rows of
/// `b_row` values; `b` may end in a shorter last row or stop early: each part gets what
/// there is). Each row is written by one call, so results do not depend on the number of
/// threads.
pub fn par_rows2(
    a: &mut [f32],
    a_row: usize,
    b: &mut [f32],
    b_row: usize,
    work_per_row: usize,
    f: &(impl Fn(usize, &mut [f32], &mut [f32]) + Sync),
) {
    split_out2(in_parallel(), 0, a, a_row, b, b_row, work_per_row, f);
}

#[allow(clippy::too_many_arguments)]
fn split_out2(
    threads: usize,
    first: usize,
    a: &mut [f32],
    a_row: usize,
    b: &mut [f32],
    b_row: usize,
    work_per_row: usize,
    f: &(impl Fn(usize, &mut [f32], &mut [f32]) + Sync),
) {
    let rows = a.len() / a_row.max(1);
    #[cfg(feature = "std")]
    if threads >= 2 && rows >= 2 && rows.saturating_mul(work_per_row) >= 64 * 1024 {
        let half = rows / 2;
        let (a_top, a_bottom) = a.split_at_mut(half * a_row);
        let (b_top, b_bottom) = b.split_at_mut(half.saturating_mul(b_row).min(b.len()));
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        join(
            || split_out2(t_top, first, a_top, a_row, b_top, b_row, work_per_row, f),
            || {
                split_out2(
                    t_bottom,
                    first + half,
                    a_bottom,
                    a_row,
                    b_bottom,
                    b_row,
                    work_per_row,
                    f,
                );
            },
        );
        return;
    }
    let _ = (threads, rows, work_per_row, b_row);
    f(first, a, b);
}

/// One step of an LSTM cell for one sample, `H` units: what [`lstm_step`] reads and writes.
#[derive(Debug)]
pub struct LstmStep<'a> {
    /// The gates' pre-activations `[i f g o]` (`4H` values) without the bias: `x W_ih + h
    /// W_hh` (the input projection, plus the recurrent product after the first step).
    pub pre: &'a [f32],
    /// The bias added to the pre-activations (`4H` values, `b_ih + b_hh`).
    pub bias: &'a [f32],
    /// Receives the activated gates (`4H` values).
    pub gates: &'a mut [f32],
    /// The previous cell state (`H` values); none stands for zeros.
    pub c_prev: Option<&'a [f32]>,
    /// The new cell state `c' = f ⊙ c + i ⊙ g`.
    pub c: &'a mut [f32],
    /// `tanh(c')`.
    pub tc: &'a mut [f32],
    /// The new hidden state `h' = o ⊙ tanh(c')`.
    pub h: &'a mut [f32],
    /// A second copy of `h'` (the next step's input to the recurrent product).
    pub h_copy: &'a mut [f32],
}

/// One LSTM step of one sample (see [`LstmStep`]): the gates activated (sigmoid, tanh of
/// the candidate), the cell and hidden states updated, in one pass over the units. AVX-512
/// has a kernel in intrinsics that replaces the divisions of the logistic function and the
/// hyperbolic tangent by refined reciprocal estimates (within a few units in the last place
/// of [`math::sigmoid_poly`](crate::math::sigmoid_poly) and
/// [`math::tanh_poly`](crate::math::tanh_poly)); the other levels compute exactly those,
/// at the vector width of the caller (inline this into [`vectorized`]).
///
/// # Panics
/// If a slice does not hold `H` values (`4H` for the pre-activations, bias and gates).
#[inline(always)]
pub fn lstm_step(s: LstmStep<'_>) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    let Some(s) = dispatch::lstm_step_avx512(s) else {
        return;
    };
    let h = s.c.len();
    let LstmStep {
        pre,
        bias,
        gates: g,
        c_prev,
        c,
        tc,
        h: out,
        h_copy,
    } = s;
    for ((v, &p), &b) in g.iter_mut().zip(pre).zip(bias) {
        *v = p + b;
    }
    crate::math::sigmoid_slice(&mut g[..2 * h]);
    crate::math::tanh_slice(&mut g[2 * h..3 * h]);
    crate::math::sigmoid_slice(&mut g[3 * h..4 * h]);
    let (gi, rest) = g.split_at(h);
    let (gf, rest) = rest.split_at(h);
    let (gg, go) = rest.split_at(h);
    match c_prev {
        Some(cp) => {
            for j in 0..h {
                c[j] = gf[j] * cp[j] + gi[j] * gg[j];
            }
        }
        None => {
            for j in 0..h {
                c[j] = gi[j] * gg[j];
            }
        }
    }
    tc.copy_from_slice(c);
    crate::math::tanh_slice(tc);
    for j in 0..h {
        out[j] = go[j] * tc[j];
    }
    h_copy.copy_from_slice(out);
}

/// Below this many values, [`map`] and [`map_with`] run `f` as it is: no thread, no level
/// check (single-sample inference stays as cheap as the plain loop).
const MAP_SMALL: usize = 4096;

/// The work ([`par_rows`]' units) counted for each value of an element-wise pass over a
/// few streams (an activation or its derivative, a copy and an activation, a sum of rows):
/// `split_out` splits from 64 Ki units, so such passes split across threads from 16 Ki
/// values on. An activation's backward pass over a GAN layer's 64 × 256 or 64 × 512 output
/// gradient reads two streams from L2 at about 0.3 ns a value; on one thread, while the
/// other waited, these passes were a fifth of the step's serial time.
pub(crate) const ELEMENTWISE_WORK: usize = 4;

/// The work [`map`] and [`map_with`] count for each row of 64 values.
const MAP_ROW_WORK: usize = 64 * ELEMENTWISE_WORK;

/// Applies the element-wise `f` to `values` in place: small slices directly, large ones in
/// parts split across the current pool's threads (at multiples of 64 values), each inside
/// [`vectorized`], so that a plain loop in `f` runs 16 lanes wide on AVX-512. `f` must treat
/// each value on its own (the parts are arbitrary), which makes results independent of the
/// number of threads. Used by the activations.
#[inline]
pub fn map(values: &mut [f32], f: &(impl Fn(&mut [f32]) + Sync)) {
    if values.len() < MAP_SMALL {
        f(values);
        return;
    }
    let rows = values.len() / 64;
    let (whole, rest) = values.split_at_mut(rows * 64);
    par_rows(whole, 64, MAP_ROW_WORK, &|_, part| vectorized(|| f(part)));
    f(rest);
}

/// [`map`] with a second slice read alongside: `f(part, other_part)` on matching parts of
/// `values` and `other` (the common length of the two).
#[inline]
pub fn map_with(values: &mut [f32], other: &[f32], f: &(impl Fn(&mut [f32], &[f32]) + Sync)) {
    let len = values.len().min(other.len());
    let (values, other) = (&mut values[..len], &other[..len]);
    if len < MAP_SMALL {
        f(values, other);
        return;
    }
    let rows = len / 64;
    let (whole, rest) = values.split_at_mut(rows * 64);
    par_rows(whole, 64, MAP_ROW_WORK, &|first, part| {
        vectorized(|| f(part, &other[first * 64..first * 64 + part.len()]));
    });
    f(rest, &other[rows * 64..]);
}

/// The index of the first value of `values` that is NaN or infinite, if any. Checks blocks
/// of 4,096 values without branching (vectorised, at the level of [`vectorized`]) and looks
/// for the position only in a block that has one: the finiteness check of training data
/// costs about a memory read of it.
#[must_use]
pub fn first_non_finite(values: &[f32]) -> Option<usize> {
    // A float is finite when its exponent bits are not all ones.
    fn all_finite(block: &[f32]) -> bool {
        block.iter().fold(true, |ok, v| {
            ok & (v.to_bits() & 0x7f80_0000 != 0x7f80_0000)
        })
    }
    values.chunks(4096).enumerate().find_map(|(b, block)| {
        if vectorized(|| all_finite(block)) {
            None
        } else {
            block
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| b * 4096 + i)
        }
    })
}

/// `dst.copy_from_slice(src)`, in pieces of [`COPY_PIECE`] values. A copy of more than a
/// few KiB goes to the C library's `memmove`, whose `rep movsb` path runs 13 times slower
/// on an AMD EPYC (Zen 3) when `dst` and `src` sit at some offsets from each other (256
/// KiB: 87 µs instead of 6.5), which depends on where the allocator put the buffers; pieces
/// of 2 KiB take its vector loop at any offset. For the copies of a training step and of a
/// forward pass.
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// let src: Vec<f32> = (0..5000).map(|i| i as f32).collect();
/// let mut dst = vec![0.0; 5000];
/// nn_core::kernels::copy(&src, &mut dst);
/// assert_eq!(dst, src);
/// ```
#[inline]
pub fn copy(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "copy: lengths differ");
    for (d, s) in dst.chunks_mut(COPY_PIECE).zip(src.chunks(COPY_PIECE)) {
        d.copy_from_slice(s);
    }
}

/// The values [`copy`] copies at a time: 2 KiB, under the size from which glibc's
/// `memmove` uses `rep movsb` (4 KiB with AVX2, 8 KiB with AVX-512).
pub const COPY_PIECE: usize = 512;

/// Copies `src` into `dst` (the same length) and returns the index of the first value of
/// `src` that is NaN or infinite, if any ([`first_non_finite`]): a training input taken in
/// and checked in one pass, in parts on the current pool's threads when it is large (each
/// part checked while in cache). `dst` holds all of `src` either way.
///
/// # Panics
/// If the lengths differ.
pub fn copy_finite(src: &[f32], dst: &mut [f32]) -> Option<usize> {
    assert_eq!(src.len(), dst.len(), "copy_finite: lengths differ");
    /// Values per part: the check's block.
    const PART: usize = 4096;
    let first = core::sync::atomic::AtomicUsize::new(usize::MAX);
    // A copy and a check cost about two passes over the values.
    par_rows(dst, PART, 2 * PART, &|row, part| {
        let from = row * PART;
        copy(&src[from..from + part.len()], part);
        if let Some(i) = first_non_finite(part) {
            first.fetch_min(from + i, core::sync::atomic::Ordering::Relaxed);
        }
    });
    let first = first.into_inner();
    (first != usize::MAX).then_some(first)
}

/// The measured peak of fused multiply-adds at `level`'s vector width (`Avx2`: 256 bits,
/// `Avx512`: 512), in GFLOP/s: `threads` threads each run independent FMA chains for about
/// `seconds`, timed together. `None` if this CPU lacks the level, or for `Portable`. What
/// the kernels' GFLOP/s compare with (`cargo run --release --example fma_peak`).
#[cfg(feature = "std")]
#[must_use]
pub fn fma_peak(level: Level, threads: usize, seconds: f64) -> Option<f64> {
    dispatch::fma_chains(level, 1)?;
    // Calibrate: iterations per second on one thread.
    let mut iterations = 1u64 << 16;
    let per_second = loop {
        let t = std::time::Instant::now();
        let _ = std::hint::black_box(dispatch::fma_chains(level, iterations));
        let elapsed = t.elapsed().as_secs_f64();
        if elapsed > 0.02 {
            break iterations as f64 / elapsed;
        }
        iterations *= 4;
    };
    let iterations = (per_second * seconds).max(1.0) as u64;
    let start = std::time::Instant::now();
    let flops: u64 = std::thread::scope(|s| {
        let runs: std::vec::Vec<_> = (0..threads.max(1))
            .map(|_| s.spawn(|| std::hint::black_box(dispatch::fma_chains(level, iterations))))
            .collect();
        runs.into_iter()
            .map(|r| r.join().ok().flatten().map_or(0, |(_, flops)| flops))
            .sum()
    });
    Some(flops as f64 / start.elapsed().as_secs_f64() / 1e9)
}

/// `x * y`, the size `what` (e.g. `"m * k"`) of `function`'s arguments, without wrapping:
/// every size that bounds a slice handed to the loops goes through here.
///
/// # Panics
/// If the product overflows `usize`, with a message naming `function`, `what` and the values.
#[track_caller]
#[inline]
pub(crate) fn size(function: &str, what: &str, x: usize, y: usize) -> usize {
    match x.checked_mul(y) {
        Some(product) => product,
        None => overflow(function, what, x, y),
    }
}

#[cold]
#[track_caller]
fn overflow(function: &str, what: &str, x: usize, y: usize) -> ! {
    panic!("{function}: {what} overflows usize ({x} * {y})")
}

#[track_caller]
fn check(what: &str, len: usize, need: usize) {
    assert!(
        len >= need,
        "{what}: slice of {len} values, product needs {need}"
    );
}

/// Handles a product with a zero dimension (nothing to do, or an empty sum: `C = 0`) given
/// `c`, exactly `m * n` long; returns whether it was one.
fn empty(k: usize, c: &mut [f32], accumulate: bool) -> bool {
    if c.is_empty() {
        return true;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return true;
    }
    false
}

/// `C[m×n] = A[m×k] · B[k×n]` (or `+=` with `accumulate`), all row-major.
///
/// # Panics
/// If `m * k`, `k * n` or `m * n` overflows `usize`, or a slice is shorter than its shape
/// (also when a dimension is zero).
pub fn gemm_nn(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    let a_len = size("gemm_nn", "m * k", m, k);
    let b_len = size("gemm_nn", "k * n", k, n);
    let c_len = size("gemm_nn", "m * n", m, n);
    check("gemm_nn A", a.len(), a_len);
    check("gemm_nn B", b.len(), b_len);
    check("gemm_nn C", c.len(), c_len);
    let (a, b, c) = (&a[..a_len], &b[..b_len], &mut c[..c_len]);
    if empty(k, c, accumulate) {
        return;
    }
    if a_len.saturating_mul(n) >= LARGE_PRODUCT && n >= NR {
        blocked_parallel(m, k, n, a, k, 1, b, c, accumulate);
    } else if n == 1 {
        // A column result: one dot product per row (B, a column, is also a row of Bᵀ).
        dispatch::nt_small(k, 1, a, b, c, accumulate);
    } else {
        dispatch::nn_small(k, n, a, b, c, accumulate);
    }
}

/// `C[m×n] = then(A[m×k] · B[k×n] + bias)`, with `keep` (when given) receiving the values
/// before `then`: a dense layer's forward pass over a batch (`m` samples, `bias` one row of
/// `n`), its pre-activations kept for the backward pass. `then` must treat each value on its
/// own (it gets parts of rows): an element-wise activation.
///
/// The values are those of filling `C` with the bias, [`gemm_nn`] accumulating onto it,
/// copying `C` to `keep` and `then` on `C`, in turn. A product large enough to split runs
/// the three steps around it on each thread's part of `C` while the part is in cache:
/// there is no pass over `C` before or after the product on one thread while the others
/// wait.
///
/// ```
/// use nn_core::kernels::affine;
/// // relu([1 2] [1 -1] + [0.5 -3])
/// //         [1  1]
/// let (mut y, mut z) = ([0.0; 2], [0.0; 2]);
/// let relu = |v: &mut [f32]| v.iter_mut().for_each(|x| *x = x.max(0.0));
/// affine(1, 2, 2, &[1.0, 2.0], &[1.0, -1.0, 1.0, 1.0], &[0.5, -3.0], &mut y, Some(&mut z), &relu);
/// assert_eq!((y, z), ([3.5, 0.0], [3.5, -2.0]));
/// ```
///
/// # Panics
/// If `m * k`, `k * n` or `m * n` overflows `usize`, or a slice is shorter than its shape
/// (`bias` than `n`, `keep` than `m * n`).
#[allow(clippy::too_many_arguments)]
pub fn affine(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    c: &mut [f32],
    keep: Option<&mut [f32]>,
    then: &(dyn Fn(&mut [f32]) + Sync),
) {
    let a_len = size("affine", "m * k", m, k);
    let b_len = size("affine", "k * n", k, n);
    let c_len = size("affine", "m * n", m, n);
    check("affine A", a.len(), a_len);
    check("affine B", b.len(), b_len);
    check("affine C", c.len(), c_len);
    check("affine bias", bias.len(), n);
    let (a, b, c, bias) = (&a[..a_len], &b[..b_len], &mut c[..c_len], &bias[..n]);
    let keep = match keep {
        Some(keep) => {
            check("affine keep", keep.len(), c_len);
            Some(&mut keep[..c_len])
        }
        None => None,
    };
    if c.is_empty() {
        return;
    }
    let edges = Edges { bias, then };
    if k > 0 && a_len.saturating_mul(n) >= LARGE_PRODUCT && n >= NR {
        split_rows(
            in_parallel(),
            m,
            k,
            n,
            a,
            k,
            1,
            b,
            c,
            true,
            (Some(&edges), keep),
        );
        return;
    }
    edges.before_rows(c);
    gemm_nn(m, k, n, a, b, c, true);
    if let Some(keep) = keep {
        copy(c, keep);
    }
    then(c);
}

/// `C[m×n] = A[m×k] · B[n×k]ᵀ` (or `+=` with `accumulate`), all row-major.
///
/// # Panics
/// If `m * k`, `n * k` or `m * n` overflows `usize`, or a slice is shorter than its shape
/// (also when a dimension is zero).
pub fn gemm_nt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    let a_len = size("gemm_nt", "m * k", m, k);
    let b_len = size("gemm_nt", "n * k", n, k);
    let c_len = size("gemm_nt", "m * n", m, n);
    check("gemm_nt A", a.len(), a_len);
    check("gemm_nt B", b.len(), b_len);
    check("gemm_nt C", c.len(), c_len);
    let (a, b, c) = (&a[..a_len], &b[..b_len], &mut c[..c_len]);
    if empty(k, c, accumulate) {
        return;
    }
    if k == 1 {
        // An outer product: B (n×1) is also Bᵀ (1×n), so use the row form.
        dispatch::nn_small(1, n, a, b, c, accumulate);
    } else {
        dispatch::nt(k, n, a, b, c, accumulate);
    }
}

/// `C[m×n] = A[k×m]ᵀ · B[k×n]` (or `+=` with `accumulate`), all row-major.
///
/// # Panics
/// If `k * m`, `k * n` or `m * n` overflows `usize`, or a slice is shorter than its shape
/// (also when a dimension is zero).
pub fn gemm_tn(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    let a_len = size("gemm_tn", "k * m", k, m);
    let b_len = size("gemm_tn", "k * n", k, n);
    let c_len = size("gemm_tn", "m * n", m, n);
    check("gemm_tn A", a.len(), a_len);
    check("gemm_tn B", b.len(), b_len);
    check("gemm_tn C", c.len(), c_len);
    let (a, b, c) = (&a[..a_len], &b[..b_len], &mut c[..c_len]);
    if empty(k, c, accumulate) {
        return;
    }
    if a_len.saturating_mul(n) >= LARGE_PRODUCT && n >= NR {
        blocked_parallel(m, k, n, a, 1, m, b, c, accumulate);
    } else if n == 1 {
        // Cᵀ (1×m) = bᵀ (1×k) · A (k×m): one row, accumulated from the rows of A.
        dispatch::nn_small(k, m, b, a, c, accumulate);
    } else {
        dispatch::tn_small(m, n, a, b, c, accumulate);
    }
}

/// [`gemm_tn`]`(m, k, n, a, b, grads, false)`, the weight gradient `Aᵀ B` of a layer, plus
/// `prev` when given (`prev + Aᵀ B`, the gradient of earlier passes accumulated), applied at
/// once to `params` by `update` (all `m * n` long, the gradient's layout): the result is that
/// of the product, the addition and [`ParamUpdate::apply`] in turn. At the AVX-512 level,
/// for `k` up to one block of the kernel and at least 2 columns, each tile of the gradient
/// updates its parameters while in registers, and `grads` serves as room for a copy of `B`
/// that the tiles read (its values are then unspecified); elsewhere the gradient goes
/// through `grads`. Rows are split across the pool's threads as in the products; results
/// do not depend on the number of threads.
///
/// # Panics
/// If a size overflows, or a slice is shorter than its shape.
#[cfg(feature = "alloc")]
#[allow(clippy::too_many_arguments)]
pub fn gemm_tn_update(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    prev: Option<&[f32]>,
    grads: &mut [f32],
    params: &mut [f32],
    update: &mut ParamUpdate<'_>,
) {
    let a_len = size("gemm_tn_update", "k * m", k, m);
    let b_len = size("gemm_tn_update", "k * n", k, n);
    let c_len = size("gemm_tn_update", "m * n", m, n);
    check("gemm_tn_update A", a.len(), a_len);
    check("gemm_tn_update B", b.len(), b_len);
    check("gemm_tn_update gradients", grads.len(), c_len);
    check("gemm_tn_update parameters", params.len(), c_len);
    check("gemm_tn_update update", update.len(), c_len);
    if let Some(prev) = prev {
        check("gemm_tn_update previous gradients", prev.len(), c_len);
    }
    let (a, b, params) = (&a[..a_len], &b[..b_len], &mut params[..c_len]);
    let prev = prev.map(|g| &g[..c_len]);
    let mut update = update.range(0, c_len);
    let grads = &mut grads[..c_len];
    if n >= 2 && k > 0 && level() >= Level::Avx512 {
        let parts = (&mut *params, &mut *grads);
        let done = split_update(in_parallel(), m, k, n, a, m, b, prev, parts, &mut update);
        if done {
            return;
        }
    }
    gemm_tn(m, k, n, a, b, grads, false);
    if let Some(prev) = prev {
        for (g, p) in grads.iter_mut().zip(prev) {
            *g += *p;
        }
    }
    update.apply(params, grads);
}

/// [`dispatch::tn_update`] with the rows of the gradient split across threads as
/// [`split_rows`] splits a product's, each thread given the same rows of the gradient's
/// buffer as room (`(params, room)`); `false` if it declined (then before doing anything:
/// its checks do not depend on the split).
#[cfg(feature = "alloc")]
#[allow(clippy::too_many_arguments)]
fn split_update(
    threads: usize,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    prev: Option<&[f32]>,
    (params, room): (&mut [f32], &mut [f32]),
    update: &mut ParamUpdate<'_>,
) -> bool {
    let align = split_align();
    let top = (m / 2 / align) * align;
    #[cfg(feature = "std")]
    if threads >= 2 && top > 0 && m.saturating_mul(k).saturating_mul(n) >= PARALLEL_PRODUCT {
        let at = top * n;
        let (p_top, p_bottom) = params.split_at_mut(at);
        let (r_top, r_bottom) = room.split_at_mut(at);
        let (g_top, g_bottom) = match prev {
            Some(g) => (Some(&g[..at]), Some(&g[at..])),
            None => (None, None),
        };
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        let (mut u_top, mut u_bottom) = update.split_at(at);
        let (done_top, done_bottom) = join(
            || {
                split_update(
                    t_top,
                    top,
                    k,
                    n,
                    a,
                    lda,
                    b,
                    g_top,
                    (p_top, r_top),
                    &mut u_top,
                )
            },
            || {
                split_update(
                    t_bottom,
                    m - top,
                    k,
                    n,
                    &a[top..],
                    lda,
                    b,
                    g_bottom,
                    (p_bottom, r_bottom),
                    &mut u_bottom,
                )
            },
        );
        assert_eq!(done_top, done_bottom, "gemm_tn_update: halves disagree");
        return done_top;
    }
    let _ = (threads, top);
    dispatch::tn_update(m, k, n, a, lda, b, prev, (params, room), update.rule())
}

/// `C[m×n] = A[k×m]ᵀ · B[k×n]` as a sum over the `k` rows in blocks of `block` rows, each
/// block's product ([`gemm_tn`]'s) added to the sum of the blocks before it, in order: a
/// weight gradient summed over many rows (every step of every sample of a recurrent layer)
/// with each block's operands in cache. Large products are split by rows of `C` across the
/// threads of the pool the caller runs in once, for all the blocks (one rendezvous instead
/// of one per block), at the same row boundaries as [`gemm_tn`], so the values are those of
/// one [`gemm_tn`] per block on any number of threads.
///
/// # Panics
/// If `k * m`, `k * n` or `m * n` overflows `usize`, a slice is shorter than its shape, or
/// `block` is 0.
pub fn gemm_tn_sum(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    block: usize,
) {
    assert!(block > 0, "gemm_tn_sum: blocks of 0 rows");
    let a_len = size("gemm_tn_sum", "k * m", k, m);
    let b_len = size("gemm_tn_sum", "k * n", k, n);
    let c_len = size("gemm_tn_sum", "m * n", m, n);
    check("gemm_tn_sum A", a.len(), a_len);
    check("gemm_tn_sum B", b.len(), b_len);
    check("gemm_tn_sum C", c.len(), c_len);
    let (a, b, c) = (&a[..a_len], &b[..b_len], &mut c[..c_len]);
    if empty(k, c, false) {
        return;
    }
    // When every block, the last and shortest too, takes the blocked kernel in `gemm_tn`,
    // split once; otherwise one `gemm_tn` per block.
    let last = k - (k - 1) / block * block;
    if n >= NR && m.saturating_mul(last).saturating_mul(n) >= LARGE_PRODUCT {
        split_sum(in_parallel(), 0, m, k, n, a, b, c, block);
    } else {
        for (i, first) in (0..k).step_by(block).enumerate() {
            let rows = block.min(k - first);
            gemm_tn(m, rows, n, &a[first * m..], &b[first * n..], c, i > 0);
        }
    }
}

/// Rows `first..first + rows` of [`gemm_tn_sum`]'s `C` (in `c`), split across `threads`.
#[allow(clippy::too_many_arguments)]
fn split_sum(
    threads: usize,
    first: usize,
    rows: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    block: usize,
) {
    let m = a.len() / k;
    let align = split_align();
    let top = (rows / 2 / align) * align;
    #[cfg(feature = "std")]
    if threads >= 2 && top > 0 && rows.saturating_mul(k).saturating_mul(n) >= PARALLEL_PRODUCT {
        let (c_top, c_bottom) = c.split_at_mut(top * n);
        let (t_top, t_bottom) = (threads / 2, threads - threads / 2);
        rayon::join(
            || split_sum(t_top, first, top, k, n, a, b, c_top, block),
            || {
                split_sum(
                    t_bottom,
                    first + top,
                    rows - top,
                    k,
                    n,
                    a,
                    b,
                    c_bottom,
                    block,
                )
            },
        );
        return;
    }
    let _ = (threads, top, align);
    for (i, p0) in (0..k).step_by(block).enumerate() {
        let kb = block.min(k - p0);
        // A(i, p) = a[(p0 + p) * m + first + i]: columns `first..` of the block's rows.
        dispatch::blocked(
            rows,
            kb,
            n,
            &a[p0 * m + first..],
            1,
            m,
            &b[p0 * n..],
            c,
            i > 0,
        );
    }
}

/// Checks a level's blocked product `blocked(a, rsa, csa, b, c, accumulate)` on `m × k × n`
/// random operands against an f64 reference, writing `C` and adding to it, with `A` by rows
/// (`rsa = k`, `csa = 1`) and by columns (`rsa = 1`, `csa = m`, which must give the same
/// bits); then calls `more(a, b, c0, c, accumulate)` with `A` by rows, the `C` it started
/// from and the result, for the level's own checks.
#[cfg(all(test, feature = "std", target_arch = "x86_64"))]
fn check_blocked(
    rng: &mut crate::rng::Rng,
    (m, k, n): (usize, usize, usize),
    blocked: impl Fn(&[f32], usize, usize, &[f32], &mut [f32], bool),
    mut more: impl FnMut(&[f32], &[f32], &[f32], &[f32], bool),
) {
    use std::vec::Vec;
    let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let c0: Vec<f32> = (0..m * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut at = std::vec![0.0f32; k * m];
    for i in 0..m {
        for p in 0..k {
            at[p * m + i] = a[i * k + p];
        }
    }
    for accumulate in [false, true] {
        let mut c = c0.clone();
        blocked(&a, k, 1, &b, &mut c, accumulate);
        let mut ct = c0.clone();
        blocked(&at, 1, m, &b, &mut ct, accumulate);
        assert_eq!(c, ct, "A by rows or by columns: the same sums");
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k)
                    .map(|p| f64::from(a[i * k + p]) * f64::from(b[p * n + j]))
                    .sum();
                let want = dot
                    + if accumulate {
                        f64::from(c0[i * n + j])
                    } else {
                        0.0
                    };
                let got = f64::from(c[i * n + j]);
                assert!(
                    (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{m}x{k}x{n} ({i}, {j}): {got} vs {want}"
                );
            }
        }
        more(&a, &b, &c0, &c, accumulate);
    }
}

#[cfg(test)]
mod tests {
    use super::{copy, gemm_nn, gemm_nt, gemm_tn, COPY_PIECE, LARGE_PRODUCT};
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
    fn transposes_move_every_value_to_its_place_on_any_thread_count() {
        let bits = |v: &[f32]| {
            v.iter()
                .map(|x| x.to_bits())
                .collect::<alloc::vec::Vec<_>>()
        };
        let mut rng = Rng::new(4);
        // Whole 16 × 16 (AVX-512) and 8 × 8 (AVX2) blocks, edges of columns, of rows, of
        // both, and empty matrices; the large ones split between threads.
        for &(rows, cols) in &[
            (16, 16),
            (8, 8),
            (23, 31),
            (64, 784),
            (784, 64),
            (17, 33),
            (33, 17),
            (1, 40),
            (40, 1),
            (15, 15),
            (0, 5),
            (129, 301),
        ] {
            let m = random(rows * cols, &mut rng);
            for threads in [1, 2, 3] {
                let mut t = alloc::vec![f32::NAN; rows * cols + 3];
                #[cfg(feature = "std")]
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| super::transpose(&m, rows, cols, &mut t));
                #[cfg(not(feature = "std"))]
                super::transpose(&m, rows, cols, &mut t);
                for r in 0..rows {
                    for c in 0..cols {
                        assert_eq!(
                            t[c * rows + r].to_bits(),
                            m[r * cols + c].to_bits(),
                            "{rows} x {cols}, {threads} threads: row {r}, column {c}"
                        );
                    }
                }
                assert!(
                    t[rows * cols..].iter().all(|v| v.is_nan()),
                    "wrote past the end"
                );
                // With the columns' sums: the same transpose, and each sum bit for bit the
                // plain loop's (row order from 0; the sums start as NaN, so a sum not
                // started from 0 shows).
                let mut want = alloc::vec![0.0f32; cols];
                for row in m.chunks_exact(cols.max(1)).take(rows) {
                    for (w, &v) in want.iter_mut().zip(row) {
                        *w += v;
                    }
                }
                let (mut t2, mut sums) = (
                    alloc::vec![f32::NAN; rows * cols],
                    alloc::vec![f32::NAN; cols + 1],
                );
                #[cfg(feature = "std")]
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| super::transpose_summing(&m, rows, cols, &mut t2, &mut sums));
                #[cfg(not(feature = "std"))]
                super::transpose_summing(&m, rows, cols, &mut t2, &mut sums);
                assert_eq!(
                    bits(&t2),
                    bits(&t[..rows * cols]),
                    "{rows} x {cols}: transposes differ"
                );
                assert_eq!(
                    bits(&sums[..cols]),
                    bits(&want),
                    "{rows} x {cols}, {threads} threads: sums"
                );
                assert!(sums[cols].is_nan(), "wrote past the sums");
            }
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

    /// Packing split across the threads of a pool lays out the same values as on one.
    #[cfg(feature = "std")]
    #[test]
    fn packing_in_a_pool_gives_the_same_panels() {
        let mut rng = Rng::new(13);
        for &(k, n, transposed) in &[(128, 512, false), (512, 128, true), (300, 200, true)] {
            let b = random(k * n, &mut rng);
            let mut one = std::vec![f32::NAN; super::packed_len(k, n)];
            let mut two = one.clone();
            let _ = super::pack_b(k, n, &b, transposed, &mut one);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("a pool");
            pool.install(|| {
                let _ = super::pack_b(k, n, &b, transposed, &mut two);
            });
            assert!(
                one.iter()
                    .zip(&two)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{k} x {n}, transposed: {transposed}"
            );
        }
    }

    #[test]
    fn packed_products_match_the_reference_and_gemm_nn_exactly() {
        let mut rng = Rng::new(12);
        // Panels whole and partial, `k` over one block (KC = 256), one row to several tiles.
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (18, 128, 512),
            (14, 512, 128),
            (13, 300, 45),
            (40, 33, 96),
        ] {
            let a = random(m * k, &mut rng);
            let b = random(k * n, &mut rng);
            let mut bt = std::vec![0.0; n * k];
            for p in 0..k {
                for j in 0..n {
                    bt[j * k + p] = b[p * n + j];
                }
            }
            let want = reference(m, k, n, |i, p| a[i * k + p], |p, j| b[p * n + j]);
            let mut plain = random(m * n, &mut rng);
            let start = plain.clone();
            gemm_nn(m, k, n, &a, &b, &mut plain, true);
            for (transposed, src) in [(false, &b), (true, &bt)] {
                let mut room = std::vec![f32::NAN; super::packed_len(k, n)];
                let packed = super::pack_b(k, n, src, transposed, &mut room);
                for threads in [1, 2] {
                    let mut c = start.clone();
                    super::gemm_nn_packed(m, &a, &packed, &mut c, true, threads);
                    let with_start: Vec<f32> =
                        want.iter().zip(&start).map(|(w, s)| w + s).collect();
                    assert_close(&c, &with_start);
                    assert!(c == plain, "{m}x{k}x{n} transposed {transposed}");
                    let mut c = random(m * n, &mut rng);
                    super::gemm_nn_packed(m, &a, &packed, &mut c, false, threads);
                    assert_close(&c, &want);
                }
            }
        }
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
    #[should_panic(expected = "gemm_nn B: slice of 1 values, product needs 6")]
    fn zero_dimensions_still_need_slices_of_their_shape() {
        gemm_nn(0, 3, 2, &[], &[1.0], &mut [], false);
    }

    /// `2^(bits - 1) + 1`: a multiple of it by an even number wraps to that number.
    const HUGE: usize = usize::MAX / 2 + 2;

    /// The issue's product, `12 × HUGE × 9216`, with `A` and `B` as long as their sizes
    /// wrapped (`12 · HUGE ≡ 12`, `HUGE · 9216 ≡ 9216`) and `C` holding `12 · 9216 = 48³`
    /// values: with wrapped size checks the length checks pass, and the (wrapped) number of
    /// multiply-adds, `LARGE_PRODUCT`, picks the blocked kernel.
    fn wrapped_product() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (m, k, n) = (12usize, HUGE, 9216usize);
        const { assert!(12 * 9216 == LARGE_PRODUCT) };
        (
            std::vec![0.0; m.wrapping_mul(k)],
            std::vec![0.0; k.wrapping_mul(n)],
            std::vec![0.0; m * n],
        )
    }

    // Before the checks: a segfault (AVX2: the tile read row `p * n` of `b` for `p` up to `k`,
    // past its end; AddressSanitizer: heap-buffer-overflow).
    #[test]
    #[should_panic(expected = "gemm_nn: m * k overflows usize")]
    fn gemm_nn_panics_when_a_size_product_overflows() {
        let (a, b, mut c) = wrapped_product();
        gemm_nn(12, HUGE, 9216, &a, &b, &mut c, false);
    }

    // Before the checks: returned without writing `C` (`a.chunks_exact(k)` is empty).
    #[test]
    #[should_panic(expected = "gemm_nt: m * k overflows usize")]
    fn gemm_nt_panics_when_a_size_product_overflows() {
        let (a, b, mut c) = wrapped_product();
        gemm_nt(12, HUGE, 9216, &a, &b, &mut c, false);
    }

    // Before the checks: a segfault (as for `gemm_nn`: the tile read rows of `b` past its end).
    #[test]
    #[should_panic(expected = "gemm_tn: k * m overflows usize")]
    fn gemm_tn_panics_when_a_size_product_overflows() {
        let (a, b, mut c) = wrapped_product();
        gemm_tn(12, HUGE, 9216, &a, &b, &mut c, false);
    }

    // Before the checks: `C = 0` was written to `c[..m * n]`, `m * n` wrapped to 0, and the
    // call returned as if it had done the product.
    #[test]
    #[should_panic(expected = "gemm_nn: m * n overflows usize")]
    fn empty_products_check_their_sizes_too() {
        gemm_nn(2, 0, usize::MAX / 2 + 1, &[], &[], &mut [], false);
    }

    #[test]
    fn copy_copies_every_value_at_any_length_and_offset() {
        // Lengths around the piece (a last piece short, whole, or alone) and offsets that
        // misalign the two slices against each other.
        let src: Vec<f32> = (0..3 * COPY_PIECE + 40).map(|i| i as f32 - 0.5).collect();
        for len in [
            0,
            1,
            COPY_PIECE - 1,
            COPY_PIECE,
            COPY_PIECE + 1,
            3 * COPY_PIECE + 7,
        ] {
            for (from, to) in [(0, 0), (1, 0), (0, 3), (5, 17)] {
                let mut dst = std::vec![f32::NAN; len + to + 2];
                copy(&src[from..from + len], &mut dst[to..to + len]);
                assert_eq!(
                    &dst[to..to + len],
                    &src[from..from + len],
                    "{len} {from} {to}"
                );
                assert!(dst[..to].iter().chain(&dst[to + len..]).all(|v| v.is_nan()));
            }
        }
    }

    #[test]
    #[should_panic(expected = "copy: lengths differ")]
    fn copy_refuses_slices_of_different_lengths() {
        copy(&[1.0, 2.0], &mut [0.0; 3]);
    }

    #[test]
    #[cfg(feature = "std")]
    fn copy_finite_copies_everything_and_finds_the_first_bad_value_on_any_thread_count() {
        let src: std::vec::Vec<f32> = (0..50_000).map(|i| i as f32).collect();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut dst = std::vec![f32::NAN; src.len()];
            assert_eq!(pool.install(|| super::copy_finite(&src, &mut dst)), None);
            assert_eq!(dst, src, "{threads} threads");
            let mut bad = src.clone();
            // Bad values in both halves and in several parts: the first one is named.
            bad[40_000] = f32::NAN;
            bad[30_000] = f32::NEG_INFINITY;
            bad[45_000] = f32::INFINITY;
            assert_eq!(
                pool.install(|| super::copy_finite(&bad, &mut dst)),
                Some(30_000),
                "{threads} threads"
            );
            assert_eq!(dst[..30_000], src[..30_000]);
            assert!(dst[40_000].is_nan() && dst[49_999] == 49_999.0);
        }
        assert_eq!(super::copy_finite(&[], &mut []), None);
    }

    #[test]
    fn first_non_finite_finds_the_first_nan_or_infinity() {
        let mut v = std::vec![1.0f32; 10_000];
        v[17] = f32::MAX;
        v[18] = f32::MIN_POSITIVE / 2.0;
        v[19] = -0.0;
        assert_eq!(super::first_non_finite(&v), None);
        assert_eq!(super::first_non_finite(&[]), None);
        for (at, bad) in [
            (0, f32::NAN),
            (4095, f32::INFINITY),
            (4096, f32::NEG_INFINITY),
            (9_999, -f32::NAN),
        ] {
            let mut w = v.clone();
            w[at] = bad;
            // A later one does not count.
            let last = w.len() - 1;
            if at < last {
                w[(at + 1000).min(last)] = f32::NAN;
            }
            assert_eq!(super::first_non_finite(&w), Some(at), "{bad} at {at}");
        }
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
        // The MNIST MLP's layers, and three vectors with a masked last one.
        run::<784, 128>(&mut rng);
        run::<128, 10>(&mut rng);
        run::<40, 40>(&mut rng);
    }

    /// All inputs zero: every row skipped, the outputs are the biases bit for bit (a `-0.0`
    /// too, whatever the accumulators start from).
    #[test]
    fn dense_forward_one_of_zeros_is_the_bias_exactly() {
        fn run<const IN: usize, const OUT: usize>() {
            let mut rng = Rng::new(3);
            let w = random(IN * OUT, &mut rng);
            let mut b = random(OUT, &mut rng);
            b[0] = -0.0;
            let mut y = [f32::NAN; OUT];
            super::dense_forward_one::<IN, OUT>(&w, &b, &[0.0; IN], &mut y);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&b), "{IN} -> {OUT}");
        }
        run::<128, 10>();
        run::<20, 64>();
        run::<40, 40>();
        run::<784, 128>();
    }
}
