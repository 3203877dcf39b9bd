//! Keras' callbacks on real training: state readable after `fit` (passed by `&mut`), the
//! learning rate seen and set by callbacks and schedules and logged as `lr`, checkpoints,
//! CSV logs, and a training stopped and resumed from its checkpoint files with shuffling,
//! dropout and a per-step schedule, ending bit for bit where the uninterrupted one does.
#![cfg(feature = "std")]

use std::path::PathBuf;

use nn::io::optimizer;
use nn::optim::{CosineDecay, ExponentialDecay, LearningRateSchedule, PiecewiseConstant};
use nn::prelude::*;
use nn::train::{
    Context, Control, CsvLogger, LearningRateScheduler, Logs, Mode, ModelCheckpoint,
    ReduceLROnPlateau, TerminateOnNaN,
};

nn::model! {
    /// A small classifier with dropout (random masks) and batch normalisation (model state).
    pub struct Net {
        input: 6,
        hidden: Dense(16, relu),
        drop: Dropout(0.2),
        bn: BatchNorm,
        out: Dense(3, softmax),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nn-callbacks-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// 240 samples of 6 features, 3 classes: 8 batches of 30 (the last 20% held out when
/// `validation_split(0.2)`: 192 samples, 7 batches of 30).
fn data() -> (Vec<f32>, Vec<f32>) {
    Classification::new(240, 6)
        .classes(3)
        .clusters_per_class(1)
        .seed(5)
        .generate()
        .unwrap()
}

fn trainer(lr: f32) -> Trainer<Net, Adam> {
    Net::new(1)
        .compile(Adam::new(lr), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy])
}

fn quiet(epochs: usize) -> Fit<'static> {
    Fit::new()
        .epochs(epochs)
        .batch_size(30)
        .seed(3)
        .verbose(Verbose::Silent)
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn early_stopping_passed_by_mut_is_readable_after_fit() {
    let (x, y) = data();
    let mut t = trainer(5e-2);
    // Training accuracy in `min` mode: it rises, so it "stops improving" at once.
    let mut stop = EarlyStopping::new("accuracy").mode(Mode::Min).patience(2);
    let h = t.fit(&x, &y, quiet(50).callback(&mut stop)).unwrap();
    let stopped = stop.stopped_epoch().expect("stops early");
    assert_eq!(h.stopped_epoch, Some(stopped));
    assert_eq!(h.epochs(), stopped + 1);
    let acc = h.get("accuracy").unwrap();
    let best = stop.best_epoch();
    assert_eq!(stop.best(), Some(acc[best]));
    // No later epoch was lower than the best (what `min` mode looks for).
    assert!(acc[best + 1..].iter().all(|&a| a >= acc[best]), "{acc:?}");
    assert_eq!(stopped - best, 2);
}

#[test]
fn learning_rate_scheduler_sets_the_rate_each_epoch_and_lr_is_logged() {
    let (x, y) = data();
    let mut t = trainer(1e-2);
    let mut seen = Vec::new();
    let h = t
        .fit(
            &x,
            &y,
            quiet(5).callback(LearningRateScheduler::new(|epoch, lr| {
                seen.push(lr);
                1e-2 / (1.0 + epoch as f32)
            })),
        )
        .unwrap();
    let lr = h.get("lr").unwrap();
    for (epoch, &v) in lr.iter().enumerate() {
        assert_eq!(v, 1e-2 / (1.0 + epoch as f32));
    }
    // The closure saw the rate it had set the epoch before.
    assert_eq!(seen[0], 1e-2);
    assert_eq!(&seen[1..], &lr[..4]);
    assert_eq!(t.optimizer().learning_rate(), lr[4]);
}

#[test]
fn a_step_schedule_sets_the_rate_before_every_step() {
    let (x, y) = data();
    // 8 steps per epoch.
    let schedules: Vec<Box<dyn Fn(u64) -> f32>> = vec![
        Box::new(|s| ExponentialDecay::new(0.05, 8, 0.5).rate(s)),
        Box::new(|s| CosineDecay::new(0.0, 24).warmup(0.05, 8).rate(s)),
        Box::new(|s| PiecewiseConstant::new(&[7, 15], &[0.05, 0.01, 0.002]).rate(s)),
    ];
    for schedule in &schedules {
        let mut t = trainer(1.0);
        let h = t
            .fit(&x, &y, quiet(4).learning_rate_schedule(schedule))
            .unwrap();
        // `lr` is the rate of each epoch's last step.
        let want: Vec<f32> = (0..4).map(|e| schedule(e * 8 + 7)).collect();
        assert_eq!(h.get("lr").unwrap(), want.as_slice());
        assert!(h.get("loss").unwrap().iter().all(|l| l.is_finite()));
    }
    // Piecewise: epoch 0's last step (7) is still in the first range, epoch 1's (15) in the
    // second.
    let p = PiecewiseConstant::new(&[7, 15], &[0.05, 0.01, 0.002]);
    assert_eq!([p.rate(7), p.rate(15), p.rate(23)], [0.05, 0.01, 0.002]);
    // An invalid schedule is refused before training.
    let mut t = trainer(1.0);
    let e = t
        .fit(
            &x,
            &y,
            quiet(2).learning_rate_schedule(ExponentialDecay::new(0.1, 0, 0.5)),
        )
        .unwrap_err();
    assert!(e.to_string().contains("decay_steps"), "{e}");
    assert_eq!(e.history().map(History::epochs), Some(0));
}

#[test]
fn reduce_lr_on_plateau_reduces_after_patience_epochs_then_cools_down() {
    let (x, y) = data();
    let mut t = trainer(1e-2);
    // The loss falls, so in `max` mode it never improves after the first epoch.
    let mut plateau = ReduceLROnPlateau::new("loss")
        .mode(Mode::Max)
        .patience(2)
        .factor(0.5)
        .cooldown(2)
        .min_lr(2e-3);
    let h = t.fit(&x, &y, quiet(10).callback(&mut plateau)).unwrap();
    let lr = h.get("lr").unwrap();
    // Keras' rule, by hand: epoch 0 sets the best; waits at epochs 1, 2 -> reduce after 2,
    // cooldown counter 2; epoch 3: counter 1 (no wait); epoch 4: counter 0, then wait 1;
    // epoch 5: wait 2 -> reduce; 6: counter 1; 7: wait 1; 8: wait 2 -> reduce, clipped to
    // min_lr. Logged `lr` is the rate the epoch ran with.
    let want = [
        1e-2, 1e-2, 1e-2, 5e-3, 5e-3, 5e-3, 2.5e-3, 2.5e-3, 2.5e-3, 2e-3,
    ];
    assert_eq!(lr.len(), want.len());
    for (got, want) in lr.iter().zip(want) {
        assert!((got - want).abs() < 1e-9, "{lr:?}");
    }
    assert_eq!(plateau.reductions(), 3);
}

#[test]
fn model_checkpoint_saves_the_best_epochs_and_the_file_holds_them() {
    let (x, y) = data();
    let dir = TempDir::new("best");
    let pattern = dir.path("ckpt/net-{epoch:02}.safetensors");
    let mut ckpt = ModelCheckpoint::new(&pattern)
        .monitor("val_loss")
        .save_best_only(true);
    let mut t = trainer(3e-2);
    let h = t
        .fit(&x, &y, quiet(12).validation_split(0.2).callback(&mut ckpt))
        .unwrap();
    let val = h.get("val_loss").unwrap();
    // The epochs that improved on every earlier one.
    let mut best = f32::INFINITY;
    let improved: Vec<usize> = (0..val.len())
        .filter(|&e| {
            let yes = val[e] < best;
            best = best.min(val[e]);
            yes
        })
        .collect();
    let saved: Vec<usize> = ckpt.saved().iter().map(|(e, _)| *e).collect();
    assert_eq!(saved, improved);
    assert!(saved.len() >= 2, "{val:?}");
    for (e, path) in ckpt.saved() {
        let name = format!("net-{:02}.safetensors", e + 1);
        assert!(path.ends_with(&name), "{path:?}");
        assert!(path.exists());
    }
    // The last file holds the best epoch's weights: its validation loss is the best logged.
    let (_, last) = ckpt.saved().last().unwrap();
    let mut model = Net::new(7);
    model.load_weights(last).unwrap();
    let n_train = 192;
    let mut check = model.compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy);
    let loss = check
        .evaluate(&x[n_train * 6..], &y[n_train..])
        .unwrap()
        .loss;
    assert!((loss - best).abs() < 1e-5, "{loss} vs {best}");

    // Every epoch without save_best_only; a bad pattern is refused before training.
    let mut every = ModelCheckpoint::new(&dir.path("all-{epoch}.safetensors"));
    trainer(1e-2)
        .fit(&x, &y, quiet(3).callback(&mut every))
        .unwrap();
    assert_eq!(every.saved().len(), 3);
    let e = trainer(1e-2)
        .fit(
            &x,
            &y,
            quiet(3).callback(ModelCheckpoint::new("x-{epoch:.2f}")),
        )
        .unwrap_err();
    assert!(e.to_string().contains("{epoch:0N}"), "{e}");
}

