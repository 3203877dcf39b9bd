// Numbers that do not survive the conversion to `f32`: infinite, rounded to 0 or a
// subnormal, or a rate rounded to 1. All reported together, each on its literal.
nn::model! {
    struct Net {
        input: 4,
        Dense(3, leaky_relu(1e39)),
        LeakyReLU(1e-50),
        LeakyReLU(negative_slope = 1e-40),
        Dropout(0.999999999999),
        Dense(2),
    }
}

fn main() {}
