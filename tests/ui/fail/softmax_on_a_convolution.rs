nn::model! {
    struct Net {
        input: [8, 8, 1],
        Conv2D(4, 3, softmax),
        Flatten,
        Dense(2),
    }
}

fn main() {}