#[test]
fn csv_logger_writes_every_logged_value_of_every_epoch() {
    let (x, y) = data();
    let dir = TempDir::new("csv");
    let path = dir.path("log.csv");
    let h = trainer(1e-2)
        .fit(
            &x,
            &y,
            quiet(4)
                .validation_split(0.2)
                .callback(CsvLogger::new(&path)),
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header[0], "epoch");
    assert_eq!(&header[1..], h.names());
    for (e, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], e.to_string());
        for (name, cell) in header[1..].iter().zip(&cells[1..]) {
            let v: f32 = cell.parse().unwrap();
            assert_eq!(v, h.get(name).unwrap()[e], "{name} epoch {e}");
        }
    }
    // Appending (a resumed training) adds lines under the same header.
    trainer(1e-2)
        .fit(
            &x,
            &y,
            quiet(2)
                .validation_split(0.2)
                .callback(CsvLogger::new(&path).append(true)),
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 7);
    assert_eq!(text.lines().filter(|l| l.starts_with("epoch")).count(), 1);
}

/// Logs a NaN under `weird` from epoch `at` on.
struct NanAt(usize);

impl Callback for NanAt {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _: &mut Context<'_>,
    ) -> nn::Result<Control> {
        if epoch >= self.0 {
            logs.insert("weird", f32::NAN);
        }
        Ok(Control::Continue)
    }
}

