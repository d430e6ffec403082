//! The part of a sync that talks to the API per job: describes run concurrently under
//! `--concurrency`, with ListTags for the jobs whose tags Search did not give; `--full` tag
//! refreshes; and the batches they fill, each stored in one transaction. A describe that ran out
//! of retries on a throttle or a transient fault is made once more, paced, when the worker
//! finishes: by then the pace has settled, and a listed job whose describe fails has no row.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::progress::Counts;
use super::{ScopeError, ScopeReport, SyncOptions};
use crate::flatten::{Flattener, JobRecord, NUL_WARNING};
use crate::model::time::Timestamp;
use crate::source::{Api, SourceError};
use crate::store::{Store, Writer};

/// What a task brings back for one job.
enum Outcome {
    /// DescribeTrainingJob with the tags; `None` when the job is gone. The tags already known,
    /// for a second pass.
    Described(Result<Option<Value>, SourceError>, Known),
    /// `--full`: the current tags of a job that did not change.
    Tags(Result<Value, SourceError>),
}

/// How many jobs may wait for an API call beyond those in flight. Calls for the next listing
/// page start while the previous page's describes finish, so a page boundary does not leave the
/// rate limit idle.
const QUEUED: usize = 200;

/// Describes jobs concurrently and stores them in batches.
pub(super) struct Worker<'a> {
    store: &'a Store,
    api: &'a Api,
    flattener: &'a Flattener,
    opts: &'a SyncOptions,
    writer: Writer,
    counts: Arc<Counts>,
    limit: Arc<Semaphore>,
    tasks: JoinSet<(String, Outcome)>,
    /// The job of each running task, to name it should the task fail.
    running: HashMap<tokio::task::Id, String>,
    pending: Vec<JobRecord>,
    gone: Vec<String>,
    /// Describes that ran out of retries, for the second pass; and whether it is running.
    again: Vec<(String, Known)>,
    second_pass: bool,
}

impl<'a> Worker<'a> {
    pub(super) fn new(
        store: &'a Store,
        api: &'a Api,
        flattener: &'a Flattener,
        opts: &'a SyncOptions,
        counts: Arc<Counts>,
    ) -> Self {
        Worker {
            store,
            api,
            flattener,
            opts,
            writer: Writer::new(store.backend()),
            counts,
            limit: Arc::new(Semaphore::new(opts.concurrency.max(1))),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            pending: Vec::new(),
            gone: Vec::new(),
            again: Vec::new(),
            second_pass: false,
        }
    }

    /// Another worker for the same scope, whose calls count against this one's `--concurrency`.
    pub(super) fn alongside(&self) -> Self {
        let (store, api, flattener, opts) = (self.store, self.api, self.flattener, self.opts);
        Worker {
            limit: self.limit.clone(),
            ..Worker::new(store, api, flattener, opts, self.counts.clone())
        }
    }

    /// Starts `call` for each key, at most `--concurrency` at a time, then takes in finished
    /// results until no more than [`QUEUED`] jobs wait.
    async fn spawn_limited<F, Fut>(
        &mut self,
        keys: Vec<(String, Known)>,
        call: F,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError>
    where
        F: Fn(Api, String, Known) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        for (key, known) in keys {
            // The future does nothing until the task polls it, after taking a permit.
            let (limit, work) = (
                self.limit.clone(),
                call(self.api.clone(), key.clone(), known),
            );
            let task = self.tasks.spawn({
                let key = key.clone();
                async move {
                    let _permit = limit.acquire_owned().await;
                    (key, work.await)
                }
            });
            self.running.insert(task.id(), key);
        }
        self.take_results(QUEUED + self.opts.concurrency, report)
            .await
    }

    /// Describes the jobs (name, tags if already known) and stores them; [`Worker::finish`]
    /// waits for the last of them.
    pub(super) async fn describe_and_store(
        &mut self,
        jobs: Vec<(String, Known)>,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let call = |api: Api, name: String, tags: Known| async move {
            Outcome::Described(describe_with_tags(&api, &name, tags.clone()).await, tags)
        };
        self.spawn_limited(jobs, call, report).await
    }

    /// `--full`: takes the tags of jobs (ARN, tags if already known) that did not change and
    /// re-stores those whose tags did, from their stored `raw`, without describing them.
    pub(super) async fn refresh_tags(
        &mut self,
        jobs: Vec<(String, Known)>,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        let call = |api: Api, arn: String, tags: Known| async move {
            Outcome::Tags(match tags {
                Some(tags) => Ok(tags),
                None => api.tags(&arn).await,
            })
        };
        self.spawn_limited(jobs, call, report).await
    }

    /// Waits for every job started, describes once more those that ran out of retries, and
    /// stores what is left.
    pub(super) async fn finish(&mut self, report: &mut ScopeReport) -> Result<(), ScopeError> {
        self.take_results(0, report).await?;
        if !self.again.is_empty() {
            let jobs = std::mem::take(&mut self.again);
            tracing::info!(
                "{}: {} describes ran out of retries; each is made once more",
                report.scope,
                jobs.len()
            );
            // On an error the scope stops, and this worker with it.
            self.second_pass = true;
            self.describe_and_store(jobs, report).await?;
            self.take_results(0, report).await?;
            self.second_pass = false;
        }
        self.flush(report).await
    }

