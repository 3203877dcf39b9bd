// The input's size overflows `usize` (2^65 values): an error on the input, not a panic in the
// macro or a model with `INPUT = 0`; shape inference stops there (no follow-on errors).
nn::model! {
    struct Net {
        input: [4294967296, 4294967296, 2],
        Flatten,
        Dense(1),
    }
}

fn main() {}
