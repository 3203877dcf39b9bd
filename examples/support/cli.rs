//! The flags every training example shares (clap derive, flattened into each example's own
//! `Args`): `--verbose 0|1|2` (Keras' levels) and `--plots DIR` (pictures of the training);
//! an example with a loop of its own (no progress output) takes [`Plots`] alone.
// Each includer uses only some of it.
#![allow(dead_code)]

use std::path::PathBuf;

use nn::metrics::ConfusionMatrix;
use nn::prelude::*;

/// Parses a count that must be at least 1 (`--threads N`, `--epochs N`).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// `--threads`' default: the cores this process may run on.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Progress output and pictures.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Output {
    /// Progress output, as Keras: 0 silent, 1 a progress bar, 2 one line per epoch
    /// (default: a bar on a terminal, lines otherwise).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub verbose: Option<u8>,
    /// `--plots DIR`.
    #[command(flatten)]
    pub pictures: Plots,
}

/// `--plots DIR`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Plots {
    /// Write pictures of the training into this directory: `history.png` (loss and
    /// metrics, training and validation), and `confusion.png` for classifiers.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
}

impl Output {
    /// Keras' `verbose` level as a [`Verbose`]; `quiet` (an example's `--quiet`) is 0.
    pub fn verbose(&self, quiet: bool) -> Verbose {
        match self.verbose {
            _ if quiet => Verbose::Silent,
            Some(0) => Verbose::Silent,
            Some(1) => Verbose::ProgressBar,
            Some(2) => Verbose::Lines,
            _ => Verbose::Auto,
        }
    }

    /// Draws `history` to `DIR/history.png` when `--plots DIR` was given.
    pub fn history(&self, history: &History) -> nn::Result<()> {
        self.pictures.history(history)
    }

    /// Draws the confusion matrix of `truth` against `predicted` to `DIR/confusion.png`
    /// when `--plots DIR` was given.
    pub fn confusion(
        &self,
        truth: &[usize],
        predicted: &[usize],
        names: &[String],
    ) -> nn::Result<()> {
        self.pictures.confusion(truth, predicted, names)
    }
}

impl Plots {
    /// Draws `history` to `DIR/history.png` when `--plots DIR` was given.
    pub fn history(&self, history: &History) -> nn::Result<()> {
        match &self.plots {
            Some(dir) => {
                let path = dir.join("history.png");
                history.plot(&path)?;
                errln!("wrote {}", path.display());
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Draws the confusion matrix of `truth` against `predicted` to `DIR/confusion.png`
    /// when `--plots DIR` was given.
    pub fn confusion(
        &self,
        truth: &[usize],
        predicted: &[usize],
        names: &[String],
    ) -> nn::Result<()> {
        let Some(dir) = &self.plots else {
            return Ok(());
        };
        let classes = truth.iter().chain(predicted).max().map_or(0, |m| m + 1);
        let classes = classes.max(names.len());
        let path = dir.join("confusion.png");
        ConfusionMatrix::new(truth, predicted, classes)?.plot(names, &path)?;
        errln!("wrote {}", path.display());
        Ok(())
    }
}
