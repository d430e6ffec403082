//! Prices and the bill in the database: the Price List's training prices (`price_list_training`,
//! `price_list_storage`), when each region was last read (`price_list_fetch`), and Cost
//! Explorer's billed usage (`billed_usage`). Each run's writes are one transaction, so a failed
//! run leaves what was stored before it.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, InsertStatement, OnConflict, Query};

use super::read::Out;
use super::{Backend, Sql, Store, StoreError};
use crate::model::price::{Component, ListedPrice, Size};
use crate::sql;

/// One region's prices as read from the Price List in one run.
#[derive(Debug, Clone)]
pub struct RegionPrices {
    pub region: String,
    pub fetched_at: DateTime<Utc>,
    /// Products the Price List answered for the region, read or not.
    pub products: u64,
    pub prices: Vec<ListedPrice>,
}

/// One line of the bill, read: its month (`YYYY-MM`) and figures.
#[derive(Debug, Clone, PartialEq)]
pub struct BilledRow {
    pub month: String,
    pub account_id: String,
    pub usage_type: String,
    /// From a `REGION-Train:INSTANCE` usage type, else `None`.
    pub region: Option<String>,
    pub instance_type: Option<String>,
    pub quantity: f64,
    pub unit: Option<String>,
    pub usd: f64,
}

/// Where the stored prices came from, for `query --list`.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSource {
    pub source: &'static str,
    pub prices: i64,
    /// When the oldest and newest were read (the Price List's alone).
    pub oldest: Option<String>,
    pub newest: Option<String>,
}

/// A timestamp as each backend stores it: sagesync's text form in SQLite (compared as text with
/// the job table's), a timestamptz in Postgres.
pub(crate) fn time_value(backend: Backend, t: &DateTime<Utc>) -> Expr {
    match backend {
        Backend::Sqlite => Expr::val(crate::model::time::format(t)),
        Backend::Postgres => Expr::val(*t),
    }
}

fn built(e: sea_query::error::Error) -> StoreError {
    StoreError::Build(e.to_string())
}

impl Store {
    /// Stores what each region's Price List answered, in one transaction. A price read replaces
    /// the stored one of its region and instance type; a price not read this time (skipped, or
    /// gone from the list) keeps the one stored, whose `fetched_at` then shows its age.
    pub async fn store_price_list(&self, regions: &[RegionPrices]) -> Result<(), StoreError> {
        let backend = self.backend();
        let mut statements = Vec::new();
        for r in regions {
            let at = time_value(backend, &r.fetched_at);
            let mut training = Query::insert();
            training.into_table("price_list_training").columns([
                "region",
                "instance_type",
                "usd_per_hour",
                "sku",
                "effective_date",
                "fetched_at",
            ]);
            let mut storage = Query::insert();
            storage.into_table("price_list_storage").columns([
                "region",
                "usd_per_gb_month",
                "sku",
                "effective_date",
                "fetched_at",
            ]);
            let (mut any_training, mut any_storage) = (false, false);
            for p in &r.prices {
                let common: [Expr; 4] = [
                    p.usd.into(),
                    p.sku.clone().into(),
                    p.effective_date.clone().into(),
                    at.clone(),
                ];
                match &p.component {
                    Component::Training { instance_type } => {
                        any_training = true;
                        let mut values: Vec<Expr> =
                            vec![r.region.clone().into(), instance_type.clone().into()];
                        values.extend(common);
                        training.values(values).map_err(built)?;
                    }
                    Component::Storage => {
                        any_storage = true;
                        let mut values: Vec<Expr> = vec![r.region.clone().into()];
                        values.extend(common);
                        storage.values(values).map_err(built)?;
                    }
                }
            }
            if any_training {
                training.on_conflict(
                    OnConflict::columns(["region", "instance_type"])
                        .update_columns(["usd_per_hour", "sku", "effective_date", "fetched_at"])
                        .to_owned(),
                );
                statements.push(Sql::sea(&training, backend));
            }
            if any_storage {
                storage.on_conflict(
                    OnConflict::column("region")
                        .update_columns(["usd_per_gb_month", "sku", "effective_date", "fetched_at"])
                        .to_owned(),
                );
                statements.push(Sql::sea(&storage, backend));
            }
            let listed = r
                .prices
                .iter()
                .filter_map(|p| match (&p.component, p.size) {
                    (Component::Training { instance_type }, Some(size)) => {
                        Some((instance_type.as_str(), size))
                    }
                    _ => None,
                });
            if let Some(sizes) = size_upsert(listed, SizeSource::PriceList, &at)? {
                statements.push(Sql::sea(&sizes, backend));
            }
            let products = i64::try_from(r.products).unwrap_or(i64::MAX);
            let fetch = Query::insert()
                .into_table("price_list_fetch")
                .columns(["region", "fetched_at", "products"])
                .values([r.region.clone().into(), at, products.into()])
                .map_err(built)?
                .on_conflict(
                    OnConflict::column("region")
                        .update_columns(["fetched_at", "products"])
                        .to_owned(),
                )
                .to_owned();
            statements.push(Sql::sea(&fetch, backend));
        }
        statements.push(super::metrics::fill_sizes());
        self.execute_all(statements).await
    }

