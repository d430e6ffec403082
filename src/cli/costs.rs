//! The commands that bring in dollars: `prices load` (a CSV of the user's), `prices sync` (the
//! AWS Price List) and `billing sync` (Cost Explorer), and the price refresh after `sync`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use super::Outcome;
use crate::billing;
use crate::prices;
use crate::source::billing::CostExplorer;
use crate::source::client::account_config;
use crate::source::pricing::PriceList;
use crate::store::{Store, StoreOptions};

/// The Price List's endpoint region when none is given (it also answers in eu-central-1 and
/// ap-south-1); Cost Explorer answers in us-east-1 alone.
const PRICE_LIST_REGION: &str = "us-east-1";
const COST_EXPLORER_REGION: &str = "us-east-1";

/// Attempts per Price List or Cost Explorer call, as for SageMaker's.
const MAX_ATTEMPTS: u32 = 10;

/// Attempts per Price List call after a sync: a Price List that cannot be reached costs a cron
/// sync seconds, not minutes of backoff.
const REFRESH_ATTEMPTS: u32 = 3;

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Load instance_type,region,usd_per_hour rows from a CSV file (region * = any region); they
    /// win over the Price List's for their region and instance type
    Load {
        #[arg(value_name = "FILE.csv")]
        file: std::path::PathBuf,
        /// Remove every stored CSV price first
        #[arg(long)]
        replace: bool,
    },
    /// Read on-demand Training and training-storage prices from the AWS Price List
    /// (pricing:GetProducts)
    Sync(PriceSyncArgs),
}

#[derive(Debug, Args)]
pub struct PriceSyncArgs {
    /// Region whose prices to read (repeatable; default: every region in the inventory)
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,

    /// Named profile whose credentials read prices (default: the default chain)
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,

    #[command(flatten)]
    pub endpoint: PriceListArgs,
}

/// Where the Price List is asked, shared by `prices sync` and `sync`.
#[derive(Debug, Args)]
pub struct PriceListArgs {
    /// The Price List API's own region (us-east-1, eu-central-1 or ap-south-1); the prices read
    /// are those of --region whatever it is
    #[arg(long, value_name = "REGION", default_value = PRICE_LIST_REGION)]
    pub pricing_region: String,
}

impl PriceListArgs {
    /// A Price List client with `profile`'s credentials (default: the default chain).
    pub async fn client(&self, profile: Option<&str>, attempts: u32) -> PriceList {
        PriceList::new(&account_config(profile, &self.pricing_region, attempts).await)
    }
}

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Read SageMaker's billed usage per month, account and usage type from Cost Explorer
    /// (ce:GetCostAndUsage; AWS charges per request, one per page)
    Sync(BillingSyncArgs),
}

#[derive(Debug, Args)]
pub struct BillingSyncArgs {
    /// The first month, YYYY-MM (default: three whole months before --to)
    #[arg(long, value_name = "YYYY-MM")]
    pub from: Option<String>,

    /// The last month, YYYY-MM (default: this one)
    #[arg(long, value_name = "YYYY-MM")]
    pub to: Option<String>,

    /// Named profile whose credentials read the bill (default: the default chain); the
    /// management account's show every linked account
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
}

pub async fn run_prices(opts: &StoreOptions, command: PricesCommand) -> Result<Outcome> {
    match command {
        PricesCommand::Load { file, replace } => load(opts, &file, replace).await,
        PricesCommand::Sync(args) => sync_prices(opts, args).await,
    }
}

async fn load(opts: &StoreOptions, file: &std::path::Path, replace: bool) -> Result<Outcome> {
    let prices = match prices::read(file) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("refused {e}");
            return Ok(Outcome::Partial);
        }
    };
    let store = crate::reflatten::open(opts).await?;
    let stored = prices::store(&store, &prices, replace).await;
    store.close_after_writing().await;
    stored?;
    tracing::info!(
        "stored {} instance prices from {}",
        prices.len(),
        file.display()
    );
    Ok(Outcome::Complete)
}

