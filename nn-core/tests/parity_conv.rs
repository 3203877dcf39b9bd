//! Convolution, pooling and batch normalisation against PyTorch (float64 fixtures): forward
//! outputs and input/weight/bias gradients of `sum(y * dy)`.
//!
//! The fixtures are NCHW with OIHW conv weights; the layers store images HWC (channels last)
//! and conv weights `[KH][KW][CIN][COUT]`. The conversions below are the ones weight files
//! and data loaders use.

mod common;

use nn_core::activations::Linear;
use nn_core::layers::{
    conv_output_len, conv_padding_before, AvgPool2D, BatchNorm, Conv2D, GlobalAvgPool2D, Layer,
    MaxPool2D,
};
use nn_core::rng::Rng;

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-5;

/// Fixture input: 2 samples, 3 channels, 7 × 6.
const N: usize = 2;
const C: usize = 3;
const H: usize = 7;
const W: usize = 6;
/// Conv filters in the fixtures.
const COUT: usize = 4;

/// NCHW (`[n][c][h][w]`) to NHWC (`[n][h][w][c]`).
fn nchw_to_nhwc(t: &[f32], n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    assert_eq!(t.len(), n * c * h * w);
    let mut out = vec![0.0; t.len()];
    for s in 0..n {
        for ch in 0..c {
            for r in 0..h {
                for col in 0..w {
                    out[((s * h + r) * w + col) * c + ch] = t[((s * c + ch) * h + r) * w + col];
                }
            }
        }
    }
    out
}

/// NHWC back to NCHW.
fn nhwc_to_nchw(t: &[f32], n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    assert_eq!(t.len(), n * c * h * w);
    let mut out = vec![0.0; t.len()];
    for s in 0..n {
        for ch in 0..c {
            for r in 0..h {
                for col in 0..w {
                    out[((s * c + ch) * h + r) * w + col] = t[((s * h + r) * w + col) * c + ch];
                }
            }
        }
    }
    out
}

/// OIHW (`[co][ci][kh][kw]`) to `[kh][kw][ci][co]`.
fn oihw_to_hwio(t: &[f32], co_: usize, ci_: usize, kh_: usize, kw_: usize) -> Vec<f32> {
    assert_eq!(t.len(), co_ * ci_ * kh_ * kw_);
    let mut out = vec![0.0; t.len()];
    for co in 0..co_ {
        for ci in 0..ci_ {
            for kh in 0..kh_ {
                for kw in 0..kw_ {
                    out[((kh * kw_ + kw) * ci_ + ci) * co_ + co] =
                        t[((co * ci_ + ci) * kh_ + kh) * kw_ + kw];
                }
            }
        }
    }
    out
}

/// `[kh][kw][ci][co]` back to OIHW.
fn hwio_to_oihw(t: &[f32], co_: usize, ci_: usize, kh_: usize, kw_: usize) -> Vec<f32> {
    let mut out = vec![0.0; t.len()];
    for co in 0..co_ {
        for ci in 0..ci_ {
            for kh in 0..kh_ {
                for kw in 0..kw_ {
                    out[((co * ci_ + ci) * kh_ + kh) * kw_ + kw] =
                        t[((kh * kw_ + kw) * ci_ + ci) * co_ + co];
                }
            }
        }
    }
    out
}

#[test]
fn layout_conversions_round_trip() {
    let t: Vec<f32> = (0..N * C * H * W).map(|v| v as f32).collect();
    assert_eq!(nhwc_to_nchw(&nchw_to_nhwc(&t, N, C, H, W), N, C, H, W), t);
    let k: Vec<f32> = (0..4 * 3 * 2 * 5).map(|v| v as f32).collect();
    assert_eq!(hwio_to_oihw(&oihw_to_hwio(&k, 4, 3, 2, 5), 4, 3, 2, 5), k);
    // Channel-last: the three channels of pixel (0, 0) of sample 0 are adjacent.
    let hwc = nchw_to_nhwc(&t, N, C, H, W);
    assert_eq!(&hwc[..3], &[0.0, 42.0, 84.0]);
}

