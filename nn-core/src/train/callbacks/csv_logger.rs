//! [`CsvLogger`]: each epoch's logs as a line of a CSV file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::string::String;
use std::vec::Vec;

use super::{Callback, Context, Control, Logs};
use crate::error::{Error, Result};

/// Writes `epoch` (zero-based, as Keras) and every logged value of each epoch as a line of
/// a CSV file, with a header line of names (Keras' `CSVLogger`). Each line is flushed when
/// written, so the file is complete up to the last epoch even if training stops.
#[derive(Debug)]
pub struct CsvLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    file: Option<File>,
    columns: Vec<String>,
}

impl CsvLogger {
    /// Writes to `path`, replacing the file.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            separator: ',',
            append: false,
            file: None,
            columns: Vec::new(),
        }
    }
    /// The separator between values (default `,`).
    #[must_use]
    pub fn separator(mut self, separator: char) -> Self {
        self.separator = separator;
        self
    }
    /// Appends to an existing file (e.g. when training resumes) instead of replacing it;
    /// the header is written only if the file is empty.
    #[must_use]
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }

    fn io(&self, error: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            error,
        }
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_>) -> Result<()> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        let empty = file.metadata().map_err(|e| self.io(e))?.len() == 0;
        self.columns.clear();
        if !empty {
            // Appending: write the values in the file's column order.
            let text = std::fs::read_to_string(&self.path).map_err(|e| self.io(e))?;
            if let Some(header) = text.lines().next() {
                self.columns = header
                    .split(self.separator)
                    .skip(1)
                    .map(String::from)
                    .collect();
            }
        }
        self.file = Some(file);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _ctx: &mut Context<'_>,
    ) -> Result<Control> {
        let sep = self.separator;
        let mut text = String::new();
        if self.columns.is_empty() {
            self.columns = logs.entries().iter().map(|(n, _)| n.clone()).collect();
            text.push_str("epoch");
            for name in &self.columns {
                text.push(sep);
                text.push_str(name);
            }
            text.push('\n');
        }
        text.push_str(&std::format!("{epoch}"));
        for name in &self.columns {
            text.push(sep);
            if let Some(v) = logs.get(name) {
                text.push_str(&std::format!("{v}"));
            }
        }
        text.push('\n');
        let result = match self.file.as_mut() {
            Some(file) => file.write_all(text.as_bytes()).and_then(|()| file.flush()),
            None => Ok(()),
        };
        result.map_err(|e| self.io(e))?;
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _ctx: &mut Context<'_>) {
        self.file = None;
    }
}
