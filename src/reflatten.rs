//! Bringing stored rows up to date with this sagesync's flattener when a command that writes
//! opens the store: the store re-derives them a batch at a time from their own `raw`
//! (`store::reflatten`); this draws the bar and says what was done.

use indicatif::{ProgressBar, ProgressStyle};

use crate::flatten::{Flattener, Redactor};
use crate::model::time::Timestamp;
use crate::store::{Backend, Store, StoreError, StoreOptions};

/// Opens the store to write: its schema brought up to date, then its rows.
pub async fn open(opts: &StoreOptions) -> Result<Store, StoreError> {
    let store = Store::open(opts).await?;
    rederive(&store).await?;
    Ok(store)
}

/// Re-derives every stored row when the rows were made by an older flattener, under the default
/// redaction rules. Returns how many rows were rewritten.
pub async fn rederive(store: &Store) -> Result<u64, StoreError> {
    if !store.behind_flattener().await? {
        return Ok(0);
    }
    let flattener = Flattener {
        redactor: Redactor::default_rules(),
        arn_context: None,
        synced_at: Timestamp::now(),
        replace_nul: store.backend() == Backend::Postgres,
    };
    let bar = progress_bar(store).await?;
    let mut rewritten = 0;
    while let Some(rows) = store.rederive_batch(&flattener).await? {
        rewritten += rows;
        if let Some(bar) = &bar {
            bar.inc(rows);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if rewritten > 0 {
        tracing::info!("re-derived {rewritten} stored rows from raw for this version of sagesync");
        store.scrub().await?;
    }
    Ok(rewritten)
}

/// A bar on a terminal when there are rows to re-derive (see [`crate::log::bars`]).
async fn progress_bar(store: &Store) -> Result<Option<ProgressBar>, StoreError> {
    if crate::log::bars().is_hidden() {
        return Ok(None);
    }
    let bar =
        ProgressBar::new(store.job_count().await?).with_message("re-deriving stored rows from raw");
    if let Ok(style) = ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} {eta}") {
        bar.set_style(style);
    }
    Ok(Some(crate::log::bars().add(bar)))
}
