//! A training run's history: one row per epoch as CSV (Keras's `CSVLogger` columns plus the
//! learning rate and seconds) and a PNG of the loss and accuracy curves.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use super::canvas;

/// One epoch of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f32,
    /// Training accuracy.
    pub accuracy: f32,
    /// Validation loss.
    pub val_loss: f32,
    /// Validation accuracy.
    pub val_accuracy: f32,
    /// Learning rate of the epoch.
    pub learning_rate: f32,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
}

/// The CSV header.
pub const CSV_HEADER: &str = "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds";

/// The history as CSV text with [`CSV_HEADER`].
pub fn history_csv(rows: &[EpochRecord]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in rows {
        out += &format!(
            "{},{},{},{},{},{},{:.3}\n",
            r.epoch, r.loss, r.accuracy, r.val_loss, r.val_accuracy, r.learning_rate, r.seconds
        );
    }
    out
}

/// Parses [`history_csv`]'s text (lines that do not parse are skipped).
pub fn parse_history_csv(text: &str) -> Vec<EpochRecord> {
    let row = |line: &str| -> Option<EpochRecord> {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let n = |i: usize| f.get(i)?.parse::<f32>().ok();
        Some(EpochRecord {
            epoch: f.first()?.parse().ok()?,
            loss: n(1)?,
            accuracy: n(2)?,
            val_loss: n(3)?,
            val_accuracy: n(4)?,
            learning_rate: n(5)?,
            seconds: f.get(6)?.parse().ok()?,
        })
    };
    text.lines().skip(1).filter_map(row).collect()
}

/// Train (blue) and validation (orange) colours.
const COLOURS: [Rgb<u8>; 2] = [Rgb([31, 119, 180]), Rgb([255, 127, 14])];

/// The curves as a 720×300 picture: loss on the left, accuracy on the right, train and
/// validation in each, with the value range on the y axis and the epochs on the x axis.
pub fn history_plot(rows: &[EpochRecord]) -> RgbImage {
    let mut img = canvas::blank(720, 300, canvas::WHITE);
    let epochs: Vec<f32> = rows.iter().map(|r| r.epoch as f32).collect();
    let loss = [rows.iter().map(|r| r.loss).collect(), rows.iter().map(|r| r.val_loss).collect()];
    let acc = [rows.iter().map(|r| r.accuracy).collect(), rows.iter().map(|r| r.val_accuracy).collect()];
    panel(&mut img, (0, 0), "loss", &epochs, &loss);
    panel(&mut img, (360, 0), "accuracy", &epochs, &acc);
    img
}

/// One 360×300 panel at `at`: axes, the y range, the epochs and a legend over `series`.
fn panel(img: &mut RgbImage, at: (u32, u32), title: &str, x: &[f32], series: &[Vec<f32>; 2]) {
    let (left, top, w, h) = (at.0 + 70, at.1 + 40, 270u32, 210u32);
    canvas::text(img, (left, at.1 + 8), title, 3, canvas::BLACK);
    let all: Vec<f32> = series.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = canvas::range(&all);
    let (xlo, xhi) = canvas::range(x);
    let px = |v: f32| (left as f32 + canvas::unit(v, (xlo, xhi)) * w as f32).round() as i64;
    let py = |v: f32| (top as f32 + (1.0 - canvas::unit(v, (lo, hi))) * h as f32).round() as i64;
    let (l, t, r, b) = (left as i64, top as i64, (left + w) as i64, (top + h) as i64);
    canvas::line(img, (l, t), (l, b), canvas::GREY);
    canvas::line(img, (l, b), (r, b), canvas::GREY);
    for v in [lo, hi] {
        let label = canvas::number(v);
        let lw = canvas::text_width(&label, 2) as i64;
        canvas::text(img, ((l - 6 - lw).max(0) as u32, (py(v) - 5).max(0) as u32), &label, 2, canvas::BLACK);
        canvas::line(img, (l - 4, py(v)), (l, py(v)), canvas::GREY);
    }
    for e in [xlo, xhi] {
        canvas::text(img, ((px(e) - 3).max(0) as u32, (b + 8) as u32), &canvas::number_int(e), 2, canvas::BLACK);
    }
    canvas::text(img, ((l + r) as u32 / 2 - 20, (b + 24) as u32), "epoch", 2, canvas::BLACK);
    for (s, colour) in series.iter().zip(COLOURS) {
        let pts: Vec<(i64, i64)> =
            x.iter().zip(s).filter(|(_, v)| v.is_finite()).map(|(&e, &v)| (px(e), py(v))).collect();
        for p in &pts {
            canvas::fill(img, ((p.0 - 2).max(0) as u32, (p.1 - 2).max(0) as u32), (5, 5), colour);
        }
        for pair in pts.windows(2) {
            canvas::line(img, pair[0], pair[1], colour);
        }
    }
    for (i, (name, colour)) in ["train", "val"].iter().zip(COLOURS).enumerate() {
        let y = at.1 + 10 + 12 * i as u32;
        canvas::fill(img, (at.0 + 250, y + 2), (16, 3), colour);
        canvas::text(img, (at.0 + 272, y), name, 2, canvas::BLACK);
    }
}

/// The CSV and PNG paths next to `checkpoint`: `NAME.history.csv` and `NAME.history.png`.
pub fn history_paths(checkpoint: &Path) -> (PathBuf, PathBuf) {
    let stem = checkpoint.file_stem().map_or("history".into(), |s| s.to_string_lossy().into_owned());
    let dir = checkpoint.parent().unwrap_or(Path::new(""));
    (dir.join(format!("{stem}.history.csv")), dir.join(format!("{stem}.history.png")))
}

/// Writes (replaces) the CSV and the PNG plot of `rows` next to `checkpoint`; returns their paths.
pub fn write_history(checkpoint: &Path, rows: &[EpochRecord]) -> std::io::Result<(PathBuf, PathBuf)> {
    let (csv, png) = history_paths(checkpoint);
    if let Some(dir) = csv.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&csv, history_csv(rows))?;
    history_plot(rows).save(&png).map_err(std::io::Error::other)?;
    Ok((csv, png))
}

/// The rows already written next to `checkpoint` (empty if none), for resumed runs.
pub fn read_history(checkpoint: &Path) -> Vec<EpochRecord> {
    std::fs::read_to_string(history_paths(checkpoint).0).map(|t| parse_history_csv(&t)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_and_paths_sit_next_to_the_checkpoint() {
        let r = EpochRecord {
            epoch: 2,
            loss: 0.25,
            accuracy: 0.9,
            val_loss: 0.5,
            val_accuracy: 0.875,
            learning_rate: 0.001,
            seconds: 1.5,
        };
        let text = history_csv(&[r]);
        assert_eq!(text, format!("{CSV_HEADER}\n2,0.25,0.9,0.5,0.875,0.001,1.500\n"));
        assert_eq!(parse_history_csv(&text), vec![r]);
        let (csv, png) = history_paths(Path::new("ck/lenet5.safetensors"));
        assert_eq!((csv.to_str(), png.to_str()), (Some("ck/lenet5.history.csv"), Some("ck/lenet5.history.png")));
    }
}
