//! `sagesync report`: one self-contained HTML page of spend, waste and risk, for people who would
//! rather look than read CSV. Every figure comes from the `query` reports (`data`), so the page
//! and `sagesync query` agree to the cent; the page has inline CSS and inline SVG charts only (no
//! script, font or request), so it opens offline, from `file://` and behind a strict
//! Content-Security-Policy, and every value from the inventory is escaped by the template.

mod chart;
mod data;
pub mod format;
mod gpu;
mod page;

use chrono::{DateTime, Datelike, Utc};

use crate::query::QueryError;
use crate::store::Store;

pub struct PageOptions {
    /// The months shown, this one included.
    pub months: u32,
    /// Group spend by this tag's value instead of by account.
    pub tag_key: Option<String>,
    pub now: DateTime<Utc>,
}

/// The page, as HTML text.
pub async fn render(store: &Store, opts: &PageOptions) -> Result<String, QueryError> {
    let held = store.inventory_months().await?;
    let window = Window::choose(opts.now, opts.months, held);
    let data = data::gather(store, window, opts.tag_key.as_deref()).await?;
    Ok(page::page(&data, opts).into_string())
}

/// The months a page covers, every section alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub from: String,
    pub to: String,
    /// When nothing in the inventory is recent, the window ends at its newest job's month
    /// instead of this one: the months the inventory holds, and the `--months` that shows them
    /// ending this month.
    pub moved: Option<Moved>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub first: String,
    pub last: String,
    pub months_to_now: u32,
}

impl Window {
    /// The last `months` months up to `now`'s, or up to the newest of `held` (the inventory's
    /// first and last months) when it holds jobs but none that recent.
    pub fn choose(now: DateTime<Utc>, months: u32, held: Option<(String, String)>) -> Window {
        let this = index_of_now(now);
        let from = this - i64::from(months.max(1)) + 1;
        match held.and_then(|(first, last)| Some((index(&first)?, index(&last)?))) {
            Some((first, last)) if last < from => Window {
                from: month(last - i64::from(months.max(1)) + 1),
                to: month(last),
                moved: Some(Moved {
                    first: month(first),
                    last: month(last),
                    months_to_now: u32::try_from(this - first + 1).unwrap_or(u32::MAX),
                }),
            },
            _ => Window {
                from: month(from),
                to: month(this),
                moved: None,
            },
        }
    }
}

fn index_of_now(now: DateTime<Utc>) -> i64 {
    i64::from(now.year()) * 12 + i64::from(now.month0())
}

/// A `YYYY-MM` month as months since year 0.
fn index(month: &str) -> Option<i64> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

fn month(index: i64) -> String {
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn from(now: DateTime<Utc>, months: u32) -> String {
        Window::choose(now, months, None).from
    }

    #[test]
    fn the_period_starts_months_back_including_this_one() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
        assert_eq!(from(now, 12), "2026-01");
        assert_eq!(from(now, 1), "2026-12");
        assert_eq!(from(now, 13), "2025-12");
        assert_eq!(from(now, 0), "2026-12");
        let recent = Some(("2024-03".to_string(), "2026-02".to_string()));
        assert_eq!(Window::choose(now, 12, recent).to, "2026-12");
    }

    #[test]
    fn with_nothing_recent_the_window_follows_the_newest_job() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
        let held = Some(("2024-03".to_string(), "2024-04".to_string()));
        let w = Window::choose(now, 12, held);
        assert_eq!((w.from.as_str(), w.to.as_str()), ("2023-05", "2024-04"));
        let moved = w.moved.unwrap();
        assert_eq!(
            (moved.first.as_str(), moved.last.as_str()),
            ("2024-03", "2024-04")
        );
        // 2024-03 to 2026-12, both counted.
        assert_eq!(moved.months_to_now, 34);
    }
}
