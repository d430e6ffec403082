//! `sagesync billing sync`: SageMaker's billed usage from Cost Explorer, per month, linked account
//! and usage type, stored to check the inventory against (`query reconcile`). A run replaces the
//! months it asked for, in one transaction.

pub mod usage_type;

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use crate::source::SourceError;
use crate::source::billing::{BilledLine, Usage};
use crate::store::costs::BilledRow;
use crate::store::{Store, StoreError};
use usage_type::UsageType;

/// The permission Cost Explorer asks for, named in messages about a refusal.
pub const PERMISSION: &str = "ce:GetCostAndUsage";

/// Whole months before this one that a run asks for when `--from` is not given.
const DEFAULT_MONTHS_BACK: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("{flag} {value:?} is not a month; write it as YYYY-MM, e.g. 2026-09")]
    BadMonth { flag: &'static str, value: String },
    #[error("--from {from} is after --to {to}; give the earlier month first")]
    Backwards { from: String, to: String },
    #[error("cannot read the bill from Cost Explorer: {0}")]
    Source(SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month(NaiveDate);

impl Month {
    fn parse(flag: &'static str, value: &str) -> Result<Month, BillingError> {
        let bad = || BillingError::BadMonth {
            flag,
            value: value.to_string(),
        };
        let (y, m) = value.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let (y, m) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        NaiveDate::from_ymd_opt(y, m, 1).map(Month).ok_or_else(bad)
    }

    fn of(day: NaiveDate) -> Month {
        Month(day.with_day(1).unwrap_or(day))
    }

    fn next(self) -> Month {
        Month(self.0 + chrono::Months::new(1))
    }

    fn back(self, n: u32) -> Month {
        Month(self.0 - chrono::Months::new(n))
    }

    /// `YYYY-MM-01`, as Cost Explorer takes dates.
    fn first_day(self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m"))
    }
}

/// The months `--from` to `--to` name (default: the last 3 whole months and this one).
pub fn months(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<Vec<Month>, BillingError> {
    let this = Month::of(today);
    let to = match to {
        Some(t) => Month::parse("--to", t)?,
        None => this,
    };
    let from = match from {
        Some(f) => Month::parse("--from", f)?,
        None => to.min(this).back(DEFAULT_MONTHS_BACK),
    };
    if from > to {
        return Err(BillingError::Backwards {
            from: from.to_string(),
            to: to.to_string(),
        });
    }
    let mut out = vec![from];
    while let Some(last) = out.last().copied().filter(|m| *m < to) {
        out.push(last.next());
    }
    Ok(out)
}

/// What a run did.
#[derive(Debug)]
pub struct BillingReport {
    pub lines: usize,
    pub skipped: usize,
    pub calls: u64,
}

/// Reads the bill of `months` and replaces what is stored of them.
pub async fn sync(
    store: &Store,
    ce: &impl Usage,
    months: &[Month],
) -> Result<BillingReport, BillingError> {
    let (Some(first), Some(last)) = (months.first(), months.last()) else {
        return Ok(BillingReport {
            lines: 0,
            skipped: 0,
            calls: 0,
        });
    };
    let billed = ce
        .usage(&first.first_day(), &last.next().first_day())
        .await
        .map_err(BillingError::Source)?;
    let mut rows = Vec::with_capacity(billed.lines.len());
    let mut skipped = 0;
    let mut unknown_prefixes = BTreeSet::new();
    for line in &billed.lines {
        match read_line(line) {
            Ok((row, prefix)) => {
                if let Some(p) = prefix {
                    unknown_prefixes.insert(p);
                }
                rows.push(row);
            }
            Err(reason) => {
                skipped += 1;
                tracing::warn!(
                    "skipped the bill's line for account {} usage type {} in {}: {reason}",
                    line.account_id,
                    line.usage_type,
                    line.start
                );
            }
        }
    }
    for prefix in unknown_prefixes {
        tracing::warn!(
            "usage types {prefix}-Train:... name a region prefix this sagesync does not know (its table was checked on {}); query reconcile leaves them out of any region",
            usage_type::CHECKED
        );
    }
    let names: Vec<String> = months.iter().map(Month::to_string).collect();
    store
        .store_billed(&names, &rows, chrono::Utc::now())
        .await?;
    Ok(BillingReport {
        lines: rows.len(),
        skipped,
        calls: billed.calls,
    })
}

/// One line of the bill as a row, with the region prefix of a training usage type sagesync does
/// not know; or why it cannot be read.
fn read_line(line: &BilledLine) -> Result<(BilledRow, Option<String>), String> {
    let month = line
        .start
        .get(..7)
        .filter(|m| Month::parse("start", m).is_ok())
        .ok_or("its period does not start on a date")?;
    let cost = line.cost.as_ref().ok_or("no UnblendedCost")?;
    match cost.unit.as_deref() {
        Some("USD") => {}
        _ => return Err("UnblendedCost is not in USD".into()),
    }
    let usd = number(cost.amount.as_deref()).ok_or("UnblendedCost is not a number")?;
    let quantity = line.quantity.as_ref().ok_or("no UsageQuantity")?;
    let amount = number(quantity.amount.as_deref()).ok_or("UsageQuantity is not a number")?;
    let (region, instance_type, unknown) = match usage_type::parse(&line.usage_type) {
        UsageType::Training {
            region,
            instance_type,
        } => (
            Some(region.to_string()),
            Some(instance_type.to_string()),
            None,
        ),
        UsageType::UnknownRegion { prefix } => (None, None, Some(prefix.to_string())),
        UsageType::Other => (None, None, None),
    };
    Ok((
        BilledRow {
            month: month.to_string(),
            account_id: line.account_id.clone(),
            usage_type: line.usage_type.clone(),
            region,
            instance_type,
            quantity: amount,
            unit: quantity.unit.clone(),
            usd,
        },
        unknown,
    ))
}

fn number(text: Option<&str>) -> Option<f64> {
    text?.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::billing::{Billed, Metric};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn names(m: Vec<Month>) -> Vec<String> {
        m.into_iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn the_default_is_the_last_three_whole_months_and_this_one() {
        let m = months(None, None, day("2026-02-17")).unwrap();
        assert_eq!(names(m), ["2025-11", "2025-12", "2026-01", "2026-02"]);
        let m = months(Some("2026-01"), Some("2026-01"), day("2026-12-03")).unwrap();
        assert_eq!(names(m), ["2026-01"]);
    }

    #[test]
    fn months_that_are_not_yyyy_mm_or_backwards_are_refused() {
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", "january"] {
            let e = months(Some(bad), None, day("2026-12-03")).unwrap_err();
            assert!(e.to_string().contains("YYYY-MM"), "{e}");
        }
        let e = months(Some("2026-05"), Some("2026-03"), day("2026-12-03")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--from 2026-05 is after --to 2026-03; give the earlier month first"
        );
    }

    fn line(cost: &str, unit: &str, quantity: &str) -> BilledLine {
        BilledLine {
            start: "2026-10-01".into(),
            account_id: "111111111111".into(),
            usage_type: "EUW1-Train:ml.m5.xlarge".into(),
            cost: Some(Metric {
                amount: Some(cost.into()),
                unit: Some(unit.into()),
            }),
            quantity: Some(Metric {
                amount: Some(quantity.into()),
                unit: Some("Hrs".into()),
            }),
        }
    }

    #[test]
    fn a_line_is_read_with_its_region_and_instance_type() {
        let (row, unknown) = read_line(&line("12.5", "USD", "50.25")).unwrap();
        assert_eq!(row.month, "2026-10");
        assert_eq!(row.region.as_deref(), Some("eu-west-1"));
        assert_eq!(row.instance_type.as_deref(), Some("ml.m5.xlarge"));
        assert_eq!((row.usd, row.quantity), (12.5, 50.25));
        assert_eq!(unknown, None);
    }

    #[test]
    fn a_figure_that_cannot_be_read_is_refused_never_zero() {
        assert!(read_line(&line("n/a", "USD", "1")).is_err());
        assert!(read_line(&line("1", "EUR", "1")).is_err());
        assert!(read_line(&line("1", "USD", "")).is_err());
    }

    /// Cost Explorer from memory: these lines for any months asked, or a refusal.
    struct Memory(Option<Vec<BilledLine>>);

    impl Usage for Memory {
        async fn usage(&self, _start: &str, _end: &str) -> Result<Billed, SourceError> {
            match &self.0 {
                Some(lines) => Ok(Billed {
                    lines: lines.clone(),
                    calls: 1,
                }),
                None => Err(SourceError::refused(
                    crate::model::op::Op::GetCostAndUsage,
                    "AccessDeniedException",
                )),
            }
        }
    }

    fn on(start: &str, cost: &str) -> BilledLine {
        BilledLine {
            start: start.into(),
            ..line(cost, "USD", "10")
        }
    }

    async fn stored(store: &Store) -> Vec<String> {
        let sql = "SELECT month || ' ' || CAST(unblended_usd AS TEXT) FROM billed_usage ORDER BY 1";
        store.fetch(sql, &[]).await.unwrap().texts()
    }

    #[tokio::test]
    async fn the_months_asked_are_replaced_whole_a_bad_line_is_skipped_and_a_refusal_changes_nothing()
     {
        let store = Store::open(&crate::store::StoreOptions::memory())
            .await
            .unwrap();
        let both = months(Some("2026-09"), Some("2026-10"), day("2026-12-03")).unwrap();
        let first = Memory(Some(vec![on("2026-09-01", "1.5"), on("2026-10-01", "2.5")]));
        let report = sync(&store, &first, &both).await.unwrap();
        assert_eq!((report.lines, report.skipped, report.calls), (2, 0, 1));
        assert_eq!(stored(&store).await, ["2026-09 1.5", "2026-10 2.5"]);

        // October again: its lines are replaced, September's stay; a line whose cost is not a
        // number is skipped, never stored as 0.
        let october = months(Some("2026-10"), Some("2026-10"), day("2026-12-03")).unwrap();
        let again = Memory(Some(vec![on("2026-10-01", "3.5"), on("2026-10-01", "n/a")]));
        let report = sync(&store, &again, &october).await.unwrap();
        assert_eq!((report.lines, report.skipped), (1, 1));
        assert_eq!(stored(&store).await, ["2026-09 1.5", "2026-10 3.5"]);

        let refused = sync(&store, &Memory(None), &both).await.unwrap_err();
        assert!(
            matches!(&refused, BillingError::Source(e) if e.is_denied()),
            "{refused}"
        );
        assert_eq!(stored(&store).await, ["2026-09 1.5", "2026-10 3.5"]);
    }
}
