nn::model! {
    struct Net {
        input: [5, 5, 1],
        Conv2D(8, 7x7),
        Flatten,
        Dense(2),
    }
}

fn main() {}
