//! The redaction flags `sync` and `load` share, and the books a write under them keeps.

use anyhow::{Context, Result};
use clap::Args;

use crate::flatten::{Flattener, Redactor};
use crate::store::Store;

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// Redact Environment and HyperParameters values whose key matches this regex instead of the
    /// default key words (credential-shaped values are still redacted)
    #[arg(help_heading = "Redaction", long, value_name = "REGEX")]
    pub redact_env: Option<String>,

    /// Also redact the parts of Environment and HyperParameters values that match this regex
    /// (repeatable)
    #[arg(
        help_heading = "Redaction",
        long = "redact-value",
        value_name = "REGEX"
    )]
    pub redact_values: Vec<String>,

    /// Store Environment and HyperParameters values as they are
    #[arg(help_heading = "Redaction", long, conflicts_with_all = ["redact_env", "redact_values"])]
    pub no_redact: bool,
}

impl RedactArgs {
    pub fn redactor(&self) -> Result<Redactor> {
        let base = match (&self.redact_env, self.no_redact) {
            (_, true) => return Ok(Redactor::disabled()),
            (Some(pattern), false) => Redactor::with_pattern(pattern)
                .with_context(|| format!("invalid --redact-env pattern {pattern:?}"))?,
            (None, false) => Redactor::default_rules(),
        };
        base.with_values(&self.redact_values)
            .context("invalid --redact-value pattern")
    }
}

/// Runs a write under the flattener's redaction and keeps the books of it: rows written with
/// weaker rules than the default are flagged first, and a write under the default rules scrubs
/// what flagged rows left behind (see `Store::scrub`).
pub async fn with_redaction<T>(
    store: &Store,
    flattener: &Flattener,
    write: impl Future<Output = Result<T>>,
) -> Result<T> {
    let default = flattener.redactor.covers_default();
    if !default {
        store.mark_unredacted().await?;
    }
    let out = write.await?;
    if default {
        store.scrub().await?;
    }
    Ok(out)
}
