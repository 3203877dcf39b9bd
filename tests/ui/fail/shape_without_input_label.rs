nn::model! {
    struct Net {
        [4, 4],
        Dense(1),
    }
}

fn main() {}