    async fn take_results(
        &mut self,
        keep: usize,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        while self.tasks.len() > keep {
            let Some(done) = self.tasks.join_next_with_id().await else {
                break;
            };
            let (key, outcome) = match done {
                Ok((id, result)) => {
                    self.running.remove(&id);
                    result
                }
                Err(e) => {
                    let key = self.running.remove(&e.id()).unwrap_or_default();
                    tracing::warn!("{}: {key}: the call failed: {e}", report.scope);
                    report.failed += 1;
                    continue;
                }
            };
            let doc = match outcome {
                Outcome::Described(Err(e), tags) if e.is_transient() && !self.second_pass => {
                    tracing::debug!("{}: {key}: {e}; described again at the end", report.scope);
                    self.again.push((key, tags));
                    continue;
                }
                Outcome::Described(Ok(Some(doc)), _) => {
                    report.described += 1;
                    self.counts.described(1);
                    doc
                }
                // Gone between list and describe.
                Outcome::Described(Ok(None), _) => {
                    self.gone.push(key);
                    continue;
                }
                Outcome::Tags(Ok(tags)) => match self.retagged(&key, tags).await? {
                    Some(doc) => doc,
                    None => continue,
                },
                Outcome::Described(Err(e), _) | Outcome::Tags(Err(e)) => {
                    tracing::warn!("{}: {key}: {e}", report.scope);
                    report.failed += 1;
                    continue;
                }
            };
            match self.flattener.flatten(doc) {
                Ok(job) => self.push(job, report),
                Err(e) => {
                    tracing::warn!("{}: refused {key}: {e}", report.scope);
                    report.failed += 1;
                }
            }
            if self.pending.len() >= self.opts.batch {
                self.flush(report).await?;
            }
        }
        Ok(())
    }

    fn push(&mut self, job: JobRecord, report: &ScopeReport) {
        // A row from Search is described later, which says it again.
        if job.replaced_nul && job.described {
            tracing::warn!("{}: {}: {NUL_WARNING}", report.scope, job.arn);
        }
        self.pending.push(job)
    }

    /// Stores the records of a Search page now, as rows built from Search.
    pub(super) async fn store_now(
        &mut self,
        items: Vec<Value>,
        report: &mut ScopeReport,
    ) -> Result<(), ScopeError> {
        for item in items {
            match self.flattener.flatten(item) {
                Ok(job) => self.push(job, report),
                // Not stored, so the listing describes the job, and names it if refused.
                Err(e) => tracing::debug!("{}: refused a Search record: {e}", report.scope),
            }
        }
        self.flush(report).await
    }

    /// The stored `raw` of a job with `tags` in place of its stored ones; `None` when they are
    /// the same (or the job is not stored). A row built from Search stays one: its `raw` goes
    /// back wrapped as the Search record it came from.
    async fn retagged(&self, arn: &str, tags: Value) -> Result<Option<Value>, ScopeError> {
        let Some((mut raw, stored, described)) = self.store.raw_and_tags(arn).await? else {
            return Ok(None);
        };
        if crate::flatten::tags_map(&tags) == crate::flatten::tags_map(&stored) {
            return Ok(None);
        }
        match raw.as_object_mut() {
            Some(obj) => obj.insert("Tags".into(), tags),
            // A stored raw is always an object; anything else is left for a describe to mend.
            None => return Ok(None),
        };
        Ok(Some(match described {
            true => raw,
            false => serde_json::json!({ "TrainingJob": raw }),
        }))
    }

    async fn flush(&mut self, report: &mut ScopeReport) -> Result<(), ScopeError> {
        if !self.pending.is_empty() {
            let jobs = std::mem::take(&mut self.pending);
            let stored = match self.store.write(self.writer.prepare(&jobs)?).await {
                Ok(()) => jobs.iter().collect(),
                Err(e) if e.is_content() => self.store_one_by_one(&jobs, report).await?,
                Err(e) => return Err(e.into()),
            };
            let described = stored.iter().filter(|j| j.described).count() as u64;
            report.stored += described;
            report.searched += stored.len() as u64 - described;
            self.counts.stored(stored.len() as u64);
        }
        if !self.gone.is_empty() {
            let names = std::mem::take(&mut self.gone);
            let arns = self.store.arns_of(&names).await?;
            self.store.mark_deleted(&arns, Timestamp::now()).await?;
            report.deleted += arns.len() as u64;
        }
        Ok(())
    }

    /// After the database refused a batch for what one of its jobs holds: each job in its own
    /// transaction, so the refused ones are named and the others stored. Returns those stored.
    async fn store_one_by_one<'j>(
        &mut self,
        jobs: &'j [JobRecord],
        report: &mut ScopeReport,
    ) -> Result<Vec<&'j JobRecord>, ScopeError> {
        let mut stored = Vec::new();
        for job in jobs {
            match self
                .store
                .write(self.writer.prepare(std::slice::from_ref(job))?)
                .await
            {
                Ok(()) => stored.push(job),
                Err(e) if e.is_content() && job.described => {
                    tracing::warn!("{}: refused {}: {e}", report.scope, job.arn);
                    report.failed += 1;
                }
                // Not stored from Search, so the listing describes it, and names it if refused.
                Err(e) if e.is_content() => {
                    tracing::debug!(
                        "{}: refused the Search record of {}: {e}",
                        report.scope,
                        job.arn
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(stored)
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
    // Not an object: the flattener refuses it, naming the job.
    let Some(obj) = doc.as_object_mut() else {
        return Ok(Some(doc));
    };
    let tags = match (tags, obj.get("TrainingJobArn").and_then(Value::as_str)) {
        (Some(tags), _) => tags,
        (None, Some(arn)) => api.tags(arn).await?,
        (None, None) => return Ok(Some(doc)),
    };
    obj.insert("Tags".into(), tags);
    Ok(Some(doc))
}
