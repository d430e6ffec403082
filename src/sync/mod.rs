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

mod backlog;
mod claim;
mod progress;
mod tags;
mod worker;

use crate::flatten::{Flattener, time};
use crate::source::api::Summary;
use crate::source::{Api, Scope, SourceError};
use crate::store::{Missing, Store, StoreError};
pub use claim::sync_all;
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
    /// `--all-regions`: a region an account has not enabled is skipped, not failed.
    pub all_regions: bool,
    /// `--scope-concurrency`: scopes synced at once by this worker.
    pub scope_concurrency: usize,
    /// `--wait`: a scope another worker holds is waited for rather than skipped.
    pub wait: bool,
    pub batch: usize,
    pub max_rps: Option<f64>,
    /// A scope's first sync walks Search first (off with `--no-search`).
    pub search_first: bool,
    /// `--describe-budget`: describes of rows built from Search, per scope and run.
    pub describe_budget: Option<u64>,
    /// Counts shared by every scope, for the live line on a terminal.
    pub progress: Arc<Progress>,
}

#[derive(Debug, Default)]
pub struct ScopeReport {
    pub label: String,
    pub listed: u64,
    /// Rows a first sync stored from Search records (`stored` counts described ones).
    pub searched: u64,
    pub described: u64,
    pub skipped: u64,
    pub stored: u64,
    pub deleted: u64,
    pub failed: u64,
    /// Rows still built from Search alone after this run: later runs describe them.
    pub incomplete: u64,
    pub calls: [(&'static str, u64); 4],
    pub elapsed: Duration,
    /// Why the scope stopped, when it did.
    pub error: Option<String>,
    /// This process, `host:pid`, as the summary names it.
    pub worker: String,
    /// Not synced here: another worker holds it or has just synced it.
    pub elsewhere: Option<Elsewhere>,
    /// The scope's account, when known before any call (an organization's account).
    pub account: Option<String>,
    /// `--all-regions`: the account has not enabled this region; skipped, not failed.
    pub not_enabled: bool,
}

/// Why a scope was left to another worker.
#[derive(Debug)]
pub enum Elsewhere {
    /// Another worker holds the scope (named when the server says which).
    Held(Option<String>),
    /// Another worker completed the scope after this run started.
    Done { worker: Option<String>, at: String },
}

impl ScopeReport {
    /// The other worker a scope was left to, as far as known.
    fn left_to(&self) -> Option<&str> {
        match &self.elsewhere {
            Some(Elsewhere::Held(w)) | Some(Elsewhere::Done { worker: w, .. }) => {
                Some(w.as_deref().unwrap_or("another worker"))
            }
            None => None,
        }
    }

    pub fn new(label: &str) -> Self {
        ScopeReport {
            label: label.to_string(),
            worker: crate::store::worker_name(),
            ..Default::default()
        }
    }

    pub fn stopped(label: &str, error: String) -> Self {
        ScopeReport {
            error: Some(error),
            ..Self::new(label)
        }
    }

    /// The closing line of a scope: the sentence for people, its figures as fields for JSON.
    pub fn log(&self) {
        let calls = |op: &str| {
            self.calls
                .iter()
                .find(|(name, _)| *name == op)
                .map_or(0, |(_, n)| *n)
        };
        macro_rules! summary {
            ($level:ident) => {
                tracing::$level!(
                    scope = %self.label,
                    listed = self.listed,
                    searched = self.searched,
                    described = self.described,
                    skipped = self.skipped,
                    stored = self.stored,
                    deleted = self.deleted,
                    failed = self.failed,
                    incomplete = self.incomplete,
                    calls.ListTrainingJobs = calls("ListTrainingJobs"),
                    calls.DescribeTrainingJob = calls("DescribeTrainingJob"),
                    calls.ListTags = calls("ListTags"),
                    calls.Search = calls("Search"),
                    seconds = self.elapsed.as_secs_f64(),
                    error = self.error.as_deref(),
                    worker = %self.worker,
                    left_to = self.left_to(),
                    "synced {self}"
                )
            };
        }
        if self.error.is_some() || self.failed > 0 {
            summary!(error);
        } else {
            summary!(info);
        }
    }
}

impl std::fmt::Display for ScopeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.elsewhere {
            Some(Elsewhere::Held(holder)) => {
                let who = holder.as_deref().unwrap_or("another worker");
                return write!(f, "{}: skipped, {who} holds it", self.label);
            }
            Some(Elsewhere::Done { worker, at }) => {
                let who = worker.as_deref().unwrap_or("another worker");
                return write!(
                    f,
                    "{}: skipped, {who} synced it at {at}, after this run started",
                    self.label
                );
            }
            None => {}
        }
        let calls: Vec<String> = self
            .calls
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        write!(f, "{}: listed {}", self.label, self.listed)?;
        if self.searched > 0 {
            write!(f, ", from Search {}", self.searched)?;
        }
        write!(
            f,
            ", described {}, skipped {}, stored {}, deleted {}, failed {}",
            self.described, self.skipped, self.stored, self.deleted, self.failed,
        )?;
        if self.incomplete > 0 {
            write!(
                f,
                ", {} rows from Search still to describe (the next syncs complete them)",
                self.incomplete
            )?;
        }
        write!(
            f,
            "; calls: {}; {:.1}s on {}",
            calls.join(", "),
            self.elapsed.as_secs_f64(),
            self.worker
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

impl ScopeError {
    /// What an opt-in region the account has not enabled answers (its credentials are unknown
    /// there), or a region whose SageMaker endpoint does not resolve (not offered there).
    fn region_not_enabled(&self) -> bool {
        match self {
            ScopeError::Source(SourceError::Call {
                code: Some(code), ..
            }) => matches!(
                code.as_str(),
                "UnrecognizedClientException"
                    | "InvalidClientTokenId"
                    | "OptInRequired"
                    | "AuthFailure"
            ),
            ScopeError::Source(SourceError::Call {
                code: None,
                message,
                ..
            }) => message.contains("dns error"),
            _ => false,
        }
    }

    /// The SDK could not get credentials (for a role: STS refused to assume it).
    fn credentials(&self) -> bool {
        matches!(self, ScopeError::Source(SourceError::Call { code: None, message, .. })
            if message.contains("credentials"))
    }

    /// No other call of the scope can succeed either.
    fn stops_scope(&self) -> bool {
        self.region_not_enabled() || self.credentials()
    }
}

/// One scope, claimed by this worker.
async fn sync_scope(
    store: &Store,
    scope: Scope,
    flattener: &Flattener,
    opts: &SyncOptions,
) -> ScopeReport {
    let started = Instant::now();
    let api = Api::new(scope.client(), &scope.label, opts.max_rps);
    let mut report = ScopeReport::new(&scope.label);
    report.account = scope.account.clone();
    if let Err(e) = run_scope(store, &scope, &api, flattener, opts, &mut report).await {
        let first_call = report.listed == 0 && api.calls.total() <= 1;
        if first_call && opts.all_regions && e.region_not_enabled() {
            report.not_enabled = true;
        } else {
            report.error = Some(match (&scope.role_arn, first_call) {
                (Some(role), true) if e.credentials() => format!("cannot assume {role}: {e}"),
                _ => e.to_string(),
            });
        }
    }
    opts.progress.of(&scope.label).done();
    report.calls = api.calls.snapshot();
    report.elapsed = started.elapsed();
    report
}

/// One scope's sync, step by step: on a first sync, store every job from Search; walk the listing
/// (each page: change detection, tags, describes, `--full`'s tag refresh); describe the stored
/// jobs that can still change; settle the jobs a full listing did not return, and only then move
/// the cursor; last, describe the rows built from Search, within the budget.
async fn run_scope(
    store: &Store,
    scope: &Scope,
    api: &Api,
    flattener: &Flattener,
    opts: &SyncOptions,
    report: &mut ScopeReport,
) -> Result<(), ScopeError> {
    let cursor = store.cursor(&scope.label).await?;
    if let Some(done) = done_elsewhere(&cursor, flattener, opts) {
        report.elsewhere = Some(done);
        return Ok(());
    }
    let counts = opts.progress.of(&scope.label);
    let mut run = ScopeRun {
        store,
        scope,
        api,
        opts,
        stop_before: stop_before(&cursor),
        next: cursor,
        worker: Worker::new(store, api, flattener, opts, counts.clone()),
        counts,
        search: SearchTags::default(),
        pages: 0,
        tags_fresh: false,
    };
    if opts.full.is_some() {
        store.clear_seen(&scope.label).await?;
    }
    let first = run.next.updated_at.is_none();
    if first && opts.search_first {
        run.search_first(report).await?;
    }
    run.walk_listing(report).await?;
    run.worker.finish(report).await?;
    run.redescribe_changeable(flattener, report).await?;
    // A failed describe must be retried next time: the cursor stays, nothing is settled. The
    // rows built from Search are completed either way: they wait for no cursor.
    if report.failed == 0 {
        run.settle_missing(report).await?;
        store
            .set_cursor(&scope.label, &run.next, &time::format(&time::now()))
            .await?;
        store.clear_search_walk(&scope.label).await?;
    }
    run.complete_backlog(report).await
}

/// A scope another worker completed after this run started needs no second sync in the same
/// round; `--full` runs anyway, since settling needs a complete listing of its own.
fn done_elsewhere(
    cursor: &crate::store::Cursor,
    flattener: &Flattener,
    opts: &SyncOptions,
) -> Option<Elsewhere> {
    let at = cursor.updated_at.as_deref()?;
    let completed = time::parse(&Value::String(at.to_string()))?;
    (opts.full.is_none() && completed >= flattener.synced_at).then(|| Elsewhere::Done {
        worker: cursor.worker.clone(),
        at: at.to_string(),
    })
}

/// Where the listing may stop: an hour before the newest creation time the last complete sync
/// saw, for jobs whose creation was not yet visible then.
fn stop_before(cursor: &crate::store::Cursor) -> Option<String> {
    cursor
        .newest_creation_time
        .as_deref()
        .and_then(|c| time::parse(&Value::String(c.to_string())))
        .map(|c| time::format(&(c - OVERLAP)))
}

/// The state of one scope's sync while it walks the listing.
struct ScopeRun<'a> {
    store: &'a Store,
    scope: &'a Scope,
    api: &'a Api,
    opts: &'a SyncOptions,
    stop_before: Option<String>,
    /// The cursor this sync will leave when it completes.
    next: crate::store::Cursor,
    worker: Worker<'a>,
    counts: Arc<progress::Counts>,
    search: SearchTags,
    /// Listing pages with jobs so far: the position Search has to reach for a page's tags.
    pages: u64,
    /// Every job's tags were just stored from Search: `--full` need not refresh them.
    tags_fresh: bool,
}

impl ScopeRun<'_> {
    /// Lists newest first, page by page, until the listing ends or reaches past the cursor.
    async fn walk_listing(&mut self, report: &mut ScopeReport) -> Result<(), ScopeError> {
        let mut token = None;
        loop {
            let (page, next_token) = self.api.list_page(token).await?;
            report.listed += page.len() as u64;
            self.counts.listed(page.len() as u64);
            self.advance_cursor(&page);
            self.handle_page(&page, report).await?;
            match next_token {
                Some(t) if !self.past_cursor(&page) => token = Some(t),
                _ => return Ok(()),
            }
        }
    }

    /// The account (from the first job seen) and the newest creation time listed.
    fn advance_cursor(&mut self, page: &[Summary]) {
        if self.next.account_id.is_none() {
            self.next.account_id = page
                .first()
                .and_then(|s| crate::flatten::arn::parse(&s.arn))
                .map(|a| a.account_id.to_string());
        }
        for s in page {
            if s.creation_time > self.next.newest_creation_time {
                self.next.newest_creation_time = s.creation_time.clone();
            }
        }
    }

    /// One listing page: describe what changed, with tags from Search where that is cheaper;
    /// with `--full`, note every job seen and refresh the tags of those that did not change.
    async fn handle_page(
        &mut self,
        page: &[Summary],
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let arns: Vec<String> = page.iter().map(|s| s.arn.clone()).collect();
        let (changed, unchanged) = self.changed(page, &arns).await?;
        report.skipped += unchanged.len() as u64;
        // Described jobs need tags; with --full, every job does.
        let refresh = self.opts.full.is_some() && !self.tags_fresh;
        let need_tags: Vec<&Summary> = match refresh {
            true => page.iter().collect(),
            false => changed.clone(),
        };
        let wanted: Vec<(&str, Option<&str>)> = need_tags
            .iter()
            .map(|s| (s.arn.as_str(), s.creation_time.as_deref()))
            .collect();
        let mut tags = self
            .search
            .for_page(self.api, &self.scope.label, self.pages, &wanted)
            .await;
        self.pages += u64::from(!page.is_empty());
        if self.opts.full.is_some() {
            self.store.add_seen(&self.scope.label, &arns).await?;
        }
        if refresh {
            let unchanged = unchanged
                .iter()
                .map(|s| (s.arn.clone(), tags.remove(&s.arn)))
                .collect();
            self.worker.refresh_tags(unchanged, report).await?;
        }
        let changed = changed
            .iter()
            .map(|s| (s.name.clone(), tags.remove(&s.arn)))
            .collect();
        self.worker.describe_and_store(changed, report).await
    }

    /// The page's jobs split into those new or changed since stored (by LastModifiedTime or
    /// status) and the rest.
    async fn changed<'p>(
        &self,
        page: &'p [Summary],
        arns: &[String],
    ) -> Result<(Vec<&'p Summary>, Vec<&'p Summary>), ScopeError> {
        let stored = self.store.stored_versions(arns).await?;
        Ok(page.iter().partition(|s| {
            stored
                .get(&s.arn)
                .is_none_or(|(lm, st)| *lm != s.last_modified_time || *st != s.status)
        }))
    }

