// Models are not generic; the body is still checked (`Dense(0)`).
nn::model! {
    pub struct Net<T: Copy> {
        input: 4,
        Dense(0),
    }
}

nn::model! {
    pub struct Bounded where u8: Copy {
        input: 4,
        Dense(1),
    }
}

fn main() {}
