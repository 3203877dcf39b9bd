// A generator whose output is not the discriminator's input: `check_chain` rejects the pair
// at compile time.
nn::model! {
    pub struct Generator {
        input: 4,
        hidden: Dense(8, relu),
        out: Dense(6, tanh),
    }
}

nn::model! {
    pub struct Discriminator {
        input: 5,
        hidden: Dense(8, leaky_relu),
        out: Dense(1),
    }
}

const _: () = nn::train::check_chain::<Generator, Discriminator>();

fn main() {}
