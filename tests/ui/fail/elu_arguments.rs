// `elu` takes one positive argument, its alpha; the other new activations take none.
nn::model! {
    struct Net {
        input: 4,
        a: Dense(4, elu(0.5, 2.0)),
        b: Dense(4, elu(-1.0)),
        c: Dense(4, gelu(0.1)),
        d: Dense(4, selu),
    }
}

fn main() {}
