nn::model! {
    struct Net {
        input: 4,
        ReLU,
    }
}

fn main() {}
