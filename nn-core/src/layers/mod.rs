//! Layers: one file each, all following one [`Layer`] contract (see [`contract`]).
//!
//! Each layer is a small `Copy` value whose shape is in its type's const generics; its
//! parameters and state live in ranges of the model's flat buffers, passed in as slices.
//! Forward and backward sit next to each other in each file.
//!
//! Images (the inputs and outputs of [`Conv2D`], the pooling layers and, per pixel,
//! [`BatchNorm`]) are stored HWC, channels last, one sample after another. Sequences (the
//! inputs and outputs of [`Embedding`], [`Conv1D`], the 1-D pools and a [`Dense`] layer
//! applied per step, [`TimeDistributed`]) are stored `[steps][features]`: an image of one
//! row, which is how the 1-D layers compute (see [`one_row`]). The recurrent layers
//! ([`SimpleRnn`], [`Lstm`], [`Gru`]) read and give sequences in the same layout; what they
//! share (the input projections of all steps in one product, backpropagation through time,
//! the state) is in [`recurrent`].
//!
//! Adding a layer: a file here implementing [`Layer`] (with its tests), one line below, and
//! the macro's side (see `ARCHITECTURE.md`).

pub mod contract;
pub mod one_row;
pub mod tensor;
pub mod window;

mod activation;
mod avg_pool1d;
mod avg_pool2d;
mod batchnorm;
mod conv1d;
mod conv2d;
mod dense;
mod dropout;
mod embedding;
mod flatten;
mod global_avg_pool1d;
mod global_avg_pool2d;
mod global_max_pool1d;
mod global_max_pool2d;
mod gru;
mod lstm;
mod max_pool1d;
mod max_pool2d;
#[cfg(all(test, feature = "alloc"))]
mod pool_tests;
pub mod recurrent;
mod simple_rnn;
mod time_distributed;

pub use activation::Activation;
pub use avg_pool1d::AvgPool1D;
pub use avg_pool2d::AvgPool2D;
pub use batchnorm::{batch_norm_flops, BatchNorm};
#[cfg(feature = "alloc")]
pub use contract::LayerUpdate;
pub use contract::{
    Backward, Forward, Io, Layer, LayerAt, LayerInfo, LayerMut, LayerRef, Pass, Step,
};
pub use conv1d::Conv1D;
pub use conv2d::{conv2d_flops, conv2d_params, Conv2D};
pub use dense::{dense_flops, dense_params, Dense};
pub use dropout::Dropout;
pub use embedding::{embedding_params, token_id, Embedding};
pub use flatten::Flatten;
pub use global_avg_pool1d::GlobalAvgPool1D;
pub use global_avg_pool2d::GlobalAvgPool2D;
pub use global_max_pool1d::GlobalMaxPool1D;
pub use global_max_pool2d::GlobalMaxPool2D;
pub use gru::{gru_flops, gru_params, gru_scratch, Gru};
pub use lstm::{lstm_flops, lstm_params, lstm_scratch, Lstm};
pub use max_pool1d::MaxPool1D;
pub use max_pool2d::MaxPool2D;
pub use recurrent::{RecurrentGrad, RecurrentState};
pub use simple_rnn::{simple_rnn_flops, simple_rnn_params, simple_rnn_scratch, SimpleRnn};
pub use tensor::{InputOrder, Tensor, TensorLayout};
pub use time_distributed::TimeDistributed;
pub use window::{conv_output_len, conv_padding_before, pool_output_len};
