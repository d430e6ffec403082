//! Utilization in the database: which ended jobs of a scope have none stored yet, a batch of
//! jobs' figures written in one transaction (`sagemaker_training_job_metrics` and the hosts'
//! `sagemaker_training_job_host_utilization`), and the jobs' sizes from `instance_type_size`.

use sea_query::{OnConflict, Query};
use sqlx::FromRow;

use super::{Backend, Sql, Store, StoreError};
use crate::model::time::Timestamp;
use crate::sql;

/// An ended job with no utilization stored: what asking CloudWatch about it takes.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct DueJob {
    pub arn: String,
    pub name: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The job's instances, across its instance groups (`algo-1` to `algo-<hosts>`).
    pub hosts: i64,
    /// Every instance type of the job is known to have no GPU: only CPU and memory are asked.
    pub cpu_only: bool,
}

/// What a job's utilization came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Measured,
    /// Some hosts answered nothing.
    Partial,
    NoData,
    /// Ended longer ago than CloudWatch keeps data: never asked.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Measured => "measured",
            Status::Partial => "partial",
            Status::NoData => "no-data",
            Status::Expired => "expired",
        }
    }
}

/// One host's figures as CloudWatch answered them over the job's run, each `None` when it
/// answered no readable value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostFigures {
    /// `algo-<n>`.
    pub host: String,
    pub gpu_avg: Option<f64>,
    pub gpu_max: Option<f64>,
    pub gpu_memory_avg: Option<f64>,
    pub gpu_memory_max: Option<f64>,
    pub cpu_avg: Option<f64>,
    pub memory_max: Option<f64>,
}

impl HostFigures {
    pub fn answered(&self) -> bool {
        [
            self.gpu_avg,
            self.gpu_max,
            self.gpu_memory_avg,
            self.gpu_memory_max,
            self.cpu_avg,
            self.memory_max,
        ]
        .iter()
        .any(Option::is_some)
    }
}

/// A job's utilization, to store.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFigures {
    pub arn: String,
    pub status: Status,
    pub hosts_expected: i64,
    pub period_seconds: Option<i64>,
    /// The hosts that answered anything.
    pub hosts: Vec<HostFigures>,
}

/// A job's row, its key first: a job read again replaces the rest.
const JOB_COLUMNS: [&str; 12] = [
    "training_job_arn",
    "status",
    "hosts_expected",
    "hosts_measured",
    "period_seconds",
    "gpu_utilization_sum",
    "gpu_utilization_host_max",
    "gpu_memory_sum",
    "gpu_memory_host_max",
    "cpu_utilization_sum",
    "memory_max",
    "read_at",
];

/// A host's row, its key (job, host) first.
const HOST_COLUMNS: [&str; 8] = [
    "training_job_arn",
    "host",
    "gpu_utilization_avg",
    "gpu_utilization_max",
    "gpu_memory_avg",
    "gpu_memory_max",
    "cpu_utilization_avg",
    "memory_max",
];

fn built(e: sea_query::error::Error) -> StoreError {
    StoreError::Build(e.to_string())
}

/// The sum over hosts of what answered, `None` when none did.
fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.flatten().reduce(|a, b| a + b)
}

fn max(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.flatten().reduce(f64::max)
}

impl Store {
    /// The jobs of `account` in `region` that ended before `ended_before` and have no
    /// utilization stored, oldest start first.
    pub async fn metrics_due(
        &self,
        account: &str,
        region: &str,
        ended_before: Timestamp,
    ) -> Result<Vec<DueJob>, StoreError> {
        let b = self.backend();
        let sql = sql![
            DUE_HEAD,
            self.param(1),
            " AND j.region = ",
            self.param(2),
            DUE_MIDDLE,
            b.timestamp_param(3),
            DUE_TAIL
        ];
        let params = [
            Some(account.to_string()),
            Some(region.to_string()),
            Some(ended_before.to_string()),
        ];
        self.fetch_typed(sql, &params).await
    }

    /// Stores the figures of a batch of jobs in one transaction.
    pub async fn store_metrics(
        &self,
        jobs: &[JobFigures],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        let at = super::costs::time_value(backend, &now.as_datetime());
        let mut job_rows = Query::insert();
        job_rows
            .into_table("sagemaker_training_job_metrics")
            .columns(JOB_COLUMNS);
        let mut host_rows = Query::insert();
        host_rows
            .into_table("sagemaker_training_job_host_utilization")
            .columns(HOST_COLUMNS);
        let mut any_host = false;
        for j in jobs {
            let h = &j.hosts;
            let measured = i64::try_from(h.len()).unwrap_or(i64::MAX);
            job_rows
                .values([
                    j.arn.clone().into(),
                    j.status.as_str().into(),
                    j.hosts_expected.into(),
                    measured.into(),
                    j.period_seconds.into(),
                    sum(h.iter().map(|h| h.gpu_avg)).into(),
                    max(h.iter().map(|h| h.gpu_max)).into(),
                    sum(h.iter().map(|h| h.gpu_memory_avg)).into(),
                    max(h.iter().map(|h| h.gpu_memory_max)).into(),
                    sum(h.iter().map(|h| h.cpu_avg)).into(),
                    max(h.iter().map(|h| h.memory_max)).into(),
                    at.clone(),
                ])
                .map_err(built)?;
            for host in h {
                any_host = true;
                host_rows
                    .values([
                        j.arn.clone().into(),
                        host.host.clone().into(),
                        host.gpu_avg.into(),
                        host.gpu_max.into(),
                        host.gpu_memory_avg.into(),
                        host.gpu_memory_max.into(),
                        host.cpu_avg.into(),
                        host.memory_max.into(),
                    ])
                    .map_err(built)?;
            }
        }
        // A job read again (its row deleted by hand to ask anew) replaces what was stored.
        job_rows.on_conflict(
            OnConflict::column("training_job_arn")
                .update_columns(JOB_COLUMNS[1..].iter().copied())
                .to_owned(),
        );
        host_rows.on_conflict(
            OnConflict::columns(["training_job_arn", "host"])
                .update_columns(HOST_COLUMNS[2..].iter().copied())
                .to_owned(),
        );
        let mut statements = vec![Sql::sea(&job_rows, backend)];
        if any_host {
            statements.push(Sql::sea(&host_rows, backend));
        }
        self.execute_all(statements).await
    }

