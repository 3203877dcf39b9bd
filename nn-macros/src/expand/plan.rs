//! The numbers of a model's code, computed before any token is emitted: where each layer's
//! parameters and state are, how PyTorch orders each layer's input, how large the inference
//! scratch is, and which layers the batched passes run.
//!
//! # PyTorch's order after `Flatten`
//!
//! `nn` stores every map channels last: an image `[H][W][C]`, a sequence `[L][C]`. PyTorch
//! holds an image and the output of a convolution or pooling layer channel-first (`[C, H,
//! W]`, `[C, L]`), so its `Flatten` of such a map orders the values `c * positions + p`
//! where ours are `p * C + c`, and the weights of the layers that read the flattened vector
//! are permuted in weight files (`InputOrder::ChannelsLast`). A sequence that PyTorch holds
//! as `nn` does, `[L, C]`, flattens to the same order and is not permuted: the model's
//! `[steps, features]` input (a batch-first sequence, or an MLP's `[28, 28]` digit, which
//! PyTorch's `Flatten` reads row by row), an `Embedding`'s output, a `Dense` layer's per
//! step. So each layer says how PyTorch orders its output ([`Order`]), and a `Flatten`
//! permutes when its input is channel-first there and has more than one position and more
//! than one channel.

use crate::ir::Model;
use crate::layers::Order;

/// The plan of one layer.
pub struct LayerPlan {
    /// First index of its parameters in the model's flat buffer.
    pub params_at: usize,
    /// First index of its state in the model's state buffer.
    pub state_at: usize,
    /// `Some(channels)` when its input is a flattened image with several positions and
    /// channels: PyTorch orders those values channel-first, `nn` channels last.
    pub channels_last: Option<usize>,
}

/// The plan of a model.
pub struct Plan {
    pub layers: Vec<LayerPlan>,
    /// Values of scratch single-sample inference needs (see `nn::scratch`).
    pub scratch: usize,
    /// How many layers the batched passes run: all but a trailing activation layer, whose
    /// function the loss applies to the logits.
    pub batched: usize,
    /// Whether the last layer the batched passes run leaves its own activation to the loss
    /// (it runs as `.logits()`).
    pub logits: bool,
}

impl Plan {
    pub fn new(model: &Model) -> Self {
        let mut layers = Vec::with_capacity(model.layers.len());
        let (mut params_at, mut state_at) = (0usize, 0usize);
        let mut channels_last = None;
        // Whether PyTorch holds the current map channel-first: an image input is, a
        // sequence input is not (see the module documentation).
        let mut channel_first = model.input_shape.len() == 3;
        let mut steps = Vec::with_capacity(model.layers.len());
        for layer in &model.layers {
            let built = &layer.built;
            layers.push(LayerPlan {
                params_at,
                state_at,
                channels_last,
            });
            params_at = params_at.saturating_add(layer.params());
            state_at = state_at.saturating_add(layer.state());
            match built.order {
                Order::Keeps => {}
                Order::Fresh => (channels_last, channel_first) = (None, false),
                Order::ChannelsFirst => (channels_last, channel_first) = (None, true),
                Order::Flattens => {
                    if let [positions @ .., channels] = layer.input.as_slice() {
                        let positions = positions.iter().product::<usize>();
                        if channel_first && positions > 1 && *channels > 1 {
                            channels_last = Some(*channels);
                        }
                    }
                    channel_first = false;
                }
            }
            steps.push(nn_core::scratch::Step {
                input: layer.in_len(),
                output: layer.out_len(),
                scratch: built.scratch,
                in_place: built.in_place,
                reshape: built.reshape,
            });
        }
        let last = model.layers.last();
        let trailing_activation = last.is_some_and(|l| l.built.activation_only);
        let batched = model.layers.len() - usize::from(trailing_activation);
        let logits = !trailing_activation && last.is_some_and(|l| l.built.activation.is_some());
        Self {
            layers,
            scratch: nn_core::scratch::size(&steps),
            batched,
            logits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Plan;

    fn plan(def: crate::syntax::ModelDef) -> Plan {
        Plan::new(&crate::lower::lower(&def).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn offsets_scratch_and_the_logits() {
        let p = plan(syn::parse_quote! {
            struct Net { input: [28, 28], Flatten, Dense(128, relu), Dense(10, softmax) }
        });
        let at: Vec<_> = p.layers.iter().map(|l| l.params_at).collect();
        assert_eq!(at, [0, 0, 100_480]);
        // 128 values from the caller's input, then 128 + 10 in the scratch.
        assert_eq!(p.scratch, 138);
        assert_eq!((p.batched, p.logits), (3, true));

        let p = plan(syn::parse_quote! {
            struct Net { input: 4, Dense(3), Softmax }
        });
        assert_eq!((p.batched, p.logits), (1, false));
    }

    #[test]
    fn a_flattened_image_is_channels_last_until_a_dense_layer() {
        let p = plan(syn::parse_quote! {
            struct Net { input: [3, 2, 4], Flatten, Dropout(0.1), BatchNorm, Dense(5), Dense(2) }
        });
        let orders: Vec<_> = p.layers.iter().map(|l| l.channels_last).collect();
        assert_eq!(orders, [None, Some(4), Some(4), Some(4), None]);
        // One channel: PyTorch's order is ours.
        let p = plan(syn::parse_quote! {
            struct Net { input: [3, 2, 1], Flatten, Dense(5) }
        });
        assert_eq!(p.layers[1].channels_last, None);
    }

    #[test]
    fn a_flattened_sequence_is_channels_last_only_after_a_convolution_or_pool() {
        let orders = |def| -> Vec<Option<usize>> {
            plan(def).layers.iter().map(|l| l.channels_last).collect()
        };
        // PyTorch's Conv1d output is [C, L]: its flattening is permuted.
        assert_eq!(
            orders(syn::parse_quote! {
                struct Net { input: [10, 3], Conv1D(4, 3), ReLU, Flatten, Dense(5), Dense(2) }
            }),
            [None, None, None, Some(4), None]
        );
        assert_eq!(
            orders(syn::parse_quote! {
                struct Net { input: [10, 3], Conv1D(4, 3), MaxPool1D(2), Flatten, Dense(5) }
            }),
            [None, None, None, Some(4)]
        );
        // A sequence input, an embedding or a dense layer per step is [L, C] in PyTorch too:
        // the MNIST MLP's `[28, 28]` input reads row by row, as PyTorch's `Flatten` does.
        assert_eq!(
            orders(syn::parse_quote! {
                struct Net { input: [28, 28], Flatten, Dense(10) }
            }),
            [None, None]
        );
        assert_eq!(
            orders(syn::parse_quote! {
                struct Net { input: 12, Embedding(50, 8), Flatten, Dense(2) }
            }),
            [None, None, None]
        );
        assert_eq!(
            orders(syn::parse_quote! {
                struct Net { input: [10, 3], Conv1D(4, 3), Dense(6), Flatten, Dense(2) }
            }),
            [None, None, None, None]
        );
        // One channel, or one step: both orders agree.
        assert_eq!(
            orders(syn::parse_quote! {
                struct Net { input: [10, 3], Conv1D(1, 3), Flatten, Dense(2) }
            }),
            [None, None, None]
        );
        assert_eq!(
            orders(syn::parse_quote! {
                struct Net { input: [3, 3], Conv1D(4, 3), Flatten, Dense(2) }
            }),
            [None, None, None]
        );
    }
}
