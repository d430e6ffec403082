//! The live view of a sync on a terminal: a line per scope (jobs listed, described, stored), or
//! one line of totals when the scopes would not fit on the screen. Drawn by indicatif on
//! [`crate::log::bars`], so it never wraps, messages print above it, and nothing is drawn at all
//! when stderr is not a terminal (cron, pipes), logs are JSON or `-q` is given.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;

/// At most this many lines, fewer on a short terminal; beyond, one line of totals.
const MAX_LINES: usize = 12;

/// One scope's counts.
#[derive(Debug, Default)]
pub struct Counts {
    pub label: String,
    listed: AtomicU64,
    described: AtomicU64,
    stored: AtomicU64,
    done: AtomicBool,
}

impl Counts {
    pub fn listed(&self, n: u64) {
        self.listed.fetch_add(n, Ordering::Relaxed);
    }

    pub fn described(&self, n: u64) {
        self.described.fetch_add(n, Ordering::Relaxed);
    }

    pub fn stored(&self, n: u64) {
        self.stored.fetch_add(n, Ordering::Relaxed);
    }

    pub fn done(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    fn get(&self) -> [u64; 3] {
        [&self.listed, &self.described, &self.stored].map(|c| c.load(Ordering::Relaxed))
    }
}

/// The counts of every scope of a run.
#[derive(Debug, Default)]
pub struct Progress {
    scopes: Vec<Arc<Counts>>,
}

impl Progress {
    pub fn new<'a>(labels: impl IntoIterator<Item = &'a str>) -> Self {
        let scopes = labels
            .into_iter()
            .map(|label| {
                Arc::new(Counts {
                    label: label.to_string(),
                    ..Default::default()
                })
            })
            .collect();
        Progress { scopes }
    }

    /// The counts of the scope with this label (unshown ones if there is none).
    pub fn of(&self, label: &str) -> Arc<Counts> {
        self.scopes
            .iter()
            .find(|c| c.label == label)
            .cloned()
            .unwrap_or_default()
    }

    /// What each line says: counts first, so a narrow terminal cuts the label, not the figures.
    fn lines(&self, max: usize) -> Vec<String> {
        let line = |label: &str, [l, d, s]: [u64; 3], done: bool| {
            let state = if done { " (done)" } else { "" };
            format!("listed {l}, described {d}, stored {s}{state}  {label}")
        };
        if self.scopes.len() <= max {
            return self
                .scopes
                .iter()
                .map(|c| line(&c.label, c.get(), c.done.load(Ordering::Relaxed)))
                .collect();
        }
        let mut total = [0; 3];
        for c in &self.scopes {
            for (t, n) in total.iter_mut().zip(c.get()) {
                *t += n;
            }
        }
        let done = self
            .scopes
            .iter()
            .filter(|c| c.done.load(Ordering::Relaxed))
            .count();
        let label = format!("{done} of {} scopes done", self.scopes.len());
        vec![line(&label, total, false)]
    }

    /// Draws the lines until the returned display is dropped (nowhere when there is no
    /// terminal: see [`crate::log::bars`]).
    pub fn show(self: &Arc<Self>) -> Display {
        let bars = crate::log::bars();
        let rows = console_rows().unwrap_or(MAX_LINES + 2);
        let max = MAX_LINES.min(rows.saturating_sub(2)).max(1);
        let style = ProgressStyle::with_template("{spinner} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let lines: Vec<ProgressBar> = self
            .lines(max)
            .into_iter()
            .map(|text| {
                let bar = bars.add(ProgressBar::new_spinner().with_style(style.clone()));
                bar.set_message(text);
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .collect();
        let p = self.clone();
        let shown = lines.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                for (bar, text) in shown.iter().zip(p.lines(max)) {
                    bar.set_message(text);
                }
            }
        });
        Display { task, lines }
    }
}

fn console_rows() -> Option<usize> {
    console::Term::stderr()
        .size_checked()
        .map(|(rows, _)| rows.into())
}

/// The running display; dropping it clears its lines.
pub struct Display {
    task: JoinHandle<()>,
    lines: Vec<ProgressBar>,
}

impl Drop for Display {
    fn drop(&mut self) {
        self.task.abort();
        for bar in &self.lines {
            bar.finish_and_clear();
            crate::log::bars().remove(bar);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_a_screenful_one_line_of_totals() {
        let labels: Vec<String> = (0..40).map(|i| format!("default@region-{i}")).collect();
        let p = Progress::new(labels.iter().map(String::as_str));
        p.of("default@region-3").stored(5);
        p.of("default@region-7").stored(2);
        p.of("default@region-7").done();
        let lines = p.lines(MAX_LINES);
        assert_eq!(
            lines,
            ["listed 0, described 0, stored 7  1 of 40 scopes done"]
        );
        assert_eq!(p.lines(40).len(), 40);
    }
}
