// Attributes on entries: `#[cfg]` gets its own explanation; all are reported at once.
nn::model! {
    struct Net {
        input: 4,
        #[cfg(feature = "big")]
        Dense(64, relu),
        /// The output.
        Dense(1),
        #[allow(unused)]
        Sigmoid,
    }
}

fn main() {}
