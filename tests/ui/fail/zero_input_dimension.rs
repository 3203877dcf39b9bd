nn::model! {
    struct Net {
        input: [28, 0],
        Flatten,
        Dense(1),
    }
}

fn main() {}
