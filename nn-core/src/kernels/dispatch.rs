//! Run-time choice of the instruction-set level, in one place.
//!
//! [`level`] detects once which [`Level`]s the CPU supports and keeps the highest. Each
//! dispatched kernel below (made by the `dispatch!` macro) compiles the generic loop of
//! [`portable`] once per level, the SIMD copies inside
//! `#[target_feature]` functions, and calls the copy of the level chosen.
//!
//! Adding a level (as AVX-512 was): a variant of [`Level`], its name and its entry in
//! `Level::ALL` and `cached`; its detection in `supported`; a file with its token and
//! `impl Isa`; one branch in `dispatch!` and in [`vectorized`], above the lower levels, with
//! its `#[target_feature]` list.
#![allow(
    unsafe_code,
    reason = "makes the tokens of SIMD levels and calls their `#[target_feature]` copies of \
              the kernels, both only after `level` found the CPU supports them"
)]

#[cfg(all(feature = "std", target_arch = "x86_64"))]
use super::avx2::Avx2;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
use super::avx512::Avx512;
use super::portable::{self, Portable};
#[cfg(feature = "alloc")]
use super::update::{AdamStep, RmsPropStep};

/// An instruction-set level of the kernels, lowest first (so levels compare by capability).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Level {
    /// Plain Rust loops, which the compiler vectorises for the build's target: every target,
    /// and every build without `std`. Multiply-adds are fused only in builds that enable FMA
    /// at compile time.
    Portable,
    /// AVX2 and FMA, chosen at run time on x86-64 with `std`: fused multiply-adds, a 6 × 16
    /// register tile with masked edges and blocking along `k` (see `avx2.rs`), and an
    /// intrinsic dot product.
    Avx2,
    /// AVX-512F (with AVX2 and FMA), chosen at run time on x86-64 with `std`: 16-lane fused
    /// multiply-adds, a 12 × 32 register tile with masked edges and blocking along `k`, and
    /// the optimizers' updates without the divider (see `avx512.rs`).
    Avx512,
}

impl Level {
    /// Every level, lowest first (whether or not this CPU or build supports it; see
    /// [`available`]).
    pub const ALL: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

    /// The level's name: `"portable"`, `"avx2"` or `"avx512"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// The level the kernels run at: the highest this CPU supports, capped by the environment
/// variable `NN_ISA` (both read on first use, then cached for the process). Always
/// [`Level::Portable`] without `std` or off x86-64.
///
/// `NN_ISA` names the highest level allowed, as [`Level::name`] spells it (ASCII case
/// ignored): `NN_ISA=portable` runs the portable loops on any CPU (to compare results or
/// speed with the SIMD levels), `NN_ISA=avx2` allows up to AVX2 (what an AVX2-only CPU
/// runs), `NN_ISA=avx512` up to AVX-512. Unset or empty, there is no cap; a cap never raises
/// the level above what the CPU supports.
///
/// # Panics
/// If `NN_ISA` is set to anything else, with a message listing the names this build knows.
#[must_use]
#[inline]
pub fn level() -> Level {
    chosen()
}

/// The level [`level`] chose: 0 before the first call, then `1 + level as u8`.
#[cfg(feature = "std")]
static CHOSEN: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

/// The level `CHOSEN` holds, if one was chosen.
#[cfg(feature = "std")]
#[inline]
const fn cached(value: u8) -> Option<Level> {
    match value {
        1 => Some(Level::Portable),
        2 => Some(Level::Avx2),
        3 => Some(Level::Avx512),
        _ => None,
    }
}

/// [`level`] with `std`: detected on first use, then cached.
#[cfg(feature = "std")]
#[inline]
fn chosen() -> Level {
    cached(CHOSEN.load(core::sync::atomic::Ordering::Relaxed)).unwrap_or_else(choose)
}

/// Detects the level, caps it by `NN_ISA` and caches it in `CHOSEN` (threads that race here
/// all store the same).
#[cfg(feature = "std")]
#[cold]
fn choose() -> Level {
    let nn_isa = std::env::var_os("NN_ISA");
    let nn_isa = nn_isa.as_ref().map(|v| v.to_string_lossy());
    let chosen = capped(supported(), nn_isa.as_deref());
    CHOSEN.store(chosen as u8 + 1, core::sync::atomic::Ordering::Relaxed);
    chosen
}

/// [`level`] without `std`: no run-time detection.
#[cfg(not(feature = "std"))]
#[inline]
fn chosen() -> Level {
    Level::Portable
}

/// `supported`, capped by the value of `NN_ISA` (see [`level`]).
#[cfg(feature = "std")]
fn capped(supported: Level, nn_isa: Option<&str>) -> Level {
    let Some(name) = nn_isa.map(str::trim).filter(|name| !name.is_empty()) else {
        return supported;
    };
    match Level::ALL
        .iter()
        .find(|l| l.name().eq_ignore_ascii_case(name))
    {
        Some(&cap) => supported.min(cap),
        None => panic!(
            "NN_ISA={name:?} names no instruction-set level of nn's kernels: set it to one of \
             {:?} (the highest level to use), or unset it",
            Level::ALL.map(Level::name)
        ),
    }
}

/// The highest level this CPU supports. Every [`Level`] other than `Portable` that
/// [`level`] returns comes from here: the `SAFETY` arguments below rest on it. Levels are
/// cumulative: a level is supported only if every lower one is (so `level() >= Level::Avx2`
/// means AVX2 and FMA are there, whatever higher level is added).
#[cfg(feature = "std")]
fn supported() -> Level {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // POPCNT: part of the AVX-512 level's token (every CPU with AVX-512F has it).
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("popcnt") {
            return Level::Avx512;
        }
        return Level::Avx2;
    }
    Level::Portable
}

