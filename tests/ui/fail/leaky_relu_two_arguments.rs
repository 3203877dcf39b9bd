nn::model! {
    struct Net {
        input: 4,
        Dense(4, leaky_relu(0.1, 0.2)),
    }
}

fn main() {}
