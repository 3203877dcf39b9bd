// Integer literals beyond `u64`: errors on the literals, not a panic.
nn::model! {
    struct Input {
        input: [99999999999999999999999, 2],
        Dense(1),
    }
}

nn::model! {
    struct Units {
        input: 2,
        Dense(99999999999999999999999),
    }
}

fn main() {}
