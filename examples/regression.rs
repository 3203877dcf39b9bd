//! Regression with mean squared error: PyTorch's small recipe, step for step.
//!
//! A 10 -> 32 (ReLU) -> 1 network, 100 random samples with random targets (both standard
//! normal, seed 2), Adam with learning rate 0.01 (PyTorch's epsilon, 1e-8), and 1000
//! full-batch steps. Reports the final loss and the training time.
//!
//! The loop is PyTorch's, line for line (`zero_grad`, forward, loss, `backward`, `step`),
//! written with [`Workspace`](nn::train::Workspace) and [`Gradients`](nn::train::Gradients):
//! the way to go beyond `fit` (GANs, adversarial examples, custom losses).
//!
//! Each step's loss is kept (as PyTorch users append `loss.item()` to a list) and turned
//! into a [`History`] after the loop, one epoch per step (a full batch is the whole data
//! set), for `--plots DIR`'s `history.png`.
//!
//! ```text
//! cargo run --release --example regression [-- --steps N --plots DIR]
//! ```
//! Last line, e.g. `final_loss=0.1234 train_seconds=0.0123 us_per_step=12.3 steps=1000`.

#[path = "support/out.rs"]
#[macro_use]
mod out;

use clap::Parser;
use nn::prelude::*;
use std::time::Instant;

#[path = "support/cli.rs"]
mod cli;

/// PyTorch's small regression recipe: full-batch Adam steps in a loop of its own.
#[derive(Parser, Debug)]
#[command(name = "regression")]
pub struct Args {
    /// Full-batch training steps.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// `--plots DIR`: `history.png`, the loss of each step.
    #[command(flatten)]
    pub output: cli::Plots,
}

/// What a run found.
pub struct Report {
    /// The loss before training, on the initial weights.
    pub initial_loss: f32,
    /// The last training step's loss (before its update).
    pub last_step_loss: f32,
    /// The loss after training.
    pub final_loss: f32,
    /// Each step's training loss, as `loss`.
    pub history: History,
    /// Time spent in the training loop.
    pub train_seconds: f64,
}

nn::model! {
    /// PyTorch's `SimpleNN(input_dim=10, hidden_dim=32, output_dim=1)`.
    pub struct SimpleNn {
        input: 10,
        fc1: Dense(32, relu),
        fc2: Dense(1),
    }
}

const SAMPLES: usize = 100;

/// Trains as the module says; writes `history.png` under `--plots DIR`.
pub fn run(args: &Args) -> Result<Report, Box<dyn std::error::Error>> {
    let steps = args.steps;
    let mut rng = Rng::new(2);
    let x: Vec<f32> = (0..SAMPLES * 10).map(|_| rng.normal()).collect();
    let y: Vec<f32> = (0..SAMPLES).map(|_| rng.normal()).collect();

    let mut model = SimpleNn::new(2);
    let criterion = Loss::MeanSquaredError;
    let mut optimizer = Adam::new(0.01).epsilon(1e-8);
    optimizer.validate()?;
    // The buffers of the passes and the parameter gradients, reused by every step.
    let (mut ws, mut grads) = (Workspace::new(), Gradients::new());

    ws.forward(&model, &x, Pass::Eval)?;
    let first = ws.loss(&criterion, &y)?;
    let mut losses = Vec::with_capacity(steps); // losses = []
    let start = Instant::now();
    let mut loss = f32::NAN;
    for _ in 0..steps {
        grads.zero(); // optimizer.zero_grad()
        ws.forward(&model, &x, Pass::Train(&mut rng))?; // outputs = model(x)
        loss = ws.loss(&criterion, &y)?; // loss = criterion(outputs, y)
        ws.backward(&model, &mut grads); // loss.backward()
        optimizer.apply(&mut model, &grads); // optimizer.step()
        losses.push(loss); // losses.append(loss.item())
    }
    let train_seconds = start.elapsed().as_secs_f64();
    ws.forward(&model, &x, Pass::Eval)?;
    let final_loss = ws.loss(&criterion, &y)?;

    let mut history = History::default();
    let mut logs = Logs::default();
    for loss in losses {
        logs.insert("loss", loss);
        history.record(&logs);
    }
    args.output.history(&history)?;
    Ok(Report {
        initial_loss: first,
        last_step_loss: loss,
        final_loss,
        history,
        train_seconds,
    })
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    let r = run(&args)?;
    outln!(
        "initial_loss={:.4} last_step_loss={:.4}",
        r.initial_loss,
        r.last_step_loss
    );
    outln!(
        "final_loss={:.6} train_seconds={:.4} us_per_step={:.2} steps={}",
        r.final_loss,
        r.train_seconds,
        r.train_seconds * 1e6 / args.steps.max(1) as f64,
        args.steps
    );
    Ok(())
}
