nn::model! {
    struct Net {
        input: [28, 28, 1],
        hidden: Dense(64, relu),
        Dense(32, relu),
        Dropout(0.5),
        Dense(10),
        Softmax,
    }
}

fn main() {}
