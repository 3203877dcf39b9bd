// Items of the user's module that share a name with the generated code's local variables
// (`p`, `batch`, `ws`, `x0`, ...) must not be captured by them (a `let p = ...` next to a
// `const p` is a pattern match against the constant).
#![allow(non_upper_case_globals, dead_code)]

const p: u8 = 0;
const batch: usize = 1;
const ws: u8 = 0;
const rng: u8 = 0;
const grads: u8 = 0;
const params: u8 = 0;

nn::model! {
    /// Hygiene.
    pub struct Net {
        input: [2, 2],
        Flatten,
        Dense(3, relu),
        Dropout(0.5),
        Dense(2),
        Softmax,
    }
}

fn main() {
    let m = Net::new(0);
    let _ = m.forward(&nn::Vector::<4>::zeros());
}