/// Every level this CPU supports, lowest first (levels are cumulative: all up to the highest
/// the CPU has), whatever `NN_ISA` says: what the tests compare.
#[cfg(feature = "std")]
pub fn available() -> impl Iterator<Item = Level> {
    let top = supported();
    Level::ALL.into_iter().filter(move |&l| l <= top)
}

/// Defines a kernel that runs `$body` (a generic loop of `portable`, its first argument the
/// level's token) at the level [`level`] chose.
macro_rules! dispatch {
    ($(#[$attr:meta])* $vis:vis fn $name:ident $(<$(const $cg:ident: usize),*>)? ($($arg:ident: $ty:ty),*) => $body:ident;) => {
        $(#[$attr])*
        #[inline]
        $vis fn $name $(<$(const $cg: usize),*>)? ($($arg: $ty),*) {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if level() >= Level::Avx512 {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn avx512 $(<$(const $cg: usize),*>)? (isa: Avx512, $($arg: $ty),*) {
                    portable::$body $(::<_, $($cg),*>)? (isa, $($arg),*)
                }
                // SAFETY: `level()` returned `Avx512`, so the CPU has AVX-512F, AVX2 and FMA
                // (`supported`): what both the token and the `#[target_feature]` copy need.
                return unsafe { avx512 $(::<$($cg),*>)? (Avx512::new_unchecked(), $($arg),*) };
            }
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if level() >= Level::Avx2 {
                #[target_feature(enable = "avx2,fma")]
                fn avx2 $(<$(const $cg: usize),*>)? (isa: Avx2, $($arg: $ty),*) {
                    portable::$body $(::<_, $($cg),*>)? (isa, $($arg),*)
                }
                // SAFETY: `level()` returned `Avx2` or higher, so the CPU has AVX2 and FMA
                // (`supported`): what both the token and the `#[target_feature]` copy need.
                return unsafe { avx2 $(::<$($cg),*>)? (Avx2::new_unchecked(), $($arg),*) };
            }
            portable::$body $(::<_, $($cg),*>)? (Portable, $($arg),*)
        }
    };
}

dispatch! {
    /// `y = W x + b` for one sample (see [`super::dense_forward_one`]).
    pub(super) fn dense_one<const IN: usize, const OUT: usize>(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32; OUT]) => dense_one;
}
dispatch! {
    /// The register-blocked product (see `portable::blocked`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn blocked(m: usize, k: usize, n: usize, a: &[f32], rsa: usize, csa: usize, b: &[f32], c: &mut [f32], accumulate: bool) => blocked;
}
dispatch! {
    /// `C (+)= A B` by rows (see `portable::nn_small`).
    pub(super) fn nn_small(k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) => nn_small;
}
dispatch! {
    /// `C (+)= A Bᵀ` by dot products (see `portable::nt_small`).
    pub(super) fn nt_small(k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) => nt_small;
}
dispatch! {
    /// `C (+)= A Bᵀ` as the level does it (see `portable::nt`).
    pub(super) fn nt(k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) => nt;
}
dispatch! {
    /// `C (+)= Aᵀ B` by rows (see `portable::tn_small`).
    pub(super) fn tn_small(m: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) => tn_small;
}

#[cfg(feature = "alloc")]
dispatch! {
    /// Adam's update of one range of parameters (see `update::adam_update`).
    pub(super) fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) => adam;
}
#[cfg(feature = "alloc")]
dispatch! {
    /// RMSprop's update of one range of parameters (see `update::rmsprop_update`).
    pub(super) fn rmsprop(p: &mut [f32], g: &[f32], v: &mut [f32], buf: Option<&mut [f32]>, s: RmsPropStep) => rmsprop;
}

