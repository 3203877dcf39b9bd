nn::model! {
    struct Net {
        input: 4,
        Dense(4),
        Activation,
    }
}

fn main() {}
