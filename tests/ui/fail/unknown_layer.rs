nn::model! {
    struct Net {
        input: 4,
        Dens(8),
    }
}

fn main() {}
