// A type used as an activation must implement `nn::activations::ActivationFn`.
#[derive(Clone, Copy)]
pub struct NotAnActivation;

nn::model! {
    struct Net {
        input: 4,
        Dense(3, NotAnActivation),
        Dense(1),
    }
}

fn main() {}
