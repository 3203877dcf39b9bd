nn::model! {
    struct Net {
        input: [],
        Dense(1),
    }
}

fn main() {}
