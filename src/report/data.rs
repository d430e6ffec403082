//! What the page shows, read through the `query` reports themselves (so the page and
//! `sagesync query` agree to the cent) and held as plain rows.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use crate::query::{self, QueryError};
use crate::store::Store;
use crate::store::read::{Out, ResultSet, Sink};

/// A result kept whole: the page's tables are small (a row per month, group or job).
struct Collect(ResultSet);

impl Sink for Collect {
    fn columns(&mut self, names: &[String]) -> ControlFlow<()> {
        self.0.columns = names.to_vec();
        ControlFlow::Continue(())
    }

    fn row(&mut self, row: Vec<Out>) -> ControlFlow<()> {
        self.0.rows.push(row);
        ControlFlow::Continue(())
    }
}

/// One report's rows, read by column name.
#[derive(Debug, Default)]
pub struct Table(ResultSet);

impl Table {
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.0.rows.iter().map(|cells| Row {
            columns: &self.0.columns,
            cells,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.rows.is_empty()
    }

    /// Whether the report has this column.
    pub fn has(&self, column: &str) -> bool {
        self.0.columns.iter().any(|c| c == column)
    }
}

#[derive(Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    cells: &'a [Out],
}

impl Row<'_> {
    fn cell(&self, column: &str) -> Option<&Out> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.cells.get(i)
    }

    pub fn num(&self, column: &str) -> Option<f64> {
        match self.cell(column)? {
            Out::Int(n) => Some(*n as f64),
            Out::Float(f) => Some(*f),
            Out::Decimal(d) | Out::Text(d) => d.parse().ok(),
            _ => None,
        }
    }

    pub fn text(&self, column: &str) -> String {
        self.cell(column).map(Out::text).unwrap_or_default()
    }
}

/// Everything the page shows, for the months from `from_month` on.
#[derive(Debug, Default)]
pub struct Data {
    /// The months shown.
    pub window: super::Window,
    /// Whether any price is stored: the page counts dollars, else instance-hours.
    pub priced: bool,
    pub cost: Table,
    /// By month, account and region: jobs there are counted once each.
    pub accounts: Table,
    /// By the tag's value, when the page groups by a tag: month, tag_value, instance_hours,
    /// estimated_usd (else the page groups by `accounts`).
    pub by_group: Option<Table>,
    pub group_column: &'static str,
    pub costliest: Table,
    pub waste: Table,
    pub spot: Table,
    pub running: Table,
    pub posture: Table,
    /// GPU-hours paid, used and idle by month and instance type.
    pub gpu: Table,
    /// The jobs with the most idle GPU dollars.
    pub idle: Table,
    /// The oldest last completed sync among the scopes, if any scope was synced.
    pub oldest_sync: Option<String>,
}

impl Data {
    /// What the monthly chart groups by: the tag's values, or the accounts.
    pub fn groups(&self) -> &Table {
        self.by_group.as_ref().unwrap_or(&self.accounts)
    }
}

async fn report(store: &Store, name: &str, params: &[(&str, &str)]) -> Result<Table, QueryError> {
    let given: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut sink = Collect(ResultSet::default());
    query::run_report(store, name, &given, &mut sink).await?;
    Ok(Table(sink.0))
}

/// Keeps the rows of `month_column` from `from` on.
fn since(mut t: Table, month_column: &str, from: &str) -> Table {
    let i = t.0.columns.iter().position(|c| c == month_column);
    if let Some(i) = i {
        t.0.rows
            .retain(|r| matches!(r.get(i), Some(Out::Text(m)) if m.as_str() >= from));
    }
    t
}

/// Reads every report the page shows, at once: each on a connection of its own, so on two cores
/// the page takes about as long as its slowest report or two.
pub async fn gather(
    store: &Store,
    window: super::Window,
    tag_key: Option<&str>,
) -> Result<Data, QueryError> {
    let from_month = window.from.as_str();
    let from = [("from_month", from_month)];
    let tag = tag_key.map(|key| [("tag_key", key)]);
    let by_tag = async {
        match &tag {
            Some(params) => report(store, "cost-by-tag", params).await.map(Some),
            None => Ok(None),
        }
    };
    let idle = [("from_month", from_month), ("limit", "10")];
    let priced = async { Ok(store.price_sources().await?.iter().any(|s| s.prices > 0)) };
    let (
        cost,
        accounts,
        by_tag,
        costliest,
        waste,
        spot,
        running,
        posture,
        oldest,
        gpu,
        idle,
        priced,
    ) = tokio::try_join!(
        report(store, "cost", &[]),
        report(store, "cost-by-account", &[]),
        by_tag,
        report(store, "costliest-jobs", &from),
        report(store, "waste", &from),
        report(store, "spot-savings", &[]),
        report(store, "long-running", &[("hours", "0")]),
        report(store, "security-posture", &from),
        oldest_sync(store),
        report(store, "gpu-utilization", &[]),
        report(store, "idle-gpu", &idle),
        priced,
    )?;
    let accounts = since(accounts, "month", from_month);
    let cost = since(cost, "month", from_month);
    let (by_group, group_column) = match by_tag {
        Some(t) => (Some(since(t, "month", from_month)), "tag_value"),
        None => (None, "account_id"),
    };
    Ok(Data {
        priced,
        gpu: since(gpu, "month", from_month),
        idle,
        by_group,
        accounts,
        group_column,
        costliest,
        waste,
        spot: since(spot, "month", from_month),
        running,
        posture,
        cost,
        oldest_sync: oldest,
        window,
    })
}

/// The oldest last completed sync among the scopes; none when no scope was ever synced.
async fn oldest_sync(store: &Store) -> Result<Option<String>, QueryError> {
    let oldest = store
        .fetch(
            "SELECT CAST(min(updated_at) AS TEXT) AS oldest FROM sagesync_cursor",
            &[],
        )
        .await?;
    Ok(oldest
        .rows
        .first()
        .and_then(|r| r.first())
        .and_then(|o| match o {
            Out::Text(s) => Some(s.clone()),
            _ => None,
        }))
}
