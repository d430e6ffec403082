//! Which GetMetricData calls a harvest makes, and what their answers come to per job.
//!
//! CloudWatch keeps a minute's resolution for 15 days, 5 minutes for 63 and an hour for 455, and
//! a call's Period must be a multiple of the resolution its StartTime's age keeps. A host has data
//! only while its job runs, so one Period spanning a batch's whole window answers each host's
//! whole-run figure in one point: jobs are batched oldest start first, within one resolution, up
//! to 500 queries a call (a job with more hosts than that fills calls of its own, all stored with
//! the batch).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::source::cloudwatch::{Answer, Metric, Query, Stat};
use crate::store::metrics::{DueJob, HostFigures, JobFigures, Status};

/// CloudWatch's limit of queries in a call.
pub const QUERIES_PER_CALL: usize = 500;

/// More instances than a training job can have: a count read from the API above it is not
/// believed (it would be millions of queries).
pub const MAX_HOSTS: i64 = 10_000;

/// How long after a job ends its last samples may still be arriving.
pub fn lag() -> Duration {
    Duration::minutes(10)
}

/// How long CloudWatch keeps any data (an hour's resolution).
pub fn retention() -> Duration {
    Duration::days(455)
}

/// The resolution CloudWatch keeps for data `age` old, in seconds.
pub fn resolution(age: Duration) -> i64 {
    if age < Duration::days(15) {
        60
    } else if age < Duration::days(63) {
        300
    } else {
        3600
    }
}

/// What a GPU job's host is asked; a CPU-only job's hosts are asked the last two alone.
const GPU_QUERIES: [(Metric, Stat); 6] = [
    (Metric::Gpu, Stat::Average),
    (Metric::Gpu, Stat::Maximum),
    (Metric::GpuMemory, Stat::Average),
    (Metric::GpuMemory, Stat::Maximum),
    (Metric::Cpu, Stat::Average),
    (Metric::Memory, Stat::Maximum),
];

fn asked(job: &DueJob) -> &'static [(Metric, Stat)] {
    if job.cpu_only {
        &GPU_QUERIES[4..]
    } else {
        &GPU_QUERIES
    }
}

/// Whose a query is: a job of the batch and its host (1-based); the figure is the query's.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Owner {
    job: usize,
    host: i64,
}

/// Jobs asked together: one window and period, their queries in calls of at most 500.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub jobs: Vec<DueJob>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub period_seconds: i32,
    pub queries: Vec<Query>,
    owners: Vec<Owner>,
}

impl Batch {
    /// The calls' queries.
    pub fn calls(&self) -> impl Iterator<Item = &[Query]> {
        self.queries.chunks(QUERIES_PER_CALL)
    }
}

/// The due jobs split into those CloudWatch no longer holds (ended more than 455 days before
/// `now`) and batches of the rest.
pub fn plan(due: Vec<DueJob>, now: DateTime<Utc>) -> (Vec<DueJob>, Vec<Batch>) {
    let (expired, mut live): (Vec<_>, Vec<_>) = due
        .into_iter()
        .partition(|j| now - j.end.as_datetime() > retention());
    live.sort_by_key(|j| j.start);
    let mut batches = Vec::new();
    let mut current: Vec<DueJob> = Vec::new();
    let mut queries = 0;
    for job in live {
        let n = asked(&job).len() * usize::try_from(job.hosts.max(0)).unwrap_or(usize::MAX);
        let tier = |j: &DueJob| resolution(now - j.start.as_datetime());
        let fits = queries + n <= QUERIES_PER_CALL;
        if let Some(first) = current.first()
            && (!fits || tier(first) != tier(&job))
        {
            batches.push(batch(std::mem::take(&mut current), now));
            queries = 0;
        }
        queries += n;
        current.push(job);
    }
    if !current.is_empty() {
        batches.push(batch(current, now));
    }
    (expired, batches)
}

fn floor(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step
}

