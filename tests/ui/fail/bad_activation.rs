nn::model! {
    struct Net {
        input: 4,
        Dense(4, rleu),
    }
}

fn main() {}
