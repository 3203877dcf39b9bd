//! Pictures (feature `plots`, on by default with `std`): a [`History`]'s curves and a
//! [`ConfusionMatrix`] heat map, as PNG or SVG by the file's extension, drawn with
//! [plotters](https://docs.rs/plotters). Text is set in DejaVu Sans, embedded in the crate
//! (`assets/`, Bitstream Vera licence), so a picture looks the same on every machine.
//!
//! ```no_run
//! # fn f(history: nn_core::train::History, cm: nn_core::metrics::ConfusionMatrix) -> nn_core::Result<()> {
//! history.plot("plots/history.png")?; // loss and each metric, training and validation
//! history.plot("plots/history.svg")?;
//! cm.plot(&["cat".into(), "dog".into()], "plots/confusion.png")?;
//! # Ok(()) }
//! ```

use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};
use crate::metrics::ConfusionMatrix;
use crate::train::History;

/// DejaVu Sans (see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// The family name the font is registered under.
const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters, once.
fn font() -> Result<()> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            name: "plot font",
            reason: "the embedded font could not be read",
        })
    }
}

/// The picture format of `path`, from its extension.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Svg,
}

fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => Ok(Format::Png),
        Some("svg") => Ok(Format::Svg),
        _ => Err(Error::InvalidArgument {
            name: "plot path",
            reason: "the file name must end in `.png` or `.svg`",
        }),
    }
}

/// An error of plotters while drawing `path`.
fn drawing(path: &Path, e: impl core::fmt::Display) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(format!("cannot draw the picture: {e}")),
    }
}

/// Something drawn on any backend.
trait Picture {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, path: &Path) -> Result<()>;
}

/// Creates `path`'s directory, then draws `picture` on a `width` x `height` canvas of the
/// format of `path`'s extension.
fn render(path: &Path, (width, height): (u32, u32), picture: &impl Picture) -> Result<()> {
    let format = format_of(path)?;
    font()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|error| Error::Io {
            path: dir.to_path_buf(),
            error,
        })?;
    }
    match format {
        Format::Png => {
            let area = BitMapBackend::new(path, (width, height)).into_drawing_area();
            area.fill(&WHITE).map_err(|e| drawing(path, e))?;
            picture.draw(&area, path)?;
            area.present().map_err(|e| drawing(path, e))
        }
        Format::Svg => {
            let area = SVGBackend::new(path, (width, height)).into_drawing_area();
            area.fill(&WHITE).map_err(|e| drawing(path, e))?;
            picture.draw(&area, path)?;
            area.present().map_err(|e| drawing(path, e))
        }
    }
}

/// The panels of a history: each logged name without its `val_` prefix (but `lr`), in the
/// order first logged, with the training and the validation values.
/// A panel: the value's name, its training and its validation values.
type Panel<'a> = (String, Option<&'a [f32]>, Option<&'a [f32]>);

fn panels(history: &History) -> Vec<Panel<'_>> {
    let mut out: Vec<Panel<'_>> = Vec::new();
    for name in history.names() {
        let base = name.strip_prefix("val_").unwrap_or(name);
        if base == "lr" || out.iter().any(|(n, _, _)| n == base) {
            continue;
        }
        out.push((
            base.to_string(),
            history.get(base),
            history.get(&format!("val_{base}")),
        ));
    }
    out
}

/// Training (blue) and validation (orange).
const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(255, 127, 14);

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    path: &Path,
    (name, train, validation): &Panel<'_>,
) -> Result<()> {
    let values: Vec<f32> = train
        .iter()
        .chain(validation)
        .flat_map(|v| v.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let epochs = train.or(*validation).map_or(1, <[f32]>::len).max(2);
    let (mut lo, mut hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    #[allow(clippy::cast_precision_loss)]
    let x_max = epochs as f32;
    let mut chart = ChartBuilder::on(area)
        .caption(name.as_str(), (FAMILY, 18))
        .margin(8)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0_f32..x_max, (lo - pad)..(hi + pad))
        .map_err(|e| drawing(path, e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| drawing(path, e))?;
    for (values, colour, label) in [
        (train, TRAIN, "training"),
        (validation, VALIDATION, "validation"),
    ] {
        let Some(values) = values else { continue };
        #[allow(clippy::cast_precision_loss)]
        let points = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| ((i + 1) as f32, v));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| drawing(path, e))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font((FAMILY, 12))
        .background_style(WHITE.mix(0.8))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| drawing(path, e))
}

impl History {
    /// Draws the loss and each metric (training and validation, one panel each) to `path`,
    /// a PNG or an SVG file by its extension; its directory is created if needed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for another extension or an empty history, [`Error::Io`]
    /// when the file cannot be written.
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let panels = panels(self);
        if panels.is_empty() || self.epochs() == 0 {
            return Err(Error::InvalidArgument {
                name: "History::plot",
                reason: "the history has no epoch to draw",
            });
        }
        let columns = panels.len().min(2);
        let rows = panels.len().div_ceil(columns);
        #[allow(clippy::cast_possible_truncation)]
        let size = (480 * columns as u32, 320 * rows as u32);
        render(
            path,
            size,
            &Panels {
                panels,
                rows,
                columns,
            },
        )
    }
}

