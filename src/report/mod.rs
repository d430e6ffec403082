//! `sagesync report`: one self-contained HTML page of spend, waste and risk, for people who would
//! rather look than read CSV. Every figure comes from the `query` reports (`data`), so the page
//! and `sagesync query` agree to the cent; the page has inline CSS and inline SVG charts only (no
//! script, font or request), so it opens offline, from `file://` and behind a strict
//! Content-Security-Policy, and every value from the inventory is escaped by the template.

mod chart;
mod data;
pub mod format;
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
    let from = first_month(opts.now, opts.months);
    let data = data::gather(store, &from, opts.tag_key.as_deref()).await?;
    Ok(page::page(&data, opts).into_string())
}

/// `YYYY-MM` of the first of the last `months` months up to `now`'s.
fn first_month(now: DateTime<Utc>, months: u32) -> String {
    let index = i64::from(now.year()) * 12 + i64::from(now.month0()) - i64::from(months.max(1)) + 1;
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

    #[test]
    fn the_period_starts_months_back_including_this_one() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
        assert_eq!(first_month(now, 12), "2026-01");
        assert_eq!(first_month(now, 1), "2026-12");
        assert_eq!(first_month(now, 13), "2025-12");
        assert_eq!(first_month(now, 0), "2026-12");
    }
}