fn batch(jobs: Vec<DueJob>, now: DateTime<Utc>) -> Batch {
    let first = jobs
        .iter()
        .map(|j| j.start.as_datetime())
        .min()
        .unwrap_or(now);
    let last = jobs
        .iter()
        .map(|j| j.end.as_datetime())
        .max()
        .unwrap_or(now);
    let step = resolution(now - first);
    let start = floor(first.timestamp(), step);
    let end = floor(last.timestamp() + step - 1, step).max(start + step);
    let mut queries = Vec::new();
    let mut owners = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        for host in 1..=job.hosts {
            for (metric, stat) in asked(job) {
                queries.push(Query {
                    id: format!("q{}", queries.len()),
                    host: format!("{}/algo-{host}", job.name),
                    metric: *metric,
                    stat: *stat,
                });
                owners.push(Owner { job: i, host });
            }
        }
    }
    let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or(now);
    Batch {
        jobs,
        start: at(start),
        end: at(end),
        period_seconds: i32::try_from(end - start).unwrap_or(i32::MAX),
        queries,
        owners,
    }
}

/// A figure that could not be read, to warn of: never stored, never 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub job: String,
    pub host: String,
    pub metric: &'static str,
    pub reason: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of job {} host {}: {}; skipped",
            self.metric, self.job, self.host, self.reason
        )
    }
}

/// What the batch's answers (every page's, in order) come to per job, and the figures skipped.
pub fn figures(batch: &Batch, answers: &[Answer]) -> (Vec<JobFigures>, Vec<Unreadable>) {
    let mut by_id: HashMap<&str, (Vec<f64>, Option<&str>)> = HashMap::new();
    for a in answers {
        let entry = by_id.entry(a.id.as_str()).or_default();
        entry.0.extend(&a.values);
        if a.status.is_some() {
            entry.1 = a.status.as_deref();
        }
    }
    let mut hosts: Vec<Vec<HostFigures>> = batch
        .jobs
        .iter()
        .map(|j| {
            (1..=j.hosts)
                .map(|n| HostFigures {
                    host: format!("algo-{n}"),
                    ..HostFigures::default()
                })
                .collect()
        })
        .collect();
    let mut skipped = Vec::new();
    for (q, owner) in batch.queries.iter().zip(&batch.owners) {
        let Some((values, status)) = by_id.get(q.id.as_str()) else {
            continue;
        };
        let host = usize::try_from(owner.host - 1).unwrap_or(0);
        let Some(slot) = hosts.get_mut(owner.job).and_then(|h| h.get_mut(host)) else {
            continue;
        };
        let unreadable = |reason: String| Unreadable {
            job: batch.jobs[owner.job].name.clone(),
            host: slot.host.clone(),
            metric: q.metric.name(),
            reason,
        };
        if status.is_some_and(|s| s != "Complete") {
            let status = status.unwrap_or_default();
            skipped.push(unreadable(format!("CloudWatch answered {status}")));
            continue;
        }
        if values.iter().any(|v| !v.is_finite()) {
            skipped.push(unreadable("a value that is not a number".into()));
            continue;
        }
        let value = match q.stat {
            // One point spans the run; more (a period cut short) weigh alike.
            Stat::Average if !values.is_empty() => {
                Some(values.iter().sum::<f64>() / values.len() as f64)
            }
            Stat::Maximum => values.iter().copied().reduce(f64::max),
            Stat::Average => None,
        };
        let field = match (q.metric, q.stat) {
            (Metric::Gpu, Stat::Average) => &mut slot.gpu_avg,
            (Metric::Gpu, Stat::Maximum) => &mut slot.gpu_max,
            (Metric::GpuMemory, Stat::Average) => &mut slot.gpu_memory_avg,
            (Metric::GpuMemory, Stat::Maximum) => &mut slot.gpu_memory_max,
            (Metric::Cpu, _) => &mut slot.cpu_avg,
            (Metric::Memory, _) => &mut slot.memory_max,
        };
        *field = value;
    }
    let jobs = batch
        .jobs
        .iter()
        .zip(hosts)
        .map(|(job, hosts)| {
            let answered: Vec<HostFigures> = hosts.into_iter().filter(|h| h.answered()).collect();
            let status = match answered.len() {
                0 => Status::NoData,
                n if i64::try_from(n).unwrap_or(i64::MAX) < job.hosts => Status::Partial,
                _ => Status::Measured,
            };
            JobFigures {
                arn: job.arn.clone(),
                status,
                hosts_expected: job.hosts,
                period_seconds: Some(i64::from(batch.period_seconds)),
                hosts: answered,
            }
        })
        .collect();
    (jobs, skipped)
}

/// What is stored of a job CloudWatch no longer holds.
pub fn expired(job: &DueJob) -> JobFigures {
    JobFigures {
        arn: job.arn.clone(),
        status: Status::Expired,
        hosts_expected: job.hosts,
        period_seconds: None,
        hosts: Vec::new(),
    }
}
