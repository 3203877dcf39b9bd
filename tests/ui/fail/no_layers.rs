nn::model! {
    struct Net {
        input: 4,
    }
}

fn main() {}
