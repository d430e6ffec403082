//! `sagesync query`: a canned query or SQL of the user's own, printed as a table, CSV or JSON.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use clap::Args;

use super::Outcome;
use crate::query::{self, format::Format};
use crate::store::{Store, StoreOptions};

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The canned query to run (see --list)
    #[arg(value_name = "NAME", required_unless_present_any = ["list", "sql"], conflicts_with_all = ["list", "sql"])]
    pub report: Option<String>,

    /// List the canned queries with their descriptions and parameters
    #[arg(long)]
    pub list: bool,

    /// Run this SQL instead of a report (:name placeholders take --param values)
    #[arg(long, value_name = "SQL", conflicts_with = "list")]
    pub sql: Option<String>,

    /// A report parameter, bound as a value, never spliced into the SQL
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// Output format (default: table on a terminal, csv otherwise)
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

pub async fn run(opts: &StoreOptions, args: QueryArgs) -> Result<Outcome> {
    if args.list {
        let text = format!("{}{}", query::list(), price_note(opts).await);
        let mut out = std::io::stdout().lock();
        return finished(
            out.write_all(text.as_bytes()).and_then(|()| out.flush()),
            "the list",
        );
    }
    let params = query::parse_params(&args.params)?;
    // Unknown reports are refused before touching the database.
    if let Some(name) = &args.report {
        query::reports::Report::find(name)
            .ok_or_else(|| query::QueryError::UnknownReport(name.clone()))?;
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Csv
    });
    let store = Store::open_reader(opts).await?;
    // Buffered: stdout alone writes a line at a time, a system call per row.
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut printer = query::format::Printer::new(out, format);
    let result = match (&args.report, &args.sql) {
        (Some(name), _) => query::run_report(&store, name, &params, &mut printer).await,
        (None, Some(sql)) => query::run_sql(&store, sql, &params, &mut printer).await,
        // clap asks for one of them first; this answers the same if it ever does not.
        (None, None) => Err(query::QueryError::Nothing),
    };
    store.close().await;
    result?;
    finished(printer.finish(), "the result")
}

/// How a write to stdout ended. A reader that went away (`| head`) got what it wanted: quiet,
/// like ripgrep.
fn finished(written: std::io::Result<()>, what: &str) -> Result<Outcome> {
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Complete),
        other => {
            other.with_context(|| format!("cannot write {what}"))?;
            Ok(Outcome::Complete)
        }
    }
}

/// Where the prices came from, when there is a database to ask (`--list` never creates one).
async fn price_note(opts: &StoreOptions) -> String {
    let missing = crate::store::url::sqlite_path(opts.url.as_str())
        .is_some_and(|p| !std::path::Path::new(&p).exists());
    if missing {
        return String::new();
    }
    let note = async {
        let store = Store::open_reader(opts).await?;
        let note = query::price_note(&store).await;
        store.close().await;
        note
    };
    note.await.unwrap_or_else(|e| {
        tracing::debug!("prices not listed: {e}");
        String::new()
    })
}
