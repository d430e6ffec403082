//! Settling the tables after a big write: the planner's statistics and the visibility map.
//!
//! Postgres plans from statistics that autovacuum refreshes some minutes after a table changed,
//! and until then plans a table a load has just filled as the empty one it last saw; and once it
//! starts, it vacuums the 15 GB a million-job load wrote while the first queries run: on two
//! cores they took 1 to 2 s right after such a load, and well under once the tables were
//! vacuumed and analyzed (BENCHMARKS.md). So a command that wrote does, before it exits, what
//! autovacuum would do next, by the server's own thresholds: it analyzes each table whose rows
//! changed by more than `autovacuum_analyze_threshold` + `autovacuum_analyze_scale_factor` × rows
//! since its last analyze, and vacuums each with more dead rows, or more rows inserted since its
//! last vacuum, than the matching `autovacuum_vacuum_*` settings allow (the vacuum also sets the
//! visibility map that index-only scans read). A cron sync that changed a few jobs does nothing.
//!
//! SQLite keeps no statistics unless asked (`ANALYZE`), and its planner's defaults are what the
//! canned queries are written and measured for. Gathered on a million-job file (46 s), they made
//! no canned query faster, and `waste`, which joined the job table then, four times slower
//! (BENCHMARKS.md). So nothing is gathered there, and a SQLite file plans the same right after
//! a load as a month later.

use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection};

use super::{Sql, Store, StoreError};
use crate::sql;

/// The tables of this schema autovacuum would vacuum or analyze next, as the server itself
/// decides (Postgres 13 and later: inserted rows count since then), a table's own settings
/// (`ALTER TABLE ... SET (autovacuum_...)`) before the server's.
const STALE_TABLES: &str = "SELECT relname, needs_vacuum, needs_analyze FROM (
    SELECT s.relname::text AS relname,
        s.n_dead_tup > o.vacuum_threshold + o.vacuum_scale * greatest(c.reltuples, 0)
            OR s.n_ins_since_vacuum > o.insert_threshold + o.insert_scale * greatest(c.reltuples, 0)
            AS needs_vacuum,
        s.n_mod_since_analyze > o.analyze_threshold + o.analyze_scale * greatest(c.reltuples, 0)
            AS needs_analyze
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
    CROSS JOIN LATERAL (
        SELECT
            coalesce(max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_threshold'),
                current_setting('autovacuum_vacuum_threshold'))::float8 AS vacuum_threshold,
            coalesce(max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_scale_factor'),
                current_setting('autovacuum_vacuum_scale_factor'))::float8 AS vacuum_scale,
            coalesce(max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_insert_threshold'),
                current_setting('autovacuum_vacuum_insert_threshold'))::float8 AS insert_threshold,
            coalesce(max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_insert_scale_factor'),
                current_setting('autovacuum_vacuum_insert_scale_factor'))::float8 AS insert_scale,
            coalesce(max(option_value) FILTER (WHERE option_name = 'autovacuum_analyze_threshold'),
                current_setting('autovacuum_analyze_threshold'))::float8 AS analyze_threshold,
            coalesce(max(option_value) FILTER (WHERE option_name = 'autovacuum_analyze_scale_factor'),
                current_setting('autovacuum_analyze_scale_factor'))::float8 AS analyze_scale
        FROM pg_options_to_table(c.reloptions)
    ) o
    WHERE s.schemaname = current_schema()
) t
WHERE needs_vacuum OR needs_analyze
ORDER BY relname";

impl Store {
    /// Closes the store, then (Postgres) vacuums and analyzes the tables the writes changed
    /// substantially; see the module comment. A failure is a warning: the data is stored, and
    /// autovacuum settles the tables later.
    pub async fn close_after_writing(&self) {
        let Store::Postgres(pool) = self else {
            return self.close().await;
        };
        let options = pool.connect_options();
        // A server process publishes what its transactions changed up to a second late, and
        // at once when it exits: the pool's connections close first, and the settling waits for
        // their processes to be gone, so the counts are whole.
        self.close().await;
        let started = Instant::now();
        match settle_stale(&options).await {
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => tracing::info!(
                "vacuumed or analyzed {} changed tables in {:.1} s, as autovacuum would have next ({})",
                tables.len(),
                started.elapsed().as_secs_f64(),
                tables.join(", ")
            ),
            Err(e) => tracing::warn!(
                "cannot vacuum and analyze the changed tables ({e}); queries may be slow until autovacuum has"
            ),
        }
    }
}

/// The other server processes of this sagesync's name (its closed pool's, `store::postgres`).
const OTHERS: &str = "SELECT count(*) FROM pg_stat_activity \
    WHERE application_name = current_setting('application_name') AND pid <> pg_backend_pid()";

/// How long the settling waits for the pool's server processes to exit (README: a name in the
/// URL that many processes share costs this much).
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// Waits, up to [`EXIT_WAIT`], until the pool's server processes have exited: a process
/// publishes its counts as it exits, before it leaves `pg_stat_activity`. Read sooner, a load's
/// changes could be missing from the counts, and its tables left unanalyzed.
async fn wait_for_exits(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    let until = Instant::now() + EXIT_WAIT;
    while Instant::now() < until {
        let others: i64 = sqlx::query_scalar(OTHERS).fetch_one(&mut *conn).await?;
        if others == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Vacuums and analyzes the stale tables on a connection of its own, returning their names.
async fn settle_stale(
    options: &sqlx::postgres::PgConnectOptions,
) -> Result<Vec<String>, StoreError> {
    let mut conn = options.connect().await?;
    wait_for_exits(&mut conn).await?;
    let tables: Vec<(String, bool, bool)> =
        sqlx::query_as(STALE_TABLES).fetch_all(&mut conn).await?;
    for (table, vacuum, analyze) in &tables {
        let command = match (vacuum, analyze) {
            (true, true) => "VACUUM (ANALYZE) ",
            (true, false) => "VACUUM ",
            _ => "ANALYZE ",
        };
        sqlx::query(sql![command, Sql::ident(table)].into_sqlx())
            .execute(&mut conn)
            .await?;
    }
    conn.close().await.ok();
    Ok(tables.into_iter().map(|(table, _, _)| table).collect())
}
