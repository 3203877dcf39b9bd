nn::model! {
    struct Net {
        input: 4,
        hidden: Dense(8, relu),
        hidden: Dense(2),
    }
}

fn main() {}
