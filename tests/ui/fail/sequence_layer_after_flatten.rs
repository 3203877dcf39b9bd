nn::model! {
    struct Net {
        input: [50, 3],
        Flatten,
        MaxPool1D(2),
        Dense(2),
    }
}

fn main() {}
