//! Finite-difference gradient checks, for layers, losses and whole generated models.
//!
//! The checker compares an analytic gradient with central differences
//! `(f(θ + h) − f(θ − h)) / 2h`, accumulating the objective in `f64`, and reports the worst
//! mixed error `|a − n| / (atol + |n|)`. Models are checked with respect to their parameters
//! ([`check_model`]) and their input ([`check_model_input`]).

use crate::model::Model;
use crate::rng::Rng;
use crate::tape::Tape;
use alloc::vec::Vec;

/// Result of a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// Number of gradient entries compared.
    pub checked: usize,
    /// Entries skipped because a kink (e.g. ReLU at 0) lies within the step: there the
    /// estimates with step `h` and `h/2` disagree and no finite difference is meaningful.
    pub skipped: usize,
    /// Largest error seen: `|analytic − numeric| / max(|numeric|, floor)`, i.e. the relative
    /// error, or for entries below `floor` the absolute error in units of `floor`.
    pub max_error: f64,
    /// Gradients smaller than this are compared in absolute terms: the larger of 1% of the
    /// largest gradient and the level f32 rounding noise allows to resolve.
    pub floor: f64,
    /// Where the worst error was: `(index of the parameter or input value, analytic, numeric)`.
    pub worst: (usize, f64, f64),
    /// The pass threshold on `max_error`.
    pub tolerance: f64,
}

impl GradCheck {
    /// Whether every compared entry is within tolerance, something was compared, and at
    /// most a third of the entries had to be skipped at kinks.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.checked > 0 && self.skipped * 2 <= self.checked && self.max_error <= self.tolerance
    }
}

impl core::fmt::Display for GradCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (i, a, n) = self.worst;
        write!(
            f,
            "{} ({} entries, {} skipped at kinks, max error {:.2e} (limit {:.0e}, floor {:.1e}); \
             worst at index {i}: analytic {a:.6e}, numeric {n:.6e})",
            if self.passed() {
                "gradient check passed"
            } else {
                "gradient check FAILED"
            },
            self.checked,
            self.skipped,
            self.max_error,
            self.tolerance,
            self.floor
        )
    }
}

/// Compares `analytic[i]` with a finite-difference derivative of `objective` at `point` for
/// each index in `indices`.
///
/// The derivative is Richardson's extrapolation of central differences with steps `h` and
/// `h/2` (error `O(h⁴)` for smooth functions). A kink within the step (ReLU at 0) shows as
/// one-sided slopes or step sizes that disagree; such entries, and entries that miss the
/// tolerance, are measured again with the step divided by 8: an error that a kink caused
/// shrinks with the step, a wrong gradient does not. Entries still at a kink are skipped.
/// `noise` is the absolute rounding error of one `objective` value (e.g. `f32::EPSILON`
/// times the sum of the magnitudes of its terms); gradients too small to resolve above it are
/// compared in absolute terms.
pub fn check(
    point: &[f32],
    analytic: &[f32],
    indices: impl IntoIterator<Item = usize>,
    h: f32,
    tolerance: f64,
    noise: f64,
    mut objective: impl FnMut(&[f32]) -> f64,
) -> GradCheck {
    let indices: Vec<usize> = indices.into_iter().collect();
    let outcomes = entries(
        point,
        analytic,
        &indices,
        h,
        tolerance,
        noise,
        &mut objective,
    );
    let mut report = GradCheck::new(tolerance, floor(analytic, &indices, h, tolerance, noise));
    for outcome in outcomes {
        report.record(outcome);
    }
    report
}

/// What the check found for one entry.
#[derive(Clone, Copy)]
enum Outcome {
    /// `(index, analytic, numeric, error)`, within tolerance or not.
    Compared(usize, f64, f64, f64),
    /// A kink within every step tried.
    Kink(usize),
}

impl GradCheck {
    fn new(tolerance: f64, floor: f64) -> Self {
        Self {
            checked: 0,
            skipped: 0,
            max_error: 0.0,
            floor,
            worst: (0, 0.0, 0.0),
            tolerance,
        }
    }

    fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Compared(i, a, n, err) => {
                self.checked += 1;
                if err >= self.max_error {
                    self.max_error = err;
                    self.worst = (i, a, n);
                }
            }
            Outcome::Kink(_) => self.skipped += 1,
        }
    }
}

/// Gradients smaller than this are compared in absolute terms: rounding noise in a
/// difference quotient with step `h` is about 2·noise/h, and an entry needs to stand clearly
/// above it (by 4/tolerance) to be judged relatively.
fn floor(analytic: &[f32], indices: &[usize], h: f32, tolerance: f64, noise: f64) -> f64 {
    let scale = indices
        .iter()
        .map(|&i| f64::from(analytic[i]).abs())
        .fold(0.0, f64::max);
    (1e-2 * scale)
        .max(8.0 * noise / f64::from(h) / tolerance)
        .max(f64::MIN_POSITIVE)
}

