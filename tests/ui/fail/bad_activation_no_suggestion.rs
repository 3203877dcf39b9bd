nn::model! {
    struct Net {
        input: 4,
        Dense(4, sparsemax_k),
    }
}

fn main() {}