/// The fused product and update of [`avx512::tn_update`](super::avx512) at the AVX-512
/// level (`room`: values it may overwrite); `false` (nothing done) at the other levels, or
/// where that function declines.
#[cfg(feature = "alloc")]
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
    rule: super::update::Rule<'_>,
) -> bool {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if level() >= Level::Avx512 {
        // SAFETY: `level()` returned `Avx512`, so the CPU has AVX-512F, AVX2 and FMA.
        return unsafe { super::avx512::tn_update(m, k, n, a, lda, b, prev, (p, room), rule) };
    }
    let _ = (m, k, n, a, lda, b, prev, p, room, rule);
    false
}

/// The blocked product split by columns of `C` across up to `threads` threads of the pool
/// the caller runs in (see `avx512::blocked_columns` and `avx2::blocked_columns`) at the
/// AVX-512 and AVX2 levels, with [`affine`](super::affine)'s edges around each part when
/// given; `None` when done, `Some(keep)` (nothing done, `keep` handed back) at the portable
/// level.
#[cfg(feature = "std")]
#[allow(clippy::too_many_arguments)]
pub(super) fn blocked_columns<'k>(
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
    (edges, keep): (Option<&super::Edges<'_>>, Option<&'k mut [f32]>),
) -> Option<Option<&'k mut [f32]>> {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if level() >= Level::Avx512 {
        super::avx512::blocked_columns(
            threads,
            m,
            k,
            n,
            a,
            rsa,
            csa,
            b,
            c,
            accumulate,
            (edges, keep),
        );
        return None;
    }
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if level() >= Level::Avx2 {
        // SAFETY: `level()` returned `Avx2` or higher, so the CPU has AVX2 and FMA
        // (`supported`): what the token needs.
        let isa = unsafe { Avx2::new_unchecked() };
        super::avx2::blocked_columns(
            isa,
            threads,
            m,
            k,
            n,
            a,
            rsa,
            csa,
            b,
            c,
            accumulate,
            (edges, keep),
        );
        return None;
    }
    let _ = (threads, m, k, n, a, rsa, csa, b, c, accumulate, edges);
    Some(keep)
}

/// Whether products on a packed `B` read it in panels (see `super::pack_b`): at AVX-512.
#[inline]
pub(super) fn panels() -> bool {
    cfg!(all(feature = "std", target_arch = "x86_64")) && level() >= Level::Avx512
}

/// `C[m×n] (+)= A[m×k] · B` with `B` packed in panels (see `super::pack_b`).
///
/// # Panics
/// If the level is not AVX-512 (the layout was packed for it).
#[allow(clippy::too_many_arguments)]
pub(super) fn packed(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if level() >= Level::Avx512 {
        // SAFETY: `level()` returned `Avx512`, so the CPU has AVX-512F, AVX2 and FMA
        // (`supported`): what the token needs.
        let isa = unsafe { Avx512::new_unchecked() };
        isa.packed(m, k, n, a, b, c, accumulate);
        return;
    }
    let _ = (m, k, n, a, b, c, accumulate);
    panic!("packed: B was packed in panels, which only the AVX-512 level reads");
}

