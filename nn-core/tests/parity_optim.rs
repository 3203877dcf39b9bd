//! Optimizer updates against PyTorch (`torch.optim`, float64): three steps from the same
//! start with the same gradients, our optimizers configured with PyTorch's defaults.

mod common;

use nn_core::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};

const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-6;

/// Runs three steps of `opt` on fixture `name`, comparing the parameters after each.
fn check(name: &str, mut opt: impl Optimizer) {
    let fx = common::Fixture::load(name);
    let mut params = fx.f32("p0");
    for step in 1..=3 {
        let grads = fx.f32(&format!("g{step}"));
        opt.step(&mut params, &grads);
        common::assert_close(
            &format!("{name} p{step}"),
            &params,
            fx.f64(&format!("p{step}")),
            RTOL,
            ATOL,
        );
    }
}

#[test]
fn sgd() {
    check("optim_sgd_lr0.1", Sgd::new(0.1));
}

#[test]
fn sgd_momentum() {
    check("optim_sgd_momentum0.9_lr0.1", Sgd::new(0.1).momentum(0.9));
}

#[test]
fn sgd_nesterov() {
    check(
        "optim_sgd_nesterov0.9_lr0.1",
        Sgd::new(0.1).momentum(0.9).nesterov(true),
    );
}

#[test]
fn adam() {
    check(
        "optim_adam_lr0.01",
        Adam::new(0.01).beta1(0.9).beta2(0.999).epsilon(1e-8),
    );
}

#[test]
fn adamw() {
    check(
        "optim_adamw_lr0.01_wd0.1",
        AdamW::new(0.01)
            .beta1(0.9)
            .beta2(0.999)
            .epsilon(1e-8)
            .weight_decay(0.1),
    );
}

#[test]
fn rmsprop() {
    check(
        "optim_rmsprop_lr0.01",
        RmsProp::new(0.01).rho(0.99).epsilon(1e-8).momentum(0.0),
    );
}