    /// Gives each stored job whose size was unknown the size its instance types have now.
    pub async fn fill_job_sizes(&self) -> Result<(), StoreError> {
        self.execute_all(vec![fill_sizes()]).await
    }
}

/// [`SIZES`] of the jobs whose size is unknown, as a statement among others of a transaction
/// that stores sizes.
pub fn fill_sizes() -> (Sql, sea_query_sqlx::SqlxValues) {
    (
        sql![SIZES, UNKNOWN, SIZES_TAIL],
        sea_query_sqlx::SqlxValues(sea_query::Values(Vec::new())),
    )
}

/// [`SIZES`] of the jobs of these instance types, whatever was known: the CSV's sizes correct
/// what was read before them.
pub fn resize(backend: Backend, types: &[&str]) -> (Sql, sea_query_sqlx::SqlxValues) {
    let text = sql![
        SIZES,
        "SELECT training_job_arn FROM sagemaker_training_job_instance_usage WHERE instance_type IN (",
        Sql::placeholders(backend, 1, types.len().max(1)),
        ")",
        SIZES_TAIL
    ];
    let mut values: Vec<sea_query::Value> = types.iter().map(|t| (*t).into()).collect();
    if values.is_empty() {
        values.push(sea_query::Value::String(None));
    }
    (text, sea_query_sqlx::SqlxValues(sea_query::Values(values)))
}

/// See [`Store::metrics_due`], around the account, the region and the end bound.
const DUE_HEAD: &str = "\
SELECT j._key AS arn, coalesce(j.training_job_name, '') AS name,
       j.training_start_time AS start, j.training_end_time AS \"end\",
       CAST(coalesce((SELECT sum(u.instance_count) FROM sagemaker_training_job_instance_usage u
                      WHERE u.training_job_arn = j._key), 0) AS bigint) AS hosts,
       coalesce((SELECT count(*) > 0 AND count(z.gpus) = count(*) AND max(z.gpus) = 0
                 FROM sagemaker_training_job_instance_usage u
                 LEFT JOIN instance_type_size z ON z.instance_type = u.instance_type
                 WHERE u.training_job_arn = j._key), false) AS cpu_only
FROM sagemaker_training_job j
WHERE j.account_id = ";

const DUE_MIDDLE: &str = "
  AND j.training_start_time IS NOT NULL AND j.training_end_time IS NOT NULL
  AND j.deleted_at IS NULL
  AND j.training_end_time <= ";

const DUE_TAIL: &str = "
  AND NOT EXISTS (SELECT 1 FROM sagemaker_training_job_metrics m WHERE m.training_job_arn = j._key)
ORDER BY j.training_start_time, j._key";

/// A stored job's size, from its instance groups: GPUs and vCPUs in all, and per host when every
/// group's instance type has the same; NULL while a type's size is unknown. The one rule for a
/// job's size: the harvest, `prices sync` and `prices load` run it. Each job's groups are read
/// once, for the jobs the query between [`SIZES`] and [`SIZES_TAIL`] names.
const SIZES: &str = "\
UPDATE sagemaker_training_job_metrics SET
    gpus = s.gpus, gpus_per_host = s.gpus_per_host, vcpus = s.vcpus, vcpus_per_host = s.vcpus_per_host
FROM (
    SELECT u.training_job_arn,
           CASE WHEN count(z.gpus) = count(*) THEN sum(u.instance_count * z.gpus) END AS gpus,
           CASE WHEN count(z.gpus) = count(*) AND min(z.gpus) = max(z.gpus)
               THEN min(z.gpus) END AS gpus_per_host,
           CASE WHEN count(z.vcpus) = count(*) THEN sum(u.instance_count * z.vcpus) END AS vcpus,
           CASE WHEN count(z.vcpus) = count(*) AND min(z.vcpus) = max(z.vcpus)
               THEN min(z.vcpus) END AS vcpus_per_host
    FROM sagemaker_training_job_instance_usage u
    LEFT JOIN instance_type_size z ON z.instance_type = u.instance_type
    WHERE u.training_job_arn IN (";

/// The jobs [`SIZES`] may have found since: an instance type's size unknown. A per-host figure
/// stays NULL for good when the groups differ, so it does not make a job due again (a harvest
/// would rewrite every heterogeneous job, and its usage rows through migration 15's triggers).
const UNKNOWN: &str = "SELECT training_job_arn FROM sagemaker_training_job_metrics \
     WHERE gpus IS NULL OR vcpus IS NULL";

const SIZES_TAIL: &str = ")
    GROUP BY u.training_job_arn
) s
WHERE s.training_job_arn = sagemaker_training_job_metrics.training_job_arn";
