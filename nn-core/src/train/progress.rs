//! Keras-style progress output of [`Trainer::fit`](super::Trainer::fit): a progress bar or
//! one line per epoch on standard error (silent without `std`).
//!
//! Output costs nothing visible: the text of finished epochs gathers in one buffer that is
//! written at most every [`INTERVAL`] (Keras' `Progbar` redraws at most every 0.05 s), and
//! always when `fit` ends, fails or stops early, so that a hundred epochs of a few hundred
//! microseconds each make one write to the terminal, not a few thousand. An epoch that lasts
//! longer than the interval draws a live bar (indicatif) while it runs. Nothing is allocated
//! per epoch once the buffer has grown to an epoch's text.
//!
//! A callback that prints to standard error itself may see its text land ahead of the
//! epochs still in the buffer.

#[cfg(feature = "std")]
use alloc::{boxed::Box, string::String};
#[cfg(feature = "std")]
use core::fmt::Write as _;
#[cfg(feature = "std")]
use std::time::{Duration, Instant};

use super::callbacks::Logs;

/// How much `fit` prints (Keras' `verbose`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbose {
    /// Nothing (Keras' `verbose=0`).
    Silent,
    /// A progress bar when standard error is a terminal, one line per epoch otherwise.
    #[default]
    Auto,
    /// A progress bar per epoch (Keras' `verbose=1`); where standard error is not a
    /// terminal, each epoch's finished bar only.
    ProgressBar,
    /// One line per epoch (Keras' `verbose=2`).
    Lines,
}

/// The shortest time between two writes of buffered epochs, and between two draws of a live
/// bar; also how long an epoch runs before its bar is drawn live.
#[cfg(feature = "std")]
const INTERVAL: Duration = Duration::from_millis(50);

/// The live bar's template; an epoch's finished bar (`finished_bar`) reads the same.
#[cfg(feature = "std")]
const TEMPLATE: &str = "{pos:>5}/{len} [{bar:30}] {elapsed} - {msg}";

/// Per-epoch progress output, Keras style (silent without `std`).
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(super) struct Progress {
    verbose: Verbose,
    epoch: usize,
    epochs: usize,
    batches: usize,
    #[cfg(feature = "std")]
    out: Output,
}

/// Where the text goes, and when.
#[cfg(feature = "std")]
struct Output {
    /// Text not yet written.
    text: String,
    sink: Box<dyn std::io::Write>,
    /// When the buffer was last written.
    written: Instant,
    /// [`INTERVAL`], but in tests.
    interval: Duration,
    /// Whether a live bar may be drawn: the sink is standard error, on a terminal.
    live: bool,
    /// When the current epoch began.
    started: Instant,
    /// The current epoch's live bar, once it has lasted [`INTERVAL`].
    bar: Option<indicatif::ProgressBar>,
    /// When the live bar was last drawn.
    drawn: Instant,
    /// The live bars' style, parsed once per `fit` (`None` inside: the template failed).
    style: Option<Option<indicatif::ProgressStyle>>,
}

#[cfg(feature = "std")]
impl Output {
    /// Writes the buffer in one call (errors are dropped: progress output never stops
    /// training).
    fn flush(&mut self) {
        if !self.text.is_empty() {
            let _ = self.sink.write_all(self.text.as_bytes());
            let _ = self.sink.flush();
            self.text.clear();
        }
        self.written = Instant::now();
    }

