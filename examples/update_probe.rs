//! The floors of Adam's update: `Adam::step` over `n` parameters, repeated, timed in CPU
//! time on one thread, in nanoseconds per parameter, for a buffer small enough to stay in
//! L1 (the arithmetic alone: the update's floor when its memory traffic is hidden) and for
//! the MNIST MLP's 101,770 parameters (parameters, gradients and both moments streamed from
//! L2: the floor of a separate pass).
//!
//! ```text
//! cargo run --release --example update_probe -- [--rounds N]
//! ```
//! The lines are e.g. `call_ns=150.0` (a call's own cost, from a step over 16 parameters),
//! then `l1 n=2048 ns_per_param=0.300 us_per_mlp_step=30.5` and the same for `l2`: the
//! median over the rounds less the call's cost, per parameter, and that cost times the
//! MLP's parameters (what the update adds to a step). The gradients are random and nonzero
//! (no parameter takes the path of idle first moments).

#[path = "support/out.rs"]
#[macro_use]
mod out;

use clap::Parser;
use nn::prelude::*;

/// The parameters of the MNIST MLP (784-128-10).
const MLP_PARAMS: usize = 784 * 128 + 128 + 128 * 10 + 10;

/// Floors of Adam's update.
#[derive(Parser, Debug)]
#[command(name = "update_probe")]
struct Args {
    /// Rounds per size (the median is printed).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
}

/// The CPU time of the calling thread, in seconds (Linux: its `schedstat`; elsewhere the
/// wall clock since the first call).
fn cpu_seconds() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or_else(
            || {
                START
                    .get_or_init(std::time::Instant::now)
                    .elapsed()
                    .as_secs_f64()
            },
            |ns| ns as f64 * 1e-9,
        )
}

/// The median CPU time of one `Adam::step` over `n` parameters, in nanoseconds.
fn per_call(n: usize, rounds: u64) -> f64 {
    let mut rng = Rng::new(0);
    // On cache lines, as a model's parameters and the optimizer's moments are.
    let mut params = nn::Params::zeros(n);
    let mut grads = nn::Params::zeros(n);
    for (p, g) in params.as_mut_slice().iter_mut().zip(grads.as_mut_slice()) {
        *p = rng.uniform(-0.1, 0.1);
        *g = rng.uniform(-1e-2, 1e-2) + 1e-4;
    }
    let (params, grads) = (params.as_mut_slice(), grads.as_slice());
    let mut opt = Adam::new(1e-3);
    // About 2e8 parameters (and at least 1e5 calls) a round.
    let steps = (200_000_000 / n).max(100_000);
    let mut per_call = Vec::new();
    for round in 0..=rounds {
        let start = cpu_seconds();
        for _ in 0..steps {
            opt.step(params, grads);
        }
        // Round 0 warms up (the optimizer's buffers).
        if round > 0 {
            per_call.push((cpu_seconds() - start) * 1e9 / steps as f64);
        }
    }
    std::hint::black_box(&params);
    per_call.sort_by(f64::total_cmp);
    per_call[per_call.len() / 2]
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    pool.install(|| {
        // The cost of a call (bias corrections, dispatch), subtracted from the others.
        let call = per_call(16, args.rounds);
        outln!("call_ns={call:.1}");
        for (name, n) in [("l1", 2048), ("l2", MLP_PARAMS)] {
            let ns = (per_call(n, args.rounds) - call) / (n - 16) as f64;
            outln!(
                "{name} n={n} ns_per_param={ns:.3} us_per_mlp_step={:.1} isa={:?}",
                ns * MLP_PARAMS as f64 * 1e-3,
                nn::kernels::level()
            );
        }
    });
    Ok(())
}
