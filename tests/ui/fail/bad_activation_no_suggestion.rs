nn::model! {
    struct Net {
        input: 4,
        Dense(4, gelu_approximate),
    }
}

fn main() {}
