nn::model! {
    struct Net {
        input: 4,
        Dens(8),
        Dense(0),
        Dropout(1.5),
        Dense(2, rleu),
    }
}

fn main() {}
