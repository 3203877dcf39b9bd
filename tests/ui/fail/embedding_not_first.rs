nn::model! {
    struct Net {
        input: 20,
        Dense(20),
        Embedding(1000, 16),
        Flatten,
        Dense(2),
    }
}

fn main() {}
