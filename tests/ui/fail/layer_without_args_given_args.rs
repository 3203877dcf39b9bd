nn::model! {
    struct Net {
        input: 4,
        Flatten(2),
        Dense(1),
    }
}

fn main() {}
