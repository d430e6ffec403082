//! The statements that store a batch of jobs. Pure CPU work, so the loader runs it on its parsing
//! thread, off the writer's path.
//!
//! Per batch: upsert the job rows, then for the jobs it wrote delete their child rows and derive
//! them anew from the stored row (see [`super::children`]; on SQLite, triggers do it as the rows
//! are written; a re-derivation does it only for the tables whose sources changed). Run inside one transaction this replaces each job whole: no reader sees half of
//! a job's children and a newer version of a job leaves no stale ones. The upsert leaves a row
//! alone (and its `synced_at` unchanged) when its `raw` is the same, so loading the same input
//! twice changes nothing.
//!
//! The job upsert comes from sea-query, the child statements from [`super::children`], each
//! rendered per dialect once per statement shape and cached; values are bound straight from the
//! job documents, so a batch costs no copy of them but the one into the driver's arguments.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_query::{BinOper, Expr, ExprTrait, OnConflict, Query, Value as SqValue};
use serde_json::{Map, Value};
use sqlx::Arguments;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use sqlx::types::Json;

use super::{Backend, Sql, StoreError, children};
use crate::flatten::columns::{COLUMNS, JOB_TABLE, Kind};
use crate::flatten::{Cell, JobRecord};
use crate::model::time::{self, Timestamp};
use crate::sql;

/// One SQL statement with its bound values.
pub struct Statement {
    pub sql: Sql,
    pub args: Args,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    UpsertJobs,
    DeleteChildren(children::Child),
    InsertChildren(children::Child),
}

/// Renders and caches SQL per statement shape and row count for one backend.
pub struct Writer {
    backend: Backend,
    /// Re-deriving stored rows from their own `raw`: every row whose derived values differ is
    /// rewritten, keeping its `synced_at` and `deleted_at`, since the mapping changed and `raw`
    /// may not have.
    reflatten: bool,
    sql: HashMap<(Shape, usize), Sql>,
}

impl Writer {
    pub fn new(backend: Backend) -> Self {
        Writer {
            backend,
            reflatten: false,
            sql: HashMap::new(),
        }
    }

    /// A writer that rewrites stored rows re-derived from their `raw`.
    pub fn reflatten(backend: Backend) -> Self {
        Writer {
            reflatten: true,
            ..Writer::new(backend)
        }
    }

    /// Builds the statements that store `jobs`. When the same job appears more than once, the
    /// last wins.
    pub fn prepare(&mut self, jobs: &[JobRecord]) -> Result<Vec<Statement>, StoreError> {
        let jobs = last_of_each(jobs);
        let mut out = Vec::new();
        self.rows(
            &mut out,
            Shape::UpsertJobs,
            COLUMNS.len(),
            jobs.iter(),
            |a, j| {
                for c in COLUMNS {
                    a.cell(j.cell(c));
                }
            },
        )?;
        // SQLite's triggers derive the child rows as the job rows are written; a re-derivation
        // on Postgres derives those the upsert's flags name (see [`Self::children`]).
        if self.backend == Backend::Sqlite || self.reflatten {
            return Ok(out);
        }
        // All jobs of a run share its synced_at, which marks the rows this batch wrote.
        let Some(synced_at) = jobs.first().map(|j| j.synced_at) else {
            return Ok(out);
        };
        let keys: Vec<&str> = jobs.iter().map(|j| j.arn.as_str()).collect();
        for child in children::CHILDREN {
            self.derive(&mut out, child, &keys, Some(synced_at))?;
        }
        Ok(out)
    }

    /// Postgres, re-deriving: the statements that derive again the child rows the upsert from
    /// [`Self::prepare`] named, from the rows it returned.
    pub fn children(&mut self, rewritten: &[Rewritten]) -> Result<Vec<Statement>, StoreError> {
        let mut out = Vec::new();
        for child in children::CHILDREN {
            let keys: Vec<&str> = rewritten
                .iter()
                .filter(|r| r.rederive(child))
                .map(|r| r.key.as_str())
                .collect();
            self.derive(&mut out, child, &keys, None)?;
        }
        Ok(out)
    }

    /// Deletes and inserts `child`'s rows of the jobs `keys`, written by the run `synced_at`
    /// (none: re-deriving).
    fn derive(
        &mut self,
        out: &mut Vec<Statement>,
        child: children::Child,
        keys: &[&str],
        synced_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let mut keys = keys.iter();
        for n in chunk_sizes(keys.len(), 1, self.backend) {
            let mut args = Args::new(self.backend);
            for key in keys.by_ref().take(n) {
                args.text(Some(key));
            }
            if let Some(synced_at) = synced_at {
                args.time(Some(synced_at.as_datetime()));
            }
            if let Some(e) = args.take_error() {
                return Err(StoreError::Build(e));
            }
            out.push(Statement {
                sql: self.sql(Shape::DeleteChildren(child), n)?,
                args: args.clone(),
            });
            out.push(Statement {
                sql: self.sql(Shape::InsertChildren(child), n)?,
                args,
            });
        }
        Ok(())
    }

