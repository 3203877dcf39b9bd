mod models {
    nn::model! {
        /// First model.
        #[derive(Clone, Debug, PartialEq)]
        pub(crate) struct First {
            input: 3,
            Dense(2),
        }
    }

    nn::model! {
        /// Second model, in the same module: its companion types must not clash.
        #[derive(Clone, Debug, PartialEq)]
        pub(crate) struct Second {
            input: 2,
            hidden: Dense(4, relu),
            Dense(1, sigmoid),
        }
    }
}

use models::{First, Second};
use nn::model::Model;

fn assert_clone_debug_eq<T: Clone + core::fmt::Debug + PartialEq>(_: &T) {}

fn main() {
    let a = First::new(1);
    let b = a.clone();
    assert_eq!(a, b);
    assert_clone_debug_eq(&a);
    let _ = format!("{a:?}");
    let s = Second::new(2);
    assert_eq!(s.clone(), s);
    let _ = format!("{s:?}");

}
