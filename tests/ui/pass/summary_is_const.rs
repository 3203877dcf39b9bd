nn::model! {
    /// A small net.
    pub struct Net {
        input: 10,
        hidden: Dense(8, relu),
        Dropout(0.5),
        output: Dense(2),
    }
}

const S: &str = Net::SUMMARY;
const _: () = assert!(Net::PARAMS == 10 * 8 + 8 + 8 * 2 + 2);
const _: () = assert!(Net::INPUT == 10 && Net::OUTPUT == 2);
const _: () = assert!(Net::INPUT_SHAPE[0] == 10);
const FLOPS: u64 = Net::FLOPS;

static WEIGHTS: [f32; Net::PARAMS] = [0.0; Net::PARAMS];
static BAKED: Net = Net::from_static(&WEIGHTS);

fn main() {
    assert!(S.contains("hidden (Dense)"), "{S}");
    assert!(S.contains("Total params: 106"), "{S}");
    assert_eq!(FLOPS, 2 * (10 * 8 + 8 * 2));
    let y = BAKED.forward(&nn::Vector::<10>::zeros());
    assert_eq!(y.len(), 2);
    println!("{S}");
}
