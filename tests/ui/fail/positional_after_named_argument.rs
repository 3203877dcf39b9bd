// `units` is given by name, then again by position: must be rejected, not silently
// overwritten by the positional value.
nn::model! {
    struct Net {
        input: 4,
        Dense(units = 4, 8),
    }
}

fn main() {}
