// Sizes that fit `usize` but not rustc's largest object on a 64-bit target (2^61 bytes): a
// layer's output, a layer's parameters, the parameters of the whole model and the scratch of
// one inference, each on its layer; and a count of operations beyond `FLOPS`' `u64`. Each
// model is one case.
nn::model! {
    struct Output {
        input: [1048576, 1048576, 1],
        Conv2D(1000000, 1, padding = same),
        Flatten,
        Dense(1),
    }
}

nn::model! {
    struct LayerParams {
        input: [1048576, 1048576, 1],
        Flatten,
        wide: Dense(1000000),
    }
}

nn::model! {
    struct TotalParams {
        input: [16384, 16384],
        Flatten,
        a: Dense(1000000000),
        b: Dense(500000000),
    }
}

nn::model! {
    struct Scratch {
        input: [524288, 524288, 1048576],
        MaxPool2D(1),
        second: MaxPool2D(1),
        Flatten,
        Dense(1),
    }
}

nn::model! {
    struct Flops {
        input: [4194304, 4194304, 16384],
        Conv2D(1, (1000, 1000), padding = same),
        Flatten,
        Dense(1),
    }
}

fn main() {}
