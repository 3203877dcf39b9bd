//! Every instruction-set level this CPU has, compared on one workload.
//!
//! The level is chosen once per process, so the test runs this test binary again once per
//! level ([`available`]) with `NN_ISA` set to it. Each child computes the workload on one and
//! on two threads, checks that the two agree bit for bit, and writes its results to a file;
//! the parent checks every level against a reference in f64 (the products), against the
//! portable level (everything else), and checks that the child ran at the level asked for.
//!
//! Tolerances: products within `1e-4 (1 + |c|)` of the f64 reference (sums of at most 1,200
//! products of values in [-1, 1], rounded differently by each level's fused multiply-adds,
//! tiles and blocks); the activations, SGD and the portable and AVX2 levels' Adam and
//! RMSprop bit for bit (plain multiplies and adds); AVX-512's Adam and RMSprop (fused
//! multiply-adds, refined estimates of the square root and the division, see `avx512.rs`)
//! within a few `f32::EPSILON` of the magnitude of the terms of each result, for one step
//! from the same state (`check_update`), and more loosely after three steps through the
//! optimizers.

use super::{adam_update, rmsprop_update, GradTransform};
use super::{
    affine, available, dense_forward_one, gemm_nn, gemm_nt, gemm_tn, gemm_tn_update, level,
    softmax_in_place, Level,
};
use crate::activations::{ActivationFn, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
use crate::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};
use crate::rng::Rng;
use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

/// Named results of a workload.
type Results = BTreeMap<String, Vec<f32>>;