/// A history's panels on a grid.
struct Panels<'a> {
    panels: Vec<Panel<'a>>,
    rows: usize,
    columns: usize,
}

impl Picture for Panels<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, path: &Path) -> Result<()> {
        for (area, p) in area
            .split_evenly((self.rows, self.columns))
            .iter()
            .zip(&self.panels)
        {
            panel(area, path, p)?;
        }
        Ok(())
    }
}

/// A confusion matrix and its class names.
struct HeatMap<'a> {
    matrix: &'a ConfusionMatrix,
    names: &'a [String],
}

impl ConfusionMatrix {
    /// Draws the matrix as a heat map with the count in each cell (rows: true classes,
    /// columns: predictions; the shade is the cell's share of its row) to `path`, a PNG or
    /// an SVG file by its extension. Classes are named by `names` (else by id).
    ///
    /// # Errors
    /// As [`History::plot`].
    pub fn plot(&self, names: &[String], path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let k = self.classes();
        if k == 0 {
            return Err(Error::InvalidArgument {
                name: "ConfusionMatrix::plot",
                reason: "the matrix has no class",
            });
        }
        if k > 64 {
            return Err(Error::InvalidArgument {
                name: "ConfusionMatrix::plot",
                reason: "draws at most 64 classes",
            });
        }
        let side = u32::try_from(CELL * to_i32(k)).unwrap_or(0);
        render(
            path,
            (side + 170, side + 120),
            &HeatMap {
                matrix: self,
                names,
            },
        )
    }
}

impl Picture for HeatMap<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, path: &Path) -> Result<()> {
        let k = self.matrix.classes();
        let name = |c: usize| self.names.get(c).cloned().unwrap_or_else(|| c.to_string());
        let (cell, left, top) = (CELL, LEFT, TOP);
        let err = |e| drawing(path, e);
        let centred = |size| {
            TextStyle::from((FAMILY, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center))
        };
        let right = left + cell * to_i32(k);
        let bottom = top + cell * to_i32(k);
        area.draw(&Text::new(
            "confusion matrix",
            ((left + right) / 2, top / 2 - 6),
            centred(18),
        ))
        .map_err(err)?;
        for t in 0..k {
            let support = self.matrix.support(t).max(1);
            for p in 0..k {
                let count = self.matrix.count(t, p);
                #[allow(clippy::cast_precision_loss)]
                let share = count as f64 / support as f64;
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let shade = |c: f64| (255.0 - share * (255.0 - c)) as u8;
                let colour = RGBColor(shade(31.0), shade(119.0), shade(180.0));
                let (x, y) = (left + cell * to_i32(p), top + cell * to_i32(t));
                area.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    colour.filled(),
                ))
                .map_err(err)?;
                area.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(210, 210, 210).stroke_width(1),
                ))
                .map_err(err)?;
                let ink = if share > 0.5 { WHITE } else { BLACK };
                area.draw(&Text::new(
                    count.to_string(),
                    (x + cell / 2, y + cell / 2),
                    centred(16).color(&ink),
                ))
                .map_err(err)?;
            }
            // Class names: true classes on the left, predictions below.
            let mid = top + cell * to_i32(t) + cell / 2;
            area.draw(&Text::new(
                name(t),
                (left - 8, mid),
                TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(err)?;
            let mid = left + cell * to_i32(t) + cell / 2;
            area.draw(&Text::new(name(t), (mid, bottom + 14), centred(13)))
                .map_err(err)?;
        }
        area.draw(&Text::new(
            "predicted",
            ((left + right) / 2, bottom + 40),
            centred(14),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            "true",
            (18, (top + bottom) / 2),
            centred(14).transform(FontTransform::Rotate270),
        ))
        .map_err(err)?;
        Ok(())
    }
}

/// A heat map's cell side, and the room left of and above the cells, in pixels.
const CELL: i32 = 64;
const LEFT: i32 = 130;
const TOP: i32 = 50;

fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_pair_training_and_validation_and_skip_lr() {
        let mut h = History::default();
        let mut logs = crate::train::Logs::default();
        for (name, value) in [
            ("loss", 1.0),
            ("accuracy", 0.5),
            ("val_loss", 1.2),
            ("val_accuracy", 0.4),
            ("lr", 0.01),
        ] {
            logs.insert(name, value);
        }
        h.record(&logs);
        let p = panels(&h);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, "loss");
        assert_eq!(p[0].1, Some(&[1.0][..]));
        assert_eq!(p[0].2, Some(&[1.2][..]));
        assert_eq!(p[1].0, "accuracy");
        assert!(format_of(Path::new("a.jpg")).is_err());
        assert!(format_of(Path::new("a.SVG")).is_ok());
    }
}
