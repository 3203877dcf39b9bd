nn::model! {
    struct Net {
        input: 4,
        Dense(4),
        LeakyReLU(0),
    }
}

fn main() {}
