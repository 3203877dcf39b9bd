//! [`Tape`]: the reusable buffers of a model's batched passes.
//!
//! A generated model's `forward_batch` hands its layers, in order, to a [`ForwardRun`]; the
//! run gives each layer its input (the caller's batch, or the previous layer's output), room
//! for its output and its cache, the shared scratch and its slice of the state, and records
//! the sequence. `backward_batch` hands the same layers in reverse order to a
//! [`BackwardRun`], which routes the gradients: each layer receives the gradient with
//! respect to its output and, only where something below needs it, room for the gradient
//! with respect to its input; parameter gradients land in the caller's flat buffer at the
//! layer's range, and only when the caller asks for them (a frozen model passes gradients
//! through without computing its own).
//!
//! Buffers grow to the largest batch seen and are then reused: after the first step, a
//! training step allocates nothing.
//!
//! ```
//! use nn_core::activations::{Linear, Relu};
//! use nn_core::layers::{Dense, LayerRef, Pass};
//! use nn_core::tape::Tape;
//! let (first, second) = (Dense::<2, 2, Relu>::new(Relu), Dense::<2, 1>::new(Linear));
//! let (p1, p2) = ([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [1.0, -1.0, 0.0]);
//! let mut tape = Tape::new();
//! // Two samples: (1, 2) and (3, -1).
//! let x = [1.0, 2.0, 3.0, -1.0];
//! let mut run = tape.forward(&x, 2, &[], Pass::Eval);
//! run.layer(LayerRef::new(first, &p1, &[]));
//! run.layer(LayerRef::new(second, &p2, &[]));
//! assert_eq!(run.finish(), &[-1.0, 3.0]);
//!
//! // d(sum of outputs): the gradient of every parameter, and of the input.
//! let (mut grads, mut dx, mut d_output) = ([0.0; 9], [0.0; 4], [1.0, 1.0]);
//! let mut run = tape.backward(&x, &mut d_output, Some(&mut grads), Some(&mut dx));
//! run.layer(LayerRef::new(second, &p2, &[]));
//! run.layer(LayerRef::new(first, &p1, &[]));
//! assert_eq!(dx, [1.0, -1.0, 1.0, 0.0]); // the second sample's ReLU is off for x1 = -1
//! assert_eq!(&grads[6..], &[4.0, 2.0, 2.0]);
//! ```

use alloc::vec::Vec;

use crate::layers::contract::batch_values;
use crate::layers::{Backward, Forward, Layer, LayerRef, LayerUpdate, Pass};

/// What the tape knows of one layer after a forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Step {
    /// Buffer of the input: 0 is the caller's batch.
    input: usize,
    /// Buffer of the output: the input's for a reshape.
    output: usize,
    input_width: usize,
    output_width: usize,
    params: usize,
    state: usize,
    cache: usize,
    reshape: bool,
}

/// The buffers of a model's batched passes (see the [module documentation](self)).
#[derive(Clone, Debug, Default)]
pub struct Tape {
    steps: Vec<Step>,
    /// `values[b]`: buffer `b` (index 0 unused: the caller's batch).
    values: Vec<Vec<f32>>,
    /// `grads[b]`: the gradient with respect to buffer `b` (index 0 unused).
    grads: Vec<Vec<f32>>,
    /// Per layer.
    caches: Vec<Vec<f32>>,
    scratch: Vec<f32>,
    state: Vec<f32>,
    /// Per layer: whether the gradient with respect to its input is needed.
    needs_dx: Vec<bool>,
    batch: usize,
    training: bool,
}

