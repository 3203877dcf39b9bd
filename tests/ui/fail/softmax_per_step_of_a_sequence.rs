nn::model! {
    struct Net {
        input: [12, 4],
        Dense(8, relu),
        Dense(3, softmax),
    }
}

fn main() {}
