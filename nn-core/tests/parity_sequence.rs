//! Sequence layers against PyTorch (float64 fixtures `embedding`, `conv1d_*`): forward
//! outputs, input gradients and weight gradients of `sum(y * dy)`, to 1e-5.
//!
//! The fixtures are PyTorch's layouts: sequences `[N, C, L]` (channels first, as `Conv1d`
//! takes them), conv weights `[out, in, k]`, an embedding's weight `[num_embeddings, dim]`.
//! The layers store sequences `[N][L][C]` (steps × features) and conv weights `[k][in][out]`;
//! the conversions below are the ones weight files and data loaders use.

mod common;

use nn_core::activations::Linear;
use nn_core::layers::{Conv1D, Embedding, Layer};

/// `|a - e| <= 1e-5 * max(1, |e|)`: 1e-5 absolute, relative for values above 1.
const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-5;

/// Largest `|a - e| / max(1, |e|)` (printed with `--nocapture`).
fn worst(actual: &[f32], expected: &[f64]) -> f64 {
    actual
        .iter()
        .zip(expected)
        .map(|(&a, &e)| (f64::from(a) - e).abs() / e.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Checks `actual` against `expected` and prints the largest error.
fn close(what: &str, actual: &[f32], expected: &[f64]) {
    common::assert_close(what, actual, expected, RTOL, ATOL);
    println!("{what}: largest error {:.2e}", worst(actual, expected));
}

/// `[n][c][l]` (PyTorch) to `[n][l][c]` (ours).
fn ncl_to_nlc(t: &[f32], n: usize, c: usize, l: usize) -> Vec<f32> {
    assert_eq!(t.len(), n * c * l);
    let mut out = vec![0.0; t.len()];
    for s in 0..n {
        for ch in 0..c {
            for i in 0..l {
                out[(s * l + i) * c + ch] = t[(s * c + ch) * l + i];
            }
        }
    }
    out
}

/// `[n][l][c]` back to `[n][c][l]`.
fn nlc_to_ncl(t: &[f32], n: usize, c: usize, l: usize) -> Vec<f32> {
    assert_eq!(t.len(), n * c * l);
    let mut out = vec![0.0; t.len()];
    for s in 0..n {
        for ch in 0..c {
            for i in 0..l {
                out[(s * c + ch) * l + i] = t[(s * l + i) * c + ch];
            }
        }
    }
    out
}

/// `[out][in][k]` (PyTorch) to `[k][in][out]` (Keras' kernel, ours), and back.
fn oik_to_kio(t: &[f32], o: usize, i: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0; t.len()];
    for co in 0..o {
        for ci in 0..i {
            for kk in 0..k {
                out[(kk * i + ci) * o + co] = t[(co * i + ci) * k + kk];
            }
        }
    }
    out
}

fn kio_to_oik(t: &[f32], o: usize, i: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0; t.len()];
    for co in 0..o {
        for ci in 0..i {
            for kk in 0..k {
                out[(co * i + ci) * k + kk] = t[(kk * i + ci) * o + co];
            }
        }
    }
    out
}

#[test]
fn layout_conversions_round_trip() {
    let t: Vec<f32> = (0..2 * 4 * 9).map(|v| v as f32).collect();
    assert_eq!(nlc_to_ncl(&ncl_to_nlc(&t, 2, 4, 9), 2, 4, 9), t);
    // The four features of step 0 of sample 0 are adjacent.
    assert_eq!(&ncl_to_nlc(&t, 2, 4, 9)[..4], &[0.0, 9.0, 18.0, 27.0]);
    let k: Vec<f32> = (0..5 * 4 * 3).map(|v| v as f32).collect();
    assert_eq!(kio_to_oik(&oik_to_kio(&k, 5, 4, 3), 5, 4, 3), k);
}

/// Fixture input: 2 sequences of 9 steps of 4 features; 5 filters of 3 steps.
const N: usize = 2;
const CIN: usize = 4;
const L: usize = 9;
const COUT: usize = 5;
const K: usize = 3;

