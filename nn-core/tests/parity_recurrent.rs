//! Recurrent layers against PyTorch (float64 fixtures `rnn_tanh`, `lstm`, `gru`: one
//! `torch.nn.RNN/LSTM/GRU(3, 4, batch_first=True)` on `x [2, 5, 3]` from a non-zero initial
//! state): every step's output, the final state, and the gradients of `sum(y * dy) +
//! sum(h_n * dh_n) (+ sum(c_n * dc_n))` with respect to the input, the initial state and every
//! weight.
//!
//! The fixtures' weights are converted to the layers' memory through the layers' own tensor
//! tables (`Layer::TENSORS`, as weight files are), so a wrong table fails here too.

mod common;

use nn_core::activations::Tanh;
use nn_core::layers::{
    Backward, Forward, Gru, Layer, Lstm, RecurrentGrad, RecurrentState, SimpleRnn,
};

const RTOL: f64 = 1e-5;

/// The absolute tolerance: 1e-6 at the kernels' AVX2 and AVX-512 levels, whose products fuse
/// each multiply-add; the 1e-5 at the portable level (`NN_ISA=portable`), where each
/// product is rounded before it is added (a weight gradient of `rnn_tanh` that cancels to
/// 0.138 is 2.4e-6 off there, 1.8e-5 relative). The other tests (`parity_sequence`) hold
/// 1e-5 absolute at every level.
fn atol() -> f64 {
    if nn_core::kernels::level() == nn_core::kernels::Level::Portable {
        1e-5
    } else {
        1e-6
    }
}

/// Fixture sizes: batch, steps, features, units.
const B: usize = 2;
const T: usize = 5;
const F: usize = 3;
const H: usize = 4;

/// The lower-level passes the three layers share (from and to a given state).
trait Recurrent: Layer {
    /// Whether the layer has a cell state (an LSTM).
    const CELL: bool;
    fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>);
    fn backward_from(
        &self,
        b: Backward<'_>,
        start: RecurrentState<'_>,
        d_end: RecurrentState<'_>,
        d_start: RecurrentGrad<'_>,
    );
    fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, end: RecurrentGrad<'_>);
}

macro_rules! recurrent {
    ($ty:ty, $cell:expr) => {
        impl Recurrent for $ty {
            const CELL: bool = $cell;
            fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>) {
                <$ty>::forward_from(self, f, start)
            }
            fn backward_from(
                &self,
                b: Backward<'_>,
                start: RecurrentState<'_>,
                d_end: RecurrentState<'_>,
                d_start: RecurrentGrad<'_>,
            ) {
                <$ty>::backward_from(self, b, start, d_end, d_start)
            }
            fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, end: RecurrentGrad<'_>) {
                <$ty>::end_state(self, y, cache, batch, end)
            }
        }
    };
}
recurrent!(Lstm<T, F, H, true>, true);
recurrent!(Lstm<T, F, H>, true);
recurrent!(Gru<T, F, H, true>, false);
recurrent!(Gru<T, F, H>, false);
recurrent!(SimpleRnn<T, F, H, true>, false);
recurrent!(SimpleRnn<T, F, H>, false);

/// The layer's parameters from the fixture's `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`
/// (`prefix` "d" for their gradients), through the layer's tensor table.
fn from_fixture<L: Layer>(fx: &common::Fixture, prefix: &str) -> Vec<f32> {
    let mut p = vec![f32::NAN; L::PARAMS];
    for t in L::TENSORS {
        let name = format!("{prefix}{}", t.suffix.trim_end_matches("_l0"));
        assert_eq!(fx.shape(&name), t.shape, "{}: {name}", L::KIND);
        let values = fx.f32(&name);
        t.for_each_index(nn_core::layers::InputOrder::Rows, |file, mem| {
            p[t.offset + mem] = values[file];
        });
    }
    assert!(
        p.iter().all(|v| v.is_finite()),
        "the tensors tile the parameters"
    );
    p
}

/// What one run of a layer on the fixture gives.
struct Run {
    y: Vec<f32>,
    h_n: Vec<f32>,
    c_n: Vec<f32>,
    dx: Vec<f32>,
    dh0: Vec<f32>,
    dc0: Vec<f32>,
    grads: Vec<f32>,
}

