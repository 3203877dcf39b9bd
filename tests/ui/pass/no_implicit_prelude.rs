//! The generated code names everything by absolute path, so it compiles in a crate
//! without the implicit prelude.
#![no_implicit_prelude]

::nn::model! {
    /// Every layer kind and every activation.
    pub struct Everything {
        input: [4, 4, 1],
        Flatten,
        a: Dense(8, linear),
        b: Dense(8, relu),
        c: Dense(8, leaky_relu),
        d: Dense(8, leaky_relu(0.2)),
        e: Dense(8, sigmoid),
        f: Dense(8, tanh),
        Dropout(0.25),
        Activation(tanh),
        ReLU,
        LeakyReLU,
        LeakyReLU(0.1),
        Sigmoid,
        Tanh,
        g: Dense(3, activation = softmax),
        h: Dense(3),
        Softmax,
    }
}

::nn::model! {
    /// Ends with a dense layer that has its own activation.
    pub struct Small {
        input: 2,
        Dense(3, relu),
        Dropout(0.5),
        Dense(1, sigmoid),
    }
}

fn run<M: ::nn::model::Model>(model: &M, x: &[f32], batch: usize) -> ::std::vec::Vec<f32> {
    let mut ws = ::nn::tape::Tape::new();
    let mut rng = ::nn::rng::Rng::new(1);
    let logits = model
        .forward_batch(&mut ws, x, batch, ::nn::layers::Pass::Train(&mut rng))
        .to_vec();
    let mut d = ::std::clone::Clone::clone(&logits);
    let mut grads = ::std::vec![0.0_f32; M::PARAMS];
    model.backward_batch(
        &mut ws,
        x,
        &mut d,
        ::std::option::Option::Some(&mut grads),
        ::std::option::Option::None,
    );
    logits
}

fn main() {
    let m = Everything::new(7);
    let y = m.forward(&::nn::Vector::<16>::zeros());
    ::std::assert_eq!(y.len(), Everything::OUTPUT);
    ::std::assert_eq!(Everything::INPUT_SHAPE, [4, 4, 1]);
    let logits = run(&m, &[0.5; 32], 2);
    ::std::assert_eq!(logits.len(), 2 * Everything::OUTPUT);

    let s = Small::new(1);
    let _ = s.forward(&::nn::Vector::<2>::new(1.0, -1.0));
    let _ = run(&s, &[0.5; 6], 3);
    let params = s.params().to_vec();
    let back = Small::from_params(params).unwrap();
    ::std::assert_eq!(back.params(), s.params());
    let _: &str = Small::SUMMARY;
}
