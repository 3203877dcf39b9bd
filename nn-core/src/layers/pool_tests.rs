//! Max and average pooling against a naive reference, and their gradients against finite
//! differences (one reference serves both); the same for the 1-D and global pools of
//! sequences, against a reference of their own.

use super::{
    AvgPool1D, AvgPool2D, Backward, Forward, GlobalAvgPool1D, GlobalMaxPool1D, Layer, MaxPool1D,
    MaxPool2D, Pass,
};
use crate::rng::Rng;
use std::vec::Vec;

fn forward_batch<L: Layer + Default>(x: &[f32], y: &mut [f32], batch: usize) {
    let f = Forward {
        params: &[],
        state: &mut [],
        x,
        y,
        cache: &mut [],
        scratch: &mut [],
        batch,
    };
    L::default().forward(f, &mut Pass::Eval);
}

fn backward_batch<L: Layer + Default>(
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    batch: usize,
) {
    let mut dy = dy.to_vec();
    L::default().backward(Backward {
        params: &[],
        state: &[],
        x,
        y,
        cache: &[],
        dy: &mut dy,
        dx: Some(dx),
        grads: None,
        scratch: &mut [],
        batch,
        training: false,
    });
}

fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Naive pooling from the formula: `max` or mean over each window, per channel.
fn reference(
    [h, w, c, ph, pw, sh, sw, oh_, ow_]: [usize; 9],
    x: &[f32],
    batch: usize,
    max: bool,
) -> Vec<f32> {
    let _ = h;
    let mut y = Vec::new();
    for s in 0..batch {
        for oh in 0..oh_ {
            for ow in 0..ow_ {
                for ch in 0..c {
                    let vals = (0..ph)
                        .flat_map(|i| (0..pw).map(move |j| (i, j)))
                        .map(|(i, j)| x[((s * h + oh * sh + i) * w + ow * sw + j) * c + ch]);
                    y.push(if max {
                        vals.fold(f32::NEG_INFINITY, f32::max)
                    } else {
                        vals.sum::<f32>() / (ph * pw) as f32
                    });
                }
            }
        }
    }
    y
}

macro_rules! pool_case {
    ($seed:expr; $h:expr, $w:expr, $c:expr, $ph:expr, $pw:expr, $sh:expr, $sw:expr) => {{
        type M = MaxPool2D<$h, $w, $c, $ph, $pw, $sh, $sw>;
        type A = AvgPool2D<$h, $w, $c, $ph, $pw, $sh, $sw>;
        let shape = [$h, $w, $c, $ph, $pw, $sh, $sw, M::OH, M::OW];
        let batch = 2;
        let mut rng = Rng::new($seed);
        let x = random(batch * M::INPUT, &mut rng);
        let mut y = std::vec![f32::NAN; batch * M::OUTPUT];
        forward_batch::<M>(&x, &mut y, batch);
        assert_eq!(y, reference(shape, &x, batch, true), "max {shape:?}");
        forward_batch::<A>(&x, &mut y, batch);
        for (g, w) in y.iter().zip(reference(shape, &x, batch, false)) {
            assert!((g - w).abs() < 1e-6, "avg {shape:?}: {g} vs {w}");
        }
        #[cfg(feature = "alloc")]
        {
            let r = random(batch * M::OUTPUT, &mut rng);
            let mut dx = std::vec![f32::NAN; batch * M::INPUT];
            let mut yb = std::vec![0.0; batch * M::OUTPUT];
            forward_batch::<M>(&x, &mut yb, batch);
            backward_batch::<M>(&x, &yb, &r, &mut dx, batch);
            let objective = |xs: &[f32], max: bool| {
                let mut y = std::vec![0.0; batch * M::OUTPUT];
                if max {
                    forward_batch::<M>(xs, &mut y, batch);
                } else {
                    forward_batch::<A>(xs, &mut y, batch);
                }
                y.iter().zip(&r).map(|(y, r)| f64::from(*y) * f64::from(*r)).sum::<f64>()
            };
            let sum: f32 = yb.iter().zip(&r).map(|(y, r)| (y * r).abs()).sum();
            let noise = f64::from(f32::EPSILON) * f64::from(sum + 1.0);
            // Max pooling is piecewise linear: the differences are exact away from ties,
            // and steps that cross a tie are detected as kinks and skipped.
            let by_input = crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, noise, |xs| {
                objective(xs, true)
            });
            assert!(by_input.passed(), "max {shape:?}: {by_input}");
            backward_batch::<A>(&x, &yb, &r, &mut dx, batch);
            let by_input = crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, noise, |xs| {
                objective(xs, false)
            });
            assert!(by_input.passed(), "avg {shape:?}: {by_input}");
            assert_eq!(by_input.checked, x.len());
        }
    }};
}

#[test]
fn non_overlapping_windows() {
    pool_case!(1; 6, 4, 3, 2, 2, 2, 2);
}

#[test]
fn overlapping_windows_and_floor_mode() {
    // 3 × 3 windows, stride 2, on 7 × 6: the last column is never read.
    pool_case!(2; 7, 6, 2, 3, 3, 2, 2);
}

#[test]
fn rectangular_windows_and_strides() {
    pool_case!(3; 5, 7, 2, 2, 3, 1, 2);
}

/// Windows that tile the image (strides equal to the window) take a path of their own in
/// the backward pass: channels in groups of 16 and a remainder (20), and a last row and
/// column that no window reads (7 × 5), whose gradient must be zero.
#[test]
fn tiling_windows_with_more_than_16_channels() {
    pool_case!(4; 7, 5, 20, 2, 2, 2, 2);
}

