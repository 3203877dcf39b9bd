nn::model! {
    struct Net {
        input: 4,
        Dense(0),
    }
}

fn main() {}
