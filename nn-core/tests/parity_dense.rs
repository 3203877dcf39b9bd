//! Dense layer against PyTorch (`torch.nn.functional.linear`, float64): forward of a batch
//! and of single samples, and the backward pass (input, weight and bias gradients), plus a
//! finite-difference check of the backward pass that does not depend on the fixture.

mod common;

use nn_core::activations::Linear;
use nn_core::gradcheck;
use nn_core::layers::{Dense, Layer as _, LayerRef};
use nn_core::rng::Rng;
use nn_core::Vector;

const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-6;

const IN: usize = 5;
const OUT: usize = 3;
const BATCH: usize = 4;

type Layer = Dense<IN, OUT>;
const LAYER: Layer = Dense::new(Linear);

/// `[out, in]` (PyTorch) to our flat parameters: `IN` rows of `OUT` weights, then the biases.
fn params_from_torch(w: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(w.len(), IN * OUT);
    let mut p = vec![0.0; Layer::PARAMS];
    for o in 0..OUT {
        for i in 0..IN {
            p[i * OUT + o] = w[o * IN + i];
        }
    }
    p[(IN * OUT)..].copy_from_slice(b);
    p
}

/// Our `[in, out]` weight gradient back to PyTorch's `[out, in]`.
fn weights_to_torch(dw: &[f32]) -> Vec<f32> {
    let mut t = vec![0.0; IN * OUT];
    for o in 0..OUT {
        for i in 0..IN {
            t[o * IN + i] = dw[i * OUT + o];
        }
    }
    t
}

struct Case {
    fx: common::Fixture,
    params: Vec<f32>,
    x: Vec<f32>,
}

fn load() -> Case {
    let fx = common::Fixture::load("dense");
    assert_eq!(fx.shape("x"), &[BATCH, IN]);
    assert_eq!(fx.shape("W"), &[OUT, IN]);
    assert_eq!(fx.shape("b"), &[OUT]);
    assert_eq!(fx.shape("y"), &[BATCH, OUT]);
    let params = params_from_torch(&fx.f32("W"), &fx.f32("b"));
    let x = fx.f32("x");
    Case { fx, params, x }
}

#[test]
fn layout_transposition_round_trips() {
    let w: Vec<f32> = (0..IN * OUT).map(|v| v as f32).collect();
    let p = params_from_torch(&w, &[0.0; OUT]);
    assert_eq!(weights_to_torch(&p[..(IN * OUT)]), w);
    // The matrix view is `OUT x IN`, i.e. PyTorch's orientation.
    let view = LayerRef::new(LAYER, &p, &[]).weight();
    for o in 0..OUT {
        for i in 0..IN {
            assert_eq!(view[(o, i)], w[o * IN + i]);
        }
    }
}

#[test]
fn forward_batch_matches_pytorch() {
    let c = load();
    let mut y = vec![f32::NAN; BATCH * OUT];
    common::forward_batch(LAYER, &c.params, &c.x, &mut y, BATCH);
    common::assert_close("dense y", &y, c.fx.f64("y"), RTOL, ATOL);
}

#[test]
fn forward_batch_overwrites_its_output() {
    let c = load();
    let mut y = vec![1e3; BATCH * OUT];
    common::forward_batch(LAYER, &c.params, &c.x, &mut y, BATCH);
    common::assert_close("dense y (dirty output)", &y, c.fx.f64("y"), RTOL, ATOL);
}

#[test]
fn single_sample_forward_matches_each_row() {
    let c = load();
    let expected = c.fx.f64("y");
    for s in 0..BATCH {
        let x = Vector::<IN>::from_column_slice(&c.x[s * IN..(s + 1) * IN]);
        let mut y = Vector::<OUT>::zeros();
        common::infer(LAYER, &c.params, x.as_slice(), y.as_mut_slice());
        common::assert_close(
            &format!("dense y row {s}"),
            y.as_slice(),
            &expected[s * OUT..(s + 1) * OUT],
            RTOL,
            ATOL,
        );
    }
}

#[test]
fn backward_batch_matches_pytorch() {
    let c = load();
    let dy = c.fx.f32("dy");
    let mut dx = vec![f32::NAN; BATCH * IN];
    // Garbage in the gradient buffers: backward must overwrite, not accumulate.
    let mut grads = vec![7.0; Layer::PARAMS];
    common::backward_batch(
        LAYER,
        &c.params,
        &c.x,
        &dy,
        Some(&mut dx),
        &mut grads,
        BATCH,
    );
    common::assert_close("dense dx", &dx, c.fx.f64("dx"), RTOL, ATOL);
    common::assert_close(
        "dense dW",
        &weights_to_torch(&grads[..(IN * OUT)]),
        c.fx.f64("dW"),
        RTOL,
        ATOL,
    );
    common::assert_close("dense db", &grads[(IN * OUT)..], c.fx.f64("db"), RTOL, ATOL);

    // Without an input gradient, the parameter gradients are the same.
    let mut grads2 = vec![-3.0; Layer::PARAMS];
    common::backward_batch(LAYER, &c.params, &c.x, &dy, None, &mut grads2, BATCH);
    assert_eq!(grads, grads2);
}