/// Runs one conv fixture through `Conv2D<H, W, C, COUT, ...>` with the given kernel, stride,
/// padding and output size.
macro_rules! conv_parity {
    ($name:literal, $kh:literal, $kw:literal, $sh:literal, $sw:literal, $same:literal, $pt:expr, $pl:expr, $oh:expr, $ow:expr) => {{
        const PT: usize = $pt;
        const PL: usize = $pl;
        const OH: usize = $oh;
        const OW: usize = $ow;
        type L = Conv2D<H, W, C, COUT, $kh, $kw, $sh, $sw, $same>;
        const LAYER: L = Conv2D::new(Linear);
        // The layer's own geometry agrees with the rules computed here.
        assert_eq!((L::PT, L::PL, L::OH, L::OW), (PT, PL, OH, OW));
        let fx = common::Fixture::load($name);
        assert_eq!(fx.shape("x"), &[N, C, H, W], "{}", fx.doc);
        assert_eq!(fx.shape("W"), &[COUT, C, $kh, $kw]);
        assert_eq!(fx.shape("y"), &[N, COUT, OH, OW], "{}: output size", fx.doc);

        let x = nchw_to_nhwc(&fx.f32("x"), N, C, H, W);
        let mut params = oihw_to_hwio(&fx.f32("W"), COUT, C, $kh, $kw);
        params.extend(fx.f32("b"));
        assert_eq!(params.len(), L::PARAMS);

        // Batched forward (dirty output: must be overwritten).
        let mut y = vec![1e3; N * L::OUTPUT];
        common::forward_batch(LAYER, &params, &x, &mut y, N);
        let y_t = nhwc_to_nchw(&y, N, COUT, OH, OW);
        common::assert_close(concat!($name, " y"), &y_t, fx.f64("y"), RTOL, ATOL);

        // Single-sample forward, sample by sample.
        let mut one = vec![f32::NAN; N * L::OUTPUT];
        for (xs, ys) in x
            .chunks_exact(L::INPUT)
            .zip(one.chunks_exact_mut(L::OUTPUT))
        {
            common::infer(LAYER, &params, xs, ys);
        }
        let one_t = nhwc_to_nchw(&one, N, COUT, OH, OW);
        common::assert_close(
            concat!($name, " y (single)"),
            &one_t,
            fx.f64("y"),
            RTOL,
            ATOL,
        );

        // Backward, with garbage in every output buffer.
        let dy = nchw_to_nhwc(&fx.f32("dy"), N, COUT, OH, OW);
        let mut dx = vec![f32::NAN; N * L::INPUT];
        let mut grads = vec![7.0; L::PARAMS];
        common::backward_batch(LAYER, &params, &x, &dy, Some(&mut dx), &mut grads, N);
        let dx_t = nhwc_to_nchw(&dx, N, C, H, W);
        common::assert_close(concat!($name, " dx"), &dx_t, fx.f64("dx"), RTOL, ATOL);
        let dw_t = hwio_to_oihw(&grads[..COUT * C * $kh * $kw], COUT, C, $kh, $kw);
        common::assert_close(concat!($name, " dW"), &dw_t, fx.f64("dW"), RTOL, ATOL);
        common::assert_close(
            concat!($name, " db"),
            &grads[COUT * C * $kh * $kw..],
            fx.f64("db"),
            RTOL,
            ATOL,
        );
    }};
}

#[test]
fn conv2d_valid_stride_1_kernel_3() {
    conv_parity!(
        "conv2d_valid_s1_k3",
        3,
        3,
        1,
        1,
        false,
        0,
        0,
        conv_output_len(H, 3, 1, false),
        conv_output_len(W, 3, 1, false)
    );
}

#[test]
fn conv2d_same_stride_1_kernel_3() {
    conv_parity!(
        "conv2d_same_s1_k3",
        3,
        3,
        1,
        1,
        true,
        conv_padding_before(H, 3, 1, true),
        conv_padding_before(W, 3, 1, true),
        conv_output_len(H, 3, 1, true),
        conv_output_len(W, 3, 1, true)
    );
}

#[test]
fn conv2d_valid_stride_2_kernel_3() {
    conv_parity!(
        "conv2d_valid_s2_k3",
        3,
        3,
        2,
        2,
        false,
        0,
        0,
        conv_output_len(H, 3, 2, false),
        conv_output_len(W, 3, 2, false)
    );
}

#[test]
fn conv2d_valid_stride_1_kernel_2x3() {
    conv_parity!(
        "conv2d_valid_s1_k2x3",
        2,
        3,
        1,
        1,
        false,
        0,
        0,
        conv_output_len(H, 2, 1, false),
        conv_output_len(W, 3, 1, false)
    );
}

