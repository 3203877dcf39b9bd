// An erroneous model still declares its type, so naming it adds no follow-on error about
// a missing type: only the macro's own error is reported.
nn::model! {
    /// Docs survive.
    pub struct Net {
        input: 4,
        Dense(0),
    }
}

fn use_it(_: &Net) {}

fn main() {}
