//! Layer kernels. Each layer is a zero-sized type whose shape is in its const generics; its
//! parameters live in a range of the model's flat [`Params`](crate::Params) buffer, passed in
//! as a slice. Forward and backward sit next to each other in each file.
//!
//! Images (inputs and outputs of [`Conv2D`], the pooling layers and, per pixel,
//! [`BatchNorm`]) are stored HWC, channels last, one sample after another.

mod batchnorm;
mod conv2d;
mod dense;
mod dropout;
mod pool;

pub use batchnorm::BatchNorm;
pub use conv2d::{conv_output_len, conv_padding_before, Conv2D};
pub use dense::Dense;
pub use dropout::Dropout;
pub use pool::{AvgPool2D, GlobalAvgPool2D, MaxPool2D};
