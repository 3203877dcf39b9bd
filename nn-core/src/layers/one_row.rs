//! The 1-D layers of sequences are their 2-D counterparts on an image of one row.
//!
//! A sequence of `L` steps of `C` features is stored `[L][C]`, one step after the other:
//! exactly an image of height 1, width `L` and `C` channels (HWC). A 1-D convolution with a
//! window of `K` steps and stride `S` is then the 2-D convolution with a `1 × K` kernel and
//! strides `1 × S`, with the same weights in memory (Keras' `[K][C][filters]` is the 2-D
//! kernel `[1][K][C][filters]`), the same output size and padding by Keras' rules (one row
//! needs none); pooling likewise. So the math is written once, in the 2-D layers, and each
//! 1-D layer is a type of its own only for its name and its tensors in weight files
//! (PyTorch's `Conv1d` weight is `[out, in, K]`, not `[out, in, 1, K]`).
//!
//! The crate-private macro `one_row_layer!` writes the part of such a layer's [`Layer`](super::Layer)
//! implementation that hands everything to the 2-D layer its `as_image()` returns.

/// Inside `impl Layer for X`, every item but `KIND` and `TENSORS`, handed to the 2-D layer
/// of type `$image` that `self.as_image()` returns.
macro_rules! one_row_layer {
    ($image:ty) => {
        const INPUT: usize = <$image as $crate::layers::Layer>::INPUT;
        const OUTPUT: usize = <$image as $crate::layers::Layer>::OUTPUT;
        const PARAMS: usize = <$image as $crate::layers::Layer>::PARAMS;
        const STATE: usize = <$image as $crate::layers::Layer>::STATE;
        const FLOPS: u64 = <$image as $crate::layers::Layer>::FLOPS;
        const SCRATCH: usize = <$image as $crate::layers::Layer>::SCRATCH;
        const IN_PLACE: bool = <$image as $crate::layers::Layer>::IN_PLACE;
        const RESHAPE: bool = <$image as $crate::layers::Layer>::RESHAPE;
        const CACHE: usize = <$image as $crate::layers::Layer>::CACHE;

        fn batch_scratch(batch: usize) -> usize {
            <$image as $crate::layers::Layer>::batch_scratch(batch)
        }

        fn init(&self, params: &mut [f32], state: &mut [f32], rng: &mut $crate::rng::Rng) {
            $crate::layers::Layer::init(&self.as_image(), params, state, rng);
        }

        fn infer(
            &self,
            params: &[f32],
            state: &[f32],
            io: $crate::layers::Io<'_>,
            scratch: &mut [f32],
        ) {
            $crate::layers::Layer::infer(&self.as_image(), params, state, io, scratch);
        }

        fn forward(&self, f: $crate::layers::Forward<'_>, pass: &mut $crate::layers::Pass<'_>) {
            $crate::layers::Layer::forward(&self.as_image(), f, pass);
        }

        fn backward(&self, b: $crate::layers::Backward<'_>) {
            $crate::layers::Layer::backward(&self.as_image(), b);
        }
    };
}

pub(crate) use one_row_layer;
