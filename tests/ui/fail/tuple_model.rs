// A model's entries go in braces.
nn::model! {
    pub struct Net(f32, f32);
}

nn::model! {
    pub struct Unit;
}

// The models are still types: no "cannot find type" after the real errors.
fn build() -> (Net, Unit) {
    (Net::new(0), Unit::new(0))
}

fn main() {
    let _ = build;
}
