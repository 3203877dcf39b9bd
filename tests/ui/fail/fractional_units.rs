nn::model! {
    struct Net {
        input: 4,
        Dense(2.5),
    }
}

fn main() {}
