//! CSV files into a [`Dataset`]: [`CsvReader`] (header or not, gzip or not, the label
//! column(s) by name or index, missing values dropped or refused, text columns one-hot
//! encoded or refused), with errors that name the line and the column of a bad cell.
//!
//! ```no_run
//! use nn_core::data::CsvReader;
//! let table = CsvReader::new("data/penguins/penguins.csv")
//!     .label("species")
//!     .drop_missing(true)
//!     .encode_text(true)
//!     .read()?;
//! println!("{} rows kept, {} dropped", table.dataset.len(), table.dropped);
//! # Ok::<(), nn_core::Error>(())
//! ```

use std::collections::BTreeSet;
use std::format;
use std::io::Read;
use std::path::PathBuf;
use std::string::{String, ToString};
use std::vec::Vec;

use super::Dataset;
use crate::error::{Error, Result};

/// A column, by its header name or its zero-based index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// The column with this header name.
    Name(String),
    /// The column at this zero-based index.
    Index(usize),
}

impl From<&str> for Column {
    fn from(name: &str) -> Self {
        Self::Name(name.to_string())
    }
}

impl From<usize> for Column {
    fn from(index: usize) -> Self {
        Self::Index(index)
    }
}

/// What [`CsvReader::read`] returns: the data set and what was done to the file's rows
/// and columns.
#[derive(Clone, Debug)]
pub struct CsvTable {
    /// The samples (one value per feature, text columns one-hot encoded) and targets.
    pub dataset: Dataset,
    /// Rows dropped for a missing value (with [`CsvReader::drop_missing`]).
    pub dropped: usize,
    /// The text columns that were one-hot encoded, with their categories in the order of
    /// their features.
    pub encoded: Vec<(String, Vec<String>)>,
}

/// Reads a CSV file into a [`Dataset`].
///
/// - the first line is a header of column names (unless [`has_header(false)`](Self::has_header));
/// - a file whose first bytes are gzip's magic number is decompressed, whatever its name;
/// - the label is the last column unless named ([`label`](Self::label), [`labels`](Self::labels));
///   a single label column holds class ids: whole numbers `>= 0` are taken as they are,
///   text is mapped to ids in sorted order (the names are the dataset's
///   [`class_names`](Dataset::class_names)); with [`classes(false)`](Self::classes) or
///   several label columns the labels are numbers (regression targets);
/// - every other column is a feature: a number, or with
///   [`encode_text(true)`](Self::encode_text) a text column one-hot encoded (a column
///   is text when one of its cells, not missing, is not a number);
/// - an empty cell or `NA` is missing: an error, or with [`drop_missing(true)`](Self::drop_missing)
///   the row is dropped and counted.
///
/// A bad cell is an [`Error::Format`] naming the file, the line, the column and the cell.
#[derive(Clone, Debug)]
pub struct CsvReader {
    path: PathBuf,
    has_header: bool,
    delimiter: u8,
    labels: Vec<Column>,
    classes: bool,
    encode_text: bool,
    drop_missing: bool,
    missing: Vec<String>,
}

