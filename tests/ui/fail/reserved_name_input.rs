nn::model! {
    struct Net {
        input: 4,
        input: Dense(3),
    }
}

fn main() {}
