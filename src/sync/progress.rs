//! A live count on a terminal: one line, redrawn a few times a second, gone at the end. Nothing
//! at all when stderr is not a terminal (cron, pipes) or logs are JSON.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

/// Jobs listed, described and stored, summed over every scope of the run.
#[derive(Debug, Default)]
pub struct Progress {
    pub listed: AtomicU64,
    pub described: AtomicU64,
    pub stored: AtomicU64,
}

impl Progress {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Starts redrawing the line when there is a terminal to draw it on.
    pub fn show(self: &Arc<Self>, scopes: usize, json_logs: bool) -> Option<Display> {
        if json_logs || !std::io::stderr().is_terminal() {
            return None;
        }
        let p = self.clone();
        let task = tokio::spawn(async move {
            loop {
                eprint!(
                    "\r\x1b[2Ksagesync: {scopes} scope{}: listed {}, described {}, stored {}",
                    if scopes == 1 { "" } else { "s" },
                    p.listed.load(Ordering::Relaxed),
                    p.described.load(Ordering::Relaxed),
                    p.stored.load(Ordering::Relaxed)
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Some(Display(task))
    }
}

/// The running display; dropping it clears the line.
pub struct Display(JoinHandle<()>);

impl Drop for Display {
    fn drop(&mut self) {
        self.0.abort();
        eprint!("\r\x1b[2K");
    }
}
