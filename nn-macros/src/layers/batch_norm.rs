//! `BatchNorm(momentum = 0.99, epsilon = 1e-3, unbiased_variance = false)`: batch
//! normalisation over the last axis (features, or an image's channels), Keras' names and
//! defaults (`nn::layers::BatchNorm`); PyTorch's settings are `epsilon = 1e-5, momentum =
//! 0.9, unbiased_variance = true`.

use super::{Built, Input, Order, Problem, Spec};
use crate::args::{optional, Args, ValueKind};
use crate::runtime::{krate, lit};
use nn_core::layers::batch_norm_flops;
use proc_macro2::Literal;
use quote::quote;

/// Keras' defaults.
const MOMENTUM: f32 = 0.99;
const EPSILON: f32 = 1e-3;

pub const SPEC: Spec = Spec {
    name: "BatchNorm",
    // Keras' names and order (without `axis`: always the last).
    params: &[
        optional("momentum", ValueKind::Rate),
        optional("epsilon", ValueKind::Positive),
        optional("unbiased_variance", ValueKind::Bool),
    ],
    example: "BatchNorm(epsilon = 1e-5, momentum = 0.9)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let channels = input.shape[input.shape.len() - 1];
    let positions = input.len() / channels;
    let (momentum, epsilon) = (
        args.float("momentum", MOMENTUM),
        args.float("epsilon", EPSILON),
    );
    let unbiased = args.flag("unbiased_variance");
    let k = krate();
    let (c, p) = (lit(channels), lit(positions));
    let ty = if positions == 1 {
        quote!(#k::layers::BatchNorm<#c>)
    } else {
        quote!(#k::layers::BatchNorm<#c, #p>)
    };
    // The presets by name; other settings through the `const fn` constructor, which checks
    // them when the constant is evaluated.
    let value = match (epsilon, momentum, unbiased) {
        (EPSILON, MOMENTUM, false) => quote!(#k::layers::BatchNorm::KERAS),
        (1e-5, 0.9, true) => quote!(#k::layers::BatchNorm::PYTORCH),
        _ => {
            let (e, m) = (
                Literal::f32_suffixed(epsilon),
                Literal::f32_suffixed(momentum),
            );
            quote!(#k::layers::BatchNorm::new(#e, #m, #unbiased))
        }
    };
    let two_c = u128::from(u32::try_from(channels).unwrap_or(u32::MAX)) * 2;
    Ok(Built {
        output: input.shape.to_vec(),
        ty,
        value,
        params: Some(two_c),
        state: Some(two_c),
        flops: batch_norm_flops(positions, channels),
        scratch: 0,
        in_place: false,
        reshape: false,
        activation: None,
        activation_only: false,
        int8: true,
        order: Order::Keeps,
        summary_kind: "BatchNorm",
        base_name: "batchnorm",
        detail: format!(
            "epsilon {epsilon}, momentum {momentum}{}",
            if unbiased {
                ", unbiased running variance"
            } else {
                ""
            }
        ),
    })
}
