//! The live view of a sync on a terminal: a line per scope (jobs listed, described, stored), or
//! one line of totals when the scopes would not fit on the screen. Drawn by indicatif on
//! [`crate::log::bars`], so it never wraps, messages print above it, and nothing is drawn at all
//! when stderr is not a terminal (cron, pipes), logs are JSON or `-q` is given.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use regex::Regex;
use tokio::task::JoinHandle;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::model::scope::ScopeId;

/// At most this many lines, fewer on a short terminal; beyond, one line of totals.
const MAX_LINES: usize = 12;

/// One scope's counts.
#[derive(Debug, Default)]
pub struct Counts {
    pub scope: ScopeId,
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
    pub fn new<'a>(scopes: impl IntoIterator<Item = &'a ScopeId>) -> Self {
        let scopes = scopes
            .into_iter()
            .map(|scope| {
                Arc::new(Counts {
                    scope: scope.clone(),
                    ..Default::default()
                })
            })
            .collect();
        Progress { scopes }
    }

    /// The counts of this scope (unshown ones if it is not one of the run's).
    pub fn of(&self, scope: &ScopeId) -> Arc<Counts> {
        self.scopes
            .iter()
            .find(|c| &c.scope == scope)
            .cloned()
            .unwrap_or_default()
    }

    /// What each line says in `cols` columns: counts first, then the scope shortened to fit
    /// (see [`fit`]).
    fn lines(&self, max: usize, cols: usize) -> Vec<String> {
        let line = |label: &str, [l, d, s]: [u64; 3], done: bool| {
            let state = if done { " (done)" } else { "" };
            let counts = format!("listed {l}, described {d}, stored {s}{state}  ");
            // Two columns for the spinner and its space.
            let room = cols.saturating_sub(2 + counts.len());
            format!("{counts}{}", fit(label, room))
        };
        if self.scopes.len() <= max {
            return self
                .scopes
                .iter()
                .map(|c| line(&c.scope.label(), c.get(), c.done.load(Ordering::Relaxed)))
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
        let (rows, cols) = terminal_size();
        let max = MAX_LINES.min(rows.saturating_sub(2)).max(1);
        let style = ProgressStyle::with_template("{spinner} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let lines: Vec<ProgressBar> = self
            .lines(max, cols)
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
                // The width again each time: a resized terminal gets lines that fit it.
                let (_, cols) = terminal_size();
                for (bar, text) in shown.iter().zip(p.lines(max, cols)) {
                    bar.set_message(text);
                }
            }
        });
        Display { task, lines }
    }
}

/// Rows and columns of the terminal on stderr (a screenful of 24 × 80 when unknown).
fn terminal_size() -> (usize, usize) {
    console::Term::stderr()
        .size_checked()
        .map_or((24, 80), |(rows, cols)| (rows.into(), cols.into()))
}

/// A scope's label in at most `room` columns. A role's ARN (`default+arn:aws:iam::123456789012:
/// role/Audit@us-east-1`) loses its fixed parts first (`default+123456789012:Audit@us-east-1`),
/// then the middle, keeping more of the end: the end says the region, and the start the profile
/// and account, which is what tells two scopes apart.
fn fit(label: &str, room: usize) -> String {
    #[expect(
        clippy::expect_used,
        reason = "a constant pattern, which the unit tests below compile"
    )]
    static ROLE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"arn:[a-z-]+:iam::(\d+):role/(?:[^/@]*/)*").expect("a valid pattern")
    });
    if label.width() <= room {
        return label.to_string();
    }
    let short = ROLE.replace(label, "$1:");
    if short.width() <= room || room < 2 {
        return short.into_owned();
    }
    let take = |chars: &mut dyn Iterator<Item = char>, cols: usize| {
        let mut used = 0;
        chars
            .take_while(|c| {
                used += c.width().unwrap_or(0);
                used <= cols
            })
            .collect::<String>()
    };
    let head_cols = (room - 1) / 3;
    let head = take(&mut short.chars(), head_cols);
    let tail: String = take(&mut short.chars().rev(), room - 1 - head_cols)
        .chars()
        .rev()
        .collect();
    format!("{head}…{tail}")
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
        let scopes: Vec<ScopeId> = (0..40)
            .map(|i| ScopeId::new("default", format!("region-{i}")))
            .collect();
        let p = Progress::new(&scopes);
        p.of(&scopes[3]).stored(5);
        p.of(&scopes[7]).stored(2);
        p.of(&scopes[7]).done();
        let lines = p.lines(MAX_LINES, 80);
        assert_eq!(
            lines,
            ["listed 0, described 0, stored 7  1 of 40 scopes done"]
        );
        assert_eq!(p.lines(40, 80).len(), 40);
    }

    #[test]
    fn a_long_scope_loses_the_role_arn_s_fixed_parts_then_its_middle() {
        let label = "default+arn:aws:iam::123456789012:role/team/OrganizationAccountAccessRole@ap-southeast-2";
        assert_eq!(fit(label, 200), label);
        assert_eq!(
            fit(label, 70),
            "default+123456789012:OrganizationAccountAccessRole@ap-southeast-2"
        );
        let short = fit(label, 40);
        assert_eq!(short.width(), 40, "{short}");
        assert!(short.starts_with("default+1234"), "{short}");
        assert!(short.ends_with("@ap-southeast-2"), "{short}");
        assert_eq!(fit("default@us-east-1", 60), "default@us-east-1");
    }

    #[test]
    fn every_line_fits_the_terminal() {
        let scope = ScopeId::new(
            "default+arn:aws:iam::123456789012:role/Audit",
            "eu-central-1",
        );
        let p = Progress::new([&scope]);
        p.of(&scope).listed(123_456);
        for cols in [64, 80, 120] {
            let line = &p.lines(MAX_LINES, cols)[0];
            assert!(line.width() + 2 <= cols, "{cols}: {line}");
            assert!(line.starts_with("listed 123456,"), "{line}");
            assert!(line.ends_with("@eu-central-1"), "{line}");
        }
    }
}
