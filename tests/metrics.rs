//! The metrics against scikit-learn: the references were computed once by
//! `scripts/metrics_sklearn.py` (scikit-learn 1.9.1) on the fixed inputs repeated here.

use nn::metrics::{ConfusionMatrix, Metric, Tally};

const Y_TRUE: [f32; 20] = [
    1., 0., 1., 1., 0., 0., 1., 0., 1., 0., 0., 1., 1., 0., 1., 0., 0., 1., 0., 1.,
];
const Y_SCORE: [f32; 20] = [
    0.91, 0.12, 0.64, 0.48, 0.33, 0.71, 0.88, 0.05, 0.57, 0.42, 0.26, 0.39, 0.95, 0.61, 0.77, 0.19,
    0.52, 0.83, 0.08, 0.69,
];
const W: [f32; 20] = [
    1.0, 2.0, 0.5, 1.0, 1.5, 1.0, 3.0, 1.0, 0.25, 1.0, 2.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 2.0, 1.0,
    1.0,
];

const T: [f32; 12] = [3.0, -0.5, 2.0, 7.0, 4.2, 1.1, 0.0, 5.5, -2.0, 3.3, 6.1, 2.2];
const P: [f32; 12] = [2.5, 0.0, 2.1, 7.8, 3.9, 1.5, -0.4, 5.0, -1.2, 3.0, 6.6, 2.0];
const RW: [f32; 12] = [1., 2., 1., 0.5, 1., 1., 3., 1., 1., 0.5, 1., 2.];

fn close(got: f32, want: f64, tol: f64) {
    assert!(
        (f64::from(got) - want).abs() <= tol,
        "got {got}, want {want}"
    );
}

#[test]
fn binary_metrics_match_scikit_learn() {
    let m = |metric: Metric, w: Option<&[f32]>| metric.compute(&Y_SCORE, &Y_TRUE, 1, w);
    close(m(Metric::Precision, None), 0.727_272_727_272_727_3, 1e-6);
    close(m(Metric::Recall, None), 0.8, 1e-6);
    close(m(Metric::F1, None), 0.761_904_761_904_761_9, 1e-6);
    close(m(Metric::Auc, None), 0.89, 1e-6);
    close(
        m(Metric::Precision, Some(&W)),
        0.795_918_367_346_938_8,
        1e-6,
    );
    close(m(Metric::Recall, Some(&W)), 0.829_787_234_042_553_2, 1e-6);
    close(m(Metric::F1, Some(&W)), 0.8125, 1e-6);
    close(m(Metric::Auc, Some(&W)), 0.944_148_936_170_212_8, 1e-6);
    close(
        m(Metric::BinaryAccuracy, Some(&W)),
        0.810_526_315_789_473_7,
        1e-6,
    );
}

#[test]
fn regression_metrics_match_scikit_learn() {
    let m = |metric: Metric, width, w: Option<&[f32]>| metric.compute(&P, &T, width, w);
    close(m(Metric::Mae, 1, None), 0.441_666_603_088_378_9, 1e-6);
    close(m(Metric::Mse, 1, None), 0.235_833_331_942_558_3, 1e-6);
    close(m(Metric::Rmse, 1, None), 0.485_626_741_379_177_2, 1e-6);
    close(m(Metric::R2, 1, None), 0.966_103_374_958_038_3, 1e-6);
    close(m(Metric::Mae, 1, Some(&RW)), 0.416_666_648_785_273_2, 1e-6);
    close(m(Metric::Mse, 1, Some(&RW)), 0.204_999_993_642_179_08, 1e-6);
    close(m(Metric::R2, 1, Some(&RW)), 0.965_632_794_726_271_1, 1e-6);
    // Two outputs per sample: R² per output, averaged.
    close(m(Metric::R2, 2, None), 0.965_040_862_560_272_2, 1e-6);
    close(m(Metric::Mse, 2, None), 0.235_833_346_843_719_48, 1e-6);
}

#[test]
fn metrics_summed_over_batches_equal_the_whole() {
    // What `fit` does: one tally, updated batch by batch (here of 7, 7 and 6 samples).
    for metric in [
        Metric::Auc,
        Metric::F1,
        Metric::R2,
        Metric::Rmse,
        Metric::BinaryAccuracy,
    ] {
        let mut tally = Tally::default();
        for (start, end) in [(0, 7), (7, 14), (14, 20)] {
            metric.update(
                &mut tally,
                &Y_SCORE[start..end],
                &Y_TRUE[start..end],
                1,
                Some(&W[start..end]),
            );
        }
        let whole = metric.compute(&Y_SCORE, &Y_TRUE, 1, Some(&W));
        assert!((metric.result(&tally) - whole).abs() < 1e-6, "{metric:?}");
    }
}

const LABELS: [f32; 10] = [0., 2., 1., 3., 2., 0., 1., 1., 3., 2.];
#[rustfmt::skip]
const SCORES: [f32; 40] = [
    0.5, 0.2, 0.2, 0.1,  0.1, 0.3, 0.4, 0.2,  0.3, 0.25, 0.35, 0.1,  0.4, 0.3, 0.2, 0.1,
    0.1, 0.6, 0.2, 0.1,  0.2, 0.3, 0.4, 0.1,  0.05, 0.9, 0.03, 0.02,  0.3, 0.2, 0.1, 0.4,
    0.2, 0.2, 0.25, 0.35,  0.6, 0.1, 0.2, 0.1,
];

#[test]
fn top_k_and_the_confusion_matrix_match_scikit_learn() {
    close(
        Metric::TopKAccuracy(2).compute(&SCORES, &LABELS, 4, None),
        0.6,
        1e-7,
    );
    close(
        Metric::TopKAccuracy(3).compute(&SCORES, &LABELS, 4, None),
        0.9,
        1e-7,
    );
    // The same on one-hot rows.
    let onehot = nn::data::one_hot(&LABELS, 4).unwrap();
    close(
        Metric::TopKAccuracy(2).compute(&SCORES, &onehot, 4, None),
        0.6,
        1e-7,
    );

    let truth: Vec<usize> = LABELS.iter().map(|&l| l as usize).collect();
    let pred = nn::data::argmax_rows(&SCORES, 4).unwrap();
    let cm = ConfusionMatrix::new(&truth, &pred, 4).unwrap();
    assert_eq!(
        cm.counts(),
        [1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1]
    );
    let precision = [1.0 / 3.0, 0.5, 1.0 / 3.0, 0.5];
    let recall = [0.5, 1.0 / 3.0, 1.0 / 3.0, 0.5];
    let f1 = [0.4, 0.4, 1.0 / 3.0, 0.5];
    for c in 0..4 {
        assert!((cm.precision(c) - precision[c]).abs() < 1e-12);
        assert!((cm.recall(c) - recall[c]).abs() < 1e-12);
        assert!((cm.f1(c) - f1[c]).abs() < 1e-12);
    }
    assert!((cm.macro_f1() - 0.408_333_333_333_333_3).abs() < 1e-12);
    let report = cm.report(&["a".into(), "b".into(), "c".into(), "d".into()]);
    assert!(
        report.contains("precision") && report.contains("macro avg"),
        "{report}"
    );
    assert!(ConfusionMatrix::new(&[0, 4], &[0, 1], 4).is_err());
    assert!(ConfusionMatrix::new(&[0], &[0, 1], 4).is_err());
}
