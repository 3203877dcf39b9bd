//! The reference models, declared once: the examples train them, and the tests, benches and
//! the freestanding program include this file (`#[path = ".../examples/support/models.rs"]
//! mod models;`), so every one of them runs the very same definition.
// Each includer uses only some of the models.
#![allow(dead_code)]

nn::model! {
    /// Binary classifier for tabular data (the README's and the quickstart's).
    #[derive(Clone, Debug)]
    pub struct Classifier {
        input: 20,
        hidden1: Dense(64, relu),
        hidden2: Dense(64, relu),
        output: Dense(1, sigmoid),
    }
}

nn::model! {
    /// Keras' MNIST multi-layer perceptron.
    #[derive(Clone, Debug)]
    pub struct MnistMlp {
        input: [28, 28],
        Flatten,
        hidden: Dense(128, relu),
        output: Dense(10, softmax),
    }
}

nn::model! {
    /// Keras' MNIST convolutional network: 26x26x32, 13x13x32, 11x11x64, 5x5x64, 3x3x64,
    /// 1x1x64, 64, 10.
    #[derive(Clone, Debug)]
    pub struct MnistCnn {
        input: [28, 28, 1],
        conv1: Conv2D(32, 3x3, relu),
        MaxPool2D(2),
        conv2: Conv2D(64, 3x3, relu),
        MaxPool2D(2),
        conv3: Conv2D(64, 3x3, relu),
        MaxPool2D(2),
        Flatten,
        hidden: Dense(64, relu),
        output: Dense(10, softmax),
    }
}
