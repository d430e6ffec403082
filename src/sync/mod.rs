//! `sagesync sync`: brings the inventory up to date from the SageMaker API, costing what changed
//! rather than what exists.
//!
//! Per scope: list newest first and stop once past the cursor (with an overlap); describe a listed
//! job only if it is new or its summary's LastModifiedTime or status differs from what is stored,
//! taking its tags from Search or ListTags, whichever costs fewer calls (`tags`); describe by name
//! the stored jobs that can still change however old they are; store in
//! batches through the same flattener as `load`; advance the cursor only after all of it is
//! committed. Scopes run concurrently and fail independently.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

mod progress;
mod tags;
mod worker;

use crate::flatten::{Flattener, time};
use crate::source::api::Summary;
use crate::source::{Api, Calls, RateLimit, Scope, SourceError};
use crate::store::{Missing, Store, StoreError};
pub use progress::Progress;
use tags::SearchTags;
use worker::Worker;

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
    /// Counts shared by every scope, for the live line on a terminal.
    pub progress: Arc<Progress>,
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
    pub calls: [(&'static str, u64); 4],
    pub elapsed: Duration,
    /// Why the scope stopped, when it did.
    pub error: Option<String>,
}

impl ScopeReport {
    /// The closing line of a scope, as text or JSON fields.
    pub fn log(&self) {
        let calls: serde_json::Map<String, Value> = self
            .calls
            .iter()
            .map(|(op, n)| (op.to_string(), Value::from(*n)))
            .collect();
        let fields = serde_json::json!({
            "scope": self.label, "listed": self.listed, "described": self.described,
            "skipped": self.skipped, "stored": self.stored, "deleted": self.deleted,
            "failed": self.failed, "calls": calls, "seconds": self.elapsed.as_secs_f64(),
            "error": self.error,
        });
        let level = if self.error.is_some() || self.failed > 0 {
            "error"
        } else {
            "info"
        };
        crate::log::emit(level, &format!("synced {self}"), fields);
    }
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
            write!(
                f,
                "; stopped: {e} (the cursor did not move: the next sync resumes from it)"
            )?;
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
    opts.progress.of(&scope.label).done();
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
    let mut next = cursor;
    let counts = opts.progress.of(&scope.label);
    let mut writer = Worker::new(store, api, flattener, opts, counts.clone());
    if opts.full.is_some() {
        store.clear_seen(&scope.label).await?;
    }

    let mut search = SearchTags::default();
    let mut token = None;
    // Pages with jobs so far: the position Search has to reach for this page's tags.
    let mut pages = 0;
    loop {
        let (page, next_token) = api.list_page(token).await?;
        report.listed += page.len() as u64;
        counts.listed(page.len() as u64);
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
        let (changed, unchanged): (Vec<&Summary>, Vec<&Summary>) = page.iter().partition(|s| {
            stored
                .get(&s.arn)
                .is_none_or(|(lm, st)| *lm != s.last_modified_time || *st != s.status)
        });
        report.skipped += unchanged.len() as u64;
        // Described jobs need tags; with --full, every job does.
        let need_tags: Vec<&Summary> = match opts.full {
            Some(_) => page.iter().collect(),
            None => changed.clone(),
        };
        let wanted: Vec<(&str, Option<&str>)> = need_tags
            .iter()
            .map(|s| (s.arn.as_str(), s.creation_time.as_deref()))
            .collect();
        let mut tags = search.for_page(api, &scope.label, pages, &wanted).await;
        pages += u64::from(!page.is_empty());
        if opts.full.is_some() {
            store.add_seen(&scope.label, &arns).await?;
            let unchanged = unchanged
                .iter()
                .map(|s| (s.arn.clone(), tags.remove(&s.arn)))
                .collect();
            writer.refresh_tags(unchanged, report).await?;
        }
        let changed = changed
            .iter()
            .map(|s| (s.name.clone(), tags.remove(&s.arn)))
            .collect();
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

    writer.finish(report).await?;
    // Stored before this run (not just described by it), and still able to change.
    if let Some(account) = &next.account_id {
        let synced_at = time::format(&flattener.synced_at);
        let changeable = store
            .changeable_jobs(&scope.region, account, &synced_at)
            .await?;
        let changeable = changeable.into_iter().map(|name| (name, None)).collect();
        writer.describe_and_store(changeable, report).await?;
        writer.finish(report).await?;
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