/// The weight-gradient products of [`PRODUCTS`] (kind `'t'`) fused with an optimizer's
/// update ([`gemm_tn_update`]), with and without the gradient of an earlier pass, for
/// Adam (plain, with clipping and an L2 penalty, and flushing subnormals), AdamW and
/// RMSprop (with and without momentum, and flushing), two steps each from the same state:
/// checked bit for bit against the product, the addition and the optimizer's own `step`;
/// returns the parameters' bits.
fn fused_updates() -> Vec<u32> {
    fn opts() -> Vec<std::boxed::Box<dyn Optimizer>> {
        std::vec![
            std::boxed::Box::new(Adam::new(1e-3)),
            std::boxed::Box::new(Adam::new(1e-3).clip_value(0.5).weight_decay(0.1)),
            std::boxed::Box::new(AdamW::new(1e-3).beta1(0.5)),
            std::boxed::Box::new(RmsProp::new(1e-3)),
            std::boxed::Box::new(RmsProp::new(1e-3).momentum(0.9)),
            std::boxed::Box::new(Adam::new(1e-3).flush_subnormals(true)),
            std::boxed::Box::new(RmsProp::new(1e-3).momentum(0.9).flush_subnormals(true)),
        ]
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mut all = Vec::new();
    for (i, &(kind, m, k, n)) in PRODUCTS.iter().enumerate() {
        if kind != 't' {
            continue;
        }
        let (a, b, prev) = operands(i);
        let start = random(m * n, &mut Rng::new(i as u64));
        for (o, (mut fused, mut plain)) in opts().into_iter().zip(opts()).enumerate() {
            for with_prev in [false, true] {
                let prev = with_prev.then_some(&prev[..]);
                let (mut p_fused, mut p_plain) = (start.clone(), start.clone());
                for _ in 0..2 {
                    let mut room = std::vec![0.0; m * n];
                    let mut update = fused.begin_update(m * n).expect("an element-wise update");
                    gemm_tn_update(m, k, n, &a, &b, prev, &mut room, &mut p_fused, &mut update);
                    let mut g = std::vec![0.0; m * n];
                    gemm_tn(m, k, n, &a, &b, &mut g, false);
                    if let Some(prev) = prev {
                        for (g, p) in g.iter_mut().zip(prev) {
                            *g += *p;
                        }
                    }
                    plain.step(&mut p_plain, &g);
                }
                assert!(
                    bits(&p_fused) == bits(&p_plain),
                    "product {i} optimizer {o} (earlier gradient: {with_prev}): the fused \
                     update differs from the product and the step at level {:?}",
                    level()
                );
                assert!(p_fused != start, "product {i} optimizer {o}: no update");
                all.extend(bits(&p_fused));
            }
        }
    }
    all
}

/// The products of [`PRODUCTS`] (kind `'n'`) as a dense layer's forward pass ([`affine`]):
/// from a bias, the pre-activations kept, then tanh, and without keeping them: checked bit
/// for bit against filling `C` with the bias, the product accumulating, the copy and tanh
/// on the whole of `C`; returns the outputs' and kept values' bits.
fn affines() -> Vec<u32> {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let tanh = |part: &mut [f32]| Tanh.forward(part, part.len());
    let mut all = Vec::new();
    for (i, &(kind, m, k, n)) in PRODUCTS.iter().enumerate() {
        if kind != 'n' {
            continue;
        }
        let (a, b, _) = operands(i);
        let bias = random(n, &mut Rng::new(200 + i as u64));
        let mut want = std::vec![0.0; m * n];
        for row in want.chunks_exact_mut(n) {
            row.copy_from_slice(&bias);
        }
        gemm_nn(m, k, n, &a, &b, &mut want, true);
        let want_kept = want.clone();
        tanh(&mut want);
        let (mut y, mut kept) = (std::vec![f32::NAN; m * n], std::vec![f32::NAN; m * n]);
        affine(m, k, n, &a, &b, &bias, &mut y, Some(&mut kept), &tanh);
        assert!(
            bits(&y) == bits(&want) && bits(&kept) == bits(&want_kept),
            "product {i} as a layer's forward pass differs from its steps at level {:?}",
            level()
        );
        assert!(y != kept, "product {i}: tanh changed nothing");
        let mut alone = std::vec![f32::NAN; m * n];
        affine(m, k, n, &a, &b, &bias, &mut alone, None, &tanh);
        assert!(
            bits(&alone) == bits(&want),
            "product {i} without the kept values"
        );
        all.extend(bits(&y));
        all.extend(bits(&kept));
    }
    all
}

/// The environment variable that makes the test a child, naming the file to write.
const OUT: &str = "NN_LEVELS_OUT";

/// Products `(kind, m, k, n)`: small ones, tiles with every kind of edge, blocks of `k`
/// (over 256), thread splits (over `PARALLEL_PRODUCT`), and `gemm_nt`'s tiled path.
const PRODUCTS: [(char, usize, usize, usize); 21] = [
    ('n', 1, 1, 1),
    // Few rows, split by columns at AVX-512: 25 panels, the last partial; 4 panels; 128
    // rows, split by columns at AVX-512 (7 panels) and by rows at AVX2.
    ('n', 64, 300, 784),
    ('n', 32, 784, 128),
    ('n', 128, 300, 200),
    ('n', 3, 5, 7),
    ('n', 33, 17, 9),
    ('n', 13, 300, 33),
    ('n', 37, 1200, 70),
    ('n', 100, 64, 288),
    ('t', 9, 384, 32),
    ('t', 290, 64, 65),
    ('t', 784, 32, 128),
    ('t', 5, 9, 1),
    // Rows too long for the fused update's gradient block (tile by tile): `B` read in place
    // (the gradient's buffer too small for its panels); from panels in that buffer, the
    // last partial, on a thread and when split across threads.
    ('t', 13, 40, 350),
    ('t', 100, 40, 350),
    // 256 wide: `B` from panels in the gradient's buffer (large enough), and read in place
    // (too small).
    ('t', 50, 40, 256),
    ('t', 13, 40, 256),
    ('T', 32, 10, 128),
    ('T', 32, 64, 64),
    ('T', 7, 300, 20),
    ('T', 4, 3, 5),
];

fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// The operands of product `i` (`A`, `B` as the kind stores them, and `C` to add to).
fn operands(i: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (_, m, k, n) = PRODUCTS[i];
    let mut rng = Rng::new(100 + i as u64);
    (
        random(m * k, &mut rng),
        random(k * n, &mut rng),
        random(m * n, &mut rng),
    )
}

/// `C (+)= A · B` of product `i` in f64, from the operands as stored.
fn reference(i: usize, accumulate: bool) -> Vec<f64> {
    let (kind, m, k, n) = PRODUCTS[i];
    let (a, b, c) = operands(i);
    let mut out = std::vec![0.0f64; m * n];
    for r in 0..m {
        for j in 0..n {
            let mut sum: f64 = if accumulate {
                f64::from(c[r * n + j])
            } else {
                0.0
            };
            for p in 0..k {
                let (x, y) = match kind {
                    'n' => (a[r * k + p], b[p * n + j]),
                    't' => (a[p * m + r], b[p * n + j]),
                    _ => (a[r * k + p], b[j * k + p]),
                };
                sum += f64::from(x) * f64::from(y);
            }
            out[r * n + j] = sum;
        }
    }
    out
}

/// Runs `f` on a rayon pool of `threads` threads.
fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

/// Three steps of `opt` on 40,000 parameters (large enough to be split between threads):
/// the parameters after each step.
fn steps(mut opt: impl Optimizer) -> Vec<f32> {
    let mut rng = Rng::new(7);
    let mut p = random(40_000, &mut rng);
    let mut out = Vec::new();
    for step in 0..3 {
        let mut g = random(p.len(), &mut rng);
        // Zero gradients (a second moment of 0), tiny and large ones.
        for (i, g) in g.iter_mut().enumerate() {
            match (i + step) % 97 {
                0 => *g = 0.0,
                1 => *g *= 1e-20,
                2 => *g *= 1e6,
                _ => {}
            }
        }
        opt.step(&mut p, &g);
        out.extend_from_slice(&p);
    }
    out
}

/// Elements of the single-step updates.
const UPDATE: usize = 40_000;

/// Inputs of one update: parameters, gradients, first and second moments (the second
/// non-negative), with zero, tiny and large gradients and zero moments among them.
fn update_inputs() -> [Vec<f32>; 4] {
    let mut rng = Rng::new(8);
    let p = random(UPDATE, &mut rng);
    let g = (0..UPDATE)
        .map(|i| {
            let g = rng.uniform(-1.0, 1.0);
            match i % 97 {
                0 => 0.0,
                1 => g * 1e-20,
                2 => g * 1e6,
                _ => g,
            }
        })
        .collect();
    let m = (0..UPDATE)
        .map(|i| {
            if i % 89 == 0 {
                0.0
            } else {
                rng.uniform(-0.3, 0.3)
            }
        })
        .collect();
    let v = (0..UPDATE)
        .map(|i| {
            if i % 89 == 0 {
                0.0
            } else {
                rng.uniform(0.0, 0.2)
            }
        })
        .collect();
    [p, g, m, v]
}

/// The gradient transforms of the single-step updates: none, and clipping with an L2
/// penalty.
const TRANSFORMS: [GradTransform; 2] = [
    GradTransform {
        limit: f32::INFINITY,
        scale: 1.0,
        weight_decay: 0.0,
        flush: false,
    },
    GradTransform {
        limit: 0.5,
        scale: 0.8,
        weight_decay: 0.01,
        flush: false,
    },
];

/// Adam's constants of the single-step updates: `[beta1, beta2, c1, c2, epsilon, lr,
/// decay]` (bias corrections of step 3; AdamW's decay).
const ADAM: [f32; 7] = [0.9, 0.999, 3.690_037, 334.000_3, 1e-7, 1e-3, 0.999_99];
/// RMSprop's constants of the single-step updates: `[rho, epsilon, lr, momentum]`.
const RMSPROP: [f32; 4] = [0.9, 1e-8, 1e-3, 0.9];

/// One update of each kind by the kernels themselves, from [`update_inputs`].
fn updates(r: &mut Results) {
    let [p0, g, m0, v0] = update_inputs();
    for (t, grad) in TRANSFORMS.into_iter().enumerate() {
        let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
        adam_update(&mut p, &g, &mut m, &mut v, grad, ADAM);
        r.insert(format!("adam step {t} p"), p);
        r.insert(format!("adam step {t} m"), m);
        r.insert(format!("adam step {t} v"), v);
        for momentum in [false, true] {
            let (mut p, mut v, mut b) = (p0.clone(), v0.clone(), m0.clone());
            let k = [
                RMSPROP[0],
                RMSPROP[1],
                RMSPROP[2],
                if momentum { RMSPROP[3] } else { 0.0 },
            ];
            let buf = momentum.then_some(&mut b[..]);
            rmsprop_update(&mut p, &g, &mut v, buf, grad, k);
            r.insert(format!("rmsprop step {t} {momentum} p"), p);
            r.insert(format!("rmsprop step {t} {momentum} v"), v);
            r.insert(format!("rmsprop step {t} {momentum} b"), b);
        }
    }
}

/// Bounds of the single-step updates at a level that estimates the square root and the
/// division and fuses multiply-adds: for each output, `scale` times a multiple of
/// `f32::EPSILON`, where `scale` adds up the magnitudes of the terms that make it (so a
/// result that cancels is not held to its own last place).
fn check_update(l: Level, name: &str, got: &[f32], want: &[f32]) {
    let [p0, g, m0, v0] = update_inputs();
    let t: usize = name
        .split(' ')
        .nth(2)
        .and_then(|t| t.parse().ok())
        .expect("a transform");
    let grad = TRANSFORMS[t];
    let bound = |i: usize| -> f64 {
        let f = f64::from;
        let (p, m, v) = (f(p0[i]), f(m0[i]), f(v0[i]));
        let clamped = f(g[i].clamp(-grad.limit, grad.limit) * grad.scale);
        let g_terms = clamped.abs() + (f(grad.weight_decay) * p).abs();
        let g_eff = clamped + f(grad.weight_decay) * p;
        let eps = f64::from(f32::EPSILON);
        if name.starts_with("adam") {
            let [b1, b2, c1, c2, e, lr, decay] = ADAM.map(f);
            let m_terms = b1 * m.abs() + (1.0 - b1) * g_terms;
            let v_terms = b2 * v + (1.0 - b2) * g_eff * g_eff;
            let d = (c2 * v_terms).sqrt() + e;
            match name.rsplit(' ').next() {
                Some("m") => 4.0 * eps * m_terms,
                Some("v") => 4.0 * eps * v_terms,
                _ => 8.0 * eps * ((p * decay).abs() + lr * c1 * m_terms / d),
            }
        } else {
            let [rho, e, lr, mom] = RMSPROP.map(f);
            let v_terms = rho * v + (1.0 - rho) * g_eff * g_eff;
            let d = v_terms.sqrt() + e;
            let b_terms = mom * m.abs() + g_terms / d;
            match name.rsplit(' ').next() {
                Some("v") => 4.0 * eps * v_terms,
                Some("b") => 8.0 * eps * b_terms,
                _ => 8.0 * eps * (p.abs() + lr * b_terms),
            }
        }
    };
    for (i, (&x, &w)) in got.iter().zip(want).enumerate() {
        let b = bound(i);
        assert!(
            (f64::from(x) - f64::from(w)).abs() <= b,
            "{l:?} {name} [{i}]: {x} vs portable {w} (bound {b})"
        );
    }
}

/// The workload, at the level of this process.
fn workload() -> Results {
    let mut r = Results::new();
    for (i, &(kind, m, k, n)) in PRODUCTS.iter().enumerate() {
        let (a, b, c0) = operands(i);
        for accumulate in [false, true] {
            let mut c = c0.clone();
            match kind {
                'n' => gemm_nn(m, k, n, &a, &b, &mut c, accumulate),
                't' => gemm_tn(m, k, n, &a, &b, &mut c, accumulate),
                _ => gemm_nt(m, k, n, &a, &b, &mut c, accumulate),
            }
            r.insert(format!("product {i} {accumulate}"), c);
        }
    }
    fn dense<const IN: usize, const OUT: usize>(r: &mut Results) {
        let mut rng = Rng::new(IN as u64);
        let (w, b) = (random(IN * OUT, &mut rng), random(OUT, &mut rng));
        let mut x = random(IN, &mut rng);
        x.iter_mut().step_by(3).for_each(|v| *v = 0.0);
        let mut y = [0.0; OUT];
        dense_forward_one::<IN, OUT>(&w, &b, &x, &mut y);
        r.insert(format!("dense {IN} {OUT}"), y.to_vec());
    }
    dense::<20, 64>(&mut r);
    dense::<64, 1>(&mut r);
    dense::<784, 128>(&mut r);
    dense::<64, 10>(&mut r);
    dense::<128, 10>(&mut r);
    dense::<40, 40>(&mut r);
    dense::<200, 300>(&mut r);
    // Two masked vectors of outputs (the narrow kernel's widest), and inputs in two chunks.
    dense::<100, 20>(&mut r);
    dense::<1100, 24>(&mut r);
    let mut rng = Rng::new(9);
    let x: Vec<f32> = (0..10_000).map(|_| rng.uniform(-4.0, 4.0)).collect();
    let dy = random(x.len(), &mut rng);
    fn activation(r: &mut Results, name: &str, f: impl ActivationFn, x: &[f32], dy: &[f32]) {
        let mut y = x.to_vec();
        f.forward(&mut y, 10);
        let mut d = dy.to_vec();
        f.backward(x, &y, &mut d, 10);
        r.insert(format!("{name} forward"), y);
        r.insert(format!("{name} backward"), d);
    }
    activation(&mut r, "relu", Relu, &x, &dy);
    activation(&mut r, "leaky_relu", LeakyRelu(0.2), &x, &dy);
    activation(&mut r, "sigmoid", Sigmoid, &x, &dy);
    activation(&mut r, "tanh", Tanh, &x, &dy);
    activation(&mut r, "softmax", Softmax, &x, &dy);
    // Softmax rows of one value, of a whole vector, of more than one vector, and rows 40
    // times as spread (exponentials in `expf`'s special cases: underflow to zero).
    for (width, scale) in [(1, 1.0), (16, 1.0), (20, 1.0), (10, 40.0), (13, 40.0)] {
        let mut y: Vec<f32> = x[..width * 50].iter().map(|v| v * scale).collect();
        softmax_in_place(&mut y, width);
        r.insert(format!("softmax {width} x{scale}"), y);
    }
    updates(&mut r);
    r.insert("sgd".into(), steps(Sgd::new(0.1).momentum(0.9)));
    r.insert("adam".into(), steps(Adam::new(1e-3)));
    r.insert(
        "adam clipped".into(),
        steps(
            Adam::new(1e-2)
                .clip_value(0.5)
                .clip_norm(50.0)
                .weight_decay(0.01),
        ),
    );
    r.insert("adamw".into(), steps(AdamW::new(1e-3).epsilon(1e-8)));
    r.insert("rmsprop".into(), steps(RmsProp::new(1e-3)));
    r.insert(
        "rmsprop momentum".into(),
        steps(RmsProp::new(1e-3).momentum(0.9).weight_decay(0.1)),
    );
    r
}

/// Writes `results` as lines `name: bits bits ...` (hexadecimal f32 bits).
fn encode(results: &Results) -> String {
    let mut text = String::new();
    for (name, values) in results {
        text.push_str(name);
        text.push(':');
        for v in values {
            text.push_str(&format!(" {:08x}", v.to_bits()));
        }
        text.push('\n');
    }
    text
}

fn decode(text: &str) -> Results {
    text.lines()
        .map(|line| {
            let (name, values) = line.split_once(':').expect("name: values");
            let values = values
                .split_whitespace()
                .map(|b| f32::from_bits(u32::from_str_radix(b, 16).expect("hex bits")))
                .collect();
            (name.to_string(), values)
        })
        .collect()
}

/// Units in the last place between `a` and `b` (for finite values of one sign).
fn ulps(a: f32, b: f32) -> u32 {
    if a == b {
        return 0;
    }
    a.to_bits().abs_diff(b.to_bits())
}

fn check_product(level: Level, name: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{level:?} {name}");
    for (j, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "{level:?} {name} [{j}]: {g} vs {w}"
        );
    }
}

