//! The planner's statistics after a big write.
//!
//! Postgres plans from statistics that autovacuum refreshes some minutes after a table changed,
//! and until then plans a table a load has just filled as the empty one it last saw: right
//! after a million-job `load` the canned queries took 1.3 to 5.9 s, and under 1 s once analyzed
//! (BENCHMARKS.md). So a command that wrote analyzes, before it exits, each table autovacuum
//! would analyze next: those whose rows changed since their last analyze by more than the
//! server's own `autovacuum_analyze_threshold` + `autovacuum_analyze_scale_factor` × rows. A
//! cron sync that changed a few jobs analyzes nothing.
//!
//! SQLite keeps no statistics unless asked (`ANALYZE`), and its planner's defaults are what the
//! canned queries are written and measured for. Gathered on a million-job file (46 s), they made
//! no canned query faster, and `waste`, which joined the job table then, four times slower
//! (BENCHMARKS.md). So nothing is gathered there, and a SQLite file plans the same right after
//! a load as a month later.

use std::time::Instant;

use sqlx::{ConnectOptions, Connection};

use super::{Sql, Store, StoreError};
use crate::sql;

/// The tables of this schema autovacuum would analyze next, as the server itself decides.
const STALE_TABLES: &str = "SELECT s.relname::text
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema()
      AND s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
          + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0)
    ORDER BY s.relname";

impl Store {
    /// Closes the store, then (Postgres) analyzes the tables the writes changed substantially;
    /// see the module comment. A failure is a warning: the data is stored, and autovacuum
    /// analyzes the tables later.
    pub async fn close_after_writing(&self) {
        let Store::Postgres(pool) = self else {
            return self.close().await;
        };
        let options = pool.connect_options();
        // A server process publishes what its transactions changed up to a second late, and
        // at once when it exits: the pool's connections close first, so the counts are whole.
        self.close().await;
        let started = Instant::now();
        match analyze_stale(&options).await {
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => tracing::info!(
                "refreshed the query planner's statistics of {} changed tables in {:.1} s ({})",
                tables.len(),
                started.elapsed().as_secs_f64(),
                tables.join(", ")
            ),
            Err(e) => tracing::warn!(
                "cannot refresh the query planner's statistics ({e}); queries may be slow until autovacuum analyzes the tables"
            ),
        }
    }
}

/// Analyzes the stale tables on a connection of its own, returning their names.
async fn analyze_stale(
    options: &sqlx::postgres::PgConnectOptions,
) -> Result<Vec<String>, StoreError> {
    let mut conn = options.connect().await?;
    let tables: Vec<String> = sqlx::query_scalar(STALE_TABLES)
        .fetch_all(&mut conn)
        .await?;
    for table in &tables {
        sqlx::query(sql!["ANALYZE ", Sql::ident(table)].into_sqlx())
            .execute(&mut conn)
            .await?;
    }
    conn.close().await.ok();
    Ok(tables)
}