async fn sync_prices(opts: &StoreOptions, args: PriceSyncArgs) -> Result<Outcome> {
    let store = crate::reflatten::open(opts).await?;
    let regions = if args.regions.is_empty() {
        store.inventory_regions().await?
    } else {
        args.regions.clone()
    };
    if regions.is_empty() {
        store.close().await;
        tracing::info!(
            "no prices read: the inventory holds no jobs yet; run `sagesync sync`, or name regions with --region"
        );
        return Ok(Outcome::Complete);
    }
    let list = args
        .endpoint
        .client(args.profile.as_deref(), MAX_ATTEMPTS)
        .await;
    let fetched = prices::fetch(&list, &regions, chrono::Utc::now()).await;
    let stored = store.store_price_list(&fetched.regions).await;
    store.close_after_writing().await;
    stored?;
    for (region, e) in &fetched.failed {
        if e.is_denied() {
            tracing::warn!(
                "prices of {region} not read: {e}; these credentials need {}",
                prices::PERMISSION
            );
        } else {
            tracing::warn!("prices of {region} not read: {e}");
        }
    }
    if fetched.regions.is_empty() && !fetched.failed.is_empty() {
        bail!(
            "no prices read from the AWS Price List; check that these credentials allow {} and that the Price List can be reached",
            prices::PERMISSION
        );
    }
    tracing::info!(
        "stored {} training and {} storage prices for {} of {} from the AWS Price List ({}{})",
        fetched.training_prices(),
        fetched.storage_prices(),
        fetched.regions.len(),
        prices::plural(regions.len(), "region"),
        prices::plural(fetched.calls as usize, "call"),
        if fetched.skipped > 0 {
            format!("; {} products skipped", fetched.skipped)
        } else {
            String::new()
        }
    );
    Ok(if fetched.failed.is_empty() && fetched.skipped == 0 {
        Outcome::Complete
    } else {
        Outcome::Partial
    })
}

/// After a sync: the prices that are due, read with the sync's first profile. Never changes the
/// sync's outcome; a failure is a warning.
pub async fn refresh_prices(store: &Store, args: &PriceListArgs, profile: Option<&str>) {
    let list = args.client(profile, REFRESH_ATTEMPTS).await;
    if let Err(e) = prices::refresh(store, &list).await {
        tracing::warn!("prices not updated: {e}");
    }
}

pub async fn run_billing(opts: &StoreOptions, command: BillingCommand) -> Result<Outcome> {
    let BillingCommand::Sync(args) = command;
    let months = billing::months(
        args.from.as_deref(),
        args.to.as_deref(),
        chrono::Utc::now().date_naive(),
    )?;
    let ce = CostExplorer::new(
        &account_config(args.profile.as_deref(), COST_EXPLORER_REGION, MAX_ATTEMPTS).await,
    );
    let store = crate::reflatten::open(opts).await?;
    let report = billing::sync(&store, &ce, &months).await;
    store.close_after_writing().await;
    let report = match report {
        Err(billing::BillingError::Source(e)) if e.is_denied() => {
            return Err(e).with_context(|| {
                format!(
                    "cannot read the bill from Cost Explorer; these credentials need {} (and Cost Explorer enabled for the account)",
                    billing::PERMISSION
                )
            });
        }
        other => other?,
    };
    let (first, last) = (
        months.first().map(ToString::to_string).unwrap_or_default(),
        months.last().map(ToString::to_string).unwrap_or_default(),
    );
    tracing::info!(
        "stored {} billed usage lines for {first} to {last} from Cost Explorer ({}, ${:.2} at $0.01 each)",
        report.lines,
        prices::plural(report.calls as usize, "call"),
        report.calls as f64 * 0.01
    );
    Ok(if report.skipped == 0 {
        Outcome::Complete
    } else {
        Outcome::Partial
    })
}