/// The outcome for each entry; failures and kinks at step `h` are measured again at `h/8`.
fn entries(
    point: &[f32],
    analytic: &[f32],
    indices: &[usize],
    h: f32,
    tolerance: f64,
    noise: f64,
    objective: &mut impl FnMut(&[f32]) -> f64,
) -> Vec<Outcome> {
    let mut work = point.to_vec();
    let center = objective(&work);
    let (coarse_floor, fine_floor) = (
        floor(analytic, indices, h, tolerance, noise),
        floor(analytic, indices, h / 8.0, tolerance, noise),
    );
    indices
        .iter()
        .map(|&i| {
            let a = f64::from(analytic[i]);
            let error = |numeric: f64, floor: f64| (a - numeric).abs() / numeric.abs().max(floor);
            match derivative(&mut work, i, h, center, noise, objective) {
                Some(n) if error(n, coarse_floor) <= tolerance => {
                    Outcome::Compared(i, a, n, error(n, coarse_floor))
                }
                _ => match derivative(&mut work, i, h / 8.0, center, noise, objective) {
                    Some(n) => Outcome::Compared(i, a, n, error(n, fine_floor)),
                    None => Outcome::Kink(i),
                },
            }
        })
        .collect()
}

/// Richardson-extrapolated derivative of `objective` in coordinate `i` with steps `h` and
/// `h/2`, or `None` when a kink lies within the step.
fn derivative(
    work: &mut [f32],
    i: usize,
    h: f32,
    center: f64,
    noise: f64,
    objective: &mut impl FnMut(&[f32]) -> f64,
) -> Option<f64> {
    // (f(x + step), f(x - step), the actual steps up and down after f32 rounding).
    let mut probe = |step: f32| {
        let original = work[i];
        let (up, down) = (original + step, original - step);
        work[i] = up;
        let plus = objective(work);
        work[i] = down;
        let minus = objective(work);
        work[i] = original;
        (
            plus,
            minus,
            f64::from(up) - f64::from(original),
            f64::from(original) - f64::from(down),
        )
    };
    let (p1, m1, u1, d1) = probe(h);
    let (p2, m2, u2, d2) = probe(h / 2.0);
    let coarse = (p1 - m1) / (u1 + d1);
    let fine = (p2 - m2) / (u2 + d2);
    // The jump between the one-sided slopes is `step · f''` for a smooth function, so it
    // doubles from step h/2 to step h; across a kink near x it stays about the change in
    // slope. Step sizes that disagree beyond smooth curvature reveal a kink further out.
    let quotient_noise = 8.0 * noise / f64::from(h);
    let jump_fine = (p2 - center) / u2 - (center - m2) / d2;
    let jump_coarse = (p1 - center) / u1 - (center - m1) / d1;
    let kink_near =
        (jump_coarse - 2.0 * jump_fine).abs() > 0.02 * jump_coarse.abs() + quotient_noise;
    let kink_far = (coarse - fine).abs() > 1e-3 * fine.abs() + quotient_noise;
    (!kink_near && !kink_far).then_some((4.0 * fine - coarse) / 3.0)
}

/// Gradient check of a whole model: objective `sum(r ⊙ logits)` over three random samples
/// (token ids for a model that starts with an embedding), with a random non-uniform `r`, so
/// a backward pass that ignores its upstream gradient fails; in inference mode, then in
/// training mode (dropout active with fixed masks, batch normalisation on batch
/// statistics), as `fit` runs it. Checks about 300 parameters per
/// mode, spread over every tensor, with relative tolerance 1e-3. Entries that fail or sit at
/// a kink are checked again on up to two fresh random batches: a kink depends on the input,
/// a wrong gradient does not.
pub fn check_model<M: Model>(model: &M, seed: u64) -> GradCheck {
    let inference = check_model_mode(model, seed, false, Wrt::Params);
    let training = check_model_mode(model, seed, true, Wrt::Params);
    let worse = if training.max_error > inference.max_error {
        &training
    } else {
        &inference
    };
    GradCheck {
        checked: inference.checked + training.checked,
        skipped: inference.skipped + training.skipped,
        max_error: worse.max_error,
        floor: worse.floor,
        worst: worse.worst,
        tolerance: inference.tolerance,
    }
}

/// The gradient check of [`check_model`] as a method of every [`Model`]: the one-line
/// gradient check for `cargo test`.
///
/// ```ignore
/// use nn::prelude::*;
/// assert!(MyNet::new(0).check_gradients(1).passed());
/// ```
///
/// Implemented for every model; `use nn::prelude::*` brings it into scope.
pub trait CheckGradients: Model {
    /// Checks the model's backward pass against central finite differences on a few random
    /// samples (see [`check_model`]).
    fn check_gradients(&self, seed: u64) -> GradCheck {
        check_model(self, seed)
    }

    /// Checks the gradient with respect to the model's input against central finite
    /// differences (see [`check_model_input`]).
    fn check_input_gradients(&self, seed: u64) -> GradCheck {
        check_model_input(self, seed)
    }
}

impl<M: Model> CheckGradients for M {}

