//! The machine's peak of fused multiply-adds at 256 and 512 bits (the AVX2 and AVX-512
//! levels' vector widths), on one thread and on every core: what the kernels' GFLOP/s are
//! fractions of.
//!
//! ```text
//! cargo run --release --example fma_peak -- [--rounds N] [--threads N]
//! ```
//! Each round runs every width on one thread and on `--threads` (default: the number of
//! cores), about 0.3 s each, alternating; the last lines are the medians, e.g.
//! `avx512 threads=2 median_gflops=395.1`.

#[path = "support/out.rs"]
#[macro_use]
mod out;

use nn::kernels::{fma_peak, Level};

fn main() -> Result<(), out::Failure> {
    let mut rounds = 5;
    let mut threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            args.next()
                .ok_or_else(|| format!("`{name}` needs a value"))?
                .parse()
                .map_err(|e| format!("{name}: {e}"))
        };
        match flag.as_str() {
            "--rounds" => rounds = number("--rounds")?.max(1),
            "--threads" => threads = number("--threads")?.max(1),
            _ => return Err("usage: fma_peak [--rounds N] [--threads N]".into()),
        }
    }
    let runs: Vec<(Level, usize)> = [Level::Avx2, Level::Avx512]
        .into_iter()
        .flat_map(|l| [(l, 1), (l, threads)])
        .filter(|&(l, _)| fma_peak(l, 1, 0.01).is_some())
        .collect();
    if runs.is_empty() {
        outln!("no AVX2 or AVX-512 on this CPU: nothing to measure");
        return Ok(());
    }
    let mut results = vec![Vec::new(); runs.len()];
    for round in 1..=rounds {
        for (i, &(level, t)) in runs.iter().enumerate() {
            let gflops = fma_peak(level, t, 0.3).unwrap_or(f64::NAN);
            outln!(
                "round {round}: {} threads={t} gflops={gflops:.1}",
                level.name()
            );
            results[i].push(gflops);
        }
    }
    for ((level, t), mut r) in runs.into_iter().zip(results) {
        r.sort_by(f64::total_cmp);
        outln!(
            "{} threads={t} median_gflops={:.1}",
            level.name(),
            r[r.len() / 2]
        );
    }
    Ok(())
}