    /// The regions of the inventory whose prices are due: never read, read before `stale`, or
    /// with an instance type that has no price (Price List or CSV) and a job created since the
    /// region was last read.
    pub async fn price_regions_due(&self, stale: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let fetch_month = self.backend().month_of("f.fetched_at");
        let [head, middle, tail] = PRICES_DUE;
        let sql = sql![
            head,
            self.backend().timestamp_param(1),
            middle,
            fetch_month,
            tail
        ];
        let stale = crate::model::time::format(&stale);
        Ok(self.fetch(sql, &[Some(stale)]).await?.texts())
    }

    /// The regions the inventory holds jobs in.
    pub async fn inventory_regions(&self) -> Result<Vec<String>, StoreError> {
        // Kept by a trigger as usage rows are written (migration 17): no pass over the usage rows.
        let sql = "SELECT region FROM sagesync_inventory_region ORDER BY 1";
        Ok(self.fetch(sql, &[]).await?.texts())
    }

    /// The first and last month the inventory holds jobs of, `None` when it holds none.
    pub async fn inventory_months(&self) -> Result<Option<(String, String)>, StoreError> {
        let sql = "SELECT min(month), max(month) FROM sagemaker_training_job_instance_usage";
        let rs = self.fetch(sql, &[]).await?;
        Ok(match rs.rows.first().map(Vec::as_slice) {
            Some([Out::Text(first), Out::Text(last)]) => Some((first.clone(), last.clone())),
            _ => None,
        })
    }

    /// Replaces the billed usage of `months` (`YYYY-MM`) with `rows`, in one transaction.
    pub async fn store_billed(
        &self,
        months: &[String],
        rows: &[BilledRow],
        fetched_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let backend = self.backend();
        let at = time_value(backend, &fetched_at);
        let mut statements = vec![Sql::sea(
            Query::delete()
                .from_table("billed_usage")
                .and_where(Expr::col("month").is_in(months.iter().cloned())),
            backend,
        )];
        for chunk in rows.chunks(1000) {
            let mut insert = Query::insert();
            insert.into_table("billed_usage").columns([
                "month",
                "account_id",
                "usage_type",
                "region",
                "instance_type",
                "usage_quantity",
                "usage_unit",
                "unblended_usd",
                "fetched_at",
            ]);
            for r in chunk {
                insert
                    .values([
                        r.month.clone().into(),
                        r.account_id.clone().into(),
                        r.usage_type.clone().into(),
                        r.region.clone().into(),
                        r.instance_type.clone().into(),
                        r.quantity.into(),
                        r.unit.clone().into(),
                        r.usd.into(),
                        at.clone(),
                    ])
                    .map_err(built)?;
            }
            statements.push(Sql::sea(&insert, backend));
        }
        self.execute_all(statements).await
    }

