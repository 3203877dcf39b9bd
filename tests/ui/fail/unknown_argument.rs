nn::model! {
    struct Net {
        input: 4,
        Dense(units = 4, activaton = relu),
    }
}

fn main() {}
