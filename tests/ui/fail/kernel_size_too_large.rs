nn::model! {
    struct Net {
        input: [8, 8, 1],
        Conv2D(1, 18446744073709551615x1, padding = same),
        Flatten,
        Dense(2),
    }
}

fn main() {}