    /// How many prices each source holds, and the Price List's age.
    pub async fn price_sources(&self) -> Result<Vec<PriceSource>, StoreError> {
        let text_time = self.backend().time_text("fetched_at");
        let csv = self
            .fetch("SELECT count(*) FROM instance_price", &[])
            .await?;
        let listed = self
            .fetch(
                sql![
                    "SELECT count(*), min(",
                    &text_time,
                    "), max(",
                    text_time,
                    ") FROM price_list_training"
                ],
                &[],
            )
            .await?;
        let int =
            |rs: &super::read::ResultSet, i: usize| match rs.rows.first().and_then(|r| r.get(i)) {
                Some(Out::Int(n)) => *n,
                _ => 0,
            };
        let text =
            |rs: &super::read::ResultSet, i: usize| match rs.rows.first().and_then(|r| r.get(i)) {
                Some(Out::Text(t)) => Some(t.clone()),
                _ => None,
            };
        Ok(vec![
            PriceSource {
                source: "csv",
                prices: int(&csv, 0),
                oldest: None,
                newest: None,
            },
            PriceSource {
                source: "price-list",
                prices: int(&listed, 0),
                oldest: text(&listed, 1),
                newest: text(&listed, 2),
            },
        ])
    }
}

/// Where an instance type's size was read: the CSV's win over the Price List's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeSource {
    Csv,
    PriceList,
}

/// `sizes` (instance type, size) as one upsert into `instance_type_size`, the first of a type
/// kept; `None` when none states a GPU or vCPU count. A CSV's size replaces what is stored; the
/// Price List's never replaces the CSV's.
pub(crate) fn size_upsert<'a>(
    sizes: impl IntoIterator<Item = (&'a str, Size)>,
    source: SizeSource,
    at: &Expr,
) -> Result<Option<InsertStatement>, StoreError> {
    let mut insert = Query::insert();
    insert.into_table("instance_type_size").columns([
        "instance_type",
        "gpus",
        "vcpus",
        "gpu_memory_gib",
        "source",
        "updated_at",
    ]);
    let name = match source {
        SizeSource::Csv => "csv",
        SizeSource::PriceList => "price-list",
    };
    let mut seen = std::collections::BTreeSet::new();
    for (instance_type, size) in sizes {
        if (size.gpus.is_none() && size.vcpus.is_none()) || !seen.insert(instance_type) {
            continue;
        }
        insert
            .values([
                instance_type.into(),
                size.gpus.map(i64::from).into(),
                size.vcpus.map(i64::from).into(),
                size.gpu_memory_gib.into(),
                name.into(),
                at.clone(),
            ])
            .map_err(built)?;
    }
    insert.on_conflict(match source {
        SizeSource::Csv => OnConflict::column("instance_type")
            .update_columns(["gpus", "vcpus", "source", "updated_at"])
            .to_owned(),
        SizeSource::PriceList => OnConflict::column("instance_type")
            .update_columns(["gpus", "vcpus", "gpu_memory_gib", "updated_at"])
            .action_and_where(Expr::col(("instance_type_size", "source")).ne("csv"))
            .to_owned(),
    });
    Ok((!seen.is_empty()).then_some(insert))
}

/// See [`Store::price_regions_due`]. `{stale}` is the stale time, a parameter as the backend reads
/// a timestamp from text; `{fetch_month}` the `YYYY-MM` of `f.fetched_at`. After every sync, so it
/// reads the usage rows once (their region and type, from an index) and looks at jobs' creation
/// times only for the unpriced types, and only in the months since the region was read: a job
/// created since then started since then (0.3 s at a million jobs on SQLite, where taking the
/// newest creation time of every type first read the whole table: 2.3 s).
///
/// In three pieces around what each dialect writes its own way: the `stale` time and the
/// month of the last read.
const PRICES_DUE: [&str; 3] = [
    "\
WITH pairs AS (
    SELECT region, instance_type
    FROM sagemaker_training_job_instance_usage
    WHERE instance_type IS NOT NULL
    GROUP BY 1, 2
)
SELECT DISTINCT p.region
FROM pairs p
LEFT JOIN price_list_fetch f ON f.region = p.region
WHERE f.region IS NULL
   OR f.fetched_at < ",
    "
   OR (NOT EXISTS (SELECT 1 FROM price_list_training t
                   WHERE t.region = p.region AND t.instance_type = p.instance_type)
       AND NOT EXISTS (SELECT 1 FROM instance_price c
                       WHERE c.instance_type = p.instance_type AND c.region IN (p.region, '*'))
       AND EXISTS (SELECT 1 FROM sagemaker_training_job_instance_usage u
                   WHERE u.month >= ",
    " AND u.region = p.region
                     AND u.instance_type = p.instance_type AND u.creation_time > f.fetched_at))
ORDER BY 1",
];