    /// Emits one statement per chunk of `rows`, binding each row with `bind`.
    fn rows<T>(
        &mut self,
        out: &mut Vec<Statement>,
        shape: Shape,
        params_per_row: usize,
        rows: impl Iterator<Item = T>,
        mut bind: impl FnMut(&mut Args, T),
    ) -> Result<(), StoreError> {
        let rows: Vec<T> = rows.collect();
        let mut rows = rows.into_iter();
        for n in chunk_sizes(rows.len(), params_per_row, self.backend) {
            let mut args = Args::new(self.backend);
            for row in rows.by_ref().take(n) {
                bind(&mut args, row);
            }
            if let Some(e) = args.take_error() {
                return Err(StoreError::Build(e));
            }
            out.push(Statement {
                sql: self.sql(shape, n)?,
                args,
            });
        }
        Ok(())
    }

    fn sql(&mut self, shape: Shape, rows: usize) -> Result<Sql, StoreError> {
        if let Some(sql) = self.sql.get(&(shape, rows)) {
            return Ok(sql.clone());
        }
        let sql = self.render(shape, rows)?;
        self.sql.insert((shape, rows), sql.clone());
        Ok(sql)
    }

    fn render(&self, shape: Shape, rows: usize) -> Result<Sql, StoreError> {
        match shape {
            Shape::DeleteChildren(child) => {
                return Ok(children::delete(child, rows, !self.reflatten));
            }
            Shape::InsertChildren(child) => {
                return Ok(children::insert(child, rows, !self.reflatten));
            }
            Shape::UpsertJobs => {}
        }
        let columns: Vec<&'static str> = COLUMNS.iter().map(|c| c.name).collect();
        let mut stmt = Query::insert();
        stmt.into_table(JOB_TABLE).columns(columns.iter().copied());
        for _ in 0..rows {
            stmt.values(columns.iter().map(|_| Expr::val(SqValue::String(None))))
                .map_err(|e| StoreError::Build(e.to_string()))?;
        }
        let kept: &[&str] = if self.reflatten {
            &["_key", "synced_at", "deleted_at", "described_at"]
        } else {
            &["_key"]
        };
        let mut on_conflict = OnConflict::column("_key");
        on_conflict.update_columns(columns.iter().copied().filter(|n| !kept.contains(n)));
        let t = |c: &'static str| Expr::col((JOB_TABLE, c));
        let x = |c: &'static str| Expr::col(("excluded", c));
        if self.reflatten {
            // A row whose derived values all came out the same is left as it is: no new row
            // version, and no child rows derived again (see [`children`]).
            let updated = || columns.iter().copied().filter(|n| !kept.contains(n));
            let distinct = self.backend.distinct();
            on_conflict.action_and_where(
                Expr::tuple(updated().map(t))
                    .binary(BinOper::Custom(distinct), Expr::tuple(updated().map(x))),
            );
        } else {
            // A new version, a job back from the deleted, or a described body for a row built
            // from Search; but a Search record never replaces the described body of the same
            // version (LastModifiedTime), whose describe-only members it lacks.
            let newer = t("raw")
                .ne(x("raw"))
                .or(t("deleted_at").is_not_null())
                .or(t("described_at")
                    .is_null()
                    .and(x("described_at").is_not_null()));
            let search_over_described = x("described_at")
                .is_null()
                .and(t("described_at").is_not_null())
                .and(t("deleted_at").is_null())
                .and(t("last_modified_time").eq(x("last_modified_time")));
            on_conflict.action_and_where(newer.and(search_over_described.not()));
        }
        stmt.on_conflict(on_conflict);
        let sql = Sql::sea_text(&stmt, self.backend);
        Ok(match self.backend {
            Backend::Postgres if self.reflatten => {
                sql![sql, " RETURNING _key, ", children::rederive_flags()]
            }
            _ => sql,
        })
    }
}

/// Postgres, re-deriving: a job row the upsert rewrote, and which of its child tables to derive
/// again ([`children::rederive_flags`]).
#[derive(sqlx::FromRow)]
pub struct Rewritten {
    #[sqlx(rename = "_key")]
    key: String,
    kv: bool,
    metric: bool,
    transition: bool,
    usage: bool,
}

impl Rewritten {
    fn rederive(&self, child: children::Child) -> bool {
        match child {
            children::Child::Kv => self.kv,
            children::Child::Metric => self.metric,
            children::Child::Transition => self.transition,
            children::Child::Usage => self.usage,
        }
    }
}

/// Splits rows into statements under the backend's bound-parameter limit. Sizes are powers of
/// two so that only a handful of distinct statements exist and the prepared-statement cache hits.
fn chunk_sizes(rows: usize, params_per_row: usize, backend: Backend) -> Vec<usize> {
    let max_params = match backend {
        Backend::Sqlite => 32_766,
        Backend::Postgres => 65_535,
    };
    let max_rows = prev_power_of_two(max_params / params_per_row.max(1));
    let mut out = Vec::new();
    let mut rest = rows;
    while rest > 0 {
        let n = prev_power_of_two(rest).min(max_rows);
        out.push(n);
        rest -= n;
    }
    out
}

