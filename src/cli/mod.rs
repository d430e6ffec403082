//! The command line: what users and scripts rely on. Parses, opens the store, runs a command and
//! says how it went through [`Outcome`], which `main` turns into the exit status. Each command's
//! arguments and runner are a file of their own (`sync`, `load`, `query`, `page` for `report`,
//! `costs` for `prices` and `billing`, `metrics`); `migrate`, `completions` and `man` are a few
//! lines of [`run`].

mod costs;
mod load;
mod metrics;
mod page;
mod query;
mod redact;
mod scope;
mod sync;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser, Subcommand};

use crate::log::LogFormat;
use crate::store::url::DEFAULT_URL;
use crate::store::{DbUrl, StoreOptions};
pub use costs::{BillingCommand, PricesCommand};
pub use load::LoadArgs;
pub use metrics::MetricsCommand;
pub use page::PageArgs;
pub use query::QueryArgs;
pub use redact::RedactArgs;
pub use scope::ScopeArgs;
pub use sync::SyncArgs;

/// Set by the container image (deploy/Dockerfile): there the default SQLite file would be
/// written into the container's own layer and lost when it stops, so a database URL is required.
const REQUIRE_URL_ENV: &str = "SAGESYNC_REQUIRE_DATABASE_URL";

#[derive(Debug, Parser)]
#[command(
    name = "sagesync",
    version,
    about = "An SQL-queryable inventory of AWS SageMaker training jobs"
)]
pub struct Cli {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Falls back to
    /// SAGESYNC_DATABASE_URL, then DATABASE_URL, then sqlite://sagesync.db
    #[arg(
        long,
        global = true,
        help_heading = "Global",
        value_name = "URL",
        env = "SAGESYNC_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// How messages on stderr are written: text for people, json lines for log collectors
    #[arg(
        long,
        global = true,
        help_heading = "Global",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// More detail on stderr: -v adds each API call with its request id and the SDK's retries
    /// and throttling, -vv every call phase and SQL statement (RUST_LOG, when set, chooses instead)
    #[arg(short, long, global = true,
        help_heading = "Global", action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less on stderr: -q only warnings and errors (no summaries or progress), -qq only errors
    #[arg(short, long, global = true,
        help_heading = "Global", action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// PostgreSQL schema for sagesync's tables
    #[arg(
        long,
        global = true,
        help_heading = "Global",
        value_name = "SCHEMA",
        default_value = "aws",
        env = "SAGESYNC_PG_SCHEMA"
    )]
    pub pg_schema: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or upgrade the schema (every other command does this first)
    Migrate,
    /// Bring the inventory up to date from the SageMaker API (incremental)
    Sync(Box<SyncArgs>),
    /// Store DescribeTrainingJob responses from files, directories or stdin
    Load(LoadArgs),
    /// Run a canned query or SQL of your own
    Query(QueryArgs),
    /// Write a self-contained HTML page of spend, waste and risk (open it in any browser)
    Report(PageArgs),
    /// Prices for the cost reports' dollars: from the AWS Price List, or a CSV of your own
    #[command(subcommand)]
    Prices(PricesCommand),
    /// SageMaker's billed usage from Cost Explorer, to check the inventory against the bill
    #[command(subcommand)]
    Billing(BillingCommand),
    /// What the GPUs did: each ended job's utilization per host from CloudWatch
    #[command(subcommand)]
    Metrics(MetricsCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `sagesync man > /usr/local/share/man/man1/sagesync.1`
    Man,
}

/// How a command that did not fail outright went.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was stored.
    Complete,
    /// Some inputs were refused; the rest were stored.
    Partial,
    /// Other syncs hold the database (SQLite) or every scope (Postgres); nothing was done.
    Busy,
}

pub async fn run(cli: Cli) -> Result<Outcome> {
    let verbosity = i8::try_from(i16::from(cli.verbose) - i16::from(cli.quiet)).unwrap_or(0);
    crate::log::init(cli.log_format, verbosity);
    // Generated from this very definition, so they never disagree with it; no database needed.
    match &cli.command {
        Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(*shell, &mut Cli::command(), "sagesync", &mut out);
            return Ok(Outcome::Complete);
        }
        Command::Man => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .context("cannot write the manual page")?;
            return Ok(Outcome::Complete);
        }
        _ => {}
    }
    let url = match cli
        .database_url
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
    {
        Some(url) => url,
        None if std::env::var_os(REQUIRE_URL_ENV).is_some_and(|v| !v.is_empty()) => bail!(
            "no database URL: set SAGESYNC_DATABASE_URL or DATABASE_URL (postgres://..., or sqlite:///data/sagesync.db on a mounted volume) or pass --database-url; {REQUIRE_URL_ENV} is set because a file in this container's own layer is lost when it stops"
        ),
        None => DEFAULT_URL.to_string(),
    };
    let opts = StoreOptions {
        url: DbUrl::parse(&url)?,
        pg_schema: cli.pg_schema,
    };
    match cli.command {
        Command::Completions { .. } | Command::Man => Ok(Outcome::Complete),
        Command::Migrate => {
            let store = crate::reflatten::open(&opts).await?;
            store.close_after_writing().await;
            tracing::info!("schema of {} is up to date", opts.url.redacted());
            Ok(Outcome::Complete)
        }
        Command::Load(args) => load::run(&opts, args).await,
        Command::Sync(args) => sync::run(&opts, *args).await,
        Command::Query(args) => query::run(&opts, args).await,
        Command::Report(args) => page::run(&opts, args).await,
        Command::Prices(command) => costs::run_prices(&opts, command).await,
        Command::Billing(command) => costs::run_billing(&opts, command).await,
        Command::Metrics(command) => metrics::run(&opts, command).await,
    }
}