/// Forward from the fixture's initial state, then backward from its `dy`, `dh_n` (and
/// `dc_n`), asking for every gradient. Output and gradient buffers start as garbage: the
/// passes must overwrite them.
fn run<L: Recurrent + Default>(fx: &common::Fixture, dy: &[f32]) -> Run {
    let layer = L::default();
    let params = from_fixture::<L>(fx, "");
    let (x, h0) = (fx.f32("x"), fx.f32("h0"));
    let c0 = if L::CELL { fx.f32("c0") } else { Vec::new() };
    let start = RecurrentState {
        h: Some(&h0),
        c: L::CELL.then_some(c0.as_slice()),
    };
    let mut y = vec![f32::NAN; B * L::OUTPUT];
    let mut cache = vec![f32::NAN; B * L::CACHE];
    let mut scratch = vec![f32::NAN; L::batch_scratch(B)];
    layer.forward_from(
        Forward {
            params: &params,
            state: &mut [],
            x: &x,
            y: &mut y,
            cache: &mut cache,
            scratch: &mut scratch,
            batch: B,
        },
        start,
    );
    let (mut h_n, mut c_n) = (vec![f32::NAN; B * H], vec![f32::NAN; B * H]);
    layer.end_state(
        &y,
        &cache,
        B,
        RecurrentGrad {
            h: Some(&mut h_n),
            c: L::CELL.then_some(c_n.as_mut_slice()),
        },
    );
    let (dh_n, dc_n) = (
        fx.f32("dh_n"),
        if L::CELL { fx.f32("dc_n") } else { Vec::new() },
    );
    let mut d = dy.to_vec();
    let mut dx = vec![f32::NAN; B * T * F];
    let mut grads = vec![f32::NAN; L::PARAMS];
    let (mut dh0, mut dc0) = (vec![f32::NAN; B * H], vec![f32::NAN; B * H]);
    layer.backward_from(
        Backward {
            params: &params,
            state: &[],
            x: &x,
            y: &y,
            cache: &cache,
            dy: &mut d,
            dx: Some(&mut dx),
            grads: Some(&mut grads),
            scratch: &mut scratch,
            batch: B,
            training: true,
        },
        start,
        RecurrentState {
            h: Some(&dh_n),
            c: L::CELL.then_some(dc_n.as_slice()),
        },
        RecurrentGrad {
            h: Some(&mut dh0),
            c: L::CELL.then_some(dc0.as_mut_slice()),
        },
    );
    Run {
        y,
        h_n,
        c_n,
        dx,
        dh0,
        dc0,
        grads,
    }
}

/// Every value the fixture holds, with every step's output (`return_sequences`).
fn matches_pytorch<L: Recurrent + Default>(name: &str) {
    let fx = common::Fixture::load(name);
    assert_eq!(fx.shape("x"), &[B, T, F]);
    assert_eq!(fx.shape("y"), &[B, T, H]);
    let r = run::<L>(&fx, &fx.f32("dy"));
    common::assert_close(&format!("{name} y"), &r.y, fx.f64("y"), RTOL, atol());
    common::assert_close(&format!("{name} h_n"), &r.h_n, fx.f64("h_n"), RTOL, atol());
    if L::CELL {
        common::assert_close(&format!("{name} c_n"), &r.c_n, fx.f64("c_n"), RTOL, atol());
        common::assert_close(&format!("{name} dc0"), &r.dc0, fx.f64("dc0"), RTOL, atol());
    }
    common::assert_close(&format!("{name} dx"), &r.dx, fx.f64("dx"), RTOL, atol());
    common::assert_close(&format!("{name} dh0"), &r.dh0, fx.f64("dh0"), RTOL, atol());
    let expected: Vec<f64> = from_fixture::<L>(&fx, "d")
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    common::assert_close(
        &format!("{name} weight gradients"),
        &r.grads,
        &expected,
        RTOL,
        atol(),
    );
}

/// The same layer returning only its last step: its output is `h_n`, and its gradients given
/// the last step's `dy` are those of the layer returning every step given a `dy` that is zero
/// on the other steps.
fn last_step_agrees<Seq: Recurrent + Default, Last: Recurrent + Default>(name: &str) {
    let fx = common::Fixture::load(name);
    let dy_all = fx.f32("dy");
    let mut dy_last_only = vec![0.0; B * T * H];
    let mut dy_last = vec![0.0; B * H];
    for s in 0..B {
        let at = (s * T + T - 1) * H;
        dy_last_only[at..at + H].copy_from_slice(&dy_all[at..at + H]);
        dy_last[s * H..(s + 1) * H].copy_from_slice(&dy_all[at..at + H]);
    }
    let seq = run::<Seq>(&fx, &dy_last_only);
    let last = run::<Last>(&fx, &dy_last);
    common::assert_close(
        &format!("{name} last y"),
        &last.y,
        fx.f64("h_n"),
        RTOL,
        atol(),
    );
    let close = |what: &str, a: &[f32], b: &[f32]| {
        let b: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
        common::assert_close(&format!("{name} {what}"), a, &b, 1e-6, 1e-7);
    };
    close("dx", &last.dx, &seq.dx);
    close("dh0", &last.dh0, &seq.dh0);
    close("grads", &last.grads, &seq.grads);
}

#[test]
fn lstm_matches_pytorch() {
    matches_pytorch::<Lstm<T, F, H, true>>("lstm");
}

#[test]
fn lstm_last_step_agrees_with_every_step() {
    last_step_agrees::<Lstm<T, F, H, true>, Lstm<T, F, H>>("lstm");
}

#[test]
fn gru_matches_pytorch() {
    matches_pytorch::<Gru<T, F, H, true>>("gru");
}

#[test]
fn gru_last_step_agrees_with_every_step() {
    last_step_agrees::<Gru<T, F, H, true>, Gru<T, F, H>>("gru");
}

#[test]
fn simple_rnn_matches_pytorch() {
    matches_pytorch::<SimpleRnn<T, F, H, true, Tanh>>("rnn_tanh");
}

#[test]
fn simple_rnn_last_step_agrees_with_every_step() {
    last_step_agrees::<SimpleRnn<T, F, H, true>, SimpleRnn<T, F, H>>("rnn_tanh");
}
