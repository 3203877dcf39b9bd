nn::model! {
    struct Net {
        input: [4, 2],
        Conv1D(8, 5),
        Flatten,
        Dense(2),
    }
}

fn main() {}