#[test]
fn every_level_computes_what_the_portable_level_does() {
    let this = "kernels::levels::every_level_computes_what_the_portable_level_does";
    if let Some(path) = std::env::var_os(OUT) {
        let fused_one = on_threads(1, fused_updates);
        let fused_two = on_threads(2, fused_updates);
        assert!(
            fused_one == fused_two,
            "fused updates: two threads differ from one at level {:?}",
            level()
        );
        let (affine_one, affine_two) = (on_threads(1, affines), on_threads(2, affines));
        assert!(
            affine_one == affine_two,
            "dense forward passes: two threads differ from one at level {:?}",
            level()
        );
        let one = on_threads(1, workload);
        let two = on_threads(2, workload);
        for (name, values) in &one {
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert!(
                bits(values) == bits(&two[name]),
                "{name}: two threads differ from one at level {:?}",
                level()
            );
        }
        let text = format!("level {}:\n{}", level().name(), encode(&one));
        std::fs::write(path, text).expect("the results file");
        return;
    }
    let mut by_level = Vec::new();
    for l in available() {
        let path =
            std::env::temp_dir().join(format!("nn-levels-{}-{}", std::process::id(), l.name()));
        let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", this, "--test-threads", "1"])
            .env("NN_ISA", l.name())
            .env(OUT, &path)
            .output()
            .expect("the test binary runs");
        assert!(
            out.status.success(),
            "at level {l:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&path).expect("the child's results");
        let _ = std::fs::remove_file(&path);
        let (first, rest) = text.split_once('\n').expect("a level line");
        assert_eq!(first, format!("level {}:", l.name()), "the child's level");
        by_level.push((l, decode(rest)));
    }
    let (portable_level, portable) = &by_level[0];
    assert_eq!(*portable_level, Level::Portable);
    for (l, results) in &by_level {
        assert_eq!(results.len(), portable.len(), "{l:?}: the same results");
        for i in 0..PRODUCTS.len() {
            for accumulate in [false, true] {
                let name = format!("product {i} {accumulate}");
                check_product(*l, &name, &results[&name], &reference(i, accumulate));
            }
        }
        for (name, want) in portable {
            let got = &results[name];
            if name.starts_with("product") {
                continue;
            }
            if name.starts_with("dense") {
                for (j, (&g, &w)) in got.iter().zip(want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                        "{l:?} {name} [{j}]: {g} vs portable {w}"
                    );
                }
                continue;
            }
            let estimated = name.starts_with("adam") || name.starts_with("rms");
            if *l >= Level::Avx512 && estimated && name.contains(" step ") {
                check_update(*l, name, got, want);
                continue;
            }
            if *l >= Level::Avx512 && estimated {
                // Three steps through the optimizers: each step's parameters within 64
                // `f32::EPSILON` of the larger of its operands, the parameter before and the
                // update (the moments' roundings add up over the steps, and grow where a
                // moment cancels; the single steps above are the strict check).
                let start = random(40_000, &mut Rng::new(7));
                let before = start.iter().chain(&want[..want.len() - start.len()]);
                for (j, ((&g, &w), &p)) in got.iter().zip(want).zip(before).enumerate() {
                    let scale = p.abs() + (w - p).abs();
                    assert!(
                        (g - w).abs() <= 64.0 * f32::EPSILON * scale,
                        "{l:?} {name} [{j}]: {g} vs portable {w} (from {p})"
                    );
                }
                continue;
            }
            let worst = got.iter().zip(want).map(|(&g, &w)| ulps(g, w)).max();
            assert!(
                worst == Some(0),
                "{l:?} {name}: {worst:?} ulps from the portable level (expected identical)"
            );
        }
    }
}
