//! `sagesync sync`: brings the inventory up to date from the SageMaker API, costing what changed
//! rather than what exists.
//!
//! Per scope: list newest first and stop once past the cursor (with an overlap); describe a listed
//! job only if it is new or its summary's LastModifiedTime or status differs from what is stored;
//! describe by name the stored jobs that can still change however old they are; store in
//! batches through the same flattener as `load`; advance the cursor only after all of it is
//! committed. Scopes run concurrently and fail independently.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::flatten::{Flattener, JobRecord, time};
use crate::source::{Api, Calls, RateLimit, Scope, SourceError};
use crate::store::{Cursor, Missing, Store, StoreError, Writer};

/// How far before the cursor the listing still looks, for jobs whose creation was not yet
/// visible when the last sync listed.
const OVERLAP: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// `--full`: walk the whole listing, refresh every job's tags, and settle the jobs the API no
    /// longer returns this way.
    pub full: Option<Missing>,
    pub concurrency: usize,
    pub batch: usize,
    pub max_rps: Option<f64>,
}

#[derive(Debug, Default)]
pub struct ScopeReport {
    pub label: String,
    pub listed: u64,
    pub described: u64,
    pub skipped: u64,
    pub stored: u64,
    pub deleted: u64,
    pub failed: u64,
    pub calls: [(&'static str, u64); 3],
    pub elapsed: Duration,
    /// Why the scope stopped, when it did.
    pub error: Option<String>,
}

impl std::fmt::Display for ScopeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let calls: Vec<String> = self
            .calls
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        write!(
            f,
            "{}: listed {}, described {}, skipped {}, stored {}, deleted {}, failed {}; calls: {}; {:.1}s",
            self.label,
            self.listed,
            self.described,
            self.skipped,
            self.stored,
            self.deleted,
            self.failed,
            calls.join(", "),
            self.elapsed.as_secs_f64()
        )?;
        if let Some(e) = &self.error {
            write!(f, "; stopped: {e}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
enum ScopeError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Syncs every scope concurrently; one failing scope does not stop the others.
pub async fn sync_all(
    store: &Store,
    scopes: Vec<Scope>,
    flattener: Arc<Flattener>,
    opts: &SyncOptions,
) -> Vec<ScopeReport> {
    let mut tasks = JoinSet::new();
    for scope in scopes {
        let (store, flattener, opts) = (store.clone(), flattener.clone(), opts.clone());
        tasks.spawn(async move { sync_scope(&store, scope, &flattener, &opts).await });
    }
    let mut reports = Vec::new();
    while let Some(done) = tasks.join_next().await {
        reports.push(done.unwrap_or_else(|e| ScopeReport {
            error: Some(format!("the scope's task failed: {e}")),
            ..Default::default()
        }));
    }
    reports.sort_by(|a, b| a.label.cmp(&b.label));
    reports
}

async fn sync_scope(
    store: &Store,
    scope: Scope,
    flattener: &Flattener,
    opts: &SyncOptions,
) -> ScopeReport {
    let started = Instant::now();
    let api = Api {
        client: scope.client.clone(),
        calls: Arc::new(Calls::default()),
        limit: opts.max_rps.and_then(RateLimit::per_second).map(Arc::new),
    };
    let mut report = ScopeReport {
        label: scope.label.clone(),
        ..Default::default()
    };
    if let Err(e) = run_scope(store, &scope, &api, flattener, opts, &mut report).await {
        report.error = Some(e.to_string());
    }
    report.calls = api.calls.snapshot();
    report.elapsed = started.elapsed();
    report
}

async fn run_scope(
    store: &Store,
    scope: &Scope,
    api: &Api,
    flattener: &Flattener,
    opts: &SyncOptions,
    report: &mut ScopeReport,
) -> Result<(), ScopeError> {
    let cursor = store.cursor(&scope.label).await?;
    let stop_before = cursor
        .newest_creation_time
        .as_deref()
        .and_then(|c| time::parse(&Value::String(c.to_string())))
        .map(|c| time::format(&(c - OVERLAP)));
    let mut next = Cursor { ..cursor.clone() };
    let mut writer = Worker::new(store, api, flattener, opts);
    if opts.full.is_some() {
        store.clear_seen(&scope.label).await?;
    }

    let mut token = None;
    loop {
        let (page, next_token) = api.list_page(token).await?;
        report.listed += page.len() as u64;
        if next.account_id.is_none() {
            next.account_id = page
                .first()
                .and_then(|s| crate::flatten::arn::parse(&s.arn))
                .map(|a| a.account_id.to_string());
        }
        for s in &page {
            if s.creation_time > next.newest_creation_time {
                next.newest_creation_time = s.creation_time.clone();
            }
        }
        let arns: Vec<String> = page.iter().map(|s| s.arn.clone()).collect();
        let stored = store.stored_versions(&arns).await?;
        let changed: Vec<String> = page
            .iter()
            .filter(|s| {
                stored
                    .get(&s.arn)
                    .is_none_or(|(lm, st)| *lm != s.last_modified_time || *st != s.status)
            })
            .map(|s| s.name.clone())
            .collect();
        report.skipped += (page.len() - changed.len()) as u64;
        if opts.full.is_some() {
            store.add_seen(&scope.label, &arns).await?;
            let unchanged: Vec<String> = page
                .iter()
                .filter(|s| !changed.contains(&s.name))
                .map(|s| s.arn.clone())
                .collect();
            writer.refresh_tags(unchanged, report).await?;
        }
        writer.describe_and_store(changed, report).await?;

        // Newest first: once a page reaches past the cursor, every later page is older still.
        let past_cursor = opts.full.is_none()
            && stop_before.as_ref().is_some_and(|stop| {
                page.iter()
                    .any(|s| s.creation_time.as_ref().is_some_and(|c| c < stop))
            });
        match next_token {
            Some(t) if !past_cursor => token = Some(t),
            _ => break,
        }
    }

    // Stored before this run (not just described), and still able to change.
    writer.flush(report).await?;
    if let Some(account) = &next.account_id {
        let synced_at = time::format(&flattener.synced_at);
        let changeable = store
            .changeable_jobs(&scope.region, account, &synced_at)
            .await?;
        writer.describe_and_store(changeable, report).await?;
        writer.flush(report).await?;
    }
    if report.failed > 0 {
        // A failed describe must be retried next time: the cursor stays, nothing is settled.
        return Ok(());
    }
    if let (Some(how), Some(account)) = (opts.full, &next.account_id) {
        let now = time::format(&time::now());
        report.deleted += store
            .settle_missing(&scope.label, &scope.region, account, how, &now)
            .await?;
        store.clear_seen(&scope.label).await?;
    }
    store
        .set_cursor(&scope.label, &next, &time::format(&time::now()))
        .await?;
    Ok(())
}

/// Describes jobs concurrently and stores them in batches.
struct Worker<'a> {
    store: &'a Store,
    api: &'a Api,
    flattener: &'a Flattener,
    opts: &'a SyncOptions,
    writer: Writer,
    pending: Vec<JobRecord>,
    gone: Vec<String>,
}

impl<'a> Worker<'a> {
    fn new(
        store: &'a Store,
        api: &'a Api,
        flattener: &'a Flattener,
        opts: &'a SyncOptions,
    ) -> Self {
        Worker {
            store,
            api,
            flattener,
            opts,
            writer: Writer::new(store.backend()),
            pending: Vec::new(),
            gone: Vec::new(),
        }
    }

    async fn describe_and_store(
        &mut self,
        names: Vec<String>,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let limit = Arc::new(Semaphore::new(self.opts.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for name in names {
            let (api, limit) = (self.api.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let result = describe_with_tags(&api, &name).await;
                (name, result)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let Ok((name, result)) = done else {
                report.failed += 1;
                continue;
            };
            match result {
                Ok(Some(doc)) => {
                    report.described += 1;
                    match self.flattener.flatten(doc) {
                        Ok(job) => self.pending.push(job),
                        Err(e) => {
                            eprintln!("sagesync: {}: refused {name}: {e}", report.label);
                            report.failed += 1;
                        }
                    }
                }
                // Gone between list and describe.
                Ok(None) => self.gone.push(name),
                Err(e) => {
                    eprintln!("sagesync: {}: {name}: {e}", report.label);
                    report.failed += 1;
                }
            }
            if self.pending.len() >= self.opts.batch {
                self.flush(report).await?;
            }
        }
        Ok(())
    }

    /// `--full`: fetches the tags of jobs that did not change and re-stores those whose tags did,
    /// from their stored `raw`, without describing them.
    async fn refresh_tags(
        &mut self,
        arns: Vec<String>,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let limit = Arc::new(Semaphore::new(self.opts.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for arn in arns {
            let (api, limit) = (self.api.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let tags = api.tags(&arn).await;
                (arn, tags)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let Ok((arn, tags)) = done else {
                report.failed += 1;
                continue;
            };
            let tags = match tags {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("sagesync: {}: {arn}: {e}", report.label);
                    report.failed += 1;
                    continue;
                }
            };
            let Some((mut raw, stored)) = self.store.raw_and_tags(&arn).await? else {
                continue;
            };
            if crate::flatten::tags_map(&tags) == crate::flatten::tags_map(&stored) {
                continue;
            }
            raw["Tags"] = tags;
            match self.flattener.flatten(raw) {
                Ok(job) => self.pending.push(job),
                Err(e) => {
                    eprintln!("sagesync: {}: refused {arn}: {e}", report.label);
                    report.failed += 1;
                }
            }
            if self.pending.len() >= self.opts.batch {
                self.flush(report).await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self, report: &mut ScopeReport) -> Result<(), ScopeError> {
        if !self.pending.is_empty() {
            let jobs = std::mem::take(&mut self.pending);
            let n = jobs.len() as u64;
            self.store.write(self.writer.prepare(jobs)?).await?;
            report.stored += n;
        }
        if !self.gone.is_empty() {
            let names = std::mem::take(&mut self.gone);
            let arns = self.store.arns_of(&names).await?;
            self.store
                .mark_deleted(&arns, &time::format(&time::now()))
                .await?;
            report.deleted += arns.len() as u64;
        }
        Ok(())
    }
}

/// The job as DescribeTrainingJob returns it, with its tags from ListTags; `None` when gone.
async fn describe_with_tags(api: &Api, name: &str) -> Result<Option<Value>, SourceError> {
    let Some(mut doc) = api.describe(name).await? else {
        return Ok(None);
    };
    if let Some(arn) = doc
        .get("TrainingJobArn")
        .and_then(Value::as_str)
        .map(str::to_string)
    {
        let tags = api.tags(&arn).await?;
        doc["Tags"] = tags;
    }
    Ok(Some(doc))
}
