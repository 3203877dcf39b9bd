//! The optimizers' element-wise updates over the flat parameter buffer (Adam and AdamW,
//! RMSprop), split across the pool's threads and run at the chosen [`Level`](super::Level).
//!
//! The loops here are the portable definitions, used by the portable and AVX2 levels: plain
//! multiplies, adds, a square root and a division per parameter, as `torch.optim` writes
//! them, never fused, so those levels give identical results. The AVX-512 level computes
//! the moments the same way but replaces the square root and the division, which share one
//! slow divider and bounded the update, by refined reciprocal estimates (see `avx512.rs`):
//! its parameters are within a few units in the last place of these.
//!
//! Every parameter is updated from its own values only, so any split of the buffer between
//! threads gives the same result as one thread.

use super::dispatch;
use crate::math::sqrt;

/// The effective gradient of one step, applied element by element: clipped to `±limit`,
/// scaled (global norm clipping), plus the L2 penalty `weight_decay * p`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GradTransform {
    /// Largest allowed `|g|` (infinity: no clipping).
    pub(crate) limit: f32,
    /// Factor of the clipped gradient (1 unless clipped by norm).
    pub(crate) scale: f32,
    /// L2 penalty coefficient.
    pub(crate) weight_decay: f32,
    /// Whether the AVX-512 level flushes subnormal values to zero in the update (see the
    /// optimizers' `flush_subnormals`); the other levels ignore it (a build without that
    /// level never reads it).
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    pub(crate) flush: bool,
}

impl GradTransform {
    /// Clipped gradient plus L2 penalty, for gradient component `g` of parameter `p`.
    #[inline(always)]
    pub(crate) fn apply(self, g: f32, p: f32) -> f32 {
        g.clamp(-self.limit, self.limit) * self.scale + self.weight_decay * p
    }
}

/// The constants of one Adam step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep {
    /// The effective gradient.
    pub(crate) grad: GradTransform,
    /// Decay of the first moment.
    pub(crate) beta1: f32,
    /// Decay of the second moment.
    pub(crate) beta2: f32,
    /// Bias correction of the first moment, `1 / (1 - beta1^t)`.
    pub(crate) c1: f32,
    /// Bias correction of the second moment, `1 / (1 - beta2^t)`.
    pub(crate) c2: f32,
    /// Added to the root of the second moment.
    pub(crate) epsilon: f32,
    /// Learning rate.
    pub(crate) lr: f32,
    /// Factor applied to every parameter first (AdamW's decoupled decay, 1 for Adam).
    pub(crate) decay: f32,
}

/// The constants of one RMSprop step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RmsPropStep {
    /// The effective gradient.
    pub(crate) grad: GradTransform,
    /// Decay of the mean square.
    pub(crate) rho: f32,
    /// Added to the root mean square.
    pub(crate) epsilon: f32,
    /// Learning rate.
    pub(crate) lr: f32,
    /// Momentum factor (the buffer is used only when it is not 0).
    pub(crate) momentum: f32,
}

/// Adam's update (PyTorch's rule; `k` is `[beta1, beta2, c1, c2, epsilon, lr, decay]`, see
/// [`AdamStep`]): for each parameter, with `g` the effective gradient,
/// `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`,
/// `p = p * decay - lr (m c1) / (sqrt(v c2) + eps)`.
///
/// # Panics
/// If the four slices differ in length.
pub(crate) fn adam_update(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    grad: GradTransform,
    k: [f32; 7],
) {
    let n = params.len();
    assert!(
        grads.len() == n && m.len() == n && v.len() == n,
        "adam_update: slices of different lengths"
    );
    let [beta1, beta2, c1, c2, epsilon, lr, decay] = k;
    let s = AdamStep {
        grad,
        beta1,
        beta2,
        c1,
        c2,
        epsilon,
        lr,
        decay,
    };
    split(super::in_parallel(), (params, grads, m, v), &|(
        p,
        g,
        m,
        v,
    )| {
        dispatch::adam(p, g, m, v, s)
    });
}

/// RMSprop's update (PyTorch's rule, not centered; `k` is `[rho, epsilon, lr, momentum]`,
/// see [`RmsPropStep`]): `v = rho v + (1 - rho) g²`; then without momentum
/// `p -= lr g / (sqrt(v) + eps)`, with it (`buf` given) `b = momentum b + g / (sqrt(v) +
/// eps)` and `p -= lr b`.
///
/// # Panics
/// If the slices differ in length.
pub(crate) fn rmsprop_update(
    params: &mut [f32],
    grads: &[f32],
    v: &mut [f32],
    buf: Option<&mut [f32]>,
    grad: GradTransform,
    k: [f32; 4],
) {
    let n = params.len();
    assert!(
        grads.len() == n && v.len() == n && buf.as_ref().is_none_or(|b| b.len() == n),
        "rmsprop_update: slices of different lengths"
    );
    let [rho, epsilon, lr, momentum] = k;
    let s = RmsPropStep {
        grad,
        rho,
        epsilon,
        lr,
        momentum,
    };
    split(super::in_parallel(), (params, grads, v, buf), &|(
        p,
        g,
        v,
        b,
    )| {
        dispatch::rmsprop(p, g, v, b, s)
    });
}

