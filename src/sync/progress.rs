//! A live count on a terminal: a line per scope (jobs listed, described, stored), redrawn a few
//! times a second and gone at the end. Nothing at all when stderr is not a terminal (cron,
//! pipes) or logs are JSON.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

/// Beyond this many scopes the display is one line of totals, so it never scrolls.
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

    fn lines(&self) -> Vec<String> {
        let line = |label: &str, [l, d, s]: [u64; 3], done: bool| {
            let state = if done { " (done)" } else { "" };
            format!("sagesync: {label}: listed {l}, described {d}, stored {s}{state}")
        };
        if self.scopes.len() <= MAX_LINES {
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
        let label = format!("{} scopes, {done} done", self.scopes.len());
        vec![line(&label, total, false)]
    }

    /// Starts redrawing when there is a terminal to draw on.
    pub fn show(self: &Arc<Self>, json_logs: bool) -> Option<Display> {
        if json_logs || !std::io::stderr().is_terminal() || self.scopes.is_empty() {
            return None;
        }
        let p = self.clone();
        let height = p.lines().len();
        let task = tokio::spawn(async move {
            let mut first = true;
            loop {
                // Back to the first line, then each line cleared and drawn again.
                let up = if first || height < 2 {
                    String::new()
                } else {
                    format!("\x1b[{}A", height - 1)
                };
                first = false;
                let lines: Vec<String> =
                    p.lines().iter().map(|l| format!("\r\x1b[2K{l}")).collect();
                eprint!("{up}{}", lines.join("\n"));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Some(Display { task, height })
    }
}

/// The running display; dropping it clears its lines.
pub struct Display {
    task: JoinHandle<()>,
    height: usize,
}

impl Drop for Display {
    fn drop(&mut self) {
        self.task.abort();
        eprint!("\r\x1b[2K{}", "\x1b[1A\r\x1b[2K".repeat(self.height - 1));
    }
}
