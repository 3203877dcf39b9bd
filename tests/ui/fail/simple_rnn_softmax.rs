nn::model! {
    struct Net {
        input: [10, 3],
        SimpleRNN(4, softmax),
        Dense(1),
    }
}

fn main() {}