/// The optimizer of a fused product ([`dispatch::tn_update`]): its step's constants and
/// buffers, as long as the parameters updated.
#[cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    allow(dead_code, reason = "read by the AVX-512 level only")
)]
pub(super) enum Rule<'a> {
    /// Adam: the step, the first and the second moments.
    Adam(AdamStep, &'a mut [f32], &'a mut [f32]),
    /// RMSprop: the step, the mean squares and the momentum buffer (when used).
    RmsProp(RmsPropStep, &'a mut [f32], Option<&'a mut [f32]>),
}

/// The constants of one step of an element-wise rule.
#[derive(Clone, Copy, Debug)]
enum Step {
    Adam(AdamStep),
    RmsProp(RmsPropStep),
}

/// One optimizer step, begun by [`Optimizer::begin_update`](crate::optim::Optimizer::begin_update)
/// and applied piece by piece: each parameter is updated from its own gradient, so the
/// pieces can be updated as soon as their gradients are known, in any order, with the
/// results of one [`Optimizer::step`](crate::optim::Optimizer::step) over the whole buffer.
/// The training passes apply it layer by layer during the backward pass (a dense layer's
/// weights tile by tile, while each tile of the gradient is still in registers), so the
/// gradient is never written out and read back.
///
/// It holds the optimizer's buffers (moments, mean squares) for the parameters it covers;
/// [`range`](Self::range) narrows it to a part of them.
#[derive(Debug)]
pub struct ParamUpdate<'a> {
    step: Step,
    first: &'a mut [f32],
    second: Option<&'a mut [f32]>,
}

impl<'a> ParamUpdate<'a> {
    /// Adam's step `s` over the moments `m` and `v` (of equal length).
    pub(crate) fn adam(s: AdamStep, m: &'a mut [f32], v: &'a mut [f32]) -> Self {
        assert_eq!(
            m.len(),
            v.len(),
            "ParamUpdate: moments of different lengths"
        );
        ParamUpdate {
            step: Step::Adam(s),
            first: m,
            second: Some(v),
        }
    }

    /// RMSprop's step `s` over the mean squares `v` and the momentum buffer `buf` (when
    /// used; of the same length).
    pub(crate) fn rmsprop(s: RmsPropStep, v: &'a mut [f32], buf: Option<&'a mut [f32]>) -> Self {
        assert!(
            buf.as_ref().is_none_or(|b| b.len() == v.len()),
            "ParamUpdate: buffers of different lengths"
        );
        ParamUpdate {
            step: Step::RmsProp(s),
            first: v,
            second: buf,
        }
    }

    /// The number of parameters covered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Whether it covers no parameter.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// The same step for the `len` parameters from `offset` (of those covered).
    ///
    /// # Panics
    /// If that range is not inside the parameters covered.
    pub fn range(&mut self, offset: usize, len: usize) -> ParamUpdate<'_> {
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= self.len())
            .expect("ParamUpdate::range: outside the parameters covered");
        ParamUpdate {
            step: self.step,
            first: &mut self.first[offset..end],
            second: self.second.as_deref_mut().map(|s| &mut s[offset..end]),
        }
    }

    /// The same step for the first `mid` parameters covered, and for the rest.
    ///
    /// # Panics
    /// If `mid` is more than the parameters covered.
    pub(crate) fn split_at(&mut self, mid: usize) -> (ParamUpdate<'_>, ParamUpdate<'_>) {
        let (f0, f1) = self.first.split_at_mut(mid);
        let (s0, s1) = match self.second.as_deref_mut() {
            Some(s) => {
                let (s0, s1) = s.split_at_mut(mid);
                (Some(s0), Some(s1))
            }
            None => (None, None),
        };
        (
            ParamUpdate {
                step: self.step,
                first: f0,
                second: s0,
            },
            ParamUpdate {
                step: self.step,
                first: f1,
                second: s1,
            },
        )
    }

    /// Updates `params` from their gradients `grads` (all three of the same length).
    ///
    /// # Panics
    /// If `params`, `grads` and the parameters covered differ in length.
    pub fn apply(&mut self, params: &mut [f32], grads: &[f32]) {
        let n = self.len();
        assert!(
            params.len() == n && grads.len() == n,
            "ParamUpdate::apply: {} parameters and {} gradients for an update of {n}",
            params.len(),
            grads.len()
        );
        match self.step {
            Step::Adam(s) => {
                let v = self.second.as_deref_mut().expect("Adam has two moments");
                split(
                    super::in_parallel(),
                    (params, grads, &mut *self.first, v),
                    &|(p, g, m, v)| dispatch::adam(p, g, m, v, s),
                );
            }
            Step::RmsProp(s) => {
                let buf = self.second.as_deref_mut();
                split(
                    super::in_parallel(),
                    (params, grads, &mut *self.first, buf),
                    &|(p, g, v, b)| dispatch::rmsprop(p, g, v, b, s),
                );
            }
        }
    }

    /// The rule for [`dispatch::tn_update`] over this update's buffers.
    pub(super) fn rule(&mut self) -> Rule<'_> {
        match self.step {
            Step::Adam(s) => Rule::Adam(
                s,
                &mut *self.first,
                self.second.as_deref_mut().expect("Adam has two moments"),
            ),
            Step::RmsProp(s) => Rule::RmsProp(s, &mut *self.first, self.second.as_deref_mut()),
        }
    }
}

