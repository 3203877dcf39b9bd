nn::model! {
    struct Net {
        input: 4,
        Dense(4, kernel_size = 3),
    }
}

fn main() {}
