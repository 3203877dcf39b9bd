// Every form of batch normalisation's arguments.
#![deny(warnings)]

nn::model! {
    /// Keras' defaults, PyTorch's, and others, positional and named.
    pub struct Norms {
        input: [3, 3, 2],
        keras: BatchNorm,
        torch: BatchNorm(epsilon = 1e-5, momentum = 0.9, unbiased_variance = true),
        positional: BatchNorm(0.5, 0.01),
        mixed: BatchNorm(0.0, unbiased_variance = false, epsilon = 2e-3),
        Flatten,
        Dense(1),
    }
}

fn main() {
    let model = Norms::new(0);
    let y = model.forward(&nn::Vector::from_element(0.5));
    assert!(y[0].is_finite());
}
