use nn::model::Model;

nn::model! {
    /// One of each catalog entry and every activation.
    pub struct AllKinds {
        input: [6, 5, 2],
        Flatten,
        d_linear: Dense(12),
        d_relu: Dense(12, relu),
        d_leaky: Dense(12, leaky_relu),
        d_leaky_slope: Dense(12, leaky_relu(0.2)),
        d_sigmoid: Dense(12, sigmoid),
        d_tanh: Dense(12, activation = tanh),
        d_softmax: Dense(12, softmax),
        Dropout(0.3),
        Activation(tanh),
        ReLU,
        LeakyReLU,
        LeakyReLU(0.1),
        Sigmoid,
        Tanh,
        Dense(units = 5, activation = linear),
        Softmax,
    }
}

nn::model! {
    /// The image layers, each argument form once.
    pub struct ImageKinds {
        input: [9, 8, 2],
        Conv2D(4, 3),
        Conv2D(filters = 4, kernel_size = 2x3, activation = relu, strides = (1, 1), padding = valid),
        Conv2D(3, [3, 3], strides = 2, padding = same),
        MaxPool2D,
        AvgPool2D(pool_size = 1, strides = 1),
        MaxPool2D(1x1, strides = 1),
        BatchNorm,
        GlobalAvgPool2D,
        Dense(2),
    }
}

nn::model! {
    /// Global max pooling.
    pub struct GlobalMax {
        input: [4, 4, 3],
        Conv2D(2, 3),
        GlobalMaxPool2D,
        Dense(1),
    }
}

fn main() {
    assert_eq!(GlobalMax::OUTPUT, 1);
    let _ = GlobalMax::new(0).forward(&nn::Vector::from_element(0.5));
    assert_eq!(ImageKinds::OUTPUT, 2);
    let _ = ImageKinds::new(0).forward(&nn::Vector::from_element(0.5));
    assert_eq!(AllKinds::INPUT_SHAPE, [6, 5, 2]);
    assert_eq!(AllKinds::INPUT, 60);
    assert_eq!(AllKinds::OUTPUT, 5);
    assert_eq!(
        AllKinds::PARAMS,
        (60 * 12 + 12) + 6 * (12 * 12 + 12) + (12 * 5 + 5)
    );
    assert_eq!(AllKinds::PARAM_BYTES, AllKinds::PARAMS * 4);
    assert_eq!(AllKinds::FLOPS, 2 * (60 * 12 + 6 * 12 * 12 + 12 * 5));
    assert_eq!(<AllKinds as Model>::INPUT_SHAPE, &[6, 5, 2]);
    assert_eq!(<AllKinds as Model>::OUTPUT, 5);
    let tensors = AllKinds::tensors();
    assert_eq!(tensors.len(), 2 * 8);
    assert_eq!(tensors[0].name, "d_linear.weight");
    assert_eq!(tensors[15].name, "dense_0.bias");

    let model = AllKinds::new(42);
    assert_eq!(model.params().len(), AllKinds::PARAMS);
    let y = model.forward(&nn::Vector::<60>::zeros());
    assert_eq!(y.len(), AllKinds::OUTPUT);
    // A final softmax: the outputs are a probability distribution.
    let sum: f32 = y.iter().sum();
    assert!((sum - 1.0).abs() < 1e-5, "{sum}");

    let mut ws = nn::tape::Tape::new();
    let x = vec![0.0_f32; 3 * AllKinds::INPUT];
    let logits = model.forward_batch(&mut ws, &x, 3, nn::layers::Pass::Eval).to_vec();
    assert_eq!(logits.len(), 3 * AllKinds::OUTPUT);
    let mut d = vec![0.1_f32; logits.len()];
    let mut grads = vec![0.0_f32; AllKinds::PARAMS];
    model.backward_batch(&mut ws, &x, &mut d, Some(&mut grads), None);
}
