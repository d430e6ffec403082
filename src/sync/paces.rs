//! Where each operation's pace starts in a scope's sync, and what the sync leaves for the next:
//! the pace a run learned is stored when the run ends (`sagesync_pace`), and the next run of the
//! scope starts from it while it can be trusted (the rule is [`Start::resume`]'s), so a cron
//! sync against a lower quota, or a busy account, does not pay for the same cuts every run.

use crate::model::op::Op;
use crate::model::scope::ScopeId;
use crate::model::time::Timestamp;
use crate::source::Api;
use crate::source::pace::{Distrust, Remembered, Start};
use crate::store::Store;

/// Where each operation's pace starts in this run of the scope.
pub(super) async fn starts(store: &Store, scope: &ScopeId) -> Vec<(Op, Start)> {
    let stored = store.paces(scope).await.unwrap_or_else(|e| {
        tracing::warn!(
            "{scope}: the paces stored by the last run cannot be read ({e}); each operation starts under its known quota"
        );
        Vec::new()
    });
    let now = Timestamp::now();
    Op::SAGEMAKER
        .iter()
        .map(|&op| {
            let operation = op.name();
            let remembered = stored
                .iter()
                .find(|p| p.operation == operation)
                .map(|p| Remembered {
                    rate: p.rate,
                    at: p.at,
                });
            let (start, distrust) =
                Start::resume(op, remembered.as_ref(), now);
            match distrust {
                Some(Distrust::Stale) => tracing::debug!(
                    operation,
                    "{scope}: the stored pace is over a day old; it starts under the known quota"
                ),
                Some(why) => tracing::warn!(
                    operation,
                    "{scope}: the stored pace of {operation} is {}; it starts under its known quota",
                    match why {
                        Distrust::Unreadable => "unreadable",
                        _ => "not a plausible pace (at most 0, or over 10 times the known quota)",
                    }
                ),
                None if remembered.is_some() => tracing::debug!(
                    operation,
                    rate = start.rate,
                    "{scope}: the pace starts where the last run left it"
                ),
                None => {}
            }
            (op, start)
        })
        .collect()
}

/// Stores the paces this run learned, for the next run of the scope. A failure to store them
/// costs the next run its head start, nothing else: a warning.
pub(super) async fn remember(store: &Store, scope: &ScopeId, api: &Api) {
    let learned: Vec<(&'static str, f64)> = api
        .learned()
        .into_iter()
        .map(|(op, rate)| (op.name(), rate))
        .collect();
    if learned.is_empty() {
        return;
    }
    if let Err(e) = store.set_paces(scope, &learned, Timestamp::now()).await {
        tracing::warn!("{scope}: the paces learned cannot be stored for the next run: {e}");
    }
}
