nn::model! {
    struct Net {
        input: 20,
        Conv2D(4, 3),
        Dense(2),
    }
}

fn main() {}
