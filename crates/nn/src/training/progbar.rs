//! Keras's per-epoch progress display (`verbose=1`: a redrawn bar, `verbose=2`: one line per
//! epoch), as plain text on stdout: `Epoch 1/3` then
//! `32/32 ━━━━━━━━━━━━━━━━━━━━ 2s 50ms/step - accuracy: 0.9100 - loss: 0.2700 - val_...`.

use std::io::{IsTerminal, Write};

use super::callbacks::{Callback, TrainContext};
use super::Logs;
use crate::Result;

/// Keras's bar width in characters.
const WIDTH: usize = 20;

/// The seconds since some start, where a clock exists (not in the browser).
#[derive(Clone, Copy)]
struct Clock(Option<std::time::Instant>);

impl Clock {
    fn start() -> Self {
        Clock((!cfg!(target_arch = "wasm32")).then(std::time::Instant::now))
    }
    fn seconds(&self) -> Option<f64> {
        self.0.map(|t| t.elapsed().as_secs_f64())
    }
}

/// Keras's `ProgbarLogger`: added by `fit` when `verbose > 0`. With `verbose = 1` on a terminal
/// the bar is redrawn after every step (one readback per step); otherwise one line is printed
/// when the epoch ends.
pub struct ProgbarLogger {
    verbose: u8,
    dynamic: bool,
    epochs: usize,
    target: Option<usize>,
    clock: Clock,
    width: usize,
}

impl ProgbarLogger {
    /// A logger for Keras's `verbose` level (0 prints nothing).
    pub fn new(verbose: u8) -> Self {
        let dynamic = verbose == 1 && std::io::stdout().is_terminal();
        Self { verbose, dynamic, epochs: 0, target: None, clock: Clock::start(), width: 0 }
    }

    /// One progress line after `current` steps with these logs (Keras's layout).
    fn line(&self, current: usize, logs: &Logs, finalize: bool) -> String {
        let ansi = |code: &str, s: &str| if self.dynamic { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
        let count = match self.target {
            Some(t) => format!("{current:>w$}/{t}", w = t.to_string().len()),
            None => format!("{current:>7}/Unknown"),
        };
        let mut out = count;
        let elapsed = self.clock.seconds();
        if self.verbose == 1 {
            out = ansi("1", &out) + " ";
            if let Some(t) = self.target.filter(|&t| t > 0) {
                let done = (WIDTH * current / t).min(WIDTH);
                out += &(ansi("32", &"━".repeat(done)) + &ansi("37", &"━".repeat(WIDTH - done)));
            }
            if let Some(s) = elapsed {
                let per = s / current.max(1) as f64;
                let shown = match (self.target, finalize) {
                    (Some(t), false) => eta(per * t.saturating_sub(current) as f64),
                    _ => format!("{s:.0}s"),
                };
                out += &format!(" {}{}", ansi("1", &shown), per_step(per));
            }
        } else if let Some(s) = elapsed {
            out += &format!(" - {s:.0}s -{}", per_step(s / current.max(1) as f64));
        }
        for (k, v) in logs.iter().filter(|(k, _)| k.as_str() != "learning_rate") {
            out += &format!(" - {k}: {}", number(*v));
        }
        out
    }

    fn print(&mut self, text: &str, end: bool) {
        let visible = visible_len(text);
        let pad = " ".repeat(self.width.saturating_sub(visible));
        print!("{}{text}{pad}{}", if self.dynamic { "\r" } else { "" }, if end { "\n" } else { "" });
        let _ = std::io::stdout().flush();
        self.width = if end { 0 } else { visible };
    }
}

/// Characters shown on screen: `text` without its ANSI escape sequences.
fn visible_len(text: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for ch in text.chars() {
        match (in_escape, ch) {
            (false, '\x1b') => in_escape = true,
            (false, _) => n += 1,
            (true, 'm') => in_escape = false,
            (true, _) => {}
        }
    }
    n
}

/// Keras's remaining-time format: `45s`, `2:05`, `1:02:05`.
fn eta(s: f64) -> String {
    let s = s as u64;
    match s {
        0..=60 => format!("{s}s"),
        61..=3600 => format!("{}:{:02}", s / 60, s % 60),
        _ => format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60),
    }
}

/// Keras's time-per-step format: ` 2s/step`, ` 50ms/step`, ` 800us/step`.
fn per_step(s: f64) -> String {
    if s >= 1.0 || s == 0.0 {
        format!(" {s:.0}s/step")
    } else if s >= 1e-3 {
        format!(" {:.0}ms/step", s * 1e3)
    } else {
        format!(" {:.0}us/step", s * 1e6)
    }
}

/// Keras's metric format: 4 decimals, or scientific below 1e-3.
fn number(v: f32) -> String {
    if v.abs() > 1e-3 {
        format!("{v:.4}")
    } else {
        format!("{v:.4e}")
    }
}

impl Callback for ProgbarLogger {
    fn on_train_begin(&mut self, ctx: &mut TrainContext) -> Result<()> {
        (self.epochs, self.target) = (ctx.epochs, ctx.steps);
        Ok(())
    }

    fn on_epoch_begin(&mut self, epoch: usize, _ctx: &mut TrainContext) -> Result<()> {
        if self.verbose > 0 {
            println!("Epoch {}/{}", epoch + 1, self.epochs);
        }
        (self.clock, self.width) = (Clock::start(), 0);
        Ok(())
    }

    fn on_batch_end(&mut self, step: usize, logs: &Logs, _ctx: &mut TrainContext) -> Result<()> {
        let line = self.line(step + 1, logs, false);
        self.print(&line, false);
        Ok(())
    }

    fn wants_batch_logs(&self) -> bool {
        self.dynamic
    }

    fn on_epoch_end(&mut self, _epoch: usize, logs: &mut Logs, ctx: &mut TrainContext) -> Result<()> {
        if self.verbose > 0 {
            let line = self.line(ctx.steps_done, logs, true);
            self.print(&line, true);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_progress_formats() {
        assert_eq!(eta(45.2), "45s");
        assert_eq!(eta(125.0), "2:05");
        assert_eq!(eta(3725.0), "1:02:05");
        assert_eq!(per_step(2.4), " 2s/step");
        assert_eq!(per_step(0.05), " 50ms/step");
        assert_eq!(per_step(0.0008), " 800us/step");
        assert_eq!(number(0.27), "0.2700");
        assert_eq!(number(0.0005), "5.0000e-4");
        assert_eq!(visible_len("\x1b[1m3/3\x1b[0m ━━"), 6);
    }

    #[test]
    fn keras_epoch_line() {
        let mut p = ProgbarLogger::new(2);
        (p.target, p.clock) = (Some(32), Clock(None));
        let logs: Logs = [("loss", 0.27f32), ("accuracy", 0.91), ("val_loss", 0.3), ("learning_rate", 0.001)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(p.line(32, &logs, true), "32/32 - accuracy: 0.9100 - loss: 0.2700 - val_loss: 0.3000");
        p.verbose = 1;
        let bar = "━".repeat(10) + &"━".repeat(10);
        assert_eq!(
            p.line(16, &logs, false),
            format!("16/32 {bar} - accuracy: 0.9100 - loss: 0.2700 - val_loss: 0.3000")
        );
    }
}
