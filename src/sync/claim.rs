//! Which scopes this worker syncs, and when. A scope is claimed only when there is room to run it
//! (at most `--scope-concurrency` at once), so several workers on one Postgres database share the
//! scopes instead of the first one taking them all. A scope another worker holds is skipped, or,
//! with `--wait`, waited for once the free ones are done; one that another worker completed since
//! this one started is not synced twice.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::Instrument;

use super::{Elsewhere, ScopeReport, SyncOptions, sync_scope};
use crate::flatten::Flattener;
use crate::model::scope::ScopeId;
use crate::source::Scope;
use crate::store::{Claim, ScopeLocks, Store};

/// Syncs the scopes this worker can claim, at most `--scope-concurrency` at once; one failing
/// scope does not stop the others. Reports come sorted by scope.
pub async fn sync_all(
    store: &Store,
    scopes: Vec<Scope>,
    flattener: Arc<Flattener>,
    opts: &SyncOptions,
    locks: Arc<ScopeLocks>,
) -> Vec<ScopeReport> {
    let mut run = Claims {
        store,
        flattener,
        opts,
        locks,
        queue: scopes.into(),
        held: Vec::new(),
        retried: false,
        waiting: false,
        tasks: JoinSet::new(),
        running: HashMap::new(),
        reports: Vec::new(),
    };
    loop {
        run.start_what_fits().await;
        if run.tasks.is_empty() {
            if run.try_held_again() {
                continue;
            }
            break;
        }
        run.collect_one().await;
    }
    run.finish().await
}

/// The state of one worker's claims over a run.
struct Claims<'a> {
    store: &'a Store,
    flattener: Arc<Flattener>,
    opts: &'a SyncOptions,
    locks: Arc<ScopeLocks>,
    queue: VecDeque<Scope>,
    /// Scopes another worker held when tried. They are tried again whenever a scope of this
    /// worker ends: the worker holding one may have died (its scopes then come to the others)
    /// or finished (then it is skipped).
    held: Vec<Scope>,
    retried: bool,
    /// `--wait`, once the free scopes are done: claims wait in the scopes' tasks.
    waiting: bool,
    tasks: JoinSet<ScopeReport>,
    /// Which scope each task syncs, to name it should the task fail.
    running: HashMap<tokio::task::Id, ScopeId>,
    reports: Vec<ScopeReport>,
}

impl Claims<'_> {
    /// Claims and starts queued scopes while there is room.
    async fn start_what_fits(&mut self) {
        while self.tasks.len() < self.opts.scope_concurrency.max(1) {
            let Some(scope) = self.queue.pop_front() else {
                break;
            };
            // Waiting for a scope happens in its task, so that it blocks no other scope.
            let claim = if self.waiting {
                None
            } else {
                match self.locks.try_claim(&scope.id).await {
                    Ok(Some(claim)) => Some(claim),
                    Ok(None) => {
                        self.held.push(scope);
                        continue;
                    }
                    Err(e) => {
                        self.opts.progress.of(&scope.id).done();
                        self.reports
                            .push(ScopeReport::stopped(&scope.id, e.to_string()));
                        continue;
                    }
                }
            };
            self.start(scope, claim);
        }
    }

    fn start(&mut self, scope: Scope, claim: Option<Claim>) {
        let (store, flattener, opts, locks) = (
            self.store.clone(),
            self.flattener.clone(),
            self.opts.clone(),
            self.locks.clone(),
        );
        let span = tracing::info_span!("scope", scope = %scope.id);
        let id = scope.id.clone();
        let task = self.tasks.spawn(
            async move { claimed(&store, scope, &flattener, &opts, &locks, claim).await }
                .instrument(span),
        );
        self.running.insert(task.id(), id);
    }

    /// Nothing running: whether held scopes go back in the queue, once, or to be waited for.
    fn try_held_again(&mut self) -> bool {
        if self.held.is_empty() {
            return false;
        }
        if !self.retried {
            self.retried = true;
        } else if self.opts.wait && !self.waiting {
            self.waiting = true;
        } else {
            return false;
        }
        self.queue.extend(self.held.drain(..));
        true
    }

    /// Waits for one scope's task to end and keeps its report.
    async fn collect_one(&mut self) {
        let Some(done) = self.tasks.join_next_with_id().await else {
            return;
        };
        self.reports.push(match done {
            Ok((id, report)) => {
                self.running.remove(&id);
                report
            }
            Err(e) => {
                let scope = self.running.remove(&e.id()).unwrap_or_default();
                ScopeReport::stopped(&scope, format!("the scope's task failed: {e}"))
            }
        });
        self.retried = false;
        if self.queue.is_empty() {
            self.queue.extend(self.held.drain(..));
        }
    }

    /// Reports for the scopes still held by others, and all reports sorted by scope.
    async fn finish(mut self) -> Vec<ScopeReport> {
        for scope in std::mem::take(&mut self.held) {
            self.opts.progress.of(&scope.id).done();
            self.reports.push(ScopeReport {
                elsewhere: Some(Elsewhere::Held(self.locks.holder(&scope.id).await)),
                ..ScopeReport::new(&scope.id)
            });
        }
        self.reports.sort_by_key(|r| r.scope.label());
        self.reports
    }
}

/// One scope under its claim (taken here when `claim` is None: `--wait`), released at the end.
async fn claimed(
    store: &Store,
    scope: Scope,
    flattener: &Flattener,
    opts: &SyncOptions,
    locks: &ScopeLocks,
    claim: Option<Claim>,
) -> ScopeReport {
    let claim = match claim {
        Some(claim) => claim,
        None => match locks.claim_waiting(&scope.id).await {
            Ok(claim) => claim,
            Err(e) => return ScopeReport::stopped(&scope.id, e.to_string()),
        },
    };
    let report = sync_scope(store, scope, flattener, opts).await;
    if let Err(e) = locks.release(claim).await {
        // The server releases it anyway when this worker's connection closes.
        tracing::warn!(scope = %report.scope, "cannot release the scope's lock: {e}");
    }
    report
}