#[test]
fn backward_of_a_partial_batch_uses_only_its_rows() {
    // Buffers larger than the batch (as workspaces are): only the first rows count.
    let c = load();
    let dy = c.fx.f32("dy");
    let mut x = c.x.clone();
    x.extend_from_slice(&[100.0; IN]);
    let mut dy_big = dy.clone();
    dy_big.extend_from_slice(&[100.0; OUT]);
    let mut dx = vec![0.0; (BATCH + 1) * IN];
    let mut grads = vec![0.0; Layer::PARAMS];
    common::backward_batch(
        LAYER,
        &c.params,
        &x,
        &dy_big,
        Some(&mut dx),
        &mut grads,
        BATCH,
    );
    common::assert_close("dense dx", &dx[..BATCH * IN], c.fx.f64("dx"), RTOL, ATOL);
    common::assert_close("dense db", &grads[(IN * OUT)..], c.fx.f64("db"), RTOL, ATOL);
}

/// Objective `sum(forward(params, x) * r)`, accumulated in f64.
fn objective(params: &[f32], x: &[f32], r: &[f32], batch: usize) -> f64 {
    let mut y = vec![0.0; batch * OUT];
    common::forward_batch(LAYER, params, x, &mut y, batch);
    y.iter()
        .zip(r)
        .map(|(y, r)| f64::from(*y) * f64::from(*r))
        .sum()
}

#[test]
fn backward_matches_finite_differences() {
    let mut rng = Rng::new(11);
    let batch = 6;
    let mut params = vec![0.0; Layer::PARAMS];
    LAYER.init(&mut params, &mut [], &mut rng);
    for b in &mut params[(IN * OUT)..] {
        *b = rng.uniform(-0.5, 0.5);
    }
    let x: Vec<f32> = (0..batch * IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let r: Vec<f32> = (0..batch * OUT).map(|_| rng.uniform(-1.5, 1.5)).collect();

    let mut dx = vec![0.0; batch * IN];
    let mut grads = vec![0.0; Layer::PARAMS];
    common::backward_batch(LAYER, &params, &x, &r, Some(&mut dx), &mut grads, batch);

    let by_params = gradcheck::check(&params, &grads, 0..Layer::PARAMS, 1e-2, 1e-3, 1e-6, |p| {
        objective(p, &x, &r, batch)
    });
    assert!(by_params.passed(), "parameter gradient: {by_params}");
    assert_eq!(by_params.checked, Layer::PARAMS, "{by_params}");

    let by_input = gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, 1e-6, |xp| {
        objective(&params, xp, &r, batch)
    });
    assert!(by_input.passed(), "input gradient: {by_input}");
    assert_eq!(by_input.checked, x.len(), "{by_input}");
}

#[test]
fn finite_differences_also_hold_for_the_large_product_path() {
    // 64 x 70 x 50 multiply-adds take the matrixmultiply path in every product.
    const I: usize = 70;
    const O: usize = 50;
    type Big = Dense<I, O>;
    let batch = 64;
    let mut rng = Rng::new(5);
    let mut params = vec![0.0; Big::PARAMS];
    Dense::<I, O>::new(Linear).init(&mut params, &mut [], &mut rng);
    let x: Vec<f32> = (0..batch * I).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let r: Vec<f32> = (0..batch * O).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut dx = vec![0.0; batch * I];
    let mut grads = vec![0.0; Big::PARAMS];
    common::backward_batch(
        Dense::<I, O>::new(Linear),
        &params,
        &x,
        &r,
        Some(&mut dx),
        &mut grads,
        batch,
    );

    let obj = |p: &[f32], xs: &[f32]| {
        let mut y = vec![0.0; batch * O];
        common::forward_batch(Dense::<I, O>::new(Linear), p, xs, &mut y, batch);
        y.iter()
            .zip(&r)
            .map(|(y, r)| f64::from(*y) * f64::from(*r))
            .sum::<f64>()
    };
    let by_params = gradcheck::check(
        &params,
        &grads,
        (0..Big::PARAMS).step_by(37),
        1e-2,
        1e-3,
        1e-6,
        |p| obj(p, &x),
    );
    assert!(by_params.passed(), "parameter gradient: {by_params}");
    let by_input = gradcheck::check(&x, &dx, (0..x.len()).step_by(29), 1e-2, 1e-3, 1e-6, |xp| {
        obj(&params, xp)
    });
    assert!(by_input.passed(), "input gradient: {by_input}");
}
