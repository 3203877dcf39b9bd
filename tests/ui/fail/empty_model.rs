nn::model! {
    struct Net {}
}

fn main() {}
