nn::model! {
    struct Net {
        input: [12, 4],
        steps: GRU(8, return_sequences = true),
        Conv2D(4, 3),
        Flatten,
        Dense(2),
    }
}

fn main() {}
