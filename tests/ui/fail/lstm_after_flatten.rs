nn::model! {
    struct Net {
        input: [28, 28],
        Flatten,
        LSTM(128),
        Dense(10),
    }
}

fn main() {}
