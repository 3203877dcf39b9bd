//! `sample_weight` and `class_weight` with Keras' semantics: the loss of a batch is
//! `sum_i w_i l_i / batch`, class weights are sample weights by class, and the weighted
//! metrics weigh each sample.

use nn::prelude::*;

nn::model! {
    /// Three classes from 5 features.
    pub struct Net {
        input: 5,
        hidden: Dense(8, tanh),
        out: Dense(3, softmax),
    }
}

fn data(n: usize) -> (Vec<f32>, Vec<f32>) {
    Classification::new(n, 5)
        .classes(3)
        .clusters_per_class(1)
        .seed(2)
        .generate()
        .unwrap()
}

fn one_batch(n: usize) -> Fit<'static> {
    Fit::new()
        .epochs(1)
        .batch_size(n)
        .shuffle(false)
        .verbose(Verbose::Silent)
}

fn trainer(lr: f32) -> Trainer<Net, Sgd> {
    Net::new(4)
        .compile(Sgd::new(lr), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy])
        .weighted_metrics(&[Metric::Accuracy])
}

#[test]
fn the_weighted_loss_is_the_weighted_sum_over_the_batch_size() {
    let n = 12;
    let (x, y) = data(n);
    let w: Vec<f32> = (0..n).map(|i| [0.5, 2.0, 0.0, 1.0][i % 4]).collect();
    // A few steps first (so that some predictions are right), then learning rate 0: the
    // logged loss and metrics are those of the weights at the start of the epoch.
    let mut t = trainer(0.3);
    t.fit(&x, &y, one_batch(n)).unwrap();
    let start = t.model().params().to_vec();
    t.optimizer_mut().set_learning_rate(0.0);
    let h = t.fit(&x, &y, one_batch(n).sample_weight(&w)).unwrap();
    let mut reference = Net::from_params(start)
        .unwrap()
        .compile(Sgd::new(0.0), Loss::SparseCategoricalCrossentropy);
    let per_sample: Vec<f32> = (0..n)
        .map(|i| {
            reference
                .evaluate(&x[i * 5..i * 5 + 5], &y[i..=i])
                .unwrap()
                .loss
        })
        .collect();
    let want: f32 = per_sample.iter().zip(&w).map(|(l, w)| l * w).sum::<f32>() / n as f32;
    let got = h.last("loss").unwrap();
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");

    // Weighted accuracy: sum of the weights of the right predictions over the sum of weights.
    let predicted = reference.predict_classes(&x).unwrap();
    let right: Vec<f32> = predicted
        .iter()
        .zip(&y)
        .map(|(&p, &t)| f32::from(u8::from(p as f32 == t)))
        .collect();
    let weighted = right.iter().zip(&w).map(|(r, w)| r * w).sum::<f32>() / w.iter().sum::<f32>();
    let plain = right.iter().sum::<f32>() / n as f32;
    assert!((h.last("weighted_accuracy").unwrap() - weighted).abs() < 1e-6);
    assert!((h.last("accuracy").unwrap() - plain).abs() < 1e-6);
    assert_ne!(
        weighted, plain,
        "the test needs weights that change the accuracy"
    );
}

#[test]
fn a_sample_of_weight_two_pulls_as_two_copies() {
    // Weights summing to the batch size: the weighted step equals the unweighted step on
    // the batch where each sample appears `weight` times (same divisor).
    let n = 6;
    let (x, y) = data(n);
    let w = [2.0, 0.0, 1.0, 1.0, 2.0, 0.0];
    let copies = [0, 0, 2, 3, 4, 4];
    let dx: Vec<f32> = copies
        .iter()
        .flat_map(|&i| x[i * 5..i * 5 + 5].to_vec())
        .collect();
    let dy: Vec<f32> = copies.iter().map(|&i| y[i]).collect();
    let mut weighted = trainer(0.5);
    weighted
        .fit(&x, &y, one_batch(n).sample_weight(&w))
        .unwrap();
    let mut copied = trainer(0.5);
    copied.fit(&dx, &dy, one_batch(n)).unwrap();
    let start = Net::new(4);
    let moved = start
        .params()
        .iter()
        .zip(copied.model().params())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(moved > 1e-3, "the step must move the weights");
    for (a, b) in weighted
        .model()
        .params()
        .iter()
        .zip(copied.model().params())
    {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // All weights 1 is the unweighted training.
    let ones = vec![1.0; n];
    let mut a = trainer(0.5);
    let ha = a
        .fit(&x, &y, one_batch(n).epochs(5).sample_weight(&ones))
        .unwrap();
    let mut b = trainer(0.5);
    let hb = b.fit(&x, &y, one_batch(n).epochs(5)).unwrap();
    for (p, q) in a.model().params().iter().zip(b.model().params()) {
        assert!((p - q).abs() < 1e-5);
    }
    assert_eq!(ha.get("accuracy"), hb.get("accuracy"));
}

#[test]
fn class_weights_are_sample_weights_by_class() {
    let n = 60;
    let (x, y) = data(n);
    let class_weight = [1.0, 3.0, 0.5];
    let by_hand: Vec<f32> = y.iter().map(|&c| class_weight[c as usize]).collect();
    let fit = || {
        Fit::new()
            .epochs(4)
            .batch_size(16)
            .seed(9)
            .validation_split(0.25)
            .verbose(Verbose::Silent)
    };
    let mut a = trainer(0.2);
    let ha = a.fit(&x, &y, fit().class_weight(&class_weight)).unwrap();
    let mut b = trainer(0.2);
    let hb = b.fit(&x, &y, fit().sample_weight(&by_hand)).unwrap();
    assert_eq!(ha, hb);
    assert_eq!(a.model().params(), b.model().params());
    // Both multiply.
    let mut c = trainer(0.2);
    let hc = c
        .fit(
            &x,
            &y,
            fit()
                .class_weight(&class_weight)
                .sample_weight(&vec![1.0; n]),
        )
        .unwrap();
    assert_eq!(hc, ha);
    // And they change the training.
    let mut d = trainer(0.2);
    d.fit(&x, &y, fit()).unwrap();
    assert_ne!(d.model().params(), a.model().params());
}

#[test]
fn bad_weights_are_refused_before_training() {
    let (x, y) = data(20);
    for (fit, what) in [
        (one_batch(20).sample_weight(&[1.0; 19]), "19"),
        (one_batch(20).sample_weight(&[-1.0; 20]), "sample_weight"),
        (one_batch(20).class_weight(&[1.0, 1.0]), "class_weight"),
        (
            one_batch(20).class_weight(&[1.0, f32::NAN, 1.0]),
            "class_weight",
        ),
    ] {
        let mut t = trainer(0.1);
        let e = t.fit(&x, &y, fit).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
        assert_eq!(t.model().params(), Net::new(4).params());
    }
}
