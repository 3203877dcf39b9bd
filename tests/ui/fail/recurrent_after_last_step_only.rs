nn::model! {
    struct Net {
        input: [10, 3],
        first: LSTM(8),
        second: SimpleRNN(4),
        Dense(1),
    }
}

fn main() {}
