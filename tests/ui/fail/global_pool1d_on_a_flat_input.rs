nn::model! {
    struct Net {
        input: [10, 2],
        Flatten,
        hidden: Dense(8),
        GlobalMaxPool1D,
        Dense(2),
    }
}

fn main() {}