#[test]
fn max_ties_go_to_the_first_and_nan_propagates() {
    max_ties_and_nan::<MaxPool2D<2, 2, 1, 2, 2, 1, 1>>();
    // The same window as one that tiles the image.
    max_ties_and_nan::<MaxPool2D<2, 2, 1, 2, 2, 2, 2>>();
}

fn max_ties_and_nan<M: Layer + Default>() {
    let x = [1.0, 3.0, 3.0, 3.0];
    let mut y = [0.0];
    forward_batch::<M>(&x, &mut y, 1);
    let mut dx = [9.0; 4];
    backward_batch::<M>(&x, &y, &[1.0], &mut dx, 1);
    assert_eq!((y, dx), ([3.0], [0.0, 1.0, 0.0, 0.0]));
    let x = [1.0, f32::NAN, 3.0, 0.0];
    forward_batch::<M>(&x, &mut y, 1);
    backward_batch::<M>(&x, &y, &[1.0], &mut dx, 1);
    assert!(y[0].is_nan());
    assert_eq!(dx, [0.0, 1.0, 0.0, 0.0]);
}

/// `2^(bits - 1) + 1` samples of 2 values: `batch * 2` wraps to 2, so slices for one sample
/// looked right for this batch before the sizes were checked, and the pass returned after
/// one sample as if it had done them all.
#[test]
#[should_panic(expected = "MaxPool2D: batch * values per sample overflows usize")]
fn max_backward_rejects_a_batch_whose_sizes_overflow() {
    type Pool = MaxPool2D<1, 2, 1, 1, 1, 1, 1>;
    let (x, y, dy, mut dx) = ([1.0f32; 2], [1.0f32; 2], [1.0f32; 2], [0.0f32; 2]);
    backward_batch::<Pool>(&x, &y, &dy, &mut dx, usize::MAX / 2 + 2);
}

/// Pooling of sequences from the formula: `[batch][l][c]`, windows of `p` steps moved by
/// `s` (a global pool is one window of `l`), max or mean per feature.
fn reference_1d([l, c, p, s]: [usize; 4], x: &[f32], batch: usize, max: bool) -> Vec<f32> {
    let out = (l - p) / s + 1;
    let mut y = Vec::new();
    for n in 0..batch {
        for o in 0..out {
            for ch in 0..c {
                let vals = (0..p).map(|k| x[(n * l + o * s + k) * c + ch]);
                y.push(if max {
                    vals.fold(f32::NEG_INFINITY, f32::max)
                } else {
                    vals.sum::<f32>() / p as f32
                });
            }
        }
    }
    y
}

/// Forward against [`reference_1d`], and the input gradient against finite differences.
fn check_1d<L: Layer + Default>(shape: [usize; 4], max: bool, seed: u64) {
    let batch = 3;
    let mut rng = Rng::new(seed);
    let x = random(batch * L::INPUT, &mut rng);
    let mut y = std::vec![f32::NAN; batch * L::OUTPUT];
    forward_batch::<L>(&x, &mut y, batch);
    let want = reference_1d(shape, &x, batch, max);
    assert_eq!(y.len(), want.len(), "{} {shape:?}", L::KIND);
    for (g, w) in y.iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{} {shape:?}: {g} vs {w}", L::KIND);
    }
    let r = random(batch * L::OUTPUT, &mut rng);
    let mut dx = std::vec![f32::NAN; batch * L::INPUT];
    backward_batch::<L>(&x, &y, &r, &mut dx, batch);
    let objective = |xs: &[f32]| {
        let mut y = std::vec![0.0; batch * L::OUTPUT];
        forward_batch::<L>(xs, &mut y, batch);
        y.iter()
            .zip(&r)
            .map(|(y, r)| f64::from(*y) * f64::from(*r))
            .sum::<f64>()
    };
    let noise = f64::from(f32::EPSILON) * 100.0;
    let by_input = crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, noise, objective);
    assert!(by_input.passed(), "{} {shape:?}: {by_input}", L::KIND);
}

#[test]
fn sequence_pools_match_the_formula_and_finite_differences() {
    check_1d::<MaxPool1D<9, 3, 2, 2>>([9, 3, 2, 2], true, 1);
    check_1d::<AvgPool1D<9, 3, 2, 2>>([9, 3, 2, 2], false, 2);
    // Overlapping windows (stride below the window), floor mode.
    check_1d::<MaxPool1D<10, 2, 3, 2>>([10, 2, 3, 2], true, 3);
    check_1d::<AvgPool1D<10, 2, 3, 2>>([10, 2, 3, 2], false, 4);
    const { assert!(MaxPool1D::<10, 2, 3, 2>::OL == 4 && AvgPool1D::<9, 3, 2, 2>::OL == 4) };
    check_1d::<GlobalMaxPool1D<7, 4>>([7, 4, 7, 7], true, 5);
    check_1d::<GlobalAvgPool1D<7, 4>>([7, 4, 7, 7], false, 6);
    assert_eq!(<GlobalMaxPool1D<7, 4>>::OUTPUT, 4);
}

#[test]
fn global_max_ties_go_to_the_first_step() {
    type G = GlobalMaxPool1D<3, 2>;
    let x = [2.0, 1.0, 2.0, 5.0, -1.0, 5.0];
    let mut y = [0.0; 2];
    forward_batch::<G>(&x, &mut y, 1);
    assert_eq!(y, [2.0, 5.0]);
    let mut dx = [9.0; 6];
    backward_batch::<G>(&x, &y, &[1.0, 2.0], &mut dx, 1);
    assert_eq!(dx, [1.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
}
