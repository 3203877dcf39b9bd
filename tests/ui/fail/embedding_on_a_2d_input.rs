nn::model! {
    struct Net {
        input: [20, 3],
        Embedding(1000, 16),
        Flatten,
        Dense(2),
    }
}

fn main() {}
