nn::model! {
    struct Net {
        input: 50,
        Conv1D(16, 3),
        Flatten,
        Dense(2),
    }
}

fn main() {}
