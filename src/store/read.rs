//! Running a read-only query and decoding whatever columns it returns, on either backend, into
//! plain values the output formats can print.

use std::ops::ControlFlow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;
use sqlx::{Column, Connection, Executor, Row, TypeInfo, ValueRef};

use super::sql::Sql;
use super::{Store, StoreError, text_args};
use crate::flatten::columns::{COLUMNS, Kind};
use crate::model::time;

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

impl Out {
    /// The cell as text: what CSV and the table print, and the HTML page shows.
    pub fn text(&self) -> String {
        match self {
            Out::Null => String::new(),
            Out::Bool(b) => b.to_string(),
            Out::Int(i) => i.to_string(),
            Out::Float(f) => f.to_string(),
            Out::Decimal(d) | Out::Text(d) => d.clone(),
            Out::Json(j) => j.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Out>>,
}

impl ResultSet {
    /// The first column's text values, row by row (other values left out).
    pub fn texts(self) -> Vec<String> {
        self.rows
            .into_iter()
            .filter_map(|r| match r.into_iter().next() {
                Some(Out::Text(t)) => Some(t),
                _ => None,
            })
            .collect()
    }
}

impl Store {
    /// Runs `sql` with `params` bound in order as text (NULL for `None`).
    pub async fn fetch(
        &self,
        sql: impl Into<Sql>,
        params: &[Option<String>],
    ) -> Result<ResultSet, StoreError> {
        let sql = sql.into().into_sqlx();
        match self {
            Store::Sqlite(pool) => {
                let q = sqlx::query_with(sql, text_args::<sqlx::Sqlite>(params)?);
                let rows = q.fetch_all(pool).await?;
                decode_all(&rows, sqlite_cell)
            }
            Store::Postgres(pool) => {
                let q = sqlx::query_with(sql, text_args::<sqlx::Postgres>(params)?);
                let rows = q.fetch_all(pool).await?;
                decode_all(&rows, pg_cell)
            }
        }
    }

    /// Runs SQL that is not sagesync's own (`query`), handing each row to `sink` as it comes, so
    /// memory stays flat however many rows there are. One statement, read-only (SQLite opened
    /// read-only, a Postgres read-only transaction, whose extended protocol takes one statement
    /// too), so a statement that writes is refused by the database; and the columns are named
    /// even when no row comes back. Returns the rows handed over.
    pub async fn stream_read_only(
        &self,
        sql: &str,
        origin: Origin,
        params: &[Option<String>],
        sink: &mut dyn Sink,
    ) -> Result<u64, StoreError> {
        let text = || sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Store::Sqlite(pool) => {
                // A connection of its own, closed after: read-only from the file's opening on.
                // (An in-memory database has no file to open again; query_only guards it.)
                let file = pool.connect_options().get_filename().to_path_buf();
                let mut conn = if file.as_os_str() == ":memory:" {
                    pool.acquire().await?.detach()
                } else {
                    super::read_only::connect(pool).await?
                };
                sqlx::query("PRAGMA query_only = ON")
                    .execute(&mut conn)
                    .await?;
                let result = async {
                    super::read_only::one_statement(&mut conn, sql).await?;
                    let q = sqlx::query_with(text(), text_args::<sqlx::Sqlite>(params)?);
                    let n = match drain(q.fetch(&mut conn), sqlite_cell, sink).await? {
                        Some(n) => n,
                        None => {
                            let names = super::read_only::column_names(&mut conn, sql).await?;
                            let _ = sink.columns(&names);
                            0
                        }
                    };
                    Ok(n)
                }
                .await;
                conn.close().await.ok();
                result
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                if origin == Origin::Report {
                    // Compiling a canned report took 100 to 200 ms of the 0.4 to 1 s each takes
                    // at a million jobs, and the page runs nine (BENCHMARKS.md); a user's SQL
                    // keeps the server's setting.
                    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
                }
                let q = sqlx::query_with(text(), text_args::<sqlx::Postgres>(params)?);
                let streamed = drain(q.fetch(&mut *tx), pg_cell, sink).await?;
                let n = match streamed {
                    Some(n) => n,
                    None => {
                        let d = (&mut *tx)
                            .describe(sqlx::SqlSafeStr::into_sql_str(text()))
                            .await?;
                        let _ = sink.columns(&described(d));
                        0
                    }
                };
                tx.rollback().await?;
                Ok(n)
            }
        }
    }
}

/// Whose SQL [`Store::stream_read_only`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A canned report of `queries/`, whose cost sagesync knows.
    Report,
    /// The user's own (`query --sql`).
    User,
}

/// Where [`Store::stream_read_only`] hands the result. A sink that cannot take more (the reader
/// of stdout went away) answers `Break`, which stops the query; the sink keeps the why.
pub trait Sink {
    fn columns(&mut self, names: &[String]) -> ControlFlow<()>;
    fn row(&mut self, row: Vec<Out>) -> ControlFlow<()>;
}

