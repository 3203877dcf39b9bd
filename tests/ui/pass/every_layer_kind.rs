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
    /// The activations added for custom loops, as arguments and as a layer.
    pub struct NewerActivations {
        input: 6,
        d_gelu: Dense(8, gelu),
        d_elu: Dense(8, elu),
        d_elu_alpha: Dense(8, elu(0.5)),
        d_selu: Dense(8, selu),
        d_silu: Dense(8, silu),
        d_swish: Dense(8, swish),
        d_softplus: Dense(8, softplus),
        Activation(hard_sigmoid),
        out: Dense(2, gelu),
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

nn::model! {
    /// The sequence layers, each argument form once.
    pub struct SequenceKinds {
        input: 16,
        Embedding(50, 6),
        Conv1D(8, 3),
        Conv1D(filters = 8, kernel_size = 2, activation = relu, strides = 1, padding = valid),
        Conv1D(6, 3, strides = 2, padding = same),
        MaxPool1D,
        AvgPool1D(pool_size = 1, strides = 1),
        MaxPool1D(1, strides = 1),
        BatchNorm,
        Dense(5, tanh),
        Dropout(0.1),
        ReLU,
        GlobalAvgPool1D,
        Dense(2),
    }
}

nn::model! {
    /// A sequence input, a dense layer per step, global max pooling; and a flattened one.
    pub struct SequenceInput {
        input: [10, 3],
        Dense(4),
        Conv1D(4, 3, sigmoid),
        GlobalMaxPool1D,
        Dense(1, sigmoid),
    }
}

nn::model! {
    /// A sequence flattened into a dense layer.
    pub struct SequenceFlattened {
        input: [10, 3],
        Conv1D(4, 3),
        AvgPool1D(2),
        Flatten,
        Dense(3, softmax),
    }
}

nn::model! {
    /// The recurrent layers, each argument form once.
    pub struct RecurrentKinds {
        input: [7, 3],
        SimpleRNN(5, return_sequences = true),
        SimpleRNN(units = 4, activation = relu, return_sequences = true),
        LSTM(6, return_sequences = true),
        GRU(units = 5, return_sequences = true),
        SimpleRNN(4, sigmoid, return_sequences = true),
        GRU(3, return_sequences = false),
        Dense(2),
    }
}

fn main() {
    assert_eq!(RecurrentKinds::OUTPUT, 2);
    assert_eq!(RecurrentKinds::INPUT_SHAPE, [7, 3]);
    let _ = RecurrentKinds::new(0).forward(&nn::Vector::from_element(0.5));
    assert_eq!(GlobalMax::OUTPUT, 1);
    let _ = GlobalMax::new(0).forward(&nn::Vector::from_element(0.5));
    // Shapes: [16, 6], [14, 8], [13, 8], [7, 6], [3, 6], [3, 6], [3, 6], [3, 6], [3, 5], ..., [5], [2].
    assert_eq!(SequenceKinds::INPUT, 16);
    assert_eq!(SequenceKinds::OUTPUT, 2);
    assert_eq!(
        SequenceKinds::PARAMS,
        50 * 6 + (3 * 6 * 8 + 8) + (2 * 8 * 8 + 8) + (3 * 8 * 6 + 6) + 2 * 6 + (6 * 5 + 5) + (5 * 2 + 2)
    );
    let tensors = SequenceKinds::tensors();
    assert_eq!(tensors[0].name, "embedding_0.weight");
    assert_eq!(tensors[0].shape(), [50, 6]);
    assert_eq!(tensors[1].name, "conv1d_0.weight");
    assert_eq!(tensors[1].shape(), [8, 6, 3]);
    let model = SequenceKinds::new(1);
    let ids = nn::Vector::<16>::from_fn(|i, _| (i * 3 % 50) as f32);
    let y = model.forward(&ids);
    assert_eq!(model.try_forward(&ids).unwrap(), y);
    let bad = nn::Vector::<16>::from_fn(|i, _| if i == 5 { 50.0 } else { 1.0 });
    assert!(model.try_forward(&bad).is_err());
    assert_eq!(SequenceInput::OUTPUT, 1);
    let _ = SequenceInput::new(0).forward(&nn::Vector::from_element(0.5));
    assert_eq!(SequenceFlattened::INPUT_SHAPE, [10, 3]);
    let p = SequenceFlattened::new(0).forward(&nn::Vector::from_element(0.5));
    assert!((p.sum() - 1.0).abs() < 1e-5);

    assert_eq!(ImageKinds::OUTPUT, 2);
    let _ = ImageKinds::new(0).forward(&nn::Vector::from_element(0.5));
    let newer = NewerActivations::new(3);
    let y = newer.forward(&nn::Vector::from([0.5; 6]));
    assert!(y.iter().all(|v| v.is_finite()));
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
