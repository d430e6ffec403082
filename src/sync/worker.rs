//! The part of a sync that talks to the API per job: describes run concurrently under
//! `--concurrency`, with ListTags for the jobs whose tags Search did not give; `--full` tag
//! refreshes; and the batches they fill, each stored in one transaction.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Progress, ScopeError, ScopeReport, SyncOptions};
use crate::flatten::{Flattener, JobRecord, time};
use crate::source::{Api, SourceError};
use crate::store::{Store, Writer};

/// Describes jobs concurrently and stores them in batches.
pub(super) struct Worker<'a> {
    store: &'a Store,
    api: &'a Api,
    flattener: &'a Flattener,
    opts: &'a SyncOptions,
    writer: Writer,
    pending: Vec<JobRecord>,
    gone: Vec<String>,
}

impl<'a> Worker<'a> {
    pub(super) fn new(
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

    /// Runs `call` for each key, at most `--concurrency` at a time; results come back as they
    /// finish, with their key.
    fn each_limited<T, F, Fut>(&self, keys: Vec<(String, Known)>, call: F) -> JoinSet<(String, T)>
    where
        F: Fn(Api, String, Known) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let limit = Arc::new(Semaphore::new(self.opts.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for (key, known) in keys {
            // The future does nothing until the task polls it, after taking a permit.
            let (limit, work) = (limit.clone(), call(self.api.clone(), key.clone(), known));
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (key, work.await)
            });
        }
        tasks
    }

    /// Describes the jobs (name, tags if already known) and stores them.
    pub(super) async fn describe_and_store(
        &mut self,
        jobs: Vec<(String, Known)>,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let mut tasks = self.each_limited(jobs, |api, name, tags| async move {
            describe_with_tags(&api, &name, tags).await
        });
        while let Some(done) = tasks.join_next().await {
            let Ok((name, result)) = done else {
                report.failed += 1;
                continue;
            };
            match result {
                Ok(Some(doc)) => {
                    report.described += 1;
                    Progress::add(&self.opts.progress.described, 1);
                    match self.flattener.flatten(doc) {
                        Ok(job) => self.pending.push(job),
                        Err(e) => {
                            crate::log::warn(&format!("{}: refused {name}: {e}", report.label));
                            report.failed += 1;
                        }
                    }
                }
                // Gone between list and describe.
                Ok(None) => self.gone.push(name),
                Err(e) => {
                    crate::log::warn(&format!("{}: {name}: {e}", report.label));
                    report.failed += 1;
                }
            }
            if self.pending.len() >= self.opts.batch {
                self.flush(report).await?;
            }
        }
        Ok(())
    }

    /// `--full`: takes the tags of jobs (ARN, tags if already known) that did not change and
    /// re-stores those whose tags did, from their stored `raw`, without describing them.
    pub(super) async fn refresh_tags(
        &mut self,
        jobs: Vec<(String, Known)>,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let mut tasks = self.each_limited(jobs, |api, arn, tags| async move {
            match tags {
                Some(tags) => Ok(tags),
                None => api.tags(&arn).await,
            }
        });
        while let Some(done) = tasks.join_next().await {
            let Ok((arn, tags)) = done else {
                report.failed += 1;
                continue;
            };
            let tags = match tags {
                Ok(t) => t,
                Err(e) => {
                    crate::log::warn(&format!("{}: {arn}: {e}", report.label));
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
                    crate::log::warn(&format!("{}: refused {arn}: {e}", report.label));
                    report.failed += 1;
                }
            }
            if self.pending.len() >= self.opts.batch {
                self.flush(report).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn flush(&mut self, report: &mut ScopeReport) -> Result<(), ScopeError> {
        if !self.pending.is_empty() {
            let jobs = std::mem::take(&mut self.pending);
            let n = jobs.len() as u64;
            self.store.write(self.writer.prepare(jobs)?).await?;
            report.stored += n;
            Progress::add(&self.opts.progress.stored, n);
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

/// Tags a job already has from Search, when it does.
pub(super) type Known = Option<Value>;

/// The job as DescribeTrainingJob returns it, with its tags (from ListTags unless known);
/// `None` when gone.
async fn describe_with_tags(
    api: &Api,
    name: &str,
    tags: Known,
) -> Result<Option<Value>, SourceError> {
    let Some(mut doc) = api.describe(name).await? else {
        return Ok(None);
    };
    let tags = match (tags, doc.get("TrainingJobArn").and_then(Value::as_str)) {
        (Some(tags), _) => tags,
        (None, Some(arn)) => api.tags(arn).await?,
        (None, None) => return Ok(Some(doc)),
    };
    doc["Tags"] = tags;
    Ok(Some(doc))
}
