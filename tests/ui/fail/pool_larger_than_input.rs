nn::model! {
    struct Net {
        input: [3, 3, 4],
        MaxPool2D(4),
        Flatten,
        Dense(2),
    }
}

fn main() {}
