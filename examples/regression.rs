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
//! ```text
//! cargo run --release --example regression [-- --steps N]
//! ```
//! Last line, e.g. `final_loss=0.1234 train_seconds=0.0123 us_per_step=12.3 steps=1000`.

use clap::Parser;
use nn::prelude::*;
use std::time::Instant;

/// PyTorch's small regression recipe: full-batch Adam steps with `train_on_batch`.
#[derive(Parser, Debug)]
#[command(name = "regression")]
struct Args {
    /// Full-batch training steps.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps = Args::parse().steps;
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
    let start = Instant::now();
    let mut loss = f32::NAN;
    for _ in 0..steps {
        grads.zero(); // optimizer.zero_grad()
        ws.forward(&model, &x, Pass::Train(&mut rng))?; // outputs = model(x)
        loss = ws.loss(&criterion, &y)?; // loss = criterion(outputs, y)
        ws.backward(&model, &mut grads); // loss.backward()
        optimizer.apply(&mut model, &grads); // optimizer.step()
    }
    let seconds = start.elapsed().as_secs_f64();
    ws.forward(&model, &x, Pass::Eval)?;
    let final_loss = ws.loss(&criterion, &y)?;
    println!("initial_loss={first:.4} last_step_loss={loss:.4}");
    println!(
        "final_loss={final_loss:.6} train_seconds={seconds:.4} us_per_step={:.2} steps={steps}",
        seconds * 1e6 / steps.max(1) as f64
    );
    Ok(())
}
