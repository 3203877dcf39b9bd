//! Keras-style progress output of [`Trainer::fit`](super::Trainer::fit): a progress bar or
//! one line per epoch on standard error (silent without `std`).

#[cfg(feature = "std")]
use alloc::string::{String, ToString};

use super::callbacks::Logs;

/// How much `fit` prints (Keras' `verbose`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbose {
    /// Nothing (Keras' `verbose=0`).
    Silent,
    /// A progress bar when standard error is a terminal, one line per epoch otherwise.
    #[default]
    Auto,
    /// A progress bar per epoch (Keras' `verbose=1`).
    ProgressBar,
    /// One line per epoch (Keras' `verbose=2`).
    Lines,
}

/// Per-epoch progress output, Keras style (silent without `std`).
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(super) struct Progress {
    verbose: Verbose,
    epoch: usize,
    epochs: usize,
    batches: usize,
    #[cfg(feature = "std")]
    bar: Option<indicatif::ProgressBar>,
    #[cfg(feature = "std")]
    started: Option<std::time::Instant>,
    /// When the bar was last drawn: it is redrawn at most every [`INTERVAL`], as Keras'
    /// `Progbar` (`interval=0.05`), so that fast epochs spend their time training.
    #[cfg(feature = "std")]
    drawn: Option<std::time::Instant>,
    #[cfg(feature = "std")]
    style: Option<Option<indicatif::ProgressStyle>>,
    /// Whether a finished bar's line still needs its newline.
    #[cfg(feature = "std")]
    open_line: bool,
}

#[cfg(feature = "std")]
impl Drop for Progress {
    fn drop(&mut self) {
        if self.open_line {
            std::eprintln!();
        }
    }
}

/// The shortest time between two draws of the bar within an epoch.
#[cfg(feature = "std")]
const INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

impl Progress {
    pub(super) fn new(verbose: Verbose, epochs: usize, batches: usize) -> Self {
        #[cfg(feature = "std")]
        let verbose = match verbose {
            Verbose::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => {
                Verbose::ProgressBar
            }
            Verbose::Auto => Verbose::Lines,
            v => v,
        };
        Self {
            verbose,
            epoch: 0,
            epochs,
            batches,
            #[cfg(feature = "std")]
            bar: None,
            #[cfg(feature = "std")]
            started: None,
            #[cfg(feature = "std")]
            drawn: None,
            #[cfg(feature = "std")]
            style: None,
            #[cfg(feature = "std")]
            open_line: false,
        }
    }

    pub(super) fn epoch_begin(&mut self, epoch: usize) {
        self.epoch = epoch;
        #[cfg(feature = "std")]
        {
            self.started = Some(std::time::Instant::now());
            if self.verbose == Verbose::ProgressBar {
                let end = if core::mem::take(&mut self.open_line) {
                    "\n"
                } else {
                    ""
                };
                std::eprintln!("{end}Epoch {}/{}", epoch + 1, self.epochs);
                let bar = indicatif::ProgressBar::with_draw_target(
                    Some(self.batches as u64),
                    indicatif::ProgressDrawTarget::stderr(),
                );
                // The style is parsed once per `fit`, not per epoch.
                let style = self.style.get_or_insert_with(|| {
                    indicatif::ProgressStyle::with_template(
                        "{pos:>5}/{len} [{bar:30}] {elapsed} - {msg}",
                    )
                    .map(|s| s.progress_chars("=> "))
                    .ok()
                });
                if let Some(style) = style {
                    bar.set_style(style.clone());
                }
                self.bar = Some(bar);
                self.drawn = self.started;
            }
        }
    }

    pub(super) fn batch_end(&mut self, _done: usize, _loss: f32) {
        #[cfg(feature = "std")]
        if let Some(bar) = &self.bar {
            // Keras' rule: no redraw within the interval; the last batch is drawn by
            // `epoch_end`, with the epoch's logs.
            let now = std::time::Instant::now();
            if _done >= self.batches || self.drawn.is_some_and(|t| now - t < INTERVAL) {
                return;
            }
            self.drawn = Some(now);
            bar.set_message(alloc::format!("loss: {_loss:.4}"));
            bar.set_position(_done as u64);
        }
    }

    pub(super) fn abort(&mut self) {
        #[cfg(feature = "std")]
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }

    pub(super) fn epoch_end(&mut self, _logs: &Logs) {
        #[cfg(feature = "std")]
        {
            let mut text = String::new();
            for (name, v) in _logs.entries() {
                text += &alloc::format!(" - {name}: {v:.4}");
            }
            let secs = self.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
            match (self.verbose, self.bar.take()) {
                (Verbose::ProgressBar, Some(bar)) => {
                    bar.finish_with_message(text.trim_start_matches(" - ").to_string());
                    // indicatif leaves the cursor on the finished bar's line: the next
                    // epoch's header (or `drop`) ends it, in the same write.
                    self.open_line = true;
                }
                (Verbose::Lines, _) => {
                    std::eprintln!(
                        "Epoch {}/{} - {}/{} - {secs:.2}s{text}",
                        self.epoch + 1,
                        self.epochs,
                        self.batches,
                        self.batches
                    );
                }
                _ => {}
            }
        }
    }
}
