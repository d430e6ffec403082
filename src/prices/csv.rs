//! `sagesync prices load FILE.csv`: the user's own prices per instance type and region
//! (negotiated rates, discounts), which win over the Price List's. The file is
//! `instance_type,region,usd_per_hour` with a header; `#` starts a comment line; region `*` stands
//! for every region the file gives no price of its own. Two more columns may follow, `gpus` and
//! `vcpus`: the instance type's size for utilization figures, for types the Price List lacks (an
//! empty cell says nothing; they win over the Price List's).

use std::path::Path;

use sea_query::{Expr, ExprTrait, OnConflict, Query};

use crate::model::price::Size;
use crate::store::Sql;
use crate::store::costs::{SizeSource, size_upsert, time_value};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} line {line}: {reason}; nothing from it was stored")]
    Bad {
        file: String,
        line: u64,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub instance_type: String,
    pub region: String,
    pub usd_per_hour: f64,
    pub gpus: Option<u32>,
    pub vcpus: Option<u32>,
}

pub fn read(path: &Path) -> Result<Vec<Price>, PriceError> {
    let file = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| PriceError::Io {
            file: file.clone(),
            source: e.into(),
        })?;
    let bad = |line: u64, reason: String| PriceError::Bad {
        file: file.clone(),
        line,
        reason,
    };
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let want = ["instance_type", "region", "usd_per_hour", "gpus", "vcpus"];
    let columns = headers.len();
    if !(3..=5).contains(&columns) || headers.iter().ne(want.iter().copied().take(columns)) {
        return Err(bad(
            1,
            format!(
                "the header must be {} (gpus and vcpus may follow)",
                want[..3].join(",")
            ),
        ));
    }
    let mut prices = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let (t, r, usd) = (&record[0], &record[1], &record[2]);
        if t.is_empty() || r.is_empty() {
            return Err(bad(
                line,
                "instance_type and region must not be empty".into(),
            ));
        }
        let usd_per_hour = usd
            .parse::<f64>()
            .ok()
            .filter(|u| u.is_finite() && *u >= 0.0)
            .ok_or_else(|| {
                bad(
                    line,
                    format!("usd_per_hour {usd:?} is not a non-negative number"),
                )
            })?;
        let count = |i: usize, name: &str, least: u32| -> Result<Option<u32>, PriceError> {
            match record.get(i).unwrap_or_default() {
                "" => Ok(None),
                text => text
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n >= least)
                    .map(Some)
                    .ok_or_else(|| {
                        bad(
                            line,
                            format!("{name} {text:?} is not a whole number of at least {least}"),
                        )
                    }),
            }
        };
        prices.push(Price {
            instance_type: t.into(),
            region: r.into(),
            usd_per_hour,
            gpus: count(3, "gpus", 0)?,
            vcpus: count(4, "vcpus", 1)?,
        });
    }
    Ok(prices)
}

/// Stores `prices` in one transaction, replacing the price of each (type, region) it names, or
/// every price when `replace_all`.
pub async fn store(store: &Store, prices: &[Price], replace_all: bool) -> Result<(), StoreError> {
    let mut statements = Vec::new();
    if replace_all {
        statements.push(Sql::sea(
            Query::delete().from_table("instance_price"),
            store.backend(),
        ));
        statements.push(Sql::sea(
            Query::delete()
                .from_table("instance_type_size")
                .and_where(Expr::col("source").eq("csv")),
            store.backend(),
        ));
    }
    let at = time_value(store.backend(), &crate::model::time::now());
    let sizes = prices.iter().map(|p| {
        let size = Size {
            gpus: p.gpus,
            vcpus: p.vcpus,
            gpu_memory_gib: None,
        };
        (p.instance_type.as_str(), size)
    });
    if let Some(sizes) = size_upsert(sizes, SizeSource::Csv, &at)? {
        statements.push(Sql::sea(&sizes, store.backend()));
    }
    for chunk in prices.chunks(1000) {
        let mut insert = Query::insert();
        insert
            .into_table("instance_price")
            .columns(["instance_type", "region", "usd_per_hour"]);
        for p in chunk {
            insert
                .values([
                    p.instance_type.clone().into(),
                    p.region.clone().into(),
                    p.usd_per_hour.into(),
                ])
                .map_err(|e| StoreError::Build(e.to_string()))?;
        }
        insert.on_conflict(
            OnConflict::columns(["instance_type", "region"])
                .update_column("usd_per_hour")
                .to_owned(),
        );
        statements.push(Sql::sea(&insert, store.backend()));
    }
    let sized: Vec<&str> = prices
        .iter()
        .filter(|p| p.gpus.is_some() || p.vcpus.is_some())
        .map(|p| p.instance_type.as_str())
        .collect();
    if !sized.is_empty() {
        statements.push(crate::store::metrics::resize(store.backend(), &sized));
    }
    statements.push(crate::store::metrics::fill_sizes());
    store.execute_all(statements).await
}