/// Grows `v` to at least `len` values (allocating only when it grows) and returns them.
fn room(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

impl Tape {
    /// An empty tape; its buffers grow on first use.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            steps: Vec::new(),
            values: Vec::new(),
            grads: Vec::new(),
            caches: Vec::new(),
            scratch: Vec::new(),
            state: Vec::new(),
            needs_dx: Vec::new(),
            batch: 0,
            training: false,
        }
    }

    /// Starts a forward pass of `batch` samples in `x` with the model's state `state` (a
    /// copy, which a training pass updates: see [`state`](Self::state)).
    ///
    /// # Panics
    /// If `x` does not hold a whole number of samples (checked again per layer).
    pub fn forward<'t, 'x, 'p>(
        &'t mut self,
        x: &'x [f32],
        batch: usize,
        state: &[f32],
        pass: Pass<'p>,
    ) -> ForwardRun<'t, 'x, 'p> {
        self.batch = batch;
        self.training = pass.is_training();
        self.state.clear();
        self.state.extend_from_slice(state);
        ForwardRun {
            tape: self,
            x,
            pass,
            step: 0,
            state: 0,
        }
    }

    /// The state after the last forward pass: updated by a training pass (batch
    /// normalisation's running statistics), for the model to take back.
    #[must_use]
    pub fn state(&self) -> &[f32] {
        &self.state
    }

    /// Whether the last forward pass was a training pass.
    #[must_use]
    pub const fn training(&self) -> bool {
        self.training
    }

    /// What layer `i` kept for its backward pass in the last forward pass ([`Layer::CACHE`]
    /// values per sample: a dropout mask, say); empty for a layer that keeps nothing or that
    /// did not run.
    ///
    /// [`Layer::CACHE`]: crate::layers::Layer::CACHE
    #[must_use]
    pub fn cache(&self, i: usize) -> &[f32] {
        match (self.steps.get(i), self.caches.get(i)) {
            (Some(s), Some(c)) => &c[..(self.batch * s.cache).min(c.len())],
            _ => &[],
        }
    }

    /// The output of the last forward pass.
    #[must_use]
    pub fn output(&self) -> &[f32] {
        match self.steps.last() {
            Some(s) if s.output > 0 => &self.values[s.output][..self.batch * s.output_width],
            _ => &[],
        }
    }

    /// Starts the backward pass of the last forward pass on the same `x`: from `d_output`,
    /// the gradient with respect to its output (used as scratch), writes the gradient of
    /// every parameter into `grads` (the model's `PARAMS` values, overwritten) when given,
    /// and the gradient with respect to `x` into `dx` when given.
    ///
    /// # Panics
    /// If no forward pass ran.
    pub fn backward<'t, 'x>(
        &'t mut self,
        x: &'x [f32],
        d_output: &'x mut [f32],
        grads: Option<&'x mut [f32]>,
        dx: Option<&'x mut [f32]>,
    ) -> BackwardRun<'t, 'x> {
        assert!(
            !self.steps.is_empty(),
            "backward pass without a forward pass"
        );
        // A layer needs the gradient with respect to its input when a layer below it has
        // parameters whose gradient is asked for, or the caller asks for dx.
        let mut below = dx.is_some();
        self.needs_dx.clear();
        for step in &self.steps {
            self.needs_dx.push(below);
            below = below || (grads.is_some() && step.params > 0);
        }
        let params = self.steps.iter().map(|s| s.params).sum();
        let state = self.steps.iter().map(|s| s.state).sum();
        BackwardRun {
            step: self.steps.len(),
            tape: self,
            x,
            d_output,
            grads,
            dx,
            params,
            state,
        }
    }

    /// [`backward`](Self::backward) with parameter gradients that takes an optimizer step
    /// as it goes: each layer with parameters gets its slice of `params` (the model's, in
    /// order), of `grads` (room for the gradients, whose content afterwards is
    /// unspecified), of `prev` (the gradient of earlier passes, added before the update)
    /// and of `update` (see [`Layer::backward_update`]). Layers are handed back by value
    /// ([`UpdateRun::layer`]), in reverse order.
    ///
    /// # Panics
    /// Without a forward pass, or if `params`, `grads`, `prev` or `update` is shorter than
    /// the parameters of the forward pass's layers.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_update<'t, 'x>(
        &'t mut self,
        x: &'x [f32],
        d_output: &'x mut [f32],
        dx: Option<&'x mut [f32]>,
        params: &'x mut [f32],
        grads: &'x mut [f32],
        prev: Option<&'x [f32]>,
        update: crate::kernels::ParamUpdate<'x>,
    ) -> UpdateRun<'t, 'x> {
        let total: usize = self.steps.iter().map(|s| s.params).sum();
        assert!(
            params.len() >= total
                && grads.len() >= total
                && update.len() >= total
                && prev.is_none_or(|g| g.len() >= total),
            "Tape::backward_update: buffers shorter than the model's {total} parameters"
        );
        let run = self.backward(x, d_output, None, dx);
        // As with gradients asked: every layer above one with parameters needs its dx.
        let mut below = run.dx.is_some();
        run.tape.needs_dx.clear();
        for step in &run.tape.steps {
            run.tape.needs_dx.push(below);
            below = below || step.params > 0;
        }
        UpdateRun {
            run,
            params,
            grads,
            prev,
            update,
        }
    }
}