/// Runs `f` inside a function compiled for AVX-512F or AVX2 when the kernels run at that
/// level (see [`level`]), so that plain element-wise loops in `f` are vectorised 16 or 8
/// lanes wide in a default build. No fused multiply-adds are introduced (Rust never
/// contracts `a * b + c`), so results are identical at every level. Used by SGD's update
/// and the element-wise activations.
#[inline]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(all(
        feature = "std",
        target_arch = "x86_64",
        not(target_feature = "avx512f")
    ))]
    if level() >= Level::Avx512 {
        #[target_feature(enable = "avx512f,avx2")]
        fn wide512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: `level()` returned `Avx512`, so the CPU has AVX-512F and AVX2
        // (`supported`).
        return unsafe { wide512(f) };
    }
    #[cfg(all(feature = "std", target_arch = "x86_64", not(target_feature = "avx2")))]
    if level() >= Level::Avx2 {
        #[target_feature(enable = "avx2")]
        fn wide<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: `level()` returned `Avx2` or higher, so the CPU has AVX2 (`supported`).
        return unsafe { wide(f) };
    }
    f()
}

/// `libm::expf` of every value, in place, bit for bit: 16 lanes at a time at the AVX-512
/// level (`avx512::exp_in_place`), one at a time otherwise.
#[inline]
pub(super) fn exp_in_place(values: &mut [f32]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if level() >= Level::Avx512 {
        // SAFETY: `level()` returned `Avx512`, so the CPU has AVX-512F, AVX2 and FMA
        // (`supported`).
        unsafe { super::avx512::exp_in_place(values) };
        return;
    }
    for v in values {
        *v = crate::math::exp(*v);
    }
}

/// The softmax of each row of `width` values, in place (see [`super::softmax_in_place`]):
/// `avx512::softmax_rows` at the AVX-512 level, `portable::softmax_row` on each row
/// otherwise.
#[inline]
pub(super) fn softmax_in_place(values: &mut [f32], width: usize) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if level() >= Level::Avx512 {
        // SAFETY: `level()` returned `Avx512`, so the CPU has AVX-512F, AVX2 and FMA
        // (`supported`).
        unsafe { super::avx512::softmax_rows(values, width) };
        return;
    }
    for row in values.chunks_exact_mut(width) {
        portable::softmax_row(row, |row| {
            for v in row {
                *v = crate::math::exp(*v);
            }
        });
    }
}

/// Rows `c0..c1` of `mᵀ` into `t`, and the sums of those columns of `m` into `sums` when
/// given (see `super::transpose_summing`): in 16 × 16 blocks of registers at the AVX-512
/// level (`avx512::transpose_columns`), 8 × 8 at the AVX2 level (`avx2::transpose_columns`),
/// else `false` (nothing done).
#[inline]
pub(super) fn transpose_columns(
    m: &[f32],
    rows: usize,
    cols: usize,
    range: (usize, usize),
    t: &mut [f32],
    sums: Option<&mut [f32]>,
) -> bool {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if level() >= Level::Avx512 {
        // SAFETY: `level()` returned `Avx512`, so the CPU has AVX-512F, AVX2 and FMA
        // (`supported`).
        unsafe { super::avx512::transpose_columns(m, rows, cols, range, t, sums) };
        return true;
    }
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if level() >= Level::Avx2 {
        // SAFETY: `level()` is at least `Avx2`, so the CPU has AVX2 and FMA (`supported`).
        unsafe { super::avx2::transpose_columns(m, rows, cols, range, t, sums) };
        return true;
    }
    let _ = (m, rows, cols, range, t, sums);
    false
}

