nn::model! {
    struct Net {
        input: 4,
        Dense(-3),
    }
}

fn main() {}