/// A forward pass in progress (see [`Tape::forward`]).
#[derive(Debug)]
pub struct ForwardRun<'t, 'x, 'p> {
    tape: &'t mut Tape,
    x: &'x [f32],
    pass: Pass<'p>,
    step: usize,
    /// Start of the next layer's state.
    state: usize,
}

impl<'t> ForwardRun<'t, '_, '_> {
    /// Runs the next layer.
    ///
    /// # Panics
    /// If the layer's input size is not the previous output's.
    pub fn layer<L: Layer>(&mut self, layer: LayerRef<'_, L>) {
        let (i, batch) = (self.step, self.tape.batch);
        self.step += 1;
        for width in [L::INPUT, L::OUTPUT, L::CACHE] {
            let _ = batch_values(L::KIND, batch, width);
        }
        let tape = &mut *self.tape;
        let (input, input_width) = match i {
            0 => {
                assert_eq!(self.x.len(), batch * L::INPUT, "{}: input size", L::KIND);
                (0, L::INPUT)
            }
            _ => (tape.steps[i - 1].output, tape.steps[i - 1].output_width),
        };
        assert_eq!(input_width, L::INPUT, "{}: input width", L::KIND);
        let step = Step {
            input,
            output: if L::RESHAPE { input } else { i + 1 },
            input_width,
            output_width: L::OUTPUT,
            params: L::PARAMS,
            state: L::STATE,
            cache: L::CACHE,
            reshape: L::RESHAPE,
        };
        if tape.steps.len() > i {
            tape.steps[i] = step;
        } else {
            tape.steps.push(step);
        }
        tape.steps.truncate(i + 1);
        while tape.values.len() <= i + 1 {
            tape.values.push(Vec::new());
            tape.grads.push(Vec::new());
        }
        while tape.caches.len() <= i {
            tape.caches.push(Vec::new());
        }
        let state = &mut tape.state[self.state..self.state + L::STATE];
        self.state += L::STATE;
        if L::RESHAPE {
            return;
        }
        let (below, above) = tape.values.split_at_mut(i + 1);
        let x: &[f32] = match input {
            0 => self.x,
            b => &below[b][..batch * L::INPUT],
        };
        layer.layer.forward(
            Forward {
                params: layer.params,
                state,
                x,
                y: room(&mut above[0], batch * L::OUTPUT),
                cache: room(&mut tape.caches[i], batch * L::CACHE),
                scratch: room(&mut tape.scratch, L::batch_scratch(batch)),
                batch,
            },
            &mut self.pass,
        );
    }

    /// Ends the pass; returns the last layer's output.
    #[must_use]
    pub fn finish(self) -> &'t [f32] {
        let tape = self.tape;
        tape.steps.truncate(self.step);
        match tape.steps.last() {
            Some(s) if s.output > 0 => &tape.values[s.output][..tape.batch * s.output_width],
            _ => &[],
        }
    }
}

/// A backward pass in progress (see [`Tape::backward`]); layers come in reverse order.
#[derive(Debug)]
pub struct BackwardRun<'t, 'x> {
    tape: &'t mut Tape,
    x: &'x [f32],
    d_output: &'x mut [f32],
    grads: Option<&'x mut [f32]>,
    dx: Option<&'x mut [f32]>,
    step: usize,
    /// End of the current layer's parameters.
    params: usize,
    /// End of the current layer's state.
    state: usize,
}

