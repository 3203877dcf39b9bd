nn::model! {
    struct Net {
        input: 20,
        Embedding(100, 8),
        x: Conv1D(4, 3),
        Conv2D(4, 3),
        Flatten,
        Dense(2),
    }
}

fn main() {}
