nn::model! {
    struct Net {
        input: [8, 8, 1],
        conv: Conv2D(4, 3),
        GRU(16),
        Dense(2),
    }
}

fn main() {}
