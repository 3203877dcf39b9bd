nn::model! {
    struct Net {
        features: 4,
        Dense(1),
    }
}

fn main() {}
