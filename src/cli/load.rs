//! `sagesync load`: DescribeTrainingJob responses from files, directories or stdin.

use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Args;

use super::Outcome;
use super::redact::{RedactArgs, with_redaction};
use crate::flatten::Flattener;
use crate::store::{Backend, StoreOptions};
use crate::{input, load};

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Files, directories (their *.json and *.jsonl files, recursively) or - for stdin.
    /// A file holds one response, several, a JSON array of them, or JSON Lines
    #[arg(value_name = "PATH|-", default_value = "-")]
    pub paths: Vec<String>,

    #[command(flatten)]
    pub redact: RedactArgs,

    /// Region for records that have a TrainingJobName but no TrainingJobArn
    #[arg(long, requires = "account_id")]
    pub region: Option<String>,

    /// Account id for records that have a TrainingJobName but no TrainingJobArn
    #[arg(long, requires = "region")]
    pub account_id: Option<String>,

    /// Jobs written per batch
    #[arg(long, default_value_t = load::DEFAULT_BATCH, hide = true)]
    pub batch_size: usize,
}

pub async fn run(opts: &StoreOptions, args: LoadArgs) -> Result<Outcome> {
    let redactor = args.redact.redactor()?;
    if args.paths.iter().filter(|p| *p == "-").count() > 1 {
        bail!("stdin (-) can be read only once");
    }
    let flattener = Arc::new(Flattener {
        redactor,
        arn_context: args.region.zip(args.account_id),
        synced_at: crate::model::time::Timestamp::now(),
        replace_nul: opts.url.backend == Backend::Postgres,
    });
    let (inputs, unreadable) = input::expand(&args.paths);
    let store = crate::reflatten::open(opts).await?;
    let report = with_redaction(&store, &flattener, async {
        load::load(&store, inputs, flattener.clone(), args.batch_size)
            .await
            .map_err(anyhow::Error::from)
    })
    .await;
    store.close_after_writing().await;
    let report = report?;
    for (path, e) in &unreadable {
        tracing::warn!("refused {path}: cannot read: {e}");
    }
    let refused = report.refused.len() + unreadable.len();
    tracing::info!(
        "stored {} job records from {} of {} inputs into {}",
        report.jobs,
        report.inputs - report.refused.len(),
        report.inputs + unreadable.len(),
        opts.url.redacted()
    );
    Ok(if refused == 0 {
        Outcome::Complete
    } else {
        Outcome::Partial
    })
}
