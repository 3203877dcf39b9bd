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
    assert_eq!(<Net as nn::model::Model>::tensors()[0].name, "type.weight");
    // The accessor is the raw identifier.
    let net = <Net as nn::model::Model>::init(0);
    assert_eq!(net.r#type().weight().shape(), (3, 4));
    assert!(Net::SUMMARY.contains(" type (Dense)"), "{}", Net::SUMMARY);
}
