nn::model! {
    struct Net {
        input: 4,
        Convolution2D(8, 3),
    }
}

fn main() {}
