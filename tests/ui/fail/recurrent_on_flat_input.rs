nn::model! {
    struct Net {
        input: 784,
        SimpleRNN(32),
        Dense(1),
    }
}

fn main() {}
