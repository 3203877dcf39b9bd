nn::model! {
    struct Net {
        input: 4,
        input: 8,
        Dense(1),
    }
}

fn main() {}
