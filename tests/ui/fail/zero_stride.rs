nn::model! {
    struct Net {
        input: [8, 8, 1],
        Conv2D(8, 3, strides = 0),
        Flatten,
        Dense(2),
    }
}

fn main() {}
