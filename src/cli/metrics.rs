//! `metrics sync` (utilization of ended jobs from CloudWatch) and the same harvest after each
//! `sync`. A scope's jobs are those of the account its last sync found, in its region.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use futures_util::StreamExt;

use super::Outcome;
use super::scope::ScopeArgs;
use crate::metrics::{self, Harvest, MetricsError};
use crate::model::scope::ScopeId;
use crate::prices::plural;
use crate::source::Scope;
use crate::source::cloudwatch::SdkCloudWatch;
use crate::store::{Store, StoreOptions};

/// Scopes harvested at once: each has a pace of its own.
const SCOPES_AT_ONCE: usize = 4;

#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// Read each ended job's GPU, GPU memory, CPU and memory utilization per host from CloudWatch
    /// (cloudwatch:GetMetricData; AWS charges $0.01 per 1,000 metrics requested, about 6 a host)
    Sync(MetricsSyncArgs),
}

#[derive(Debug, Args)]
pub struct MetricsSyncArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// What the scopes' harvests did together.
#[derive(Debug, Default)]
struct Harvested {
    done: Harvest,
    scopes: usize,
    failed: Vec<(ScopeId, MetricsError)>,
    /// Scopes no sync has found an account for.
    unsynced: Vec<ScopeId>,
}

pub async fn run(opts: &StoreOptions, command: MetricsCommand) -> Result<Outcome> {
    let MetricsCommand::Sync(args) = command;
    let scopes = crate::source::client::scopes(&args.scope.options()).await?;
    let store = crate::reflatten::open(opts).await?;
    let harvested = harvest_all(&store, &scopes).await;
    store.close_after_writing().await;
    for id in &harvested.unsynced {
        tracing::warn!("{id}: not synced yet, so its jobs are unknown; run `sagesync sync` first");
    }
    for (id, e) in &harvested.failed {
        tracing::warn!("{id}: {e}{}", denied_hint(e));
    }
    summarize(&harvested, true);
    let all_failed = harvested.failed.len() == harvested.scopes && harvested.scopes > 0;
    if all_failed && harvested.done.jobs() == 0 {
        bail!(
            "no utilization read from CloudWatch; check that these credentials allow {} and that CloudWatch can be reached",
            metrics::PERMISSION
        );
    }
    Ok(
        if harvested.failed.is_empty() && harvested.done.skipped == 0 {
            Outcome::Complete
        } else {
            Outcome::Partial
        },
    )
}

/// After a sync: the utilization that is due in the synced scopes. Never changes the sync's
/// outcome; a failure is one warning.
pub async fn after_sync(store: &Store, scopes: &[Scope]) {
    let harvested = harvest_all(store, scopes).await;
    if let Some((id, e)) = harvested.failed.first() {
        tracing::warn!(
            "utilization of {} not read ({id} first): {e}{} (or pass --no-metrics)",
            plural(harvested.failed.len(), "scope"),
            denied_hint(e)
        );
    }
    summarize(&harvested, false);
}

fn denied_hint(e: &MetricsError) -> String {
    match e {
        MetricsError::Source(s) if s.is_denied() => {
            format!("; these credentials need {}", metrics::PERMISSION)
        }
        _ => String::new(),
    }
}

async fn harvest_all(store: &Store, scopes: &[Scope]) -> Harvested {
    let now = chrono::Utc::now();
    let runs: Vec<_> = futures_util::stream::iter(scopes)
        .map(|scope| async move { (scope.id.clone(), harvest_scope(store, scope, now).await) })
        .buffer_unordered(SCOPES_AT_ONCE)
        .collect()
        .await;
    let mut out = Harvested {
        scopes: scopes.len(),
        ..Harvested::default()
    };
    for (id, run) in runs {
        match run {
            None => out.unsynced.push(id),
            Some((done, failure)) => {
                out.done.add(&done);
                if let Some(e) = failure {
                    out.failed.push((id, e));
                }
            }
        }
    }
    out
}

/// One scope's harvest; `None` when no sync has found its account.
async fn harvest_scope(
    store: &Store,
    scope: &Scope,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<(Harvest, Option<MetricsError>)> {
    let account = match &scope.account {
        Some(a) => a.clone(),
        None => match store.cursor(&scope.id).await {
            Ok(cursor) => cursor.account_id?,
            Err(e) => return Some((Harvest::default(), Some(e.into()))),
        },
    };
    let cw = SdkCloudWatch::new(scope.cloudwatch());
    Some(metrics::harvest(store, &cw, &account, scope.id.region(), now).await)
}

fn summarize(h: &Harvested, always: bool) {
    let d = &h.done;
    if d.jobs() == 0 {
        if always {
            tracing::info!("utilization: no ended job is waiting for its figures");
        }
        return;
    }
    tracing::info!(
        "utilization: {} read ({} measured, {} partial, {} with no data, {} expired), {}, {} metrics requested (${:.2} at $0.01 per 1,000){}",
        plural(usize::try_from(d.jobs()).unwrap_or(usize::MAX), "job"),
        d.measured,
        d.partial,
        d.no_data,
        d.expired,
        plural(usize::try_from(d.calls).unwrap_or(usize::MAX), "call"),
        d.metrics,
        d.usd(),
        if d.skipped > 0 {
            format!("; {} figures skipped", d.skipped)
        } else {
            String::new()
        }
    );
}