/// Runs `s` on AVX-512's kernel (`avx512::lstm_step`) if that is the level, or gives it
/// back.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
pub(super) fn lstm_step_avx512(s: super::LstmStep<'_>) -> Option<super::LstmStep<'_>> {
    if level() >= Level::Avx512 {
        // SAFETY: `level()` returned `Avx512`, so the CPU has AVX-512F, AVX2 and FMA
        // (`supported`).
        unsafe { super::avx512::lstm_step(s) };
        return None;
    }
    Some(s)
}

/// `iterations` steps of independent fused multiply-add chains at `level`'s vector width
/// (`avx2`: 256 bits, `avx512`: 512): their sum and the floating-point operations done, or
/// `None` if this CPU lacks the level (or it has no such loop: `portable`).
#[cfg(feature = "std")]
pub(super) fn fma_chains(level: Level, iterations: u64) -> Option<(f32, u64)> {
    if level > supported() {
        return None;
    }
    match level {
        Level::Portable => None,
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `supported()` is at least `Avx2`, so the CPU has AVX2 and FMA.
        Level::Avx2 => Some(unsafe { super::avx2::fma_chains(iterations) }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `supported()` is `Avx512`, so the CPU has AVX-512F, AVX2 and FMA.
        Level::Avx512 => Some(unsafe { super::avx512::fma_chains(iterations) }),
        #[cfg(not(target_arch = "x86_64"))]
        _ => None,
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::{cached, capped, level, Level};
    use std::process::Command;

    #[test]
    fn every_level_is_cached_as_itself() {
        assert_eq!(cached(0), None);
        for l in Level::ALL {
            assert_eq!(cached(l as u8 + 1), Some(l));
        }
        assert_eq!(cached(Level::ALL.len() as u8 + 1), None);
    }

    #[test]
    fn nn_isa_caps_the_level_and_never_raises_it() {
        assert_eq!(capped(Level::Avx2, None), Level::Avx2);
        assert_eq!(capped(Level::Avx2, Some("")), Level::Avx2);
        assert_eq!(capped(Level::Avx2, Some(" avx2 ")), Level::Avx2);
        assert_eq!(capped(Level::Avx2, Some("portable")), Level::Portable);
        assert_eq!(capped(Level::Avx2, Some("Portable")), Level::Portable);
        assert_eq!(capped(Level::Portable, Some("avx2")), Level::Portable);
        assert_eq!(capped(Level::Portable, Some("portable")), Level::Portable);
        assert_eq!(capped(Level::Avx512, None), Level::Avx512);
        assert_eq!(capped(Level::Avx512, Some("AVX512")), Level::Avx512);
        assert_eq!(capped(Level::Avx512, Some("avx2")), Level::Avx2);
        assert_eq!(capped(Level::Avx512, Some("portable")), Level::Portable);
        assert_eq!(capped(Level::Avx2, Some("avx512")), Level::Avx2);
    }

    #[test]
    #[should_panic(
        expected = "NN_ISA=\"sse2\" names no instruction-set level of nn's kernels: set it to \
                    one of [\"portable\", \"avx2\", \"avx512\"]"
    )]
    fn an_unknown_nn_isa_is_an_error_naming_the_levels() {
        let _ = capped(Level::Avx2, Some("sse2"));
    }

    /// Runs this test binary again, on `test` alone, with `NN_ISA` set: a new process, so
    /// that `level` reads it. Returns whether the run passed, and its output.
    fn child(test: &str, nn_isa: &str) -> (bool, std::string::String) {
        let out = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", test, "--test-threads", "1", "--nocapture"])
            .env("NN_ISA", nn_isa)
            .env("NN_ISA_CHILD", "1")
            .output()
            .expect("the test binary runs");
        let text = std::format!(
            "{}{}",
            std::string::String::from_utf8_lossy(&out.stdout),
            std::string::String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// The process-wide level honours `NN_ISA` (checked in child processes).
    #[test]
    fn nn_isa_sets_the_level_of_the_process() {
        let this = "kernels::dispatch::tests::nn_isa_sets_the_level_of_the_process";
        if std::env::var_os("NN_ISA_CHILD").is_some() {
            std::println!("child: level {:?}", level());
            return;
        }
        let (passed, out) = child(this, "portable");
        assert!(passed && out.contains("child: level Portable"), "{out}");
        let (passed, out) = child(this, "mmx");
        assert!(!passed && out.contains("NN_ISA=\"mmx\" names no"), "{out}");
    }
}
