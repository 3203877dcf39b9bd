//! Throughput of the convolution kernels on the MNIST CNN's first two conv layers, batch 32.
//! Not a correctness test; run it in release mode:
//!
//! ```text
//! cargo test --release -p nn-core --test perf_conv -- --ignored --nocapture
//! ```

use nn_core::activations::Linear;
use nn_core::layers::{Backward, Conv2D, Forward, Io, Layer, Pass};
use nn_core::rng::Rng;
use std::time::{Duration, Instant};

const BATCH: usize = 32;

/// Median of `reps` timings of `f`, after one warm-up call.
fn median(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[reps / 2]
}

fn gflops(flops: usize, t: Duration) -> f64 {
    flops as f64 / t.as_secs_f64() / 1e9
}

macro_rules! bench_layer {
    ($label:literal, $layer:ty, $with_dx:expr) => {{
        type L = $layer;
        let layer = L::new(Linear);
        let mut rng = Rng::new(1);
        let mut params = vec![0.0; L::PARAMS];
        layer.init(&mut params, &mut [], &mut rng);
        let x: Vec<f32> = (0..BATCH * L::INPUT)
            .map(|_| rng.uniform(-1.0, 1.0))
            .collect();
        let dy: Vec<f32> = (0..BATCH * L::OUTPUT)
            .map(|_| rng.uniform(-1.0, 1.0))
            .collect();
        let mut y = vec![0.0; BATCH * L::OUTPUT];
        let mut dx = vec![0.0; BATCH * L::INPUT];
        let mut grads = vec![0.0; L::PARAMS];
        let mut scratch = vec![0.0; L::batch_scratch(BATCH)];
        let reps = 21;
        let fwd = median(reps, || {
            let f = Forward {
                params: &params,
                state: &mut [],
                x: &x,
                y: &mut y,
                cache: &mut [],
                scratch: &mut scratch,
                batch: BATCH,
            };
            layer.forward(f, &mut Pass::Eval)
        });
        let mut d = dy.clone();
        let bwd = median(reps, || {
            d.copy_from_slice(&dy);
            layer.backward(Backward {
                params: &params,
                state: &[],
                x: &x,
                y: &y,
                cache: &[],
                dy: &mut d,
                dx: if $with_dx { Some(&mut dx) } else { None },
                grads: Some(&mut grads),
                scratch: &mut scratch,
                batch: BATCH,
                training: true,
            })
        });
        let one = median(reps, || {
            for (xs, ys) in x.chunks_exact(L::INPUT).zip(y.chunks_exact_mut(L::OUTPUT)) {
                layer.infer(&params, &[], Io::Separate { x: xs, y: ys }, &mut []);
            }
        });
        let f = BATCH * usize::try_from(L::FLOPS).expect("fits");
        // Backward: dW is one forward's worth of multiply-adds, dx another.
        let fb = f * if $with_dx { 2 } else { 1 };
        println!(
            "{:<34} fwd {:>7.2?} {:>6.1} GFLOP/s | bwd{} {:>7.2?} {:>6.1} GFLOP/s | \
             fwd+bwd {:>6.1} GFLOP/s | single-sample fwd x{BATCH} {:>7.2?} {:>6.1} GFLOP/s",
            $label,
            fwd,
            gflops(f, fwd),
            if $with_dx { "+dx" } else { "   " },
            bwd,
            gflops(fb, bwd),
            gflops(f + fb, fwd + bwd),
            one,
            gflops(f, one),
        );
    }};
}

fn run_all() {
    bench_layer!(
        "conv1 28x28x1 -> 26x26x32 k3",
        Conv2D<28, 28, 1, 32, 3, 3, 1, 1, false>,
        false
    );
    bench_layer!(
        "conv1 (with dx, for comparison)",
        Conv2D<28, 28, 1, 32, 3, 3, 1, 1, false>,
        true
    );
    bench_layer!(
        "conv2 13x13x32 -> 11x11x64 k3",
        Conv2D<13, 13, 32, 64, 3, 3, 1, 1, false>,
        true
    );
}

#[test]
#[ignore = "timing, run in release mode with --ignored --nocapture"]
fn mnist_cnn_conv_layers_batch_32() {
    println!("batch {BATCH}, one thread:");
    run_all();
    // rayon comes with nn-core's `std` feature.
    #[cfg(feature = "std")]
    {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        println!(
            "batch {BATCH}, inside a rayon pool of {threads} threads (products split by rows):"
        );
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
            .install(run_all);
    }
}