    /// Newest first: once a page reaches past the cursor, every later page is older still.
    fn past_cursor(&self, page: &[Summary]) -> bool {
        self.opts.full.is_none()
            && self.stop_before.as_ref().is_some_and(|stop| {
                page.iter()
                    .any(|s| s.creation_time.as_ref().is_some_and(|c| c < stop))
            })
    }

    /// Stored before this run (not just described by it), and still able to change.
    async fn redescribe_changeable(
        &mut self,
        flattener: &Flattener,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let Some(account) = &self.next.account_id else {
            return Ok(());
        };
        let synced_at = time::format(&flattener.synced_at);
        let changeable = self
            .store
            .changeable_jobs(&self.scope.region, account, &synced_at)
            .await?;
        let changeable = changeable.into_iter().map(|name| (name, None)).collect();
        self.worker.describe_and_store(changeable, report).await?;
        self.worker.finish(report).await
    }

    /// `--full`: marks or deletes the stored jobs the complete listing did not return.
    async fn settle_missing(&self, report: &mut ScopeReport) -> Result<(), ScopeError> {
        let (Some(how), Some(account)) = (self.opts.full, &self.next.account_id) else {
            return Ok(());
        };
        let now = time::format(&time::now());
        report.deleted += self
            .store
            .settle_missing(&self.scope.label, &self.scope.region, account, how, &now)
            .await?;
        self.store.clear_seen(&self.scope.label).await?;
        Ok(())
    }
}
