//! A big backlog, queryable in minutes: a scope's first sync walks Search first, which returns
//! 100 whole TrainingJob records per call with their tags, and stores every job from it at once
//! as a row built from Search (`described_at` NULL). Describes complete those rows, newest first,
//! within `--describe-budget`: alongside the walk and the listing as soon as a page is stored,
//! and in the next runs alongside theirs.
//!
//! Both steps resume where a killed run stopped: the walk from the oldest creation time it had
//! stored (`sagesync_search_walk`), the describes from the rows still built from Search alone.
//! The listing that follows the walk is the safety net: a job Search has not indexed yet (or
//! skipped, as pages shift when jobs are deleted during the walk) is not stored, so the listing
//! describes it; one that changed since Search stored it has another LastModifiedTime, so the
//! listing describes it again.

use std::collections::HashSet;

use chrono::{DurationRound, TimeDelta};
use serde_json::Value;
use tokio::sync::watch;

use super::tags::SearchTags;
use super::worker::Worker;
use super::{ScopeError, ScopeReport, ScopeRun, SyncOptions};
use crate::model::op::Op;
use crate::model::time::Timestamp;
use crate::source::{Failure, Scope, SourceError};
use crate::store::{BacklogPosition, SearchWalk, Store};

/// Rows of the backlog read from the database at a time.
const CHUNK: u64 = 500;

impl ScopeRun<'_> {
    /// A first sync: stores every job Search returns, page by page, newest first, resuming a walk
    /// a killed run left. Search denied or failing leaves the jobs to the listing's describes.
    pub(super) async fn search_first(
        &mut self,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let id = self.scope.id.clone();
        let started = std::time::Instant::now();
        let mut walk = self.store.search_walk(&id).await?;
        // Whole seconds only, so one second more: jobs of the second a page ended in may not
        // all be stored yet. What comes twice is stored once.
        let created_by = walk.reached.and_then(whole_second_after);
        let api = self.api.clone();
        let fetch = |token| {
            let (api, created_by) = (api.clone(), created_by.clone());
            tokio::spawn(async move { api.search_page(token, created_by.as_deref()).await })
        };
        let mut next_page = (!walk.complete).then(|| fetch(None));
        let mut previous = HashSet::new();
        while let Some(task) = next_page.take() {
            let page = task.await.unwrap_or_else(|e| {
                Err(SourceError::Call {
                    operation: Op::Search,
                    code: None,
                    failure: Failure::Other,
                    message: e.to_string(),
                })
            });
            let (items, token) = match page {
                Ok(page) => page,
                Err(e) => return self.search_failed(e),
            };
            // The next page is on its way while this one is stored: the walk goes at the pace
            // of the calls, not of calls and writes in turn.
            next_page = token.map(|t| fetch(Some(t)));
            walk.complete = next_page.is_none();
            previous = self
                .store_search_page(items, &previous, &mut walk, report)
                .await?;
            self.store.set_search_walk(&id, &walk).await?;
            self.fed();
        }
        if walk.complete && report.searched > 0 {
            // The moment a big account becomes queryable (bench/backlog.sh reads it).
            tracing::info!(
                "{id}: every job Search returned is stored ({} in {:.1}s); describes complete the rows",
                report.searched,
                started.elapsed().as_secs_f64()
            );
        }
        self.tags_fresh = true;
        Ok(())
    }

    /// Search denied or failing: what stops every call of the scope (credentials, a region not
    /// enabled) is the scope's error; anything else leaves every job to the listing.
    fn search_failed(&mut self, e: SourceError) -> Result<(), ScopeError> {
        let e = ScopeError::from(e);
        if e.stops_scope() {
            return Err(e);
        }
        tracing::warn!(
            "{}: {e}; every job is described instead, and tags come from ListTags",
            self.scope.id
        );
        self.search = SearchTags::off();
        Ok(())
    }

    /// Stores one page of Search records, but those the previous page had (`previous`): jobs
    /// created during the walk push the others down a page. Returns the page's ARNs.
    async fn store_search_page(
        &mut self,
        items: Vec<Value>,
        previous: &HashSet<String>,
        walk: &mut SearchWalk,
        report: &mut ScopeReport,
    ) -> Result<HashSet<String>, ScopeError> {
        let mut keys = HashSet::new();
        let mut fresh = Vec::new();
        for item in items {
            let job = &item["TrainingJob"];
            if let Some(created) = Timestamp::of(&job["CreationTime"])
                && walk.reached.is_none_or(|r| created < r)
            {
                walk.reached = Some(created);
            }
            if let Some(arn) = job["TrainingJobArn"].as_str() {
                if self.next.account_id.is_none() {
                    self.next.account_id =
                        crate::model::arn::parse(arn).map(|a| a.account_id.to_string());
                }
                if previous.contains(arn) {
                    continue;
                }
                keys.insert(arn.to_string());
            }
            fresh.push(item);
        }
        // The live line counts them as stored; the listing counts them as listed.
        self.worker.store_now(fresh, report).await?;
        Ok(keys)
    }
}

