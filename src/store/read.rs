//! Running a read-only query and decoding whatever columns it returns, on either backend, into
//! plain values the output formats can print.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;
use sqlx::{Column, Row, TypeInfo, ValueRef};

use super::{Store, StoreError};
use crate::flatten::time;

/// One cell of a query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// An exact decimal, as text.
    Decimal(String),
    Text(String),
    Json(Value),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Out>>,
}

impl Store {
    /// Runs `sql` with `params` bound in order as text (NULL for `None`).
    pub async fn fetch(
        &self,
        sql: &str,
        params: &[Option<String>],
    ) -> Result<ResultSet, StoreError> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Store::Sqlite(pool) => {
                let mut q = sqlx::query(sql);
                for p in params {
                    q = q.bind(p.clone());
                }
                let rows = q.fetch_all(pool).await?;
                decode_all(&rows, sqlite_cell)
            }
            Store::Postgres(pool) => {
                let mut q = sqlx::query(sql);
                for p in params {
                    q = q.bind(p.clone());
                }
                let rows = q.fetch_all(pool).await?;
                decode_all(&rows, pg_cell)
            }
        }
    }
}

fn decode_all<R: Row>(
    rows: &[R],
    cell: fn(&R, usize) -> Result<Out, StoreError>,
) -> Result<ResultSet, StoreError> {
    let columns = rows
        .first()
        .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    let rows = rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| cell(r, i))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ResultSet { columns, rows })
}

fn sqlite_cell(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Out, StoreError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Out::Null);
    }
    // SQLite types values, not columns: decode by what this value is.
    let kind = raw.type_info().name().to_string();
    Ok(match kind.as_str() {
        "INTEGER" | "BOOLEAN" => Out::Int(row.try_get_unchecked(i)?),
        "REAL" => Out::Float(row.try_get_unchecked(i)?),
        "BLOB" => Out::Text(format!(
            "<{} bytes>",
            row.try_get_unchecked::<Vec<u8>, _>(i)?.len()
        )),
        _ => Out::Text(row.try_get_unchecked(i)?),
    })
}

fn pg_cell(row: &sqlx::postgres::PgRow, i: usize) -> Result<Out, StoreError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Out::Null);
    }
    let kind = raw.type_info().name().to_string();
    Ok(match kind.as_str() {
        "BOOL" => Out::Bool(row.try_get(i)?),
        "INT2" => Out::Int(row.try_get::<i16, _>(i)?.into()),
        "INT4" => Out::Int(row.try_get::<i32, _>(i)?.into()),
        "INT8" => Out::Int(row.try_get(i)?),
        "OID" => Out::Int(row.try_get::<sqlx::postgres::types::Oid, _>(i)?.0.into()),
        "FLOAT4" => Out::Float(row.try_get::<f32, _>(i)?.into()),
        "FLOAT8" => Out::Float(row.try_get(i)?),
        "NUMERIC" => Out::Decimal(
            row.try_get::<rust_decimal::Decimal, _>(i)?
                .normalize()
                .to_string(),
        ),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" => Out::Text(row.try_get(i)?),
        "TIMESTAMPTZ" => Out::Text(time::format(&row.try_get::<DateTime<Utc>, _>(i)?)),
        "TIMESTAMP" => Out::Text(
            row.try_get::<NaiveDateTime, _>(i)?
                .format("%Y-%m-%dT%H:%M:%S%.3f")
                .to_string(),
        ),
        "DATE" => Out::Text(row.try_get::<NaiveDate, _>(i)?.to_string()),
        "JSON" | "JSONB" => Out::Json(row.try_get(i)?),
        other => {
            let column = row.columns()[i].name().to_string();
            return Err(StoreError::Unprintable {
                column,
                kind: other.to_string(),
            });
        }
    })
}
