//! A documented public model in a crate that denies missing docs and all warnings: every
//! item the macro generates must be documented and warning-free.
#![deny(missing_docs, warnings)]

nn::model! {
    /// A documented classifier.
    pub struct Classifier {
        input: [8, 8],
        Flatten,
        hidden: Dense(16, relu),
        Dropout(0.1),
        Dense(4),
        Softmax,
    }
}

/// A public module, so that pub items are really exported.
pub mod models {
    nn::model! {
        /// A documented regressor.
        pub struct Regressor {
            input: 3,
            Dense(5, tanh),
            Dense(1),
        }
    }
}

fn main() {
    let m = Classifier::new(0);
    let y = m.forward(&nn::Vector::<64>::zeros());
    assert_eq!(y.len(), 4);
    let r = models::Regressor::new(0);
    let _ = r.forward(&nn::Vector::<3>::zeros());
}
