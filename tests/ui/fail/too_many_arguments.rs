nn::model! {
    struct Net {
        input: 4,
        Dense(4, relu, 3),
    }
}

fn main() {}