/// One `conv1d_*` fixture through `C`, whose output has `ol` steps.
fn conv1d_parity<C: Layer>(name: &str, layer: C, ol: usize) {
    let fx = common::Fixture::load(name);
    assert_eq!(fx.shape("x"), &[N, CIN, L], "{}", fx.doc);
    assert_eq!(fx.shape("W"), &[COUT, CIN, K]);
    assert_eq!(fx.shape("y"), &[N, COUT, ol], "{}: output length", fx.doc);
    assert_eq!(C::OUTPUT, ol * COUT);
    // The weight-file description is PyTorch's: [out, in, k].
    assert_eq!(C::TENSORS[0].shape, &[COUT, CIN, K]);

    let x = ncl_to_nlc(&fx.f32("x"), N, CIN, L);
    let mut params = oik_to_kio(&fx.f32("W"), COUT, CIN, K);
    params.extend(fx.f32("b"));
    assert_eq!(params.len(), C::PARAMS);

    let mut y = vec![1e3; N * C::OUTPUT];
    common::forward_batch(layer, &params, &x, &mut y, N);
    close(
        &format!("{name} y"),
        &nlc_to_ncl(&y, N, COUT, ol),
        fx.f64("y"),
    );
    let mut one = vec![f32::NAN; N * C::OUTPUT];
    for (xs, ys) in x
        .chunks_exact(C::INPUT)
        .zip(one.chunks_exact_mut(C::OUTPUT))
    {
        common::infer(layer, &params, xs, ys);
    }
    close(
        &format!("{name} y (single sample)"),
        &nlc_to_ncl(&one, N, COUT, ol),
        fx.f64("y"),
    );

    let dy = ncl_to_nlc(&fx.f32("dy"), N, COUT, ol);
    let mut dx = vec![f32::NAN; N * C::INPUT];
    let mut grads = vec![7.0; C::PARAMS];
    common::backward_batch(layer, &params, &x, &dy, Some(&mut dx), &mut grads, N);
    close(
        &format!("{name} dx"),
        &nlc_to_ncl(&dx, N, CIN, L),
        fx.f64("dx"),
    );
    let weights = COUT * CIN * K;
    close(
        &format!("{name} dW"),
        &kio_to_oik(&grads[..weights], COUT, CIN, K),
        fx.f64("dW"),
    );
    close(&format!("{name} db"), &grads[weights..], fx.f64("db"));
}

#[test]
fn conv1d_valid_stride_1() {
    const LAYER: Conv1D<L, CIN, COUT, K, 1, false> = Conv1D::new(Linear);
    conv1d_parity("conv1d_valid_k3_s1", LAYER, 7);
}

#[test]
fn conv1d_valid_stride_2() {
    const LAYER: Conv1D<L, CIN, COUT, K, 2, false> = Conv1D::new(Linear);
    conv1d_parity("conv1d_valid_k3_s2", LAYER, 4);
}

#[test]
fn conv1d_same_stride_1() {
    const LAYER: Conv1D<L, CIN, COUT, K, 1, true> = Conv1D::new(Linear);
    conv1d_parity("conv1d_same_k3", LAYER, 9);
}

#[test]
fn embedding_values_and_table_gradient_with_repeated_ids() {
    type E = Embedding<7, 3, 4>;
    let fx = common::Fixture::load("embedding");
    assert_eq!(fx.shape("ids"), &[2, 4], "{}", fx.doc);
    assert_eq!(fx.shape("W"), &[7, 3]);
    assert_eq!(E::TENSORS[0].shape, &[7, 3]);
    let ids = fx.f32("ids");
    // The fixture repeats ids (its gradient accumulates them).
    let mut sorted = ids.clone();
    sorted.sort_by(f32::total_cmp);
    sorted.dedup();
    assert!(sorted.len() < ids.len(), "{ids:?}");
    assert!(E::default().check_input(&ids).is_ok());

    // The table is stored as PyTorch's weight, row per id.
    let table = fx.f32("W");
    let mut y = vec![1e3; 2 * E::OUTPUT];
    common::forward_batch(E::default(), &table, &ids, &mut y, 2);
    close("embedding y", &y, fx.f64("y"));
    let mut one = vec![f32::NAN; E::OUTPUT];
    common::infer(E::default(), &table, &ids[4..], &mut one);
    close("embedding y (single sample)", &one, &fx.f64("y")[12..]);

    let mut grads = vec![7.0; E::PARAMS];
    let mut dx = vec![f32::NAN; 8];
    common::backward_batch(
        E::default(),
        &table,
        &ids,
        &fx.f32("dy"),
        Some(&mut dx),
        &mut grads,
        2,
    );
    close("embedding dW", &grads, fx.f64("dW"));
    // Ids are not differentiable.
    assert_eq!(dx, [0.0; 8]);
}
