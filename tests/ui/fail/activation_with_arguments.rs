nn::model! {
    struct Net {
        input: 4,
        Dense(4, relu(0.1)),
    }
}

fn main() {}
