nn::model! {
    struct Net {
        input: [28, 28, 1],
        Dense(10),
    }
}

fn main() {}
