//! A big backlog, queryable in minutes: a scope's first sync walks Search first, which returns
//! 100 whole TrainingJob records per call with their tags, and stores every job from it at once
//! as a row built from Search (`described_at` NULL). Describes then complete those rows, newest
//! first, within `--describe-budget`, in this run and the next ones.
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

use super::tags::SearchTags;
use super::{ScopeError, ScopeReport, ScopeRun};
use crate::flatten::time;
use crate::source::api::normalised;
use crate::store::BacklogPosition;

/// Rows of the backlog read from the database at a time.
const CHUNK: u64 = 500;

impl ScopeRun<'_> {
    /// A first sync: stores every job Search returns, page by page, newest first, resuming a walk
    /// a killed run left. Search denied or failing leaves the jobs to the listing's describes.
    pub(super) async fn search_first(
        &mut self,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let label = self.scope.label.as_str();
        let mut walk = self.store.search_walk(label).await?;
        // Whole seconds only, so one second more: jobs of the second a page ended in may not
        // all be stored yet. What comes twice is stored once.
        let created_by = walk.reached.as_deref().and_then(whole_second_after);
        let mut token = None;
        let mut previous = HashSet::new();
        while !walk.complete {
            let (items, next) = match self
                .api
                .search_page(token.take(), created_by.as_deref())
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    let e = ScopeError::from(e);
                    // What stops every call of the scope (credentials, a region not enabled)
                    // is the scope's error, not Search's.
                    if e.stops_scope() {
                        return Err(e);
                    }
                    tracing::warn!(
                        "{label}: {e}; every job is described instead, and tags come from ListTags"
                    );
                    self.search = SearchTags::off();
                    return Ok(());
                }
            };
            // Jobs created during the walk push the others down a page: drop what the previous
            // page had.
            let mut keys = HashSet::new();
            let mut fresh = Vec::new();
            for item in items {
                let job = &item["TrainingJob"];
                if let Some(created) = normalised(&job["CreationTime"])
                    && walk.reached.as_ref().is_none_or(|r| &created < r)
                {
                    walk.reached = Some(created);
                }
                if let Some(arn) = job["TrainingJobArn"].as_str() {
                    if self.next.account_id.is_none() {
                        self.next.account_id =
                            crate::flatten::arn::parse(arn).map(|a| a.account_id.to_string());
                    }
                    if previous.contains(arn) {
                        continue;
                    }
                    keys.insert(arn.to_string());
                }
                fresh.push(item);
            }
            self.counts.listed(fresh.len() as u64);
            self.worker.store_now(fresh, report).await?;
            walk.complete = next.is_none();
            self.store.set_search_walk(label, &walk).await?;
            previous = keys;
            token = next;
        }
        self.tags_fresh = true;
        Ok(())
    }

    /// Describes the rows built from Search alone, newest first, at most `--describe-budget` of
    /// them, keeping the tags Search gave; then counts the rows left.
    pub(super) async fn complete_backlog(
        &mut self,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let Some(account) = self.next.account_id.clone() else {
            return Ok(());
        };
        let region = self.scope.region.as_str();
        let mut budget = self.opts.describe_budget.unwrap_or(u64::MAX);
        let mut from = BacklogPosition::default();
        while budget > 0 {
            let rows = self
                .store
                .undescribed(region, &account, &mut from, budget.min(CHUNK))
                .await?;
            if rows.is_empty() {
                break;
            }
            budget = budget.saturating_sub(rows.len() as u64);
            // A Search record of a job without tags may come without the member.
            let jobs = rows
                .into_iter()
                .map(|r| (r.name, Some(r.tags.unwrap_or(Value::Array(Vec::new())))))
                .collect();
            self.worker.describe_and_store(jobs, report).await?;
        }
        self.worker.finish(report).await?;
        report.incomplete = self.store.count_undescribed(region, &account).await?;
        Ok(())
    }
}

/// The whole second after `t`, as Search filters take it: `YYYY-mm-ddTHH:MM:SS`, UTC, no zone.
fn whole_second_after(t: &str) -> Option<String> {
    let t = time::parse(&Value::String(t.to_string()))?;
    let second = t.duration_trunc(TimeDelta::seconds(1)).ok()? + TimeDelta::seconds(1);
    Some(second.format("%Y-%m-%dT%H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_filters_take_the_next_whole_second() {
        assert_eq!(
            whole_second_after("2026-11-23T10:00:00.250Z").as_deref(),
            Some("2026-11-23T10:00:01")
        );
        assert_eq!(
            whole_second_after("2026-11-23T23:59:59Z").as_deref(),
            Some("2026-11-24T00:00:00")
        );
        assert_eq!(whole_second_after("not a time"), None);
    }
}
