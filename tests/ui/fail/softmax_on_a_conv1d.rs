nn::model! {
    struct Net {
        input: [12, 4],
        Conv1D(3, 3, softmax),
        Flatten,
        Dense(2),
    }
}

fn main() {}
