nn::model! {
    struct Net {
        input: 4,
        Dense(n),
    }
}

fn main() {}
