//! `sagesync sync`: brings the inventory up to date from the SageMaker API, costing what changed
//! rather than what exists.
//!
//! Per scope: on a first sync, store every job from Search pages at once (`backlog`); list newest
//! first and stop once past the cursor (with an overlap); describe a listed job only if it is new
//! or its summary's LastModifiedTime or status differs from what is stored, taking its tags from
//! Search or ListTags, whichever costs fewer calls (`tags`); describe by name the stored jobs that
//! can still change however old they are; store in batches through the same flattener as `load`;
//! advance the cursor only after all of it is committed. Alongside, describes complete the rows
//! built from Search. Scopes run concurrently and fail independently.

use std::sync::Arc;
use std::time::Instant;

mod backlog;
mod claim;
mod paces;
mod progress;
mod report;
mod tags;
#[cfg(test)]
mod tests;
mod worker;

use crate::flatten::Flattener;
use crate::model::time::Timestamp;
use crate::source::api::Summary;
use crate::source::sdk::SdkSageMaker;
use crate::source::{Api, Failure, Scope, SourceError};
use crate::store::{Missing, Store, StoreError};
use backlog::Backlog;
pub use claim::sync_all;
pub use progress::Progress;
pub use report::{Elsewhere, ScopeReport};
use tags::SearchTags;
use tokio::sync::watch;
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

#[derive(Debug, thiserror::Error)]
enum ScopeError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ScopeError {
    /// A region the account has not enabled, or where SageMaker is not offered.
    fn region_not_enabled(&self) -> bool {
        matches!(self, ScopeError::Source(e) if e.is_region_not_enabled())
    }

    /// The SDK could not get credentials (for a role: STS refused to assume it).
    fn credentials(&self) -> bool {
        matches!(
            self,
            ScopeError::Source(SourceError::Call {
                failure: Failure::Credentials,
                ..
            })
        )
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
    let starts = paces::starts(store, &scope.id).await;
    let api = SdkSageMaker::api(scope.client(), &scope.id, &starts, opts.max_rps);
    let report = sync_scope_with(store, &scope, &api, flattener, opts).await;
    paces::remember(store, &scope.id, &api).await;
    report
}

/// [`sync_scope`] through `api`: the SDK's, or an in-process SageMaker in tests.
async fn sync_scope_with(
    store: &Store,
    scope: &Scope,
    api: &Api,
    flattener: &Flattener,
    opts: &SyncOptions,
) -> ScopeReport {
    let started = Instant::now();
    let mut report = ScopeReport::new(&scope.id);
    report.account = scope.account.clone();
    if let Err(e) = run_scope(store, scope, api, flattener, opts, &mut report).await {
        // Nothing came back from the scope: neither the listing nor Search (which a first sync
        // starts alongside) answered, so the failure is the scope's, not a job's.
        let first_call = report.listed == 0 && report.searched == 0;
        if first_call && opts.all_regions && e.region_not_enabled() {
            report.not_enabled = true;
        } else {
            report.error = Some(match (&scope.role_arn, first_call) {
                (Some(role), true) if e.credentials() => format!("cannot assume {role}: {e}"),
                _ => e.to_string(),
            });
        }
    }
    opts.progress.of(&scope.id).done();
    report.calls = api.calls.snapshot();
    report.elapsed = started.elapsed();
    report
}

/// One scope's sync: the steps of [`ScopeRun::main_path`] and, alongside them, the describes that
/// complete the rows built from Search, within the budget (`backlog`).
async fn run_scope(
    store: &Store,
    scope: &Scope,
    api: &Api,
    flattener: &Flattener,
    opts: &SyncOptions,
    report: &mut ScopeReport,
) -> Result<(), ScopeError> {
    let cursor = store.cursor(&scope.id).await?;
    if let Some(done) = done_elsewhere(&cursor, flattener, opts) {
        report.elsewhere = Some(done);
        return Ok(());
    }
    let counts = opts.progress.of(&scope.id);
    let (feed, fed) = watch::channel(cursor.account_id.clone());
    let worker = Worker::new(store, api, flattener, opts, counts.clone());
    let backlog = Backlog::new(store, scope, opts, worker.alongside());
    let mut run = ScopeRun {
        store,
        scope,
        api,
        opts,
        stop_before: stop_before(&cursor),
        next: cursor,
        worker,
        counts,
        search: SearchTags::default(),
        pages: 0,
        tags_fresh: false,
        feed: Some(feed),
    };
    // The rows built from Search are described alongside the rest, as soon as they are stored.
    let (moved, completed) = tokio::try_join!(run.main_path(flattener, report), backlog.run(fed))?;
    report.absorb(completed);
    if moved {
        // Stamped again now that the describes alongside are done too: a worker that waited
        // for this scope, and started before this moment, must find it synced and skip it.
        let now = Timestamp::now();
        store.set_cursor(&scope.id, &run.next, now).await?;
    }
    Ok(())
}

/// A scope another worker completed after this run started needs no second sync in the same
/// round; `--full` runs anyway, since settling needs a complete listing of its own.
fn done_elsewhere(
    cursor: &crate::store::Cursor,
    flattener: &Flattener,
    opts: &SyncOptions,
) -> Option<Elsewhere> {
    let completed = cursor.updated_at?;
    (opts.full.is_none() && completed >= flattener.synced_at).then(|| Elsewhere::Done {
        worker: cursor.worker.clone(),
        at: completed.to_string(),
    })
}

/// Where the listing may stop: an hour before the newest creation time the last complete sync
/// saw, for jobs whose creation was not yet visible then.
fn stop_before(cursor: &crate::store::Cursor) -> Option<Timestamp> {
    cursor
        .newest_creation_time
        .and_then(|c| Timestamp::from_datetime(c.as_datetime() - OVERLAP))
}

/// The state of one scope's sync while it walks the listing.
struct ScopeRun<'a> {
    store: &'a Store,
    scope: &'a Scope,
    api: &'a Api,
    opts: &'a SyncOptions,
    stop_before: Option<Timestamp>,
    /// The cursor this sync will leave when it completes.
    next: crate::store::Cursor,
    worker: Worker<'a>,
    counts: Arc<progress::Counts>,
    search: SearchTags,
    /// Listing pages with jobs so far: the position Search has to reach for a page's tags.
    pages: u64,
    /// Every job's tags were just stored from Search: `--full` need not refresh them.
    tags_fresh: bool,
    /// Tells the backlog's describes the scope's account once known, and that Search stored
    /// more; dropped when the main path is done.
    feed: Option<watch::Sender<Option<String>>>,
}

