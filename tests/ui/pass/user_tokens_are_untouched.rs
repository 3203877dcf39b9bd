//! The user's attributes and visibility pass through exactly as written, even when they
//! contain names the generated code uses for its own locals (`p`, `x`, `batch`).

mod p {
    nn::model! {
        /// A model visible in the parent module only.
        #[cfg_attr(all(), derive(Clone, Debug))]
        pub(in crate::p) struct Net {
            input: 3,
            out: Dense(2),
        }
    }

    pub fn run() -> usize {
        let net = Net::new(0).clone();
        let _ = format!("{net:?}");
        Net::OUTPUT
    }
}

fn main() {
    assert_eq!(p::run(), 2);
}
