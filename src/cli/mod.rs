//! The command line: what users and scripts rely on. Parses, opens the store, runs a command and
//! says how it went through [`Outcome`], which `main` turns into the exit status.

mod costs;
mod metrics;
mod scope;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, CommandFactory, Parser, Subcommand};

use std::io::{IsTerminal, Write};

use crate::flatten::{Flattener, Redactor};
use crate::input;
use crate::load;
use crate::log::LogFormat;
use crate::query::{self, format::Format};
use crate::source;
use crate::store::url::DEFAULT_URL;
use crate::store::{Backend, DbUrl, Missing, Store, StoreOptions};
use crate::sync::{self, Progress, SyncOptions};
pub use costs::{BillingCommand, PricesCommand};
pub use metrics::MetricsCommand;
pub use scope::ScopeArgs;

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
    /// Run a canned report or SQL of your own
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
    fn redactor(&self) -> Result<Redactor> {
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

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The report to run (see --list)
    #[arg(value_name = "REPORT", required_unless_present_any = ["list", "sql"], conflicts_with_all = ["list", "sql"])]
    pub report: Option<String>,

    /// List the reports with their descriptions and parameters
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
            let store = Store::open(&opts).await?;
            store.close_after_writing().await;
            tracing::info!("schema of {} is up to date", opts.url.redacted());
            Ok(Outcome::Complete)
        }
        Command::Load(args) => run_load(&opts, args).await,
        Command::Sync(args) => run_sync(&opts, *args).await,
        Command::Query(args) => run_query(&opts, args).await,
        Command::Report(args) => run_page(&opts, args).await,
        Command::Prices(command) => costs::run_prices(&opts, command).await,
        Command::Billing(command) => costs::run_billing(&opts, command).await,
        Command::Metrics(command) => metrics::run(&opts, command).await,
    }
}

async fn run_sync(opts: &StoreOptions, args: SyncArgs) -> Result<Outcome> {
    let flattener = Arc::new(Flattener {
        redactor: args.redact.redactor()?,
        arn_context: None,
        synced_at: crate::flatten::time::Timestamp::now(),
        replace_nul: opts.url.backend == Backend::Postgres,
    });
    let scopes = source::client::scopes(&args.scope.options()).await?;
    let store = Store::open(opts).await?;
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

/// Runs a write under the flattener's redaction and keeps the books of it: rows written with
/// weaker rules than the default are flagged first, and a write under the default rules scrubs
/// what flagged rows left behind (see `Store::scrub`).
async fn with_redaction<T>(
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

async fn run_query(opts: &StoreOptions, args: QueryArgs) -> Result<Outcome> {
    if args.list {
        print!("{}", query::list());
        print!("{}", price_note(opts).await);
        return Ok(Outcome::Complete);
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
    match printer.finish() {
        // The reader went away (`| head`): what it wanted was printed. Quiet, like ripgrep.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Complete),
        other => {
            other.context("cannot write the result")?;
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

async fn run_page(opts: &StoreOptions, args: PageArgs) -> Result<Outcome> {
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

async fn run_load(opts: &StoreOptions, args: LoadArgs) -> Result<Outcome> {
    let redactor = args.redact.redactor()?;
    if args.paths.iter().filter(|p| *p == "-").count() > 1 {
        bail!("stdin (-) can be read only once");
    }
    let flattener = Arc::new(Flattener {
        redactor,
        arn_context: args.region.zip(args.account_id),
        synced_at: crate::flatten::time::Timestamp::now(),
        replace_nul: opts.url.backend == Backend::Postgres,
    });
    let (inputs, unreadable) = input::expand(&args.paths);
    let store = Store::open(opts).await?;
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
