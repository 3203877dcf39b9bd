nn::model! {
    struct Net {
        input: [28, 28, 1],
        Conv1D(16, 3),
        Flatten,
        Dense(2),
    }
}

fn main() {}
