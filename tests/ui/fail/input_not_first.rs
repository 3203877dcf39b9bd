nn::model! {
    struct Net {
        Dense(4, relu),
        input: 4,
        Dense(1),
    }
}

fn main() {}
