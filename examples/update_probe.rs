//! The floors of Adam's update: `Adam::step` over `n` parameters, repeated, timed in CPU
//! time on one thread, in nanoseconds per parameter, for a buffer small enough to stay in
//! L1 (the arithmetic alone: the update's floor when its memory traffic is hidden) and for
//! the MNIST MLP's 101,770 parameters (parameters, gradients and both moments streamed from
//! L2: the floor of a separate pass).
//!
//! ```text
//! cargo run --release --example update_probe -- [--rounds N]
//! ```
//! Each line is e.g. `n=2048 ns_per_param=0.120 us_per_mlp_step=12.2`: the median over the
//! rounds, and that cost times the MLP's parameters (what the update would add to a step).
//! The gradients are random and nonzero (no parameter takes the path of idle first moments).

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    pool.install(|| {
        for n in [2048, 8192, MLP_PARAMS] {
            let mut rng = Rng::new(0);
            let mut params: Vec<f32> = (0..n).map(|_| rng.uniform(-0.1, 0.1)).collect();
            let grads: Vec<f32> = (0..n).map(|_| rng.uniform(-1e-2, 1e-2) + 1e-4).collect();
            let mut opt = Adam::new(1e-3);
            // About 2e8 parameters updated per round.
            let steps = (200_000_000 / n).max(1);
            let mut per_param = Vec::new();
            for round in 0..=args.rounds {
                let start = cpu_seconds();
                for _ in 0..steps {
                    opt.step(&mut params, &grads);
                }
                let ns = (cpu_seconds() - start) * 1e9 / (steps * n) as f64;
                // Round 0 warms up (the optimizer's buffers).
                if round > 0 {
                    per_param.push(ns);
                }
            }
            std::hint::black_box(&params);
            per_param.sort_by(f64::total_cmp);
            let ns = per_param[per_param.len() / 2];
            println!(
                "n={n} ns_per_param={ns:.3} us_per_mlp_step={:.1} isa={:?}",
                ns * MLP_PARAMS as f64 * 1e-3,
                nn::kernels::level()
            );
        }
    });
    Ok(())
}
