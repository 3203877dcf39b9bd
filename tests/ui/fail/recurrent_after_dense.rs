nn::model! {
    struct Net {
        input: [5, 3],
        lstm: LSTM(8),
        hidden: Dense(4),
        GRU(2),
    }
}

fn main() {}
