nn::model! {
    struct Net {
        input: 4,
        Dense(4),
        Dropout(1.5),
    }
}

fn main() {}
