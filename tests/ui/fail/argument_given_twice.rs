nn::model! {
    struct Net {
        input: 4,
        Dense(4, units = 5),
    }
}

fn main() {}