/// The portable Adam loop (see [`adam_update`]). A function of slices (not a closure over
/// them) so that the compiler knows they do not alias and vectorises it.
#[inline(always)]
pub(super) fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
    let AdamStep {
        grad: t,
        beta1: b1,
        beta2: b2,
        c1,
        c2,
        epsilon: eps,
        lr,
        decay,
    } = s;
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = t.apply(g, *p);
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        *p = *p * decay - lr * (*m * c1) / (sqrt(*v * c2) + eps);
    }
}

/// The portable RMSprop loop (see [`rmsprop_update`]).
#[inline(always)]
pub(super) fn rmsprop(
    p: &mut [f32],
    g: &[f32],
    v: &mut [f32],
    buf: Option<&mut [f32]>,
    s: RmsPropStep,
) {
    let RmsPropStep {
        grad: t,
        rho,
        epsilon: eps,
        lr,
        momentum: m,
    } = s;
    match buf {
        None => {
            for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                let g = t.apply(g, *p);
                *v = rho * *v + (1.0 - rho) * g * g;
                *p -= lr * g / (sqrt(*v) + eps);
            }
        }
        Some(buf) => {
            for (((p, &g), v), b) in p.iter_mut().zip(g).zip(v.iter_mut()).zip(buf) {
                let g = t.apply(g, *p);
                *v = rho * *v + (1.0 - rho) * g * g;
                *b = m * *b + g / (sqrt(*v) + eps);
                *p -= lr * *b;
            }
        }
    }
}

/// Slices updated together, split at the same index.
trait Split: Sized {
    /// Elements (of the first slice).
    fn len(&self) -> usize;
    /// The first `mid` elements of each slice, and the rest.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    fn split(self, mid: usize) -> (Self, Self);
}

impl Split for &[f32] {
    fn len(&self) -> usize {
        <[f32]>::len(self)
    }
    fn split(self, mid: usize) -> (Self, Self) {
        self.split_at(mid)
    }
}

impl Split for &mut [f32] {
    fn len(&self) -> usize {
        <[f32]>::len(self)
    }
    fn split(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }
}

impl Split for Option<&mut [f32]> {
    fn len(&self) -> usize {
        self.as_ref().map_or(0, |s| s.len())
    }
    fn split(self, mid: usize) -> (Self, Self) {
        match self {
            Some(s) => {
                let (a, b) = s.split_at_mut(mid);
                (Some(a), Some(b))
            }
            None => (None, None),
        }
    }
}

impl<A: Split, B: Split, C: Split, D: Split> Split for (A, B, C, D) {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn split(self, mid: usize) -> (Self, Self) {
        let (a0, a1) = self.0.split(mid);
        let (b0, b1) = self.1.split(mid);
        let (c0, c1) = self.2.split(mid);
        let (d0, d1) = self.3.split(mid);
        ((a0, b0, c0, d0), (a1, b1, c1, d1))
    }
}

/// Runs `f` on `parts`, split in halves (recursively) across `threads` threads when large
/// enough to pay for it. The callers checked that every slice is as long as the first.
fn split<P: Split + Send>(threads: usize, parts: P, f: &(impl Fn(P) + Sync)) {
    let mid = parts.len() / 2;
    #[cfg(feature = "std")]
    if threads >= 2 && mid >= 16 * 1024 {
        let (first, second) = parts.split(mid);
        let (t0, t1) = (threads / 2, threads - threads / 2);
        super::join(|| split(t0, first, f), || split(t1, second, f));
        return;
    }
    let _ = (threads, mid);
    f(parts);
}
