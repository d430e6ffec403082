//! `sagesync sync`: the scopes from the API into the store, then the prices and utilization due.

use std::sync::Arc;

use anyhow::Result;
use clap::Args;

use super::redact::{RedactArgs, with_redaction};
use super::{Outcome, ScopeArgs, costs, metrics};
use crate::flatten::Flattener;
use crate::load;
use crate::source;
use crate::store::{Backend, Missing, StoreOptions};
use crate::sync::{self, Progress, SyncOptions};

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,

    /// DescribeTrainingJob calls in flight per scope
    #[arg(help_heading = "Throughput", long, default_value_t = 8)]
    pub concurrency: usize,

    /// Jobs written per transaction
    #[arg(help_heading = "Throughput", long, default_value_t = load::DEFAULT_BATCH, hide = true)]
    pub batch_size: usize,

    /// Walk the whole listing, refresh every job's tags, and mark jobs the API no longer returns
    /// with deleted_at
    #[arg(help_heading = "What to sync", long)]
    pub full: bool,

    /// Like --full, but delete the jobs the API no longer returns instead of marking them
    #[arg(help_heading = "What to sync", long)]
    pub prune: bool,

    /// When another sync holds a scope (or, on SQLite, the database), wait for it instead of
    /// skipping it; without --wait, a sync that finds every scope taken exits with status 3
    #[arg(help_heading = "What to sync", long)]
    pub wait: bool,

    /// Scopes synced at once by this process; several processes on one Postgres database share
    /// the scopes between them
    #[arg(
        help_heading = "Throughput",
        long,
        default_value_t = 16,
        value_name = "N"
    )]
    pub scope_concurrency: usize,

    /// Most API calls per second sagesync starts in each scope (default: no limit of its own;
    /// each operation's pace, learned from throttles, still slows down when throttled)
    #[arg(help_heading = "Throughput", long, value_name = "N")]
    pub max_rps: Option<f64>,

    /// Describes per scope and run of the rows a first sync stored from Search (the backlog);
    /// later runs describe the rest (default: no limit)
    #[arg(help_heading = "Backlog (a first sync)", long, value_name = "N")]
    pub describe_budget: Option<u64>,

    /// A first sync describes every job as it lists, instead of storing every job from Search
    /// first and completing the rows with describes
    #[arg(help_heading = "Backlog (a first sync)", long)]
    pub no_search: bool,

    /// Do not read the prices of the synced regions from the AWS Price List after the sync (it
    /// reads a region when never read, after 7 days, or for a new instance type)
    #[arg(help_heading = "Prices", long, env = "SAGESYNC_NO_PRICES",
        value_parser = clap::builder::BoolishValueParser::new())]
    pub no_prices: bool,

    #[command(flatten, next_help_heading = "Prices")]
    pub prices: costs::PriceListArgs,

    /// Do not read the utilization of newly ended jobs from CloudWatch after the sync
    /// (cloudwatch:GetMetricData, $0.01 per 1,000 metrics: about 6 a host, once a job)
    #[arg(help_heading = "Utilization", long, env = "SAGESYNC_NO_METRICS",
        value_parser = clap::builder::BoolishValueParser::new())]
    pub no_metrics: bool,

    #[command(flatten)]
    pub redact: RedactArgs,
}

pub async fn run(opts: &StoreOptions, args: SyncArgs) -> Result<Outcome> {
    let flattener = Arc::new(Flattener {
        redactor: args.redact.redactor()?,
        arn_context: None,
        synced_at: crate::model::time::Timestamp::now(),
        replace_nul: opts.url.backend == Backend::Postgres,
    });
    let scopes = source::client::scopes(&args.scope.options()).await?;
    let store = crate::reflatten::open(opts).await?;
    let Some(locks) = store
        .scope_locks(opts.url.as_str(), &opts.pg_schema, args.wait)
        .await?
    else {
        store.close().await;
        tracing::warn!(
            "another sync of {} is running; nothing done (pass --wait to wait for it)",
            opts.url.redacted()
        );
        return Ok(Outcome::Busy);
    };
    let sync_opts = sync_options(&args, &scopes);
    // The scopes' utilization is read after the sync, which takes the scopes.
    let metric_scopes = if args.no_metrics {
        Vec::new()
    } else {
        scopes.clone()
    };
    let display = sync_opts.progress.show();
    let reports = with_redaction(&store, &flattener, async {
        Ok(sync::sync_all(
            &store,
            scopes,
            flattener.clone(),
            &sync_opts,
            Arc::new(locks),
        )
        .await)
    })
    .await;
    drop(display);
    if reports.is_ok() && !args.no_prices {
        costs::refresh_prices(&store, &args.prices, args.scope.first_profile()).await;
    }
    if reports.is_ok() && !args.no_metrics {
        metrics::after_sync(&store, &metric_scopes).await;
    }
    store.close_after_writing().await;
    Ok(sync_outcome(&reports?))
}

fn sync_options(args: &SyncArgs, scopes: &[source::Scope]) -> SyncOptions {
    SyncOptions {
        full: match (args.full, args.prune) {
            (_, true) => Some(Missing::Prune),
            (true, false) => Some(Missing::Mark),
            (false, false) => None,
        },
        concurrency: args.concurrency,
        all_regions: args.scope.all_regions,
        scope_concurrency: args.scope_concurrency,
        wait: args.wait,
        batch: args.batch_size.max(1),
        max_rps: args.max_rps,
        search_first: !args.no_search,
        describe_budget: args.describe_budget,
        progress: Arc::new(Progress::new(scopes.iter().map(|s| &s.id))),
    }
}

/// Says how each scope went, and how the sync went as a whole.
fn sync_outcome(reports: &[sync::ScopeReport]) -> Outcome {
    let mut complete = true;
    // Regions an account has not enabled: one line per account, not one per scope.
    let mut not_enabled: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for r in reports {
        if r.not_enabled {
            let account = r.account.as_deref().unwrap_or(r.scope.who());
            not_enabled
                .entry(account)
                .or_default()
                .push(r.scope.region());
            continue;
        }
        complete &= r.error.is_none() && r.failed == 0;
        r.log();
    }
    for (account, regions) in not_enabled {
        tracing::warn!(
            account,
            regions = %regions.join(","),
            "{account}: skipped {}, not enabled for this account or not offered there",
            regions.join(", ")
        );
    }
    // Nothing done here because others are at it; scopes they completed since this run started
    // are as current as this run would make them, so those alone are not "busy".
    let held = |r: &sync::ScopeReport| matches!(r.elsewhere, Some(sync::Elsewhere::Held(_)));
    if reports.iter().any(held) && reports.iter().all(|r| r.elsewhere.is_some()) {
        tracing::warn!(
            "other workers hold every scope not synced since this run started; nothing done here (pass --wait to wait for them)"
        );
        return Outcome::Busy;
    }
    if complete {
        Outcome::Complete
    } else {
        Outcome::Partial
    }
}
