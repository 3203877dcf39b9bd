//! Layer kernels. Each layer is a zero-sized type whose shape is in its const generics; its
//! parameters live in a range of the model's flat [`Params`](crate::Params) buffer, passed in
//! as a slice. Forward and backward sit next to each other in each file.

mod dense;
mod dropout;

pub use dense::Dense;
pub use dropout::Dropout;
