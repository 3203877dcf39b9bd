nn::model! {
    struct Net {
        input: 4,
        Dense(),
    }
}

fn main() {}
