// A softmax over one value is always 1: each form is an error suggesting a sigmoid.
nn::model! {
    struct InDense {
        input: 4,
        Dense(1, softmax),
    }
}

nn::model! {
    struct Named {
        input: 4,
        Dense(units = 1, activation = softmax),
    }
}

nn::model! {
    struct Layer {
        input: 4,
        out: Dense(1),
        Softmax,
    }
}

nn::model! {
    struct AsActivation {
        input: 4,
        Dense(1),
        Activation(softmax),
    }
}

fn main() {}