/// `batch` random inputs for `M`: token ids when its first layer takes them (an
/// embedding's), else values uniform in `[-1, 1)`.
fn sample_inputs<M: Model>(rng: &mut Rng, batch: usize) -> Vec<f32> {
    let ids = M::LAYERS.first().and_then(|l| l.ids);
    (0..batch * M::INPUT)
        .map(|_| match ids {
            #[allow(clippy::cast_precision_loss)]
            Some(n) => rng.below(n) as f32,
            None => rng.uniform(-1.0, 1.0),
        })
        .collect()
}

/// What a model check differentiates with respect to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wrt {
    Params,
    Input,
}

/// Gradient check of a whole model **with respect to its input**: the same objective,
/// modes, sampling and retries as [`check_model`], the input values as the variables (all
/// of them up to 300, spread over the batch), the backward pass asked for the input
/// gradient alone (the model frozen: no parameter gradients). A model that starts with an
/// embedding takes token ids, which have no gradient: nothing is compared, and the report
/// does not pass.
pub fn check_model_input<M: Model>(model: &M, seed: u64) -> GradCheck {
    if M::LAYERS.first().and_then(|l| l.ids).is_some() {
        return GradCheck::new(1e-3, 0.0);
    }
    let inference = check_model_mode(model, seed, false, Wrt::Input);
    let training = check_model_mode(model, seed, true, Wrt::Input);
    let worse = if training.max_error > inference.max_error {
        &training
    } else {
        &inference
    };
    GradCheck {
        checked: inference.checked + training.checked,
        skipped: inference.skipped + training.skipped,
        max_error: worse.max_error,
        floor: worse.floor,
        worst: worse.worst,
        tolerance: inference.tolerance,
    }
}

#[allow(clippy::too_many_lines)]
fn check_model_mode<M: Model>(model: &M, seed: u64, training: bool, wrt: Wrt) -> GradCheck {
    const ATTEMPTS: usize = 3;
    let (h, tolerance) = (1e-2, 1e-3);
    let mut rng = Rng::new(seed);
    let batch = 3;
    let params = model.params().to_vec();
    let mut probe = M::init(0);
    probe.params_mut().copy_from_slice(&params);
    probe.state_mut().copy_from_slice(model.state());
    let mut tape = Tape::new();
    let mut grads = alloc::vec![0.0; M::PARAMS];
    let mut dx = alloc::vec![0.0; batch * M::INPUT];

    let variables = match wrt {
        Wrt::Params => M::PARAMS,
        Wrt::Input => batch * M::INPUT,
    };
    let mut pending: Vec<usize> = (0..variables).step_by((variables / 300).max(1)).collect();
    let mut report = None;
    for attempt in 0..ATTEMPTS {
        let x = sample_inputs::<M>(&mut rng, batch);
        let r: Vec<f32> = (0..batch * M::OUTPUT)
            .map(|_| rng.uniform(0.5, 1.5) * if rng.next_f32() < 0.5 { -1.0 } else { 1.0 })
            .collect();
        probe.params_mut().copy_from_slice(&params);
        // In training mode, every evaluation draws the same dropout masks.
        let masks = Rng::new(seed ^ 0x5eed);
        let mut rng = training.then(|| masks.clone());
        let logits = probe.forward_batch(&mut tape, &x, batch, rng.as_mut().into());
        // Rounding noise of the objective: f32 precision of each term, summed.
        let magnitude: f64 = logits
            .iter()
            .zip(&r)
            .map(|(l, r)| f64::from((l * r).abs()))
            .sum();
        let noise = f64::from(f32::EPSILON) * (magnitude + 1.0);
        let mut d = r.clone();
        let (point, analytic): (&[f32], &[f32]) = match wrt {
            Wrt::Params => {
                probe.backward_batch(&mut tape, &x, &mut d, Some(&mut grads), None);
                (&params, &grads)
            }
            Wrt::Input => {
                probe.backward_batch(&mut tape, &x, &mut d, None, Some(&mut dx));
                (&x, &dx)
            }
        };
        let report = report.get_or_insert_with(|| {
            GradCheck::new(tolerance, floor(analytic, &pending, h, tolerance, noise))
        });
        let mut objective = |v: &[f32]| {
            let input = match wrt {
                Wrt::Params => {
                    probe.params_mut().copy_from_slice(v);
                    &x[..]
                }
                Wrt::Input => v,
            };
            let mut rng = training.then(|| masks.clone());
            let logits = probe.forward_batch(&mut tape, input, batch, rng.as_mut().into());
            logits
                .iter()
                .zip(&r)
                .map(|(l, r)| f64::from(*l) * f64::from(*r))
                .sum::<f64>()
        };
        let last = attempt + 1 == ATTEMPTS;
        let mut retry = Vec::new();
        for outcome in entries(
            point,
            analytic,
            &pending,
            h,
            tolerance,
            noise,
            &mut objective,
        ) {
            match outcome {
                Outcome::Compared(_, _, _, err) if err <= tolerance || last => {
                    report.record(outcome)
                }
                Outcome::Kink(_) if last => report.record(outcome),
                Outcome::Compared(i, ..) | Outcome::Kink(i) => retry.push(i),
            }
        }
        pending = retry;
        if pending.is_empty() {
            break;
        }
    }
    report.unwrap_or_else(|| GradCheck::new(tolerance, 0.0))
}
