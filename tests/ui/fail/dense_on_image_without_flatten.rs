nn::model! {
    struct Net {
        input: [28, 28],
        Dense(10),
    }
}

fn main() {}
