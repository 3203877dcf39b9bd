nn::model! {
    struct Net {
        input: [10, 3],
        LSTM(0),
        GRU(4, return_sequences = yes),
        LSTM(4, activation = relu),
        GRU,
        Dense(1),
    }
}

fn main() {}
