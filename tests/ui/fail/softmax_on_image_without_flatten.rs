nn::model! {
    struct Net {
        input: [28, 28],
        Softmax,
    }
}

fn main() {}