fn prev_power_of_two(n: usize) -> usize {
    if n == 0 {
        1
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

fn last_of_each(jobs: &[JobRecord]) -> Vec<&JobRecord> {
    let mut seen = HashSet::with_capacity(jobs.len());
    let mut kept: Vec<&JobRecord> = jobs
        .iter()
        .rev()
        .filter(|j| seen.insert(j.arn.as_str()))
        .collect();
    kept.reverse();
    kept
}

/// Bound values for one backend. SQLite keeps timestamps and JSON as text and booleans as 0/1;
/// Postgres binds timestamptz, jsonb and boolean, with typed NULLs.
#[derive(Clone)]
pub enum Args {
    Sqlite(SqliteArguments, Option<String>),
    Postgres(PgArguments, Option<String>),
}

impl Args {
    fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Args::Sqlite(SqliteArguments::default(), None),
            Backend::Postgres => Args::Postgres(PgArguments::default(), None),
        }
    }

    pub fn into_sqlite(self) -> Option<SqliteArguments> {
        match self {
            Args::Sqlite(a, _) => Some(a),
            Args::Postgres(..) => None,
        }
    }

    pub fn into_postgres(self) -> Option<PgArguments> {
        match self {
            Args::Postgres(a, _) => Some(a),
            Args::Sqlite(..) => None,
        }
    }

    fn add<'t, S, P>(&mut self, sqlite: S, postgres: P)
    where
        S: sqlx::Encode<'t, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        P: sqlx::Encode<'t, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        let (result, error) = match self {
            Args::Sqlite(a, e) => (a.add(sqlite), e),
            Args::Postgres(a, e) => (a.add(postgres), e),
        };
        if let (Err(err), None) = (result, &error) {
            *error = Some(err.to_string());
        }
    }

    fn take_error(&mut self) -> Option<String> {
        match self {
            Args::Sqlite(_, e) | Args::Postgres(_, e) => e.take(),
        }
    }

    fn text(&mut self, v: Option<&str>) {
        self.add(v, v);
    }

    fn int(&mut self, v: Option<i64>) {
        self.add(v, v);
    }

    fn time(&mut self, v: Option<DateTime<Utc>>) {
        match self {
            Args::Sqlite(..) => self.add(v.as_ref().map(time::format), None::<String>),
            Args::Postgres(..) => self.add(None::<String>, v),
        }
    }

    fn json(&mut self, v: Option<&Value>) {
        match self {
            Args::Sqlite(..) => self.add(v.map(Value::to_string), None::<String>),
            Args::Postgres(..) => self.add(None::<String>, v.map(Json)),
        }
    }

    fn object(&mut self, m: &Map<String, Value>) {
        match self {
            Args::Sqlite(..) => self.add(serde_json::to_string(m).ok(), None::<String>),
            Args::Postgres(..) => self.add(None::<String>, Json(m)),
        }
    }

    fn cell(&mut self, cell: Cell<'_>) {
        match cell {
            Cell::Null(kind) => match kind {
                Kind::Text => self.text(None),
                Kind::Int => self.int(None),
                Kind::Bool => self.add(None::<i64>, None::<bool>),
                Kind::Time => self.time(None),
                Kind::Json => self.json(None),
            },
            Cell::Text(s) => self.text(Some(s)),
            Cell::Int(i) => self.int(Some(i)),
            Cell::Bool(b) => self.add(i64::from(b), b),
            Cell::Time(t) => self.time(Some(t)),
            Cell::Json(v) => self.json(Some(v)),
            Cell::Object(m) => self.object(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_under_the_limit() {
        assert_eq!(
            chunk_sizes(7000, 4, Backend::Sqlite),
            vec![4096, 2048, 512, 256, 64, 16, 8]
        );
        assert_eq!(chunk_sizes(300, 51, Backend::Postgres), vec![256, 32, 8, 4]);
        assert!(chunk_sizes(0, 4, Backend::Sqlite).is_empty());
    }

    #[test]
    fn sql_is_rendered_per_dialect_with_placeholders() {
        let mut pg = Writer::new(Backend::Postgres);
        let sql = pg
            .sql(Shape::DeleteChildren(children::Child::Kv), 2)
            .unwrap();
        assert!(
            sql.as_str().contains("_key IN ($1, $2) AND synced_at = $3"),
            "{sql}"
        );
        let mut lite = Writer::new(Backend::Sqlite);
        let sql = lite.sql(Shape::UpsertJobs, 1).unwrap();
        assert!(
            sql.as_str().contains("ON CONFLICT")
                && sql.as_str().contains(r#""raw" <> "excluded"."raw""#),
            "{sql}"
        );
        assert_eq!(sql.as_str().matches('?').count(), COLUMNS.len());
    }
}
