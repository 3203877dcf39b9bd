nn::model! {
    struct Net {
        input: [40, 2],
        Conv1D(8, 3x3),
        Flatten,
        Dense(2),
    }
}

fn main() {}