impl ScopeRun<'_> {
    /// On a first sync, store every job from Search; walk the listing (each page: change
    /// detection, tags, describes, `--full`'s tag refresh); describe the stored jobs that can
    /// still change; settle the jobs a full listing did not return, and only then move the cursor.
    /// Returns whether it moved.
    async fn main_path(
        &mut self,
        flattener: &Flattener,
        report: &mut ScopeReport,
    ) -> Result<bool, ScopeError> {
        let id = &self.scope.id;
        if self.opts.full.is_some() {
            self.store.clear_seen(id).await?;
        }
        if self.next.updated_at.is_none() && self.opts.search_first {
            self.search_first(report).await?;
        }
        self.walk_listing(report).await?;
        self.worker.finish(report).await?;
        self.redescribe_changeable(flattener, report).await?;
        // A failed describe must be retried next time: the cursor stays, nothing is settled.
        // The rows built from Search are completed either way: they wait for no cursor.
        let moved = report.failed == 0;
        if moved {
            self.settle_missing(report).await?;
            let now = Timestamp::now();
            self.store.set_cursor(id, &self.next, now).await?;
            self.store.clear_search_walk(id).await?;
        }
        self.feed = None;
        Ok(moved)
    }

    /// Tells the backlog what is new: the account, or rows stored from Search.
    fn fed(&self) {
        if let Some(feed) = &self.feed {
            feed.send_replace(self.next.account_id.clone());
        }
    }

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
                .and_then(|s| crate::model::arn::parse(&s.arn))
                .map(|a| a.account_id.to_string());
            self.fed();
        }
        for s in page {
            if s.creation_time > self.next.newest_creation_time {
                self.next.newest_creation_time = s.creation_time;
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
        let wanted: Vec<(&str, Option<Timestamp>)> = need_tags
            .iter()
            .map(|s| (s.arn.as_str(), s.creation_time))
            .collect();
        let mut tags = self
            .search
            .for_page(self.api, &self.scope.id, self.pages, &wanted)
            .await;
        self.pages += u64::from(!page.is_empty());
        if self.opts.full.is_some() {
            self.store.add_seen(&self.scope.id, &arns).await?;
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
            && self.stop_before.is_some_and(|stop| {
                page.iter()
                    .any(|s| s.creation_time.is_some_and(|c| c < stop))
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
        let changeable = self
            .store
            .changeable_jobs(self.scope.id.region(), account, flattener.synced_at)
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
        let now = Timestamp::now();
        report.deleted += self
            .store
            .settle_missing(&self.scope.id, account, how, now)
            .await?;
        self.store.clear_seen(&self.scope.id).await?;
        Ok(())
    }
}