/// The describes that complete the rows built from Search alone, newest first, at most
/// `--describe-budget` of them, keeping the tags Search gave. They run alongside the scope's main
/// path: on a first sync, as soon as Search has stored a page; on a later one, from the start.
pub(super) struct Backlog<'a> {
    store: &'a Store,
    scope: &'a Scope,
    budget: u64,
    worker: Worker<'a>,
    from: BacklogPosition,
    report: ScopeReport,
}

impl<'a> Backlog<'a> {
    pub(super) fn new(
        store: &'a Store,
        scope: &'a Scope,
        opts: &SyncOptions,
        worker: Worker<'a>,
    ) -> Self {
        Backlog {
            store,
            scope,
            budget: opts.describe_budget.unwrap_or(u64::MAX),
            worker,
            from: BacklogPosition::default(),
            report: ScopeReport::new(&scope.id),
        }
    }

    /// Describes until no row is left, or the budget is spent, once the main path is done
    /// (`fed` closed). `fed` gives the scope's account once known and says when Search stored
    /// more rows. Returns the counts, and how many rows are left.
    pub(super) async fn run(
        mut self,
        mut fed: watch::Receiver<Option<String>>,
    ) -> Result<ScopeReport, ScopeError> {
        let mut open = true;
        while self.budget > 0 {
            let account = fed.borrow_and_update().clone();
            let rows = match &account {
                Some(account) => {
                    let n = self.budget.min(CHUNK);
                    let region = self.scope.id.region();
                    self.store
                        .undescribed(region, account, &mut self.from, n)
                        .await?
                }
                None => Vec::new(),
            };
            if rows.is_empty() {
                // Rows stored just before the main path ended get one last look.
                match (open, fed.changed().await) {
                    (_, Ok(())) => continue,
                    (true, Err(_)) => {
                        open = false;
                        continue;
                    }
                    (false, Err(_)) => break,
                }
            }
            self.budget = self.budget.saturating_sub(rows.len() as u64);
            // A Search record of a job without tags may come without the member.
            let jobs = rows
                .into_iter()
                .map(|r| (r.name, Some(r.tags.unwrap_or(Value::Array(Vec::new())))))
                .collect();
            self.worker
                .describe_and_store(jobs, &mut self.report)
                .await?;
        }
        self.worker.finish(&mut self.report).await?;
        // The budget spent, what is left is counted once the main path is done.
        while fed.changed().await.is_ok() {}
        let account = fed.borrow().clone();
        if let Some(account) = account {
            let region = self.scope.id.region();
            self.report.incomplete = self.store.count_undescribed(region, &account).await?;
        }
        Ok(self.report)
    }
}

/// The whole second after `t`, as Search filters take it: `YYYY-mm-ddTHH:MM:SS`, UTC, no zone.
fn whole_second_after(t: Timestamp) -> Option<String> {
    let t = t.as_datetime();
    let second = t.duration_trunc(TimeDelta::seconds(1)).ok()? + TimeDelta::seconds(1);
    Some(second.format("%Y-%m-%dT%H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_filters_take_the_next_whole_second() {
        let after = |t| Timestamp::parse(t).and_then(whole_second_after);
        assert_eq!(
            after("2026-11-23T10:00:00.250Z").as_deref(),
            Some("2026-11-23T10:00:01")
        );
        assert_eq!(
            after("2026-11-23T23:59:59Z").as_deref(),
            Some("2026-11-24T00:00:00")
        );
        assert_eq!(after("not a time"), None);
    }
}
