// A model larger than a 32-bit target can address compiles on a 64-bit one, with exact sizes
// (its parameters are never allocated here). On a 32-bit target it is one readable error.
#![deny(warnings)]

nn::model! {
    /// 2^32 inputs, 16 GiB of parameters.
    pub struct Huge {
        input: [65536, 65536, 1],
        Flatten,
        Dense(2),
    }
}

const _: () = assert!(Huge::INPUT == 1 << 32);
const _: () = assert!(Huge::PARAMS == 2 * (1 << 32) + 2);
const _: () = assert!(Huge::PARAM_BYTES == 4 * Huge::PARAMS);
const _: () = assert!(Huge::FLOPS == 4 * (1 << 32));

fn main() {
    assert!(Huge::SUMMARY.contains("8,589,934,594"), "{}", Huge::SUMMARY);
}
