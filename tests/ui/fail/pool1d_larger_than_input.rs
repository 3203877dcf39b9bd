nn::model! {
    struct Net {
        input: [10, 2],
        Conv1D(4, 8),
        AvgPool1D(4),
        Flatten,
        Dense(2),
    }
}

fn main() {}
