// A raw identifier is a valid label; its tensor and summary names are the plain name.
nn::model! {
    /// A model with a keyword as a layer name.
    pub struct Net {
        input: 4,
        r#type: Dense(3),
        Dense(1),
    }
}

fn main() {
    assert_eq!(<Net as nn::model::Model>::TENSORS[0].name, "type.weight");
    assert!(Net::SUMMARY.contains(" type (Dense)"), "{}", Net::SUMMARY);
}
