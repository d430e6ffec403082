//! Utilization per training job from CloudWatch (`metrics sync`, and after each `sync`): for
//! every job of a scope that ended at least 10 minutes ago and has none stored, each host's GPU,
//! GPU memory, CPU and memory figures over its run ([`plan`] says which calls), stored a batch
//! per transaction. A job with no data is stored as such and an expired one is never asked, so
//! no job is asked twice.

pub mod plan;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::model::time::Timestamp;
use crate::source::SourceError;
use crate::source::cloudwatch::{self, CloudWatch, Request};
use crate::store::metrics::{JobFigures, Status};
use crate::store::{Store, StoreError};

pub use cloudwatch::PERMISSION;

/// What CloudWatch charges per metric requested (GetMetricData: $0.01 per 1,000).
pub const USD_PER_METRIC: f64 = 0.01 / 1000.0;

/// Batches asked at once in a scope; the pace spaces their calls.
const BATCHES_AT_ONCE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot read utilization from CloudWatch: {0}")]
    Source(SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a harvest did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Harvest {
    pub measured: u64,
    pub partial: u64,
    pub no_data: u64,
    pub expired: u64,
    pub calls: u64,
    /// Queries sent, every page counted: what CloudWatch bills.
    pub metrics: u64,
    /// Figures skipped because they could not be read.
    pub skipped: u64,
}

impl Harvest {
    pub fn add(&mut self, other: &Harvest) {
        self.measured += other.measured;
        self.partial += other.partial;
        self.no_data += other.no_data;
        self.expired += other.expired;
        self.calls += other.calls;
        self.metrics += other.metrics;
        self.skipped += other.skipped;
    }

    fn count(&mut self, jobs: &[JobFigures]) {
        for j in jobs {
            *match j.status {
                Status::Measured => &mut self.measured,
                Status::Partial => &mut self.partial,
                Status::NoData => &mut self.no_data,
                Status::Expired => &mut self.expired,
            } += 1;
        }
    }

    pub fn jobs(&self) -> u64 {
        self.measured + self.partial + self.no_data + self.expired
    }

    pub fn usd(&self) -> f64 {
        self.metrics as f64 * USD_PER_METRIC
    }
}

/// Reads and stores the utilization of `account`'s jobs in `region` that are due at `now`. A
/// failed call stops the scope (what was stored stays) and is returned with what was done.
pub async fn harvest(
    store: &Store,
    cw: &dyn CloudWatch,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
) -> (Harvest, Option<MetricsError>) {
    let mut done = Harvest::default();
    let failure = harvest_into(store, cw, account, region, now, &mut done)
        .await
        .err();
    // Sizes for what was stored, whatever stopped the run.
    if let Err(e) = store.fill_job_sizes().await {
        tracing::warn!("utilization figures of new jobs not sized: {e}");
    }
    (done, failure)
}

async fn harvest_into(
    store: &Store,
    cw: &dyn CloudWatch,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
    done: &mut Harvest,
) -> Result<(), MetricsError> {
    let read_at = Timestamp::from_datetime(now).unwrap_or_else(Timestamp::now);
    let ended_before = Timestamp::from_datetime(now - plan::lag()).unwrap_or(read_at);
    let mut due = store.metrics_due(account, region, ended_before).await?;
    due.retain(|job| {
        let sane = job.hosts <= plan::MAX_HOSTS;
        if !sane {
            tracing::warn!(
                "utilization of job {} not read: it states {} instances, more than a training job can have ({}); skipped",
                job.name,
                job.hosts,
                plan::MAX_HOSTS
            );
        }
        sane
    });
    let (expired, batches) = plan::plan(due, now);
    for chunk in expired.chunks(1000) {
        let rows: Vec<JobFigures> = chunk.iter().map(plan::expired).collect();
        store.store_metrics(&rows, read_at).await?;
        done.count(&rows);
    }
    let mut answers = futures_util::stream::iter(batches)
        .map(|batch| async move {
            let asked = ask(cw, &batch).await;
            (batch, asked)
        })
        .buffer_unordered(BATCHES_AT_ONCE);
    while let Some((batch, asked)) = answers.next().await {
        let (pages, calls, metrics) = asked.map_err(MetricsError::Source)?;
        done.calls += calls;
        done.metrics += metrics;
        let (jobs, skipped) = plan::figures(&batch, &pages);
        for s in &skipped {
            tracing::warn!("utilization: {s}");
        }
        done.skipped += skipped.len() as u64;
        store.store_metrics(&jobs, read_at).await?;
        done.count(&jobs);
    }
    Ok(())
}

/// Every page of every call of a batch: the answers, the calls and the metrics requested.
async fn ask(
    cw: &dyn CloudWatch,
    batch: &plan::Batch,
) -> Result<(Vec<cloudwatch::Answer>, u64, u64), SourceError> {
    let (mut answers, mut calls, mut metrics) = (Vec::new(), 0, 0);
    for queries in batch.calls() {
        let mut token: Option<String> = None;
        loop {
            let page = cw
                .metric_data(Request {
                    queries,
                    start: batch.start,
                    end: batch.end,
                    period_seconds: batch.period_seconds,
                    token: token.as_deref(),
                })
                .await?;
            calls += 1;
            metrics += queries.len() as u64;
            answers.extend(page.answers);
            match page.next_token {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => break,
            }
        }
    }
    Ok((answers, calls, metrics))
}

#[cfg(test)]
mod tests;