/// Runs one pooling fixture: forward (batched and single-sample) and input gradient.
macro_rules! pool_parity {
    ($name:literal, $layer:ty, $oh:expr, $ow:expr) => {{
        type L = $layer;
        let fx = common::Fixture::load($name);
        assert_eq!(fx.shape("x"), &[N, C, H, W], "{}", fx.doc);
        assert_eq!(fx.shape("y"), &[N, C, $oh, $ow], "{}: output size", fx.doc);
        let x = nchw_to_nhwc(&fx.f32("x"), N, C, H, W);
        assert_eq!((L::OH, L::OW), ($oh, $ow));
        let mut y = vec![1e3; N * L::OUTPUT];
        common::forward_batch(L::default(), &[], &x, &mut y, N);
        let y_t = nhwc_to_nchw(&y, N, C, $oh, $ow);
        common::assert_close(concat!($name, " y"), &y_t, fx.f64("y"), RTOL, ATOL);
        let mut one = vec![f32::NAN; N * L::OUTPUT];
        for (xs, ys) in x
            .chunks_exact(L::INPUT)
            .zip(one.chunks_exact_mut(L::OUTPUT))
        {
            common::infer(L::default(), &[], xs, ys);
        }
        assert_eq!(one, y);

        let dy = nchw_to_nhwc(&fx.f32("dy"), N, C, $oh, $ow);
        let mut dx = vec![f32::NAN; N * L::INPUT];
        common::backward_batch(L::default(), &[], &x, &dy, Some(&mut dx), &mut [], N);
        let dx_t = nhwc_to_nchw(&dx, N, C, H, W);
        common::assert_close(concat!($name, " dx"), &dx_t, fx.f64("dx"), RTOL, ATOL);
    }};
}

#[test]
fn maxpool2d_2() {
    pool_parity!("maxpool2d_2", MaxPool2D<H, W, C, 2, 2, 2, 2>, 3, 3);
}

#[test]
fn maxpool2d_3_stride_2() {
    pool_parity!("maxpool2d_3_s2", MaxPool2D<H, W, C, 3, 3, 2, 2>, 3, 2);
}

#[test]
fn avgpool2d_2() {
    pool_parity!("avgpool2d_2", AvgPool2D<H, W, C, 2, 2, 2, 2>, 3, 3);
}

#[test]
fn global_avgpool2d() {
    type L = GlobalAvgPool2D<H, W, C>;
    let fx = common::Fixture::load("global_avgpool2d");
    assert_eq!(fx.shape("y"), &[N, C], "{}", fx.doc);
    let x = nchw_to_nhwc(&fx.f32("x"), N, C, H, W);
    // [N, C] is the same in both layouts.
    let mut y = vec![1e3; N * C];
    common::forward_batch(L::default(), &[], &x, &mut y, N);
    common::assert_close("global_avgpool2d y", &y, fx.f64("y"), RTOL, ATOL);
    let mut dx = vec![f32::NAN; N * L::INPUT];
    common::backward_batch(
        L::default(),
        &[],
        &x,
        &fx.f32("dy"),
        Some(&mut dx),
        &mut [],
        N,
    );
    let dx_t = nhwc_to_nchw(&dx, N, C, H, W);
    common::assert_close("global_avgpool2d dx", &dx_t, fx.f64("dx"), RTOL, ATOL);
}

#[test]
fn batchnorm_train() {
    const CH: usize = 4;
    const ROWS: usize = 6;
    type L = BatchNorm<CH>;
    let fx = common::Fixture::load("batchnorm_train");
    assert_eq!(fx.shape("x"), &[ROWS, CH], "{}", fx.doc);
    let x = fx.f32("x");
    let mut params = fx.f32("gamma");
    params.extend(fx.f32("beta"));
    let mut state = vec![0.0; L::STATE];
    L::KERAS.init(&mut [0.0; L::PARAMS], &mut state, &mut Rng::new(0));

    let mut y = vec![1e3; ROWS * CH];
    L::KERAS.normalize_train(&params, &mut state, &x, &mut y, ROWS);
    common::assert_close("batchnorm y", &y, fx.f64("y"), RTOL, ATOL);

    // Running statistics moved 1% of the way to the batch's (biased) mean and variance.
    for c in 0..CH {
        let col: Vec<f64> = (0..ROWS).map(|r| f64::from(x[r * CH + c])).collect();
        let mean = col.iter().sum::<f64>() / ROWS as f64;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / ROWS as f64;
        common::assert_close("running mean", &state[c..=c], &[0.01 * mean], RTOL, ATOL);
        common::assert_close(
            "running var",
            &state[CH + c..=CH + c],
            &[0.99 + 0.01 * var],
            RTOL,
            ATOL,
        );
    }

    let mut dx = vec![f32::NAN; ROWS * CH];
    let mut grads = vec![7.0; L::PARAMS];
    L::KERAS.backward_train(
        &params,
        &x,
        &fx.f32("dy"),
        Some(&mut dx),
        Some(&mut grads),
        ROWS,
    );
    common::assert_close("batchnorm dx", &dx, fx.f64("dx"), RTOL, ATOL);
    common::assert_close(
        "batchnorm dgamma",
        &grads[..CH],
        fx.f64("dgamma"),
        RTOL,
        ATOL,
    );
    common::assert_close("batchnorm dbeta", &grads[CH..], fx.f64("dbeta"), RTOL, ATOL);
}
