nn::model! {
    pub Net {
        input: 4,
        Dense(1),
    }
}

fn main() {}
