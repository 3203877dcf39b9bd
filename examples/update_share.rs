//! The optimizer update's share of an MNIST MLP training step (784-128-10, batch 32, Adam,
//! the `mnist_mlp` example's model and data), measured as a difference of step times:
//!
//! - `fused`: forward, loss, [`Workspace::backward_step`] with Adam (the update fused into
//!   the backward pass: what `Trainer::fit` runs);
//! - `no_update`: the same with an optimizer that does nothing (`backward_step` then runs the
//!   same products, writes the weight gradients out, and updates nothing);
//! - `separate`: forward, loss, backward, then `Adam::apply` over the gradients (the update
//!   as a pass of its own, for comparison).
//!
//! The update's share is `(fused - no_update) / fused`. Each round runs one epoch of each
//! (1,875 steps on the same shuffled batches), alternating, and the medians are printed:
//!
//! ```text
//! cargo run --release --example update_share -- [--data DIR] [--rounds N] [--threads N]
//! ```
//! The last line is e.g. `fused_us=... no_update_us=... separate_us=... update_share=0.21`
//! (microseconds per step, medians). The times are the process's CPU time (Linux: the sum of
//! its threads' `/proc/self/task/*/schedstat`; elsewhere the wall clock), which other
//! processes on a loaded machine do not inflate; with `--threads 1` (the default) the shares
//! are those of one core's work.

#[path = "support/out.rs"]
#[macro_use]
mod out;

#[path = "support/models.rs"]
mod models;
use models::MnistMlp;

use clap::Parser;
use nn::data::Mnist;
use nn::prelude::*;
use std::time::Instant;

const BATCH: usize = 32;

/// The update's share of an MNIST MLP step.
#[derive(Parser, Debug)]
#[command(name = "update_share")]
struct Args {
    /// Directory holding MNIST's four IDX files (gzipped or not).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))]
    data: String,
    /// Rounds of one epoch of each kind of step (the medians are printed).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// Threads of the pool the steps run in.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    threads: u64,
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    let (data, rounds, threads) = (args.data, args.rounds as usize, args.threads as usize);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    pool.install(|| run(&data, rounds, threads).map_err(|e| e.to_string()))?;
    Ok(())
}

/// The three kinds of step.
#[derive(Clone, Copy, Debug)]
enum Step {
    Fused,
    NoUpdate,
    Separate,
}

/// The CPU time of this process so far, in seconds: the sum over its threads of the first
/// field of `/proc/self/task/<tid>/schedstat` (nanoseconds on a CPU); the time since the
/// first call where that cannot be read.
fn cpu_seconds() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let on_cpu = || -> Option<u64> {
        let mut sum = 0;
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            sum += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(sum)
    };
    match on_cpu() {
        Some(ns) => ns as f64 * 1e-9,
        None => START.get_or_init(Instant::now).elapsed().as_secs_f64(),
    }
}

/// An optimizer that changes nothing: with it, `backward_step` is the backward pass alone.
struct NoUpdate;

impl Optimizer for NoUpdate {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        std::hint::black_box((params, grads));
    }
    fn learning_rate(&self) -> f32 {
        0.0
    }
    fn set_learning_rate(&mut self, _lr: f32) {}
    fn reset(&mut self) {}
    fn state(&self) -> nn::optim::OptimizerState {
        nn::optim::OptimizerState {
            learning_rate: 0.0,
            step: 0,
            buffers: Vec::new(),
        }
    }
    fn load_state(&mut self, _state: &nn::optim::OptimizerState) -> nn::Result<()> {
        Ok(())
    }
}

fn run(data: &str, rounds: usize, threads: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mnist = Mnist::load(data)?;
    let (x, y) = (mnist.train_x(), mnist.train_y());
    drop(mnist);
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(0).shuffle(&mut order);
    // The batches, gathered once: the gathering is not what is measured.
    let mut batches = Vec::new();
    for chunk in order.chunks_exact(BATCH) {
        let mut bx = Vec::with_capacity(BATCH * MnistMlp::INPUT);
        let mut by = Vec::with_capacity(BATCH);
        for &i in chunk {
            bx.extend_from_slice(&x[i * MnistMlp::INPUT..(i + 1) * MnistMlp::INPUT]);
            by.push(y[i]);
        }
        batches.push((bx, by));
    }
    let loss = Loss::SparseCategoricalCrossentropy;
    let kinds = [Step::Fused, Step::NoUpdate, Step::Separate];
    let only = std::env::var("UPDATE_SHARE_ONLY").ok();
    let mut micros: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    for round in 0..=rounds {
        for (k, &kind) in kinds.iter().enumerate() {
            if only.as_ref().is_some_and(|o| *o != format!("{kind:?}")) {
                micros[k].push(f64::NAN);
                continue;
            }
            // A fresh model and optimizer per epoch: every kind starts from the same state.
            let mut model = MnistMlp::new(0);
            let mut opt = Adam::new(1e-3);
            let (mut ws, mut grads) = (Workspace::new(), Gradients::<MnistMlp>::new());
            let mut rng = Rng::new(1);
            let start = cpu_seconds();
            for (bx, by) in &batches {
                ws.forward(&model, bx, Pass::Train(&mut rng))?;
                ws.loss(&loss, by)?;
                match kind {
                    Step::Fused => {
                        grads.zero();
                        ws.backward_step(&mut model, &grads, &mut opt);
                    }
                    Step::NoUpdate => {
                        grads.zero();
                        ws.backward_step(&mut model, &grads, &mut NoUpdate);
                    }
                    Step::Separate => {
                        grads.zero();
                        ws.backward(&model, &mut grads);
                        opt.apply(&mut model, &grads);
                    }
                }
            }
            let per_step = (cpu_seconds() - start) * 1e6 / batches.len() as f64;
            // Round 0 warms up (page faults, the optimizer's buffers).
            if round > 0 {
                micros[k].push(per_step);
            }
            std::hint::black_box(model.params());
        }
        if round > 0 {
            outln!(
                "round {round}: fused {:.1} us, no_update {:.1} us, separate {:.1} us",
                micros[0][round - 1],
                micros[1][round - 1],
                micros[2][round - 1]
            );
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (fused, no_update, separate) = (
        median(&mut micros[0]),
        median(&mut micros[1]),
        median(&mut micros[2]),
    );
    outln!(
        "fused_us={fused:.1} no_update_us={no_update:.1} separate_us={separate:.1} \
         update_share={:.3} separate_share={:.3} isa={:?} threads={threads}",
        (fused - no_update) / fused,
        (separate - no_update) / separate,
        nn::kernels::level()
    );
    Ok(())
}
