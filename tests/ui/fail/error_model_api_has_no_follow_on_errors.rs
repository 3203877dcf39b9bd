// Using the generated API and the derived traits of an erroneous model must not add
// follow-on errors ("no function named `new`", "no method named `clone`"): only the
// macro's own error is reported.
nn::model! {
    /// Docs.
    #[derive(Clone, Debug)]
    pub struct Net {
        input: 4,
        Dense(0),
    }
}

fn main() {
    let net = Net::new(0);
    let _ = net.clone();
}
