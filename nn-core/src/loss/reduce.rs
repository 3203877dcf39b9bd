//! Reductions of per-element and per-row losses to the mean over a batch, with the
//! gradient of that mean.

/// A loss of one prediction `p` against one target `t`, and its derivative in `p`.
#[derive(Clone, Copy)]
pub(super) struct Pointwise {
    pub(super) loss: fn(f32, f32) -> f32,
    pub(super) grad: fn(f32, f32) -> f32,
}

/// A loss of one row of predictions against its targets (a row of the same width, or one
/// class index), and its gradient in the predictions (written into a row of `d`).
#[derive(Clone, Copy)]
pub(super) struct Rowwise {
    pub(super) loss: fn(&[f32], &[f32]) -> f32,
    pub(super) grad: fn(&[f32], &[f32], &mut [f32]),
}

/// Mean of `f.loss` over all elements; when `d` is given, writes `f.grad / elements` into it.
pub(super) fn mean_elementwise(
    pred: &[f32],
    target: &[f32],
    d: Option<&mut [f32]>,
    f: Pointwise,
) -> f32 {
    debug_assert_eq!(pred.len(), target.len(), "predictions and targets lengths");
    if pred.is_empty() {
        return 0.0;
    }
    let scale = 1.0 / pred.len() as f32;
    if let Some(d) = d {
        debug_assert_eq!(d.len(), pred.len(), "gradient length");
        for ((d, &p), &t) in d.iter_mut().zip(pred).zip(target) {
            *d = (f.grad)(p, t) * scale;
        }
    }
    let sum: f64 = pred
        .iter()
        .zip(target)
        .map(|(&p, &t)| f64::from((f.loss)(p, t)))
        .sum();
    (sum / pred.len() as f64) as f32
}

/// Mean of `f.loss` over rows of `width` predictions, each against `target_width` target
/// values; when `d` is given, writes `f.grad / rows` into it.
pub(super) fn mean_rowwise(
    pred: &[f32],
    targets: &[f32],
    width: usize,
    target_width: usize,
    d: Option<&mut [f32]>,
    f: Rowwise,
) -> f32 {
    debug_assert!(
        width > 0 && pred.len().is_multiple_of(width),
        "predictions are not whole rows of {width}"
    );
    if pred.is_empty() || width == 0 {
        return 0.0;
    }
    let rows = pred.len() / width;
    debug_assert_eq!(targets.len(), rows * target_width, "targets length");
    let pred_rows = pred.chunks_exact(width);
    let target_rows = targets.chunks_exact(target_width);
    if let Some(d) = d {
        debug_assert_eq!(d.len(), pred.len(), "gradient length");
        let scale = 1.0 / rows as f32;
        for ((d, p), t) in d
            .chunks_exact_mut(width)
            .zip(pred_rows.clone())
            .zip(target_rows.clone())
        {
            (f.grad)(p, t, d);
            for d in d {
                *d *= scale;
            }
        }
    }
    let sum: f64 = pred_rows
        .zip(target_rows)
        .map(|(p, t)| f64::from((f.loss)(p, t)))
        .sum();
    (sum / rows as f64) as f32
}

/// Mean over all elements of `f(p, t).0`, a loss that may carry settings (Huber's delta);
/// when `d` is given, writes `f(p, t).1 / elements` (its derivative in `p`) into it.
pub(super) fn mean_pointwise(
    pred: &[f32],
    target: &[f32],
    d: Option<&mut [f32]>,
    f: impl Fn(f32, f32) -> (f32, f32),
) -> f32 {
    debug_assert_eq!(pred.len(), target.len(), "predictions and targets lengths");
    if pred.is_empty() {
        return 0.0;
    }
    let scale = 1.0 / pred.len() as f32;
    let mut sum = 0.0f64;
    match d {
        Some(d) => {
            debug_assert_eq!(d.len(), pred.len(), "gradient length");
            for ((d, &p), &t) in d.iter_mut().zip(pred).zip(target) {
                let (loss, grad) = f(p, t);
                sum += f64::from(loss);
                *d = grad * scale;
            }
        }
        None => {
            for (&p, &t) in pred.iter().zip(target) {
                sum += f64::from(f(p, t).0);
            }
        }
    }
    (sum / pred.len() as f64) as f32
}