/// Hands every row of a stream to the sink; `None` when there was no row (so no column names).
async fn drain<'s, R: Row>(
    mut rows: futures_util::stream::BoxStream<'s, Result<R, sqlx::Error>>,
    cell: fn(&R, usize, Option<Kind>) -> Result<Out, StoreError>,
    sink: &mut dyn Sink,
) -> Result<Option<u64>, StoreError> {
    use futures_util::TryStreamExt;
    let mut kinds: Option<Vec<Option<Kind>>> = None;
    let mut n = 0;
    while let Some(row) = rows.try_next().await.map_err(read_only_error)? {
        let kinds = match &mut kinds {
            Some(k) => &*k,
            None => {
                let names = column_names(&row);
                let k = kinds.insert(schema_kinds(&names));
                if sink.columns(&names).is_break() {
                    return Ok(Some(n));
                }
                &*k
            }
        };
        let out = decode_row(&row, cell, kinds)?;
        n += 1;
        if sink.row(out).is_break() {
            break;
        }
    }
    Ok(kinds.map(|_| n))
}

fn described<DB: sqlx::Database>(d: sqlx::Describe<DB>) -> Vec<String> {
    d.columns().iter().map(|c| c.name().to_string()).collect()
}

/// A write refused by the read-only connection, said plainly.
fn read_only_error(e: sqlx::Error) -> StoreError {
    let refused = match &e {
        sqlx::Error::Database(d) => {
            // SQLite: SQLITE_READONLY (8, and its extended codes); Postgres: 25006
            // read_only_sql_transaction.
            d.code()
                .is_some_and(|c| c == "25006" || c.parse::<u32>().is_ok_and(|n| n & 0xff == 8))
        }
        _ => false,
    };
    if refused {
        StoreError::ReadOnly(e.to_string())
    } else {
        StoreError::Query(e)
    }
}

fn decode_all<R: Row>(
    rows: &[R],
    cell: fn(&R, usize, Option<Kind>) -> Result<Out, StoreError>,
) -> Result<ResultSet, StoreError> {
    let columns = rows.first().map(column_names).unwrap_or_default();
    let kinds = schema_kinds(&columns);
    let rows = rows
        .iter()
        .map(|r| decode_row(r, cell, &kinds))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ResultSet { columns, rows })
}

fn column_names<R: Row>(row: &R) -> Vec<String> {
    row.columns().iter().map(|c| c.name().to_string()).collect()
}

/// What each result column is in sagesync's schema, looked up once per result.
fn schema_kinds(columns: &[String]) -> Vec<Option<Kind>> {
    columns
        .iter()
        .map(|name| COLUMNS.iter().find(|c| c.name == name).map(|c| c.kind))
        .collect()
}

fn decode_row<R: Row>(
    row: &R,
    cell: fn(&R, usize, Option<Kind>) -> Result<Out, StoreError>,
    kinds: &[Option<Kind>],
) -> Result<Vec<Out>, StoreError> {
    (0..row.len())
        .map(|i| cell(row, i, kinds.get(i).copied().flatten()))
        .collect()
}

fn sqlite_cell(
    row: &sqlx::sqlite::SqliteRow,
    i: usize,
    schema_kind: Option<Kind>,
) -> Result<Out, StoreError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Out::Null);
    }
    // SQLite types values, not columns: decode by what this value is, and give a column of
    // sagesync's schema the type Postgres gives it (JSON as JSON, booleans as booleans), so
    // results read alike on both backends.
    let kind = raw.type_info().name().to_string();
    Ok(match kind.as_str() {
        "INTEGER" | "BOOLEAN" if schema_kind == Some(Kind::Bool) => {
            Out::Bool(row.try_get_unchecked::<i64, _>(i)? != 0)
        }
        "INTEGER" | "BOOLEAN" => Out::Int(row.try_get_unchecked(i)?),
        "REAL" => Out::Float(row.try_get_unchecked(i)?),
        "BLOB" => Out::Text(format!(
            "<{} bytes>",
            row.try_get_unchecked::<Vec<u8>, _>(i)?.len()
        )),
        _ => {
            let text: String = row.try_get_unchecked(i)?;
            match schema_kind {
                Some(Kind::Json) => match serde_json::from_str(&text) {
                    Ok(json) => Out::Json(json),
                    Err(_) => Out::Text(text),
                },
                _ => Out::Text(text),
            }
        }
    })
}

/// Postgres types its columns: the schema's kind adds nothing.
fn pg_cell(row: &sqlx::postgres::PgRow, i: usize, _: Option<Kind>) -> Result<Out, StoreError> {
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