#[test]
fn terminate_on_nan_stops_after_the_epoch_that_logged_one() {
    let (x, y) = data();
    let mut term = TerminateOnNaN::new();
    let h = trainer(1e-2)
        .fit(&x, &y, quiet(10).callback(NanAt(3)).callback(&mut term))
        .unwrap();
    assert_eq!(term.stopped_epoch(), Some(3));
    assert_eq!(h.epochs(), 4);
    assert_eq!(h.stopped_epoch, Some(3));
}

/// A callback that sees the model and the optimizer: the parameters change between epochs
/// and the learning rate is the optimizer's.
struct Watch {
    params: Vec<Vec<f32>>,
    rates: Vec<f32>,
}

impl Callback for Watch {
    fn on_epoch_end(
        &mut self,
        _: usize,
        logs: &mut Logs,
        ctx: &mut Context<'_>,
    ) -> nn::Result<Control> {
        assert_eq!(ctx.model_name(), "Net");
        self.params.push(ctx.params().to_vec());
        self.rates.push(ctx.learning_rate());
        assert_eq!(logs.get("lr"), Some(ctx.learning_rate()));
        Ok(Control::Continue)
    }
}

#[test]
fn a_callback_sees_the_parameters_and_the_learning_rate() {
    let (x, y) = data();
    let mut watch = Watch {
        params: Vec::new(),
        rates: Vec::new(),
    };
    let mut t = trainer(2e-2);
    t.fit(&x, &y, quiet(3).callback(&mut watch)).unwrap();
    assert_eq!(watch.params.len(), 3);
    assert_ne!(watch.params[0], watch.params[1]);
    assert_eq!(watch.params[2], t.model().params());
    assert_eq!(watch.rates, [2e-2; 3]);
}

#[test]
fn a_checkpointed_training_resumes_bit_for_bit_with_shuffling_dropout_and_a_schedule() {
    let (x, y) = data();
    let dir = TempDir::new("resume");
    let weights = dir.path("w-{epoch}.safetensors");
    let state = dir.path("opt-{epoch}.safetensors");
    let schedule = || CosineDecay::new(0.0, 40).warmup(3e-2, 8);
    let fit = |epochs| {
        quiet(epochs)
            .validation_split(0.2)
            .learning_rate_schedule(schedule())
    };

    // Six epochs straight, saving weights and optimizer state after each.
    let mut straight = trainer(1.0);
    let whole = straight
        .fit(
            &x,
            &y,
            fit(6).callback(ModelCheckpoint::new(&weights).optimizer_path(&state)),
        )
        .unwrap();

    // A new process, so to speak: the files of epoch 3 (zero-based 2), then epochs 3..6.
    let mut model = Net::new(99);
    model.load_weights(dir.path("w-3.safetensors")).unwrap();
    let mut resumed = model
        .compile(Adam::new(0.5), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    resumed
        .load_optimizer_state(&optimizer::load(dir.path("opt-3.safetensors")).unwrap())
        .unwrap();
    let rest = resumed.fit(&x, &y, fit(6).initial_epoch(3)).unwrap();

    assert_eq!(rest.epochs(), 3);
    assert_eq!(
        bits(resumed.model().params()),
        bits(straight.model().params())
    );
    assert_eq!(
        bits(resumed.model().state()),
        bits(straight.model().state())
    );
    for name in whole.names() {
        assert_eq!(
            bits(rest.get(name).unwrap()),
            bits(&whole.get(name).unwrap()[3..]),
            "{name}"
        );
    }

    // Without `initial_epoch`, the resumed run shuffles and schedules as a new one: it
    // ends elsewhere (the test above can fail).
    let mut model = Net::new(99);
    model.load_weights(dir.path("w-3.safetensors")).unwrap();
    let mut naive = model.compile(Adam::new(0.5), Loss::SparseCategoricalCrossentropy);
    naive
        .load_optimizer_state(&optimizer::load(dir.path("opt-3.safetensors")).unwrap())
        .unwrap();
    naive.fit(&x, &y, fit(3)).unwrap();
    assert_ne!(
        bits(naive.model().params()),
        bits(straight.model().params())
    );
}
