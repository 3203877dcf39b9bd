nn::model! {
    struct Net {
        input: [28, 28],
        Conv2D(4, 3),
        Flatten,
        Dense(2),
    }
}

fn main() {}
