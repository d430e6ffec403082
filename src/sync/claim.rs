//! Which scopes this worker syncs, and when. A scope is claimed only when there is room to run it
//! (at most `--scope-concurrency` at once), so several workers on one Postgres database share the
//! scopes instead of the first one taking them all. A scope another worker holds is skipped, or,
//! with `--wait`, waited for once the free ones are done; one that another worker completed since
//! this one started is not synced twice.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::Instrument;

use super::{Elsewhere, ScopeReport, SyncOptions, sync_scope};
use crate::flatten::Flattener;
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
    let limit = opts.scope_concurrency.max(1);
    let mut queue: VecDeque<Scope> = scopes.into();
    let mut held = Vec::new();
    // Held scopes are tried again whenever a scope of this worker ends: the worker holding one
    // may have died (its scopes then come to the others) or finished (then it is skipped).
    let mut retried = false;
    let mut waiting = false;
    let mut tasks = JoinSet::new();
    let mut reports = Vec::new();
    // Which scope each task syncs, to name it should the task fail.
    let mut running = std::collections::HashMap::new();
    loop {
        while tasks.len() < limit {
            let Some(scope) = queue.pop_front() else {
                break;
            };
            // Waiting for a scope happens in its task, so that it blocks no other scope.
            let claim = if waiting {
                None
            } else {
                match locks.try_claim(&scope.id).await {
                    Ok(Some(claim)) => Some(claim),
                    Ok(None) => {
                        held.push(scope);
                        continue;
                    }
                    Err(e) => {
                        opts.progress.of(&scope.id).done();
                        reports.push(ScopeReport::stopped(&scope.id, e.to_string()));
                        continue;
                    }
                }
            };
            let (store, flattener, opts, locks) = (
                store.clone(),
                flattener.clone(),
                opts.clone(),
                locks.clone(),
            );
            let span = tracing::info_span!("scope", scope = %scope.id);
            let id = scope.id.clone();
            let task = tasks.spawn(
                async move { claimed(&store, scope, &flattener, &opts, &locks, claim).await }
                    .instrument(span),
            );
            running.insert(task.id(), id);
        }
        if tasks.is_empty() {
            if !held.is_empty() && !retried {
                retried = true;
                queue.extend(held.drain(..));
                continue;
            }
            if opts.wait && !waiting && !held.is_empty() {
                waiting = true;
                queue.extend(held.drain(..));
                continue;
            }
            break;
        }
        if let Some(done) = tasks.join_next_with_id().await {
            reports.push(match done {
                Ok((_, report)) => report,
                Err(e) => {
                    let scope = running.remove(&e.id()).unwrap_or_default();
                    ScopeReport::stopped(&scope, format!("the scope's task failed: {e}"))
                }
            });
            retried = false;
            if queue.is_empty() {
                queue.extend(held.drain(..));
            }
        }
    }
    for scope in held {
        opts.progress.of(&scope.id).done();
        reports.push(ScopeReport {
            elsewhere: Some(Elsewhere::Held(locks.holder(&scope.id).await)),
            ..ScopeReport::new(&scope.id)
        });
    }
    reports.sort_by_key(|r| r.scope.label());
    reports
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
