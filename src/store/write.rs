//! The statements that store a batch of jobs, built from the column table and rendered for one
//! dialect. Pure CPU work, so the loader runs it on its parsing thread, off the writer's path.
//!
//! Per batch: delete the jobs' child rows, upsert the job rows, insert the child rows. Run inside
//! one transaction this replaces each job whole: no reader sees half of a job's children and a
//! newer version of a job leaves no stale ones. The upsert leaves a row alone (and its
//! `synced_at` unchanged) when its `raw` is the same, so loading the same input twice changes
//! nothing.

use std::collections::HashSet;

use sea_query::{
    Expr, ExprTrait, OnConflict, PostgresQueryBuilder, Query, SqliteQueryBuilder, Value,
};
use sea_query_sqlx::{SqlxBinder, SqlxValues};

use super::{Backend, StoreError};
use crate::flatten::columns::{
    COLUMNS, JOB_TABLE, KV_COLUMNS, KV_TABLE, Kind, METRIC_COLUMNS, METRIC_TABLE,
    TRANSITION_COLUMNS, TRANSITION_TABLE,
};
use crate::flatten::{Cell, JobRecord, time};

/// One SQL statement with its bound values.
pub struct Statement {
    pub sql: String,
    pub values: SqlxValues,
}

/// Builds the statements that store `jobs`. When the same job appears more than once, the last wins.
pub fn prepare(backend: Backend, jobs: Vec<JobRecord>) -> Result<Vec<Statement>, StoreError> {
    let jobs = last_of_each(jobs);
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let enc = Encoder(backend);
    let mut out = Vec::new();

    for table in [KV_TABLE, METRIC_TABLE, TRANSITION_TABLE] {
        let mut arns = jobs.iter().map(|j| j.arn.as_str());
        for n in chunk_sizes(jobs.len(), 1, backend) {
            let stmt = Query::delete()
                .from_table(table)
                .and_where(Expr::col("training_job_arn").is_in(arns.by_ref().take(n)))
                .to_owned();
            out.push(render(backend, &stmt));
        }
    }

    let mut job_rows = Vec::with_capacity(jobs.len());
    let mut kv_rows = Vec::new();
    let mut metric_rows = Vec::new();
    let mut transition_rows = Vec::new();
    for job in jobs {
        let arn = job.arn;
        for (kind, key, value) in job.kv {
            kv_rows.push(vec![
                arn.clone().into(),
                kind.into(),
                key.into(),
                value.into(),
            ]);
        }
        for m in job.metrics {
            metric_rows.push(vec![
                arn.clone().into(),
                m.name.into(),
                Value::Double(m.value),
                enc.time(m.timestamp),
            ]);
        }
        for t in job.transitions {
            transition_rows.push(vec![
                arn.clone().into(),
                t.seq.into(),
                Value::String(t.status),
                enc.time(t.start_time),
                enc.time(t.end_time),
                Value::String(t.status_message),
            ]);
        }
        job_rows.push(
            job.cells
                .into_iter()
                .map(|c| enc.cell(c))
                .collect::<Vec<_>>(),
        );
    }

    let names: Vec<&'static str> = COLUMNS.iter().map(|c| c.name).collect();
    let upsert = OnConflict::column("_key")
        .update_columns(names.iter().copied().filter(|&n| n != "_key"))
        .action_and_where(Expr::cust(format!(
            r#""{JOB_TABLE}"."raw" <> "excluded"."raw" OR "{JOB_TABLE}"."deleted_at" IS NOT NULL"#
        )))
        .to_owned();
    insert(&mut out, backend, JOB_TABLE, &names, job_rows, Some(upsert))?;
    insert(&mut out, backend, KV_TABLE, KV_COLUMNS, kv_rows, None)?;
    insert(
        &mut out,
        backend,
        METRIC_TABLE,
        METRIC_COLUMNS,
        metric_rows,
        None,
    )?;
    insert(
        &mut out,
        backend,
        TRANSITION_TABLE,
        TRANSITION_COLUMNS,
        transition_rows,
        None,
    )?;
    Ok(out)
}

fn insert(
    out: &mut Vec<Statement>,
    backend: Backend,
    table: &'static str,
    columns: &[&'static str],
    rows: Vec<Vec<Value>>,
    on_conflict: Option<OnConflict>,
) -> Result<(), StoreError> {
    let sizes = chunk_sizes(rows.len(), columns.len(), backend);
    let mut rows = rows.into_iter();
    for n in sizes {
        let mut stmt = Query::insert();
        stmt.into_table(table).columns(columns.iter().copied());
        for row in rows.by_ref().take(n) {
            stmt.values(row.into_iter().map(Expr::from))
                .map_err(|e| StoreError::Build(e.to_string()))?;
        }
        if let Some(oc) = &on_conflict {
            stmt.on_conflict(oc.clone());
        }
        out.push(render(backend, &stmt));
    }
    Ok(())
}

fn render<S: SqlxBinder>(backend: Backend, stmt: &S) -> Statement {
    let (sql, values) = match backend {
        Backend::Sqlite => stmt.build_sqlx(SqliteQueryBuilder),
        Backend::Postgres => stmt.build_sqlx(PostgresQueryBuilder),
    };
    Statement { sql, values }
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

fn last_of_each(jobs: Vec<JobRecord>) -> Vec<JobRecord> {
    let mut seen = HashSet::with_capacity(jobs.len());
    let mut kept: Vec<JobRecord> = jobs
        .into_iter()
        .rev()
        .filter(|j| seen.insert(j.arn.clone()))
        .collect();
    kept.reverse();
    kept
}

/// How each kind of cell is bound on one backend: SQLite keeps timestamps and JSON as text and
/// booleans as 0/1; Postgres binds timestamptz, jsonb and boolean.
struct Encoder(Backend);

impl Encoder {
    fn cell(&self, cell: Cell) -> Value {
        let pg = self.0 == Backend::Postgres;
        match cell {
            Cell::Null(kind) => match kind {
                Kind::Text => Value::String(None),
                Kind::Int => Value::BigInt(None),
                Kind::Bool if pg => Value::Bool(None),
                Kind::Bool => Value::BigInt(None),
                Kind::Time => self.time(None),
                Kind::Json if pg => Value::Json(None),
                Kind::Json => Value::String(None),
            },
            Cell::Text(s) => s.into(),
            Cell::Int(i) => i.into(),
            Cell::Bool(b) if pg => b.into(),
            Cell::Bool(b) => i64::from(b).into(),
            Cell::Time(t) => self.time(Some(t)),
            Cell::Json(j) if pg => Value::Json(Some(Box::new(j))),
            Cell::Json(j) => j.to_string().into(),
        }
    }

    fn time(&self, t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
        match self.0 {
            Backend::Postgres => Value::ChronoDateTimeUtc(t),
            Backend::Sqlite => Value::String(t.as_ref().map(time::format)),
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
}
