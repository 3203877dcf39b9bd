nn::model! {
    struct Net {
        input: 4,
        Dense(1),
    }
    struct Other {}
}

fn main() {}
