nn::model! {
    struct Net {
        input: 4,
        Dense(8),
        relu,
    }
}

fn main() {}
