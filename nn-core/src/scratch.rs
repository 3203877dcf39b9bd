//! The scratch buffer of allocation-free inference.
//!
//! A generated model's `forward_into` keeps every intermediate value in one caller-provided
//! buffer of `SCRATCH` values, through a [`Stack`]: each layer that produces new values reads
//! its input from one end of the buffer and writes its output at the other end (the next
//! layer swaps the ends), with its own scratch ([`Layer::SCRATCH`]) in between; layers that
//! work in place ([`Layer::IN_PLACE`]: activations, dropout) use the buffer where it is, and
//! `Flatten` ([`Layer::RESHAPE`]) costs nothing. The first layer reads the caller's input
//! directly. So the buffer needs the largest [`Step::need`] over the layers, and no more:
//! [`size`] computes it at compile time from the layers' types.
//!
//! ```
//! use nn_core::activations::{Linear, Relu};
//! use nn_core::layers::{Activation, Dense, LayerRef};
//! use nn_core::scratch::{size, Stack, Step};
//! let (first, relu, second) = (Dense::<2, 3>::new(Linear), Activation::<3, Relu>::new(Relu),
//!                              Dense::<3, 1>::new(Linear));
//! // The first layer writes 3 values; ReLU works on them in place; the second reads 3 and
//! // writes 1 at the other end: 4 values.
//! const NEED: usize = size(&[Step::of::<Dense<2, 3>>(), Step::of::<Activation<3, Relu>>(),
//!                            Step::of::<Dense<3, 1>>()]);
//! assert_eq!(NEED, 4);
//! let p1 = [1.0, 0.0, -1.0, 0.0, 1.0, 0.0, /* bias */ 0.0, 0.0, 0.5];
//! let p2 = [1.0, 1.0, 1.0, /* bias */ 0.0];
//! let mut scratch = [0.0; NEED];
//! let mut stack = Stack::new(&[2.0, 3.0], &mut scratch);
//! stack.run(LayerRef::new(first, &p1, &[]));
//! stack.run(LayerRef::new(relu, &[], &[]));
//! stack.run(LayerRef::new(second, &p2, &[]));
//! // relu([2, 3, -2 + 0.5]) summed: 5.
//! assert_eq!(stack.output(), &[5.0]);
//! ```

pub use crate::layers::contract::Step;

use crate::layers::{Io, Layer, LayerRef};
use crate::quant::Quantize;

/// The scratch that running `steps` in order needs: the largest [`Step::need`], with the
/// first layers reading the caller's input until one writes into the scratch.
#[must_use]
pub const fn size(steps: &[Step]) -> usize {
    let (mut most, mut from_input, mut i) = (0, true, 0);
    while i < steps.len() {
        let need = steps[i].need(from_input);
        if need > most {
            most = need;
        }
        from_input = from_input && steps[i].reshape;
        i += 1;
    }
    most
}

/// Runs layers one after another in a scratch buffer (see the [module documentation](self)):
/// `f32` layers ([`run`](Self::run)), or the int8 variants of a quantized model
/// ([`run_i8`](Stack::run_i8)).
#[derive(Debug)]
pub struct Stack<'x, 's, T = f32> {
    /// The caller's input, while no layer has written into the scratch yet.
    input: Option<&'x [T]>,
    scratch: &'s mut [T],
    /// Where the current values are in the scratch: at its start or at its end.
    at_start: bool,
    /// How many values there are.
    len: usize,
}

impl<'x, 's, T: Copy> Stack<'x, 's, T> {
    /// A stack whose current values are the caller's input `x`.
    #[inline]
    pub fn new(x: &'x [T], scratch: &'s mut [T]) -> Self {
        Self {
            input: Some(x),
            scratch,
            at_start: true,
            len: x.len(),
        }
    }

