nn::model! {
    struct Net {
        input: [4, 4, 1],
        Conv2D(8, 3x3),
        MaxPool2D(2),
        Conv2D(8, 3x3),
        Flatten,
        Dense(2),
    }
}

fn main() {}
