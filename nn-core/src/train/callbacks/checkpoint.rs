//! [`ModelCheckpoint`]: saves the weights (and optionally the optimizer state) during
//! training.

use std::path::PathBuf;
use std::string::{String, ToString};
use std::vec::Vec;

use super::monitor::{Mode, Monitor};
use super::{Callback, Context, Control, Logs};
use crate::error::{Error, Result};

/// Saves the model's weights (a safetensors file, as
/// [`io::weights::save`](crate::io::weights::save)) after each epoch, or only when a
/// monitored value improves (Keras' `ModelCheckpoint`).
///
/// The path is a pattern: `{epoch}` becomes the epoch number counted from 1, as in Keras'
/// file names, and `{epoch:03}` the same padded with zeros to 3 digits (any width), e.g.
/// `"ckpt/net-{epoch:03}.safetensors"`. With an optimizer path too
/// ([`optimizer_path`](Self::optimizer_path)), the optimizer's state is saved beside the
/// weights ([`io::optimizer::save`](crate::io::optimizer::save)): the two files resume a
/// training where it stopped (see [`Fit::initial_epoch`](crate::train::Fit::initial_epoch)).
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    path: String,
    optimizer_path: Option<String>,
    monitor: Monitor,
    save_best_only: bool,
    saved: Vec<(usize, PathBuf)>,
}

impl ModelCheckpoint {
    /// Saves to `path` (a pattern, see above) after every epoch, monitoring `val_loss` when
    /// [`save_best_only`](Self::save_best_only) is set (Keras' defaults).
    #[must_use]
    pub fn new(path: &str) -> Self {
        Self {
            path: path.to_string(),
            optimizer_path: None,
            monitor: Monitor::new("val_loss"),
            save_best_only: false,
            saved: Vec::new(),
        }
    }
    /// The value that decides what is best (default `val_loss`).
    #[must_use]
    pub fn monitor(mut self, monitor: &str) -> Self {
        self.monitor.name = monitor.to_string();
        self
    }
    /// Saves only when the monitored value improves on the best so far.
    #[must_use]
    pub fn save_best_only(mut self, yes: bool) -> Self {
        self.save_best_only = yes;
        self
    }
    /// Whether lower or higher is better.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor.mode = mode;
        self
    }
    /// Also saves the optimizer's state, to this path pattern.
    #[must_use]
    pub fn optimizer_path(mut self, path: &str) -> Self {
        self.optimizer_path = Some(path.to_string());
        self
    }
    /// The epochs (zero-based) and files saved so far, oldest first.
    #[must_use]
    pub fn saved(&self) -> &[(usize, PathBuf)] {
        &self.saved
    }
    /// The best monitored value so far (with `save_best_only`).
    #[must_use]
    pub fn best(&self) -> Option<f32> {
        self.monitor.best
    }
}

/// `pattern` with `{epoch}` and `{epoch:0N}` replaced by `epoch` (counted from 1).
///
/// # Errors
/// [`Error::InvalidArgument`] for a `{epoch...}` placeholder of another form.
fn fill(pattern: &str, epoch: usize) -> Result<String> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("{epoch") {
        out.push_str(&rest[..start]);
        let tail = &rest[start + "{epoch".len()..];
        let Some(end) = tail.find('}') else {
            return Err(bad_pattern());
        };
        let spec = &tail[..end];
        let n = epoch + 1;
        if spec.is_empty() {
            out.push_str(&n.to_string());
        } else if let Some(width) = spec
            .strip_prefix(":0")
            .and_then(|w| w.parse::<usize>().ok())
        {
            out.push_str(&std::format!("{n:0width$}"));
        } else {
            return Err(bad_pattern());
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn bad_pattern() -> Error {
    Error::InvalidArgument {
        name: "ModelCheckpoint path",
        reason: "the epoch placeholder is `{epoch}` or `{epoch:0N}` (zero-padded to N digits)",
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_>) -> Result<()> {
        fill(&self.path, 0)?;
        if let Some(p) = &self.optimizer_path {
            fill(p, 0)?;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut Context<'_>,
    ) -> Result<Control> {
        if self.save_best_only {
            let value = self.monitor.value(logs, "ModelCheckpoint monitor")?;
            if !self.monitor.improves(value) {
                return Ok(Control::Continue);
            }
            self.monitor.best = Some(value);
        }
        let path = PathBuf::from(fill(&self.path, epoch)?);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| Error::Io {
                path: dir.to_path_buf(),
                error,
            })?;
        }
        ctx.save_weights(&path)?;
        if let Some(p) = &self.optimizer_path {
            crate::io::optimizer::save(&ctx.optimizer_state(), fill(p, epoch)?)?;
        }
        self.saved.push((epoch, path));
        Ok(Control::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_takes_the_epoch_from_one() {
        assert_eq!(fill("a/{epoch}.st", 0).unwrap(), "a/1.st");
        assert_eq!(fill("n-{epoch:03}-{epoch}", 11).unwrap(), "n-012-12");
        assert_eq!(fill("plain", 4).unwrap(), "plain");
        assert!(fill("x{epoch:.2f}", 0).is_err());
        assert!(fill("x{epoch", 0).is_err());
    }
}
