//! `sagesync report`: the self-contained HTML page, written whole or not at all.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;

use super::Outcome;
use crate::store::{Store, StoreOptions};

#[derive(Debug, Args)]
pub struct PageArgs {
    /// Where to write the page; - for stdout
    #[arg(long, value_name = "FILE", default_value = "sagesync-report.html")]
    pub out: String,

    /// The months shown, this one included
    #[arg(long, value_name = "N", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1200))]
    pub months: u32,

    /// Group spend by this tag's value (e.g. team) instead of by account
    #[arg(long, value_name = "KEY")]
    pub tag_key: Option<String>,
}

pub async fn run(opts: &StoreOptions, args: PageArgs) -> Result<Outcome> {
    let store = Store::open_reader(opts).await?;
    let page = crate::report::render(
        &store,
        &crate::report::PageOptions {
            months: args.months,
            tag_key: args.tag_key,
            now: chrono::Utc::now(),
        },
    )
    .await;
    store.close().await;
    let page = page?;
    if args.out == "-" {
        std::io::stdout()
            .write_all(page.as_bytes())
            .context("cannot write the page")?;
        return Ok(Outcome::Complete);
    }
    // Written beside and renamed over, so a reader of the old page (a shared drive, a web
    // server) never sees half of the new one.
    let partial = format!("{}.partial", args.out);
    std::fs::write(&partial, page).with_context(|| format!("cannot write {partial}"))?;
    std::fs::rename(&partial, &args.out).with_context(|| format!("cannot write {}", args.out))?;
    tracing::info!("wrote {}", args.out);
    Ok(Outcome::Complete)
}