    /// A live bar for the current epoch showing `message`, drawn on standard error after
    /// the buffer (first when its position is set).
    fn live_bar(&mut self, batches: usize, message: String) -> &indicatif::ProgressBar {
        self.flush();
        let style = self.style.get_or_insert_with(|| {
            indicatif::ProgressStyle::with_template(TEMPLATE)
                .map(|s| s.progress_chars("=> "))
                .ok()
        });
        let mut bar = indicatif::ProgressBar::with_draw_target(
            Some(batches as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Some(style) = style {
            bar = bar.with_style(style.clone());
        }
        self.bar.insert(bar.with_message(message))
    }
}

#[cfg(feature = "std")]
impl Drop for Progress {
    fn drop(&mut self) {
        self.abort();
    }
}

impl Progress {
    pub(super) fn new(verbose: Verbose, epochs: usize, batches: usize) -> Self {
        #[cfg(feature = "std")]
        {
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let verbose = match verbose {
                Verbose::Auto if terminal => Verbose::ProgressBar,
                Verbose::Auto => Verbose::Lines,
                v => v,
            };
            Self::with_sink(
                verbose,
                epochs,
                batches,
                Box::new(std::io::stderr()),
                terminal,
            )
        }
        #[cfg(not(feature = "std"))]
        Self {
            verbose,
            epoch: 0,
            epochs,
            batches,
        }
    }

    /// Output into `sink`; `live`: whether an epoch that lasts may draw a live bar (on
    /// standard error).
    #[cfg(feature = "std")]
    fn with_sink(
        verbose: Verbose,
        epochs: usize,
        batches: usize,
        sink: Box<dyn std::io::Write>,
        live: bool,
    ) -> Self {
        let now = Instant::now();
        Self {
            verbose,
            epoch: 0,
            epochs,
            batches,
            out: Output {
                text: String::new(),
                sink,
                written: now,
                interval: INTERVAL,
                live,
                started: now,
                bar: None,
                drawn: now,
                style: None,
            },
        }
    }

    pub(super) fn epoch_begin(&mut self, epoch: usize) {
        self.epoch = epoch;
        #[cfg(feature = "std")]
        {
            self.out.started = Instant::now();
            if self.verbose == Verbose::ProgressBar {
                let _ = writeln!(self.out.text, "Epoch {}/{}", epoch + 1, self.epochs);
            }
        }
    }

    /// Whether [`batch_end`](Self::batch_end) may draw anything (a live progress bar).
    #[cfg(feature = "std")]
    pub(super) fn draws_batches(&self) -> bool {
        self.verbose == Verbose::ProgressBar && self.out.live
    }

    pub(super) fn batch_end(&mut self, _done: usize, _loss: f32) {
        #[cfg(feature = "std")]
        {
            let out = &mut self.out;
            // The last batch is drawn by `epoch_end`, with the epoch's logs.
            if self.verbose != Verbose::ProgressBar || !out.live || _done >= self.batches {
                return;
            }
            // Keras' rule: no redraw within the interval; and no bar at all for an epoch
            // shorter than that.
            let now = Instant::now();
            let since = if out.bar.is_some() {
                out.drawn
            } else {
                out.started
            };
            if now - since < out.interval {
                return;
            }
            out.drawn = now;
            let message = alloc::format!("loss: {_loss:.4}");
            let bar = match out.bar.take() {
                Some(bar) => {
                    bar.set_message(message);
                    out.bar.insert(bar)
                }
                None => out.live_bar(self.batches, message),
            };
            bar.set_position(_done as u64);
        }
    }

    /// Ends the output of a `fit` that fails or stops: a live bar stays as drawn, and all
    /// text is written.
    pub(super) fn abort(&mut self) {
        #[cfg(feature = "std")]
        {
            if let Some(bar) = self.out.bar.take() {
                bar.abandon();
                // indicatif leaves the cursor at the end of the bar's line.
                self.out.text.push('\n');
            }
            self.out.flush();
        }
    }

    pub(super) fn epoch_end(&mut self, _logs: &Logs) {
        #[cfg(feature = "std")]
        {
            let out = &mut self.out;
            let elapsed = out.started.elapsed();
            let was_live = match out.bar.take() {
                Some(bar) => {
                    // The finished line replaces the live bar, from the buffer.
                    bar.finish_and_clear();
                    true
                }
                None => false,
            };
            match self.verbose {
                Verbose::ProgressBar => finished_bar(&mut out.text, self.batches, elapsed, _logs),
                Verbose::Lines => {
                    let _ = write!(
                        out.text,
                        "Epoch {}/{} - {}/{} - {:.2}s - ",
                        self.epoch + 1,
                        self.epochs,
                        self.batches,
                        self.batches,
                        elapsed.as_secs_f64()
                    );
                    push_logs(&mut out.text, _logs);
                    out.text.push('\n');
                }
                Verbose::Silent | Verbose::Auto => return,
            }
            if was_live || out.written.elapsed() >= out.interval {
                out.flush();
            }
        }
    }
}

/// An epoch's finished bar and its logs, as the live bar's [`TEMPLATE`] draws them.
#[cfg(feature = "std")]
fn finished_bar(text: &mut String, batches: usize, elapsed: Duration, logs: &Logs) {
    let _ = write!(
        text,
        "{batches:>5}/{batches} [{:=<30}] {:#} - ",
        "",
        indicatif::HumanDuration(elapsed)
    );
    push_logs(text, logs);
    text.push('\n');
}

/// `loss: 0.1234 - accuracy: 0.9000 - ...`
#[cfg(feature = "std")]
fn push_logs(text: &mut String, logs: &Logs) {
    for (i, (name, v)) in logs.entries().iter().enumerate() {
        let sep = if i == 0 { "" } else { " - " };
        let _ = write!(text, "{sep}{name}: {v:.4}");
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use alloc::{rc::Rc, string::ToString, vec::Vec};
    use core::cell::RefCell;

    /// Records each write call's text.
    #[derive(Clone, Default)]
    struct Writes(Rc<RefCell<Vec<String>>>);

    impl std::io::Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let text = core::str::from_utf8(buf).unwrap().to_string();
            self.0.borrow_mut().push(text);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logs(loss: f32) -> Logs {
        let mut logs = Logs::default();
        logs.insert("loss", loss);
        logs.insert("accuracy", 0.75);
        logs
    }

    /// Output into `writes`, buffered for `interval`.
    fn progress(verbose: Verbose, epochs: usize, writes: &Writes, interval: Duration) -> Progress {
        let mut progress = Progress::with_sink(verbose, epochs, 3, Box::new(writes.clone()), false);
        progress.out.interval = interval;
        progress
    }

    /// Runs `epochs` epochs of 3 batches, all within the buffering interval; returns the
    /// writes.
    fn run(verbose: Verbose, epochs: usize, stop_after: Option<usize>) -> Vec<String> {
        let writes = Writes::default();
        let mut progress = progress(verbose, epochs, &writes, Duration::MAX);
        for epoch in 0..epochs {
            progress.epoch_begin(epoch);
            for b in 1..=3 {
                progress.batch_end(b, 0.5);
            }
            if stop_after == Some(epoch) {
                progress.abort();
                break;
            }
            progress.epoch_end(&logs(epoch as f32 / 8.0));
        }
        drop(progress);
        writes.0.take()
    }

    #[test]
    fn fast_epochs_are_written_once_and_in_full() {
        let writes = run(Verbose::Lines, 4, None);
        assert_eq!(writes.len(), 1, "{writes:?}");
        let lines: Vec<&str> = writes[0].lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[0].starts_with("Epoch 1/4 - 3/3 - 0.00s - loss: 0.0000 - accuracy: 0.7500"),
            "{}",
            lines[0]
        );
        assert!(
            lines[3].ends_with("loss: 0.3750 - accuracy: 0.7500"),
            "{}",
            lines[3]
        );
    }

    #[test]
    fn bar_mode_writes_each_epochs_header_and_finished_bar() {
        let writes = run(Verbose::ProgressBar, 2, None);
        assert_eq!(writes.len(), 1, "{writes:?}");
        let bar = alloc::format!("    3/3 [{}] 0s - loss: ", "=".repeat(30));
        let expected = alloc::format!(
            "Epoch 1/2\n{bar}0.0000 - accuracy: 0.7500\nEpoch 2/2\n{bar}0.1250 - accuracy: 0.7500\n"
        );
        assert_eq!(writes[0], expected);
    }

    #[test]
    fn a_stopped_fit_writes_what_it_has() {
        let writes = run(Verbose::Lines, 5, Some(2));
        let text: String = writes.concat();
        assert_eq!(text.lines().count(), 2, "{text}");
        let writes = run(Verbose::ProgressBar, 5, Some(1));
        assert_eq!(writes.concat().matches("Epoch ").count(), 2);
    }

    #[test]
    fn epochs_past_the_interval_are_written_when_they_end() {
        let writes = Writes::default();
        let mut progress = progress(Verbose::Lines, 2, &writes, Duration::ZERO);
        for epoch in 0..2 {
            progress.epoch_begin(epoch);
            progress.epoch_end(&logs(0.0));
            assert_eq!(writes.0.borrow().len(), epoch + 1);
        }
        drop(progress);
        assert_eq!(writes.0.borrow().len(), 2, "nothing left for the end");
    }

    #[test]
    fn silent_writes_nothing() {
        assert!(run(Verbose::Silent, 3, None).concat().is_empty());
    }
}
