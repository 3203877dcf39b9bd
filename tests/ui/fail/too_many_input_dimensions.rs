nn::model! {
    struct Net {
        input: [2, 3, 4, 5],
        Flatten,
        Dense(1),
    }
}

fn main() {}
