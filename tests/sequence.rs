//! Sequence models end to end: the inference scratch they declare is the one they use, token
//! ids that are not ids are errors where data enters (never panics, never garbage), and a
//! small model learns a task that needs the order of its tokens.

use nn::prelude::*;
use nn::rng::Rng;

nn::model! {
    /// Token ids in, one logit per class out.
    pub struct Tagger {
        input: 12,
        embedding: Embedding(20, 6),
        conv: Conv1D(8, 3, relu),
        MaxPool1D(2),
        GlobalAvgPool1D,
        out: Dense(3),
    }
}

/// `SCRATCH` is the largest input + output of a layer that writes new values, computed by
/// hand here; `forward_into` with exactly that buffer (filled with NaN) gives `forward`'s and
/// the batched pass's outputs.
#[test]
fn sequence_scratch_is_the_real_use() {
    // Embedding reads the caller's ids and writes 12 x 6 = 72; Conv1D: 72 in + 10 x 8 = 80
    // out = 152; MaxPool1D: 80 + 5 x 8 = 120; GlobalAvgPool1D: 40 + 8; Dense: 8 + 3.
    assert_eq!(Tagger::SCRATCH, 152);
    assert_eq!(Tagger::SCRATCH_BYTES, 152 * 4);
    // Lookups count nothing; the convolution 2 * 10 * 3 * 6 * 8; the dense layer 2 * 8 * 3.
    assert_eq!(Tagger::FLOPS, 2 * 10 * 3 * 6 * 8 + 2 * 8 * 3);
    let model = Tagger::new(4);
    let ids: [f32; 12] = std::array::from_fn(|i| (i * 7 % 20) as f32);
    let mut scratch = [f32::NAN; Tagger::SCRATCH];
    let y = model.forward_into(&ids, &mut scratch).to_vec();
    assert!(y.iter().all(|v| v.is_finite()));
    assert_eq!(y.as_slice(), model.forward(&Vector::from(ids)).as_slice());
    let mut tape = nn::tape::Tape::new();
    let batched = model.forward_batch(&mut tape, &ids, 1, nn::layers::Pass::Eval);
    for (a, b) in y.iter().zip(batched) {
        assert!((a - b).abs() < 1e-6, "{y:?} vs {batched:?}");
    }
}

/// Negative, fractional, too large, NaN: `try_forward` names the first bad value; the
/// infallible `forward` reads it as a zero vector (the same as an id whose vector is zero).
#[test]
fn values_that_are_not_ids_are_errors_not_panics() {
    let mut model = Tagger::new(1);
    let good: [f32; 12] = std::array::from_fn(|i| (i % 20) as f32);
    assert!(model.try_forward(&Vector::from(good)).is_ok());
    for (index, bad) in [(0, -1.0), (3, 2.5), (11, 20.0), (7, f32::NAN), (5, 1e9)] {
        let mut x = good;
        x[index] = bad;
        let err = model.try_forward(&Vector::from(x)).unwrap_err();
        match err {
            Error::InvalidInput {
                layer: "Embedding",
                index: i,
                limit: 20,
                ..
            } => assert_eq!(i, index),
            other => panic!("{other:?}"),
        }
        let text = err_text(&model, x);
        assert!(text.contains(&format!("at index {index}")), "{text}");
        assert!(
            text.contains("Embedding") && text.contains("below 20"),
            "{text}"
        );
        // `forward` does not panic, and gives what a zero vector at that step gives.
        let y = model.forward(&Vector::from(x));
        assert!(y.iter().all(|v| v.is_finite()));
    }
    let mut zero = good;
    zero[4] = 0.0;
    let mut bad = good;
    bad[4] = 99.0;
    model.embedding_mut().vector_mut(0).fill(0.0);
    assert_eq!(
        model.forward(&Vector::from(bad)),
        model.forward(&Vector::from(zero))
    );
}

fn err_text(model: &Tagger, x: [f32; 12]) -> String {
    model.try_forward(&Vector::from(x)).unwrap_err().to_string()
}

/// `fit`, `evaluate` and `predict` check the ids first: a bad one is an error naming it,
/// and the model is unchanged.
#[test]
fn training_apis_reject_bad_ids_before_touching_the_model() {
    let mut trainer = Tagger::new(2).compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy);
    let before = trainer.model().params().to_vec();
    let mut x: Vec<f32> = (0..4 * 12).map(|i| (i % 20) as f32).collect();
    let y = [0.0, 1.0, 2.0, 1.0];
    x[2 * 12 + 5] = 20.5;
    let quiet = || Fit::new().epochs(1).verbose(Verbose::Silent);
    for err in [
        trainer.fit(&x, &y, quiet()).unwrap_err(),
        trainer.evaluate(&x, &y).unwrap_err(),
        trainer.predict(&x).unwrap_err(),
        trainer.train_on_batch(&x, &y).unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::InvalidInput { index: 29, .. }),
            "{err:?}"
        );
    }
    assert_eq!(trainer.model().params(), before);
}

nn::model! {
    /// Whether token 1 is directly followed by token 2 somewhere in 10 tokens of 8: a task
    /// that needs the order, which a bag of tokens cannot tell.
    pub struct Bigram {
        input: 10,
        Embedding(8, 8),
        Conv1D(16, 2, relu),
        GlobalMaxPool1D,
        Dense(1, sigmoid),
    }
}

/// `n` sequences of 10 tokens (half with the bigram 1, 2 somewhere, half without) and their
/// labels.
fn bigrams(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let mut s: Vec<usize> = (0..10).map(|_| rng.below(8)).collect();
        let positive = i % 2 == 0;
        if positive {
            let at = rng.below(9);
            s[at] = 1;
            s[at + 1] = 2;
        } else {
            // Break every 1, 2 pair (a 2 elsewhere, or before a 1, stays).
            for t in 0..9 {
                if s[t] == 1 && s[t + 1] == 2 {
                    s[t + 1] = 0;
                }
            }
        }
        let has = s.windows(2).any(|w| w == [1, 2]);
        assert_eq!(has, positive);
        x.extend(s.iter().map(|&t| t as f32));
        y.push(f32::from(u8::from(has)));
    }
    (x, y)
}

#[test]
fn an_embedding_and_a_convolution_learn_a_bigram() {
    let (x, y) = bigrams(2000, 1);
    let (x_test, y_test) = bigrams(500, 2);
    let mut trainer = Bigram::new(3)
        .compile(Adam::new(1e-2), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    trainer
        .fit(
            &x,
            &y,
            Fit::new()
                .epochs(15)
                .batch_size(32)
                .seed(4)
                .verbose(Verbose::Silent),
        )
        .unwrap();
    let test = trainer.evaluate(&x_test, &y_test).unwrap();
    // Measured 1.000 (seeds as here); chance is 0.5.
    let accuracy = test.get("accuracy").unwrap();
    assert!(accuracy > 0.97, "test accuracy {accuracy}");
}
