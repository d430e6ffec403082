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

/// The columns the page reads of each canned query, one list each: [`gather`] refuses a result
/// that lacks one (naming both), so a column renamed in `queries/` fails the page and its tests
/// instead of rendering an empty cell; and a row read by a column not listed fails the tests
/// (debug builds).
pub mod read {
    pub const COST: &[&str] = &[
        "month",
        "instance_type",
        "jobs",
        "instance_hours",
        "priced_usd",
        "unpriced_instance_hours",
    ];
    pub const BY_ACCOUNT: &[&str] = &[
        "month",
        "account_id",
        "jobs",
        "instance_hours",
        "priced_usd",
        "unpriced_instance_hours",
    ];
    pub const BY_TAG: &[&str] = &[
        "month",
        "tag_value",
        "jobs",
        "instance_hours",
        "priced_usd",
        "unpriced_instance_hours",
    ];
    pub const COSTLIEST: &[&str] = &[
        "training_job_name",
        "account_id",
        "region",
        "instance_type",
        "instance_hours",
        "estimated_usd",
    ];
    pub const WASTE: &[&str] = &[
        "training_job_status",
        "failure_reason",
        "jobs",
        "instance_hours",
        "estimated_usd",
    ];
    pub const SPOT: &[&str] = &[
        "month",
        "spot_jobs",
        "training_seconds",
        "billable_seconds",
        "saved_pct",
    ];
    pub const RUNNING: &[&str] = &[
        "training_job_name",
        "region",
        "creation_time",
        "elapsed_hours",
        "max_runtime_in_seconds",
        "secondary_status",
    ];
    pub const POSTURE: &[&str] = &[
        "account_id",
        "region",
        "jobs",
        "without_network_isolation",
        "without_inter_container_encryption",
        "without_vpc",
        "without_volume_kms_key",
        "without_output_kms_key",
        "missing_any",
    ];
    pub const GPU: &[&str] = &[
        "month",
        "gpu_hours",
        "used_gpu_hours",
        "unmeasured_gpu_hours",
        "idle_gpu_usd",
    ];
    pub const IDLE: &[&str] = &[
        "training_job_name",
        "account_id",
        "instance_type",
        "gpus",
        "gpu_utilization_pct",
        "gpu_hours",
        "compute_usd",
        "idle_gpu_usd",
    ];
}

/// One canned query's rows, read by the columns the page reads of it ([`read`]).
#[derive(Debug, Default)]
pub struct Table {
    set: ResultSet,
    read: &'static [&'static str],
}

impl Table {
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.set.rows.iter().map(|cells| Row {
            columns: &self.set.columns,
            read: self.read,
            cells,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.set.rows.is_empty()
    }

    /// The columns the page reads of it, in the order it shows them.
    pub fn read(&self) -> &'static [&'static str] {
        self.read
    }
}

#[derive(Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    read: &'static [&'static str],
    cells: &'a [Out],
}

impl Row<'_> {
    fn cell(&self, column: &str) -> Option<&Out> {
        debug_assert!(
            self.read.contains(&column),
            "the page reads {column}, which is not in its list of the columns it reads"
        );
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
    /// What the monthly chart groups by: month and account and region (cost-by-account), or
    /// month and the tag's value (cost-by-tag), when the page groups by a tag. A job counts once
    /// in either, so its jobs are the headline's.
    pub groups: Table,
    /// The column of `groups` a group is named by: account_id or tag_value.
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

/// Runs canned query `name` and checks it has the columns the page reads of it.
async fn report(
    store: &Store,
    name: &'static str,
    params: &[(&str, &str)],
    read: &'static [&'static str],
) -> Result<Table, QueryError> {
    let given: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut sink = Collect(ResultSet::default());
    query::run_report(store, name, &given, &mut sink).await?;
    if let Some(column) = read
        .iter()
        .find(|c| !sink.0.columns.iter().any(|have| have == *c))
    {
        return Err(QueryError::PageColumn {
            report: name,
            column,
        });
    }
    Ok(Table { set: sink.0, read })
}

/// Keeps the rows of `month_column` from `from` on.
fn since(mut t: Table, month_column: &str, from: &str) -> Table {
    let i = t.set.columns.iter().position(|c| c == month_column);
    if let Some(i) = i {
        t.set
            .rows
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
    let (groups, group_column) = match &tag {
        Some(params) => (
            report(store, "cost-by-tag", params, read::BY_TAG),
            "tag_value",
        ),
        None => (
            report(store, "cost-by-account", &[], read::BY_ACCOUNT),
            "account_id",
        ),
    };
    let idle = [("from_month", from_month), ("limit", "10")];
    let priced = async { Ok(store.price_sources().await?.iter().any(|s| s.prices > 0)) };
    let (cost, groups, costliest, waste, spot, running, posture, oldest, gpu, idle, priced) = tokio::try_join!(
        report(store, "cost", &[], read::COST),
        groups,
        report(store, "costliest-jobs", &from, read::COSTLIEST),
        report(store, "waste", &from, read::WASTE),
        report(store, "spot-savings", &[], read::SPOT),
        report(store, "long-running", &[("hours", "0")], read::RUNNING),
        report(store, "security-posture", &from, read::POSTURE),
        oldest_sync(store),
        report(store, "gpu-utilization", &[], read::GPU),
        report(store, "idle-gpu", &idle, read::IDLE),
        priced,
    )?;
    let cost = since(cost, "month", from_month);
    Ok(Data {
        priced,
        gpu: since(gpu, "month", from_month),
        idle,
        groups: since(groups, "month", from_month),
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
