nn::model! {
    struct Net {
        input: 4,
        Dense(activation = relu),
    }
}

fn main() {}
