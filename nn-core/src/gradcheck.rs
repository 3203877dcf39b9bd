//! Finite-difference gradient checks, for layers, losses and whole generated models.
//!
//! The checker compares an analytic gradient with central differences
//! `(f(θ + h) − f(θ − h)) / 2h`, accumulating the objective in `f64`, and reports the worst
//! mixed error `|a − n| / (atol + |n|)`.

use crate::model::Model;
use crate::rng::Rng;
use alloc::vec::Vec;

/// Result of a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// Number of gradient entries compared.
    pub checked: usize,
    /// Entries skipped because a kink (e.g. ReLU at 0) lies within the step: there the
    /// one-sided differences disagree and no finite difference is meaningful.
    pub skipped: usize,
    /// Largest `|analytic − numeric| / (atol + |numeric|)` seen.
    pub max_error: f64,
    /// Where it was: `(parameter index, analytic, numeric)`.
    pub worst: (usize, f64, f64),
    /// The pass threshold on `max_error`.
    pub tolerance: f64,
}

impl GradCheck {
    /// Whether every compared entry is within tolerance, something was compared, and at
    /// most one entry in five had to be skipped.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.checked > 0 && self.skipped * 4 <= self.checked && self.max_error <= self.tolerance
    }
}

impl core::fmt::Display for GradCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (i, a, n) = self.worst;
        write!(
            f,
            "{} ({} entries, {} skipped at kinks, max error {:.2e} <= {:.0e}; worst at parameter {i}: analytic {a:.6e}, numeric {n:.6e})",
            if self.passed() { "gradient check passed" } else { "gradient check FAILED" },
            self.checked,
            self.skipped,
            self.max_error,
            self.tolerance
        )
    }
}

/// Compares `analytic[i]` with central differences of `objective` at `point` for each index
/// in `indices`. `objective` is evaluated at perturbed copies of `point`.
pub fn check(
    point: &[f32],
    analytic: &[f32],
    indices: impl IntoIterator<Item = usize>,
    h: f32,
    tolerance: f64,
    mut objective: impl FnMut(&[f32]) -> f64,
) -> GradCheck {
    let atol = 1e-2;
    let mut work = point.to_vec();
    let mut report = GradCheck {
        checked: 0,
        skipped: 0,
        max_error: 0.0,
        worst: (0, 0.0, 0.0),
        tolerance,
    };
    let center = objective(&work);
    for i in indices {
        let original = work[i];
        work[i] = original + h;
        let plus = objective(&work);
        work[i] = original - h;
        let minus = objective(&work);
        work[i] = original;
        // The actual steps, after f32 rounding of original ± h.
        let (up, down) = (
            f64::from(original + h) - f64::from(original),
            f64::from(original) - f64::from(original - h),
        );
        let (forward, backward) = ((plus - center) / up, (center - minus) / down);
        if (forward - backward).abs() > 0.05 * (forward.abs() + backward.abs()) + atol {
            report.skipped += 1;
            continue;
        }
        let numeric = (plus - minus) / (up + down);
        let a = f64::from(analytic[i]);
        let err = (a - numeric).abs() / (atol + numeric.abs());
        report.checked += 1;
        if err > report.max_error || report.checked == 1 {
            report.max_error = report.max_error.max(err);
            report.worst = (i, a, numeric);
        }
    }
    report
}

/// Gradient check of a whole model: objective `sum(r ⊙ logits)` over a few random samples,
/// with a random non-uniform `r`, so a backward pass that ignores its upstream gradient
/// fails. Checks up to 300 parameters spread over every tensor.
pub fn check_model<M: Model>(model: &M, seed: u64) -> GradCheck {
    let mut rng = Rng::new(seed);
    let batch = 3;
    let x: Vec<f32> = (0..batch * M::INPUT)
        .map(|_| rng.uniform(-1.0, 1.0))
        .collect();
    let r: Vec<f32> = (0..batch * M::OUTPUT)
        .map(|_| rng.uniform(0.5, 1.5) * if rng.next_f32() < 0.5 { -1.0 } else { 1.0 })
        .collect();
    let mut ws = M::workspace();
    let mut params = model.params().to_vec();
    let mut probe = M::init(0);
    probe.params_mut().copy_from_slice(&params);

    let logits_len = batch * M::OUTPUT;
    let _ = probe.forward_batch(&mut ws, &x, batch, None);
    let mut d = r.clone();
    let mut grads = alloc::vec![0.0; M::PARAMS];
    probe.backward_batch(&mut ws, &x, &mut d, &mut grads, batch);

    let step = (M::PARAMS / 300).max(1);
    let indices: Vec<usize> = (0..M::PARAMS).step_by(step).collect();
    let mut objective = |p: &[f32]| {
        probe.params_mut().copy_from_slice(p);
        let logits = probe.forward_batch(&mut ws, &x, batch, None);
        logits[..logits_len]
            .iter()
            .zip(&r)
            .map(|(l, r)| f64::from(*l) * f64::from(*r))
            .sum::<f64>()
    };
    let report = check(&params, &grads, indices, 1e-2, 1e-3, &mut objective);
    params.clear();
    report
}
