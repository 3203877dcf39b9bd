nn::model! {
    struct Net {
        input: [28, 28, 1],
        rows: LSTM(64),
        Dense(10),
    }
}

fn main() {}
