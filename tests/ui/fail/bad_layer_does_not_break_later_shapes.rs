// A misspelt `Flatten` is reported once; the `Dense` after it must not also be told to
// "add `Flatten` before it".
nn::model! {
    struct Net {
        input: [2, 2],
        Flaten,
        Dense(1),
    }
}

fn main() {}
