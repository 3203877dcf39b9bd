nn::model! {
    struct Net {
        Dense(4, relu),
        Dense(1),
    }
}

fn main() {}
