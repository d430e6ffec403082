//! Prices for the dollar figures of the cost reports: on-demand Training prices from the AWS
//! Price List (`prices sync`, and after each `sync` the regions that are due), or the user's own
//! from a CSV (`prices load`, [`csv`]), which win for their region and instance type.

pub mod csv;
pub mod offer;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

pub use csv::{Price, PriceError, read, store};

use crate::model::price::Component;
use crate::source::SourceError;
use crate::source::pricing::Products;
use crate::store::costs::RegionPrices;
use crate::store::{Store, StoreError};

/// The permission the Price List asks for, named in every message about a refusal.
pub const PERMISSION: &str = "pricing:GetProducts";

/// How old a region's prices may be before `sync` reads them again.
pub fn stale_after() -> chrono::Duration {
    chrono::Duration::days(7)
}

/// Regions read at once: a few calls each.
const REGIONS_AT_ONCE: usize = 4;

/// What a run read.
#[derive(Debug, Default)]
pub struct Fetched {
    pub regions: Vec<RegionPrices>,
    /// Regions whose products could not be read, with why.
    pub failed: Vec<(String, SourceError)>,
    pub calls: u64,
    /// Products of ours skipped because their price could not be read.
    pub skipped: usize,
}

impl Fetched {
    fn count(&self, storage: bool) -> usize {
        self.regions
            .iter()
            .flat_map(|r| &r.prices)
            .filter(|p| (p.component == Component::Storage) == storage)
            .count()
    }

    pub fn training_prices(&self) -> usize {
        self.count(false)
    }

    pub fn storage_prices(&self) -> usize {
        self.count(true)
    }
}

/// Reads the training prices of `regions` from the Price List. A region that fails does not stop
/// the others; a product whose price cannot be read is skipped with a warning naming its SKU.
pub async fn fetch(list: &impl Products, regions: &[String], now: DateTime<Utc>) -> Fetched {
    let answers: Vec<_> = futures_util::stream::iter(regions)
        .map(|region| async move { (region, list.products(region).await) })
        .buffer_unordered(REGIONS_AT_ONCE)
        .collect()
        .await;
    let mut fetched = Fetched::default();
    for (region, answer) in answers {
        match answer {
            Ok(products) => {
                fetched.calls += products.calls;
                let (prices, skipped) = read_products(region, &products.products);
                fetched.skipped += skipped;
                fetched.regions.push(RegionPrices {
                    region: region.clone(),
                    fetched_at: now,
                    products: products.products.len() as u64,
                    prices,
                });
            }
            Err(e) => fetched.failed.push((region.clone(), e)),
        }
    }
    fetched.regions.sort_by(|a, b| a.region.cmp(&b.region));
    fetched
}

/// The region's training prices among `products`, one per component (the first when the list
/// holds two), and how many were skipped.
fn read_products(
    region: &str,
    products: &[String],
) -> (Vec<crate::model::price::ListedPrice>, usize) {
    let mut prices = BTreeMap::new();
    let mut skipped = 0;
    for product in products {
        match offer::read(product) {
            Ok(Some(p)) if p.region == region => {
                prices.entry(p.component.clone()).or_insert(p);
            }
            Ok(_) => {}
            Err(e) => {
                skipped += 1;
                tracing::warn!(
                    "skipped {e} ({region}); it has no price until the Price List answers one"
                );
            }
        }
    }
    (prices.into_values().collect(), skipped)
}

/// After a sync: reads the prices of the regions that are due and stores them. Every failure is
/// one warning naming the permission; a sync's outcome never depends on prices.
pub async fn refresh(store: &Store, list: &impl Products) -> Result<(), StoreError> {
    let now = Utc::now();
    let due = store.price_regions_due(now - stale_after()).await?;
    if due.is_empty() {
        return Ok(());
    }
    let fetched = fetch(list, &due, now).await;
    if let Some((region, e)) = fetched.failed.first() {
        let why = if e.is_denied() {
            format!("these credentials lack {PERMISSION}")
        } else {
            format!("the Price List cannot be reached ({e})")
        };
        tracing::warn!(
            "prices of {} not updated ({region} first): {why}; the cost reports show hours where there is no price (grant {PERMISSION}, or pass --no-prices)",
            plural(fetched.failed.len(), "region")
        );
    }
    store.store_price_list(&fetched.regions).await?;
    if !fetched.regions.is_empty() {
        tracing::info!(
            "prices: {} training and {} storage prices for {} from the AWS Price List",
            fetched.training_prices(),
            fetched.storage_prices(),
            plural(fetched.regions.len(), "region")
        );
    }
    Ok(())
}

/// `1 region`, `2 regions`.
pub(crate) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