impl CsvReader {
    /// Reads `path` with the defaults above.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            has_header: true,
            delimiter: b',',
            labels: Vec::new(),
            classes: true,
            encode_text: false,
            drop_missing: false,
            missing: ["", "NA"].iter().map(|s| (*s).to_string()).collect(),
        }
    }
    /// Whether the first line names the columns (default `true`).
    #[must_use]
    pub fn has_header(mut self, yes: bool) -> Self {
        self.has_header = yes;
        self
    }
    /// The separator (default `b','`).
    #[must_use]
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
    /// The label column, by name or zero-based index.
    #[must_use]
    pub fn label(self, column: impl Into<Column>) -> Self {
        self.labels([column.into()])
    }
    /// Several label columns (regression targets, in this order).
    #[must_use]
    pub fn labels(mut self, columns: impl IntoIterator<Item = Column>) -> Self {
        self.labels = columns.into_iter().collect();
        self
    }
    /// Whether a single label column holds classes (default `true`) or numbers.
    #[must_use]
    pub fn classes(mut self, yes: bool) -> Self {
        self.classes = yes;
        self
    }
    /// One-hot encode text feature columns instead of refusing them.
    #[must_use]
    pub fn encode_text(mut self, yes: bool) -> Self {
        self.encode_text = yes;
        self
    }
    /// Drop (and count) rows with a missing value instead of refusing them.
    #[must_use]
    pub fn drop_missing(mut self, yes: bool) -> Self {
        self.drop_missing = yes;
        self
    }
    /// The cells that mean "missing" (default: empty and `NA`).
    #[must_use]
    pub fn missing_values(mut self, values: &[&str]) -> Self {
        self.missing = values.iter().map(|s| (*s).to_string()).collect();
        self
    }

    fn source(&self) -> String {
        self.path.display().to_string()
    }

    fn format_error(&self, reason: String) -> Error {
        Error::Format {
            source_name: self.source(),
            reason,
        }
    }

    /// Reads the file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Format`] for a file that is not
    /// CSV (or not valid gzip), rows of different lengths, a label column that does not
    /// exist, a cell that is not a number where one is needed, a missing value (without
    /// `drop_missing`), a label that is not a class id; [`Error::EmptyData`] when no row is
    /// left.
    pub fn read(&self) -> Result<CsvTable> {
        let bytes = std::fs::read(&self.path).map_err(|error| Error::Io {
            path: self.path.clone(),
            error,
        })?;
        self.parse(&bytes)
    }

    /// Parses the bytes of a CSV file (gzip or not) as [`read`](Self::read) does; the
    /// reader's path names them in errors.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn parse(&self, bytes: &[u8]) -> Result<CsvTable> {
        let text;
        let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes)
                .read_to_end(&mut out)
                .map_err(|e| self.format_error(format!("not a valid gzip file: {e}")))?;
            text = out;
            text.as_slice()
        } else {
            bytes
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(self.delimiter)
            .flexible(false)
            .from_reader(bytes);
        let mut records = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| self.csv_error(&e))?;
            lines.push(record.position().map_or(0, csv::Position::line));
            records.push(record);
        }
        let (header, first_row): (Vec<String>, usize) = if self.has_header {
            let Some(h) = records.first() else {
                return Err(Error::EmptyData { what: "CSV file" });
            };
            (h.iter().map(|s| s.trim().to_string()).collect(), 1)
        } else {
            let width = records.first().map_or(0, csv::StringRecord::len);
            ((0..width).map(|i| format!("column {i}")).collect(), 0)
        };
        let rows = &records[first_row..];
        let lines = &lines[first_row..];
        let width = header.len();
        let label_columns = self.label_columns(&header)?;
        let is_missing = |cell: &str| self.missing.iter().any(|m| m == cell.trim());

        // Rows kept: those without a missing value (or all, failing on the first missing).
        let mut kept = Vec::with_capacity(rows.len());
        let mut dropped = 0;
        for (r, row) in rows.iter().enumerate() {
            if let Some(c) = (0..width).find(|&c| is_missing(&row[c])) {
                if self.drop_missing {
                    dropped += 1;
                    continue;
                }
                return Err(self.format_error(format!(
                    "line {}, column {} (`{}`): missing value `{}` (drop such rows with \
                     `drop_missing(true)`)",
                    lines[r],
                    c + 1,
                    header[c],
                    &row[c]
                )));
            }
            kept.push(r);
        }
        if kept.is_empty() {
            return Err(Error::EmptyData {
                what: "CSV file (no row without a missing value)",
            });
        }
        let number = |r: usize, c: usize| -> Result<f32> {
            let cell = rows[r][c].trim();
            match cell.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(self.format_error(format!(
                    "line {}, column {} (`{}`): `{cell}` is not a finite number{}",
                    lines[r],
                    c + 1,
                    header[c],
                    if self.encode_text || label_columns.contains(&c) {
                        ""
                    } else {
                        " (one-hot encode text columns with `encode_text(true)`)"
                    }
                ))),
            }
        };

        // Features: numbers, or one-hot encoded text columns.
        let features: Vec<usize> = (0..width).filter(|c| !label_columns.contains(c)).collect();
        let mut encoded = Vec::new();
        let mut feature_names = Vec::new();
        let mut plan: Vec<Option<Vec<String>>> = Vec::with_capacity(features.len());
        for &c in &features {
            let text = kept
                .iter()
                .any(|&r| rows[r][c].trim().parse::<f32>().is_err());
            if text && self.encode_text {
                let categories: Vec<String> = kept
                    .iter()
                    .map(|&r| rows[r][c].trim().to_string())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                for cat in &categories {
                    feature_names.push(format!("{}={cat}", header[c]));
                }
                encoded.push((header[c].clone(), categories.clone()));
                plan.push(Some(categories));
            } else {
                feature_names.push(header[c].clone());
                plan.push(None);
            }
        }
        let mut x = Vec::with_capacity(kept.len() * feature_names.len());
        for &r in &kept {
            for (&c, how) in features.iter().zip(&plan) {
                match how {
                    None => x.push(number(r, c)?),
                    Some(categories) => {
                        let cell = rows[r][c].trim();
                        x.extend(categories.iter().map(|k| f32::from(u8::from(k == cell))));
                    }
                }
            }
        }

        // Targets.
        let mut y = Vec::with_capacity(kept.len() * label_columns.len());
        let mut class_names = Vec::new();
        if self.classes && label_columns.len() == 1 {
            let c = label_columns[0];
            let ids: Option<Vec<u32>> = kept
                .iter()
                .map(|&r| rows[r][c].trim().parse::<u32>().ok())
                .collect();
            match ids {
                Some(ids) => {
                    let top = ids.iter().max().copied().unwrap_or(0);
                    class_names = (0..=top).map(|i| i.to_string()).collect();
                    #[allow(clippy::cast_precision_loss)]
                    y.extend(ids.iter().map(|&i| i as f32));
                }
                None => {
                    class_names = kept
                        .iter()
                        .map(|&r| rows[r][c].trim().to_string())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    for &r in &kept {
                        let cell = rows[r][c].trim();
                        let id = class_names.iter().position(|n| n == cell).unwrap_or(0);
                        #[allow(clippy::cast_precision_loss)]
                        y.push(id as f32);
                    }
                }
            }
        } else {
            for &r in &kept {
                for &c in &label_columns {
                    y.push(number(r, c)?);
                }
            }
        }
        if feature_names.is_empty() {
            return Err(self.format_error(
                "no feature column is left besides the label column(s)".to_string(),
            ));
        }
        let dataset = Dataset::new(x, y, &[feature_names.len()], label_columns.len())?
            .with_feature_names(feature_names)
            .with_class_names(class_names);
        Ok(CsvTable {
            dataset,
            dropped,
            encoded,
        })
    }

    /// The indices of the label columns (the last column by default).
    fn label_columns(&self, header: &[String]) -> Result<Vec<usize>> {
        if header.is_empty() {
            return Err(Error::EmptyData { what: "CSV file" });
        }
        if self.labels.is_empty() {
            return Ok(std::vec![header.len() - 1]);
        }
        let mut out = Vec::new();
        for column in &self.labels {
            let index = match column {
                Column::Index(i) if *i < header.len() => *i,
                Column::Index(i) => {
                    return Err(self.format_error(format!(
                        "the label column index {i} is out of range: the file has {} columns",
                        header.len()
                    )))
                }
                Column::Name(name) => header.iter().position(|h| h == name).ok_or_else(|| {
                    self.format_error(format!(
                        "no column is named `{name}`{}; the columns are: {}",
                        if self.has_header {
                            ""
                        } else {
                            " (the file has no header: name columns by index)"
                        },
                        header.join(", ")
                    ))
                })?,
            };
            if !out.contains(&index) {
                out.push(index);
            }
        }
        Ok(out)
    }

    fn csv_error(&self, e: &csv::Error) -> Error {
        let reason = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                pos,
                expected_len,
                len,
            } => format!(
                "line {}: {len} fields where the first line has {expected_len}",
                pos.as_ref().map_or(0, csv::Position::line)
            ),
            csv::ErrorKind::Utf8 { pos, err } => format!(
                "line {}, field {}: not valid UTF-8",
                pos.as_ref().map_or(0, csv::Position::line),
                err.field() + 1
            ),
            _ => format!("not a readable CSV file: {e}"),
        };
        self.format_error(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn parse(reader: CsvReader, text: &str) -> Result<CsvTable> {
        reader.parse(text.as_bytes())
    }

    const TEXT: &str = "a,kind,b,label\n1,x,2.5,cat\n2,y,NA,dog\n3,x,4,dog\n4,z,5,bird\n";

    #[test]
    fn a_header_text_labels_one_hot_features_and_dropped_rows() {
        let t = parse(
            CsvReader::new("t.csv")
                .label("label")
                .drop_missing(true)
                .encode_text(true),
            TEXT,
        )
        .unwrap();
        assert_eq!(t.dropped, 1);
        let d = &t.dataset;
        assert_eq!(d.class_names(), ["bird", "cat", "dog"]);
        assert_eq!(d.y(), [1.0, 2.0, 0.0]);
        assert_eq!(d.feature_names(), ["a", "kind=x", "kind=z", "b"]);
        assert_eq!(
            d.x(),
            [1.0, 1.0, 0.0, 2.5, 3.0, 1.0, 0.0, 4.0, 4.0, 0.0, 1.0, 5.0]
        );
        assert_eq!(
            t.encoded,
            [(
                "kind".to_string(),
                std::vec!["x".to_string(), "z".to_string()]
            )]
        );
    }

    #[test]
    fn errors_name_the_line_and_the_column() {
        let e = parse(
            CsvReader::new("t.csv").label("label").drop_missing(true),
            TEXT,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("t.csv")
                && e.contains("line 2")
                && e.contains("`kind`")
                && e.contains("`x`"),
            "{e}"
        );
        let e = parse(
            CsvReader::new("t.csv").label("label").encode_text(true),
            TEXT,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("line 3") && e.contains("column 3 (`b`)") && e.contains("missing"),
            "{e}"
        );
        let e = parse(CsvReader::new("t.csv").label("nope"), TEXT)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`nope`") && e.contains("a, kind, b, label"),
            "{e}"
        );
        let e = parse(CsvReader::new("t.csv"), "a,b\n1,2\n3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("1 fields"), "{e}");
        let e = parse(CsvReader::new("t.csv"), "a,b\n1,2\nx1,3\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3, column 1 (`a`): `x1` is not a finite number"),
            "{e}"
        );
    }

    #[test]
    fn no_header_integer_classes_several_labels_and_gzip() {
        let t = parse(CsvReader::new("t.csv").has_header(false), "1,2,0\n3,4,2\n").unwrap();
        assert_eq!(t.dataset.y(), [0.0, 2.0]);
        assert_eq!(t.dataset.classes(), 3);
        assert_eq!(t.dataset.shape(), [2]);
        let t = parse(
            CsvReader::new("t.csv")
                .has_header(false)
                .labels([Column::Index(0), Column::Index(2)]),
            "1,2,0.5\n3,4,2.5\n",
        )
        .unwrap();
        assert_eq!(t.dataset.target_width(), 2);
        assert_eq!(t.dataset.y(), [1.0, 0.5, 3.0, 2.5]);
        assert_eq!(t.dataset.x(), [2.0, 4.0]);
        let t = parse(CsvReader::new("t.csv").classes(false), "a,y\n1,0.25\n").unwrap();
        assert_eq!(t.dataset.y(), [0.25]);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"a;b;y\n1;2;1\n3;4;0\n").unwrap();
        let bytes = gz.finish().unwrap();
        let t = CsvReader::new("t.csv.gz")
            .delimiter(b';')
            .parse(&bytes)
            .unwrap();
        assert_eq!(t.dataset.x(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.dataset.y(), [1.0, 0.0]);
        let e = CsvReader::new("t.gz")
            .parse(&bytes[..10])
            .unwrap_err()
            .to_string();
        assert!(e.contains("gzip"), "{e}");
    }
}