impl BackwardRun<'_, '_> {
    /// Runs the backward pass of the previous layer (the last one first).
    ///
    /// # Panics
    /// If the layers do not match the forward pass's.
    pub fn layer<L: Layer>(&mut self, layer: LayerRef<'_, L>) {
        assert!(self.step > 0, "more layers than in the forward pass");
        self.step -= 1;
        let i = self.step;
        let tape = &mut *self.tape;
        let (step, batch) = (tape.steps[i], tape.batch);
        assert!(
            step.output_width == L::OUTPUT && step.params == L::PARAMS,
            "{}: not the layer of the forward pass",
            L::KIND
        );
        self.params -= L::PARAMS;
        self.state -= L::STATE;
        let wants_grads = self.grads.is_some() && L::PARAMS > 0;
        let wants_dx = tape.needs_dx[i];
        if step.reshape || !(wants_grads || wants_dx) {
            return;
        }
        let last = tape.steps.last().map_or(0, |s| s.output);
        let (low, high) = tape.grads.split_at_mut(step.output);
        let dy: &mut [f32] = if step.output == last {
            &mut self.d_output[..batch * L::OUTPUT]
        } else {
            &mut high[0][..batch * L::OUTPUT]
        };
        let dx: Option<&mut [f32]> = match (wants_dx, step.input) {
            (false, _) => None,
            (true, 0) => self.dx.as_deref_mut(),
            (true, b) => Some(room(&mut low[b], batch * L::INPUT)),
        };
        let x: &[f32] = match step.input {
            0 => self.x,
            b => &tape.values[b][..batch * L::INPUT],
        };
        let grads = match &mut self.grads {
            Some(g) if L::PARAMS > 0 => Some(&mut g[self.params..self.params + L::PARAMS]),
            _ => None,
        };
        layer.layer.backward(Backward {
            params: layer.params,
            state: &tape.state[self.state..self.state + L::STATE],
            x,
            y: &tape.values[step.output][..batch * L::OUTPUT],
            cache: &tape.caches[i][..batch * L::CACHE],
            dy,
            dx,
            grads,
            scratch: room(&mut tape.scratch, L::batch_scratch(batch)),
            batch,
            training: tape.training,
        });
    }
}

/// The backward pass of [`Tape::backward_update`]: hand it the layers in reverse order.
#[derive(Debug)]
pub struct UpdateRun<'t, 'x> {
    run: BackwardRun<'t, 'x>,
    params: &'x mut [f32],
    grads: &'x mut [f32],
    prev: Option<&'x [f32]>,
    update: crate::kernels::ParamUpdate<'x>,
}

impl UpdateRun<'_, '_> {
    /// The backward pass of the next layer down, with the update of its parameters.
    ///
    /// # Panics
    /// If the layers do not match the forward pass's, in reverse order.
    pub fn layer<L: Layer>(&mut self, layer: L) {
        let run = &mut self.run;
        assert!(run.step > 0, "more layers than in the forward pass");
        run.step -= 1;
        let i = run.step;
        let tape = &mut *run.tape;
        let (step, batch) = (tape.steps[i], tape.batch);
        assert!(
            step.output_width == L::OUTPUT && step.params == L::PARAMS,
            "{}: not the layer of the forward pass",
            L::KIND
        );
        run.params -= L::PARAMS;
        run.state -= L::STATE;
        let wants_dx = tape.needs_dx[i];
        if step.reshape || !(L::PARAMS > 0 || wants_dx) {
            return;
        }
        let last = tape.steps.last().map_or(0, |s| s.output);
        let (low, high) = tape.grads.split_at_mut(step.output);
        let dy: &mut [f32] = if step.output == last {
            &mut run.d_output[..batch * L::OUTPUT]
        } else {
            &mut high[0][..batch * L::OUTPUT]
        };
        let dx: Option<&mut [f32]> = match (wants_dx, step.input) {
            (false, _) => None,
            (true, 0) => run.dx.as_deref_mut(),
            (true, b) => Some(room(&mut low[b], batch * L::INPUT)),
        };
        let x: &[f32] = match step.input {
            0 => run.x,
            b => &tape.values[b][..batch * L::INPUT],
        };
        let b = Backward {
            params: &[],
            state: &tape.state[run.state..run.state + L::STATE],
            x,
            y: &tape.values[step.output][..batch * L::OUTPUT],
            cache: &tape.caches[i][..batch * L::CACHE],
            dy,
            dx,
            grads: None,
            scratch: room(&mut tape.scratch, L::batch_scratch(batch)),
            batch,
            training: tape.training,
        };
        if L::PARAMS == 0 {
            layer.backward(b);
            return;
        }
        let range = run.params..run.params + L::PARAMS;
        layer.backward_update(
            b,
            LayerUpdate {
                params: &mut self.params[range.clone()],
                grads: &mut self.grads[range.clone()],
                prev: self.prev.map(|g| &g[range.clone()]),
                update: self.update.range(range.start, L::PARAMS),
            },
        );
    }
}
