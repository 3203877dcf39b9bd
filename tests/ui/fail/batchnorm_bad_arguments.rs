// Batch normalisation's arguments: Keras' ranges, each on its value.
nn::model! {
    struct Net {
        input: 4,
        BatchNorm(momentum = 1.0, epsilon = 0, unbiased_variance = 1),
        BatchNorm(epsilon = 1e-50, unbiased_variance = yes),
        BatchNorm(0.999999999999),
        BatchNorm(momentun = 0.9),
        Dense(1),
    }
}

fn main() {}