    /// Runs one step of layer type `L` on the current values: `infer` gets the input and the
    /// output and the layer's own scratch.
    ///
    /// # Panics
    /// If the scratch is too small (the `SCRATCH` a model declares never is) or the current
    /// values are not the layer's input size.
    #[inline]
    fn step<L: Layer>(&mut self, infer: impl FnOnce(Io<'_, T>, &mut [T])) {
        assert_eq!(self.len, L::INPUT, "{}: input size", L::KIND);
        if L::RESHAPE {
            self.len = L::OUTPUT;
            return;
        }
        let total = self.scratch.len();
        let need = Step::of::<L>().need(self.input.is_some());
        assert!(
            need <= total,
            "{}: scratch of {total} values, {need} needed",
            L::KIND
        );
        let (out, own) = (L::OUTPUT, L::SCRATCH);
        if let Some(x) = self.input.take() {
            // Output at the start, own scratch after it.
            let (y, rest) = self.scratch.split_at_mut(out);
            infer(Io::Separate { x, y }, &mut rest[..own]);
            self.at_start = true;
        } else if L::IN_PLACE {
            let (values, rest) = if self.at_start {
                let (v, rest) = self.scratch.split_at_mut(self.len);
                (v, rest)
            } else {
                let (rest, v) = self.scratch.split_at_mut(total - self.len);
                (v, rest)
            };
            infer(Io::InPlace(values), &mut rest[..own]);
        } else {
            let len = self.len;
            let (x, middle, y) = if self.at_start {
                let (x, rest) = self.scratch.split_at_mut(len);
                let (middle, y) = rest.split_at_mut(rest.len() - out);
                (&*x, middle, y)
            } else {
                let (rest, x) = self.scratch.split_at_mut(total - len);
                let (y, middle) = rest.split_at_mut(out);
                (&*x, middle, y)
            };
            infer(Io::Separate { x, y }, &mut middle[..own]);
            self.at_start = !self.at_start;
        }
        self.len = out;
    }

    /// The current values: after the last layer, the model's output, in the scratch (still
    /// the caller's input if every layer only reshaped it: then copied to the scratch).
    ///
    /// # Panics
    /// In that case, if the input does not fit the scratch (a model always has a layer
    /// that computes).
    #[must_use]
    #[inline]
    pub fn output(self) -> &'s [T] {
        let len = self.len;
        match self.input {
            Some(x) => {
                self.scratch[..len].copy_from_slice(x);
                &self.scratch[..len]
            }
            None if self.at_start => &self.scratch[..len],
            None => {
                let n = self.scratch.len();
                &self.scratch[n - len..]
            }
        }
    }
}

impl<'x, 's> Stack<'x, 's> {
    /// Runs one layer on the current values.
    ///
    /// # Panics
    /// If the scratch is too small (the `SCRATCH` a model declares never is) or the current
    /// values are not the layer's input size.
    #[inline]
    pub fn run<L: Layer>(&mut self, layer: LayerRef<'_, L>) {
        self.step::<L>(|io, scratch| layer.infer(io, scratch));
    }
}

impl<'x, 's> Stack<'x, 's, i8> {
    /// Runs the int8 variant of `layer` with its block of a quantized model's bytes.
    ///
    /// # Panics
    /// As [`run`](Stack::run).
    #[inline]
    pub fn run_i8<L: Quantize>(&mut self, layer: L, block: &[u8]) {
        self.step::<L>(|io, _| layer.infer_i8(block, io));
    }
}

#[cfg(test)]
mod tests {
    use super::{size, Step};

    fn step(input: usize, output: usize, in_place: bool, reshape: bool) -> Step {
        Step {
            input,
            output,
            scratch: 0,
            in_place,
            reshape,
        }
    }

    #[test]
    fn the_largest_input_plus_output_after_the_first_layer() {
        // 784 -> flatten -> 128 (from the input) -> relu in place -> 10: 128 + 10.
        let steps = [
            step(784, 784, true, true),
            step(784, 128, false, false),
            step(128, 128, true, false),
            step(128, 10, false, false),
        ];
        assert_eq!(size(&steps), 138);
        // An activation first copies the input into the scratch.
        assert_eq!(size(&[step(5, 5, true, false)]), 5);
        // A layer with scratch of its own needs it on top.
        let lstm = Step {
            scratch: 7,
            ..step(4, 3, false, false)
        };
        assert_eq!(size(&[step(2, 4, false, false), lstm]), 4 + 3 + 7);
    }
}
