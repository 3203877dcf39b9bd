// Global max pooling takes an image: after `Flatten` there is none left.
nn::model! {
    struct Net {
        input: [4, 4, 3],
        Flatten,
        GlobalMaxPool2D,
        Dense(2),
    }
}

fn main() {}
