//! Who may sync what. SQLite: one sync process at a time, on an exclusive lock of a file beside
//! the database (cron overlaps must not interleave writes). Postgres: each scope on a session
//! advisory lock of its own, so several workers split the scopes. Both are released by the
//! operating system or the server when the process dies, kill -9 included.

use std::fs::{File, TryLockError};

use sqlx::Connection;

use super::{Store, StoreError};
use crate::model::scope::ScopeId;

/// A SQLite database's sync lock, held while a sync runs; dropping it releases the lock.
pub enum SyncLock {
    File(#[allow(dead_code)] File),
    /// An in-memory database: nothing to share, nothing to lock.
    None,
}

/// Takes the sync lock of the SQLite database at `url`; `Ok(None)` when another sync holds it
/// and `wait` is false.
async fn sqlite_lock(url: &str, wait: bool) -> Result<Option<SyncLock>, StoreError> {
    let Some(path) = super::url::sqlite_path(url) else {
        return Ok(Some(SyncLock::None));
    };
    let lock_path = format!("{path}.sync-lock");
    let file = super::sqlite::open_private(std::path::Path::new(&lock_path))
        .map_err(|e| StoreError::Lock(format!("cannot open {lock_path}: {e}")))?;
    if wait {
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| StoreError::Lock(e.to_string()))?
            .map_err(|e| StoreError::Lock(format!("cannot lock {lock_path}: {e}")))?;
        return Ok(Some(SyncLock::File(file)));
    }
    match file.try_lock() {
        Ok(()) => Ok(Some(SyncLock::File(file))),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => {
            Err(StoreError::Lock(format!("cannot lock {lock_path}: {e}")))
        }
    }
}

/// This process as other workers and `pg_stat_activity` see it: `host:pid`.
pub fn worker_name() -> String {
    format!(
        "{}:{}",
        gethostname::gethostname().to_string_lossy(),
        std::process::id()
    )
}

/// The scopes this process may sync. SQLite: all of them, while it holds the database's file
/// lock (one sync process at a time). Postgres: each scope on a session advisory lock of its own,
/// so several workers on one database split the scopes between them. They are all held on one
/// connection, and the server releases them when it closes, whatever killed the process.
pub enum ScopeLocks {
    Whole(#[allow(dead_code)] SyncLock),
    Postgres {
        conn: tokio::sync::Mutex<sqlx::PgConnection>,
        pool: sqlx::PgPool,
        schema: String,
    },
}

/// A scope this process holds. `Waited` was claimed with `--wait` on a connection of its own,
/// so that waiting for it blocks no other claim.
pub enum Claim {
    Shared(ScopeId),
    Waited(sqlx::PgConnection),
    Whole,
}

/// The advisory lock key of one scope: the schema and the scope's key, hashed (FNV-1a: eight
/// bytes, stable across versions and platforms, which std's hashers do not promise).
fn scope_key(schema: &str, scope: &ScopeId) -> i64 {
    let key = scope.key();
    let bytes = schema.bytes().chain([0]).chain(key.bytes());
    bytes.fold(0xcbf29ce484222325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    }) as i64
}

impl Store {
    /// What a sync needs before it claims scopes: on SQLite the database's file lock
    /// (`Ok(None)` when another sync holds it and `wait` is false), on Postgres a connection to
    /// hold scope locks on, named after this worker.
    pub async fn scope_locks(
        &self,
        url: &str,
        pg_schema: &str,
        wait: bool,
    ) -> Result<Option<ScopeLocks>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(sqlite_lock(url, wait).await?.map(ScopeLocks::Whole)),
            Store::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                sqlx::query("SELECT set_config('application_name', $1, false)")
                    .bind(format!("sagesync {}", worker_name()))
                    .execute(&mut conn)
                    .await?;
                Ok(Some(ScopeLocks::Postgres {
                    conn: tokio::sync::Mutex::new(conn),
                    pool: pool.clone(),
                    schema: pg_schema.to_string(),
                }))
            }
        }
    }
}

impl ScopeLocks {
    /// Claims the scope unless another worker holds it (`Ok(None)`).
    pub async fn try_claim(&self, scope: &ScopeId) -> Result<Option<Claim>, StoreError> {
        let Self::Postgres { conn, schema, .. } = self else {
            return Ok(Some(Claim::Whole));
        };
        let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(scope_key(schema, scope))
            .fetch_one(&mut *conn.lock().await)
            .await?;
        Ok(locked.then(|| Claim::Shared(scope.clone())))
    }

    /// Waits until no other worker holds the scope, then claims it (`--wait`).
    pub async fn claim_waiting(&self, scope: &ScopeId) -> Result<Claim, StoreError> {
        let Self::Postgres { pool, schema, .. } = self else {
            return Ok(Claim::Whole);
        };
        let mut own = pool.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(scope_key(schema, scope))
            .execute(&mut own)
            .await?;
        Ok(Claim::Waited(own))
    }

    /// Lets the scope go, for another worker or the next run.
    pub async fn release(&self, claim: Claim) -> Result<(), StoreError> {
        match (self, claim) {
            (Self::Postgres { conn, schema, .. }, Claim::Shared(scope)) => {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(scope_key(schema, &scope))
                    .execute(&mut *conn.lock().await)
                    .await?;
            }
            (_, Claim::Waited(own)) => own.close().await?,
            _ => {}
        }
        Ok(())
    }

    /// The worker holding a scope, as it named itself (`host:pid`), when the server says.
    pub async fn holder(&self, scope: &ScopeId) -> Option<String> {
        let Self::Postgres { conn, schema, .. } = self else {
            return None;
        };
        let key = scope_key(schema, scope);
        // A bigint advisory key shows in pg_locks as its two halves, objsubid 1.
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND l.classid = (($1 >> 32) & 4294967295)::oid AND l.objid = ($1 & 4294967295)::oid",
        )
        .bind(key)
        .fetch_optional(&mut *conn.lock().await)
        .await
        .ok()?;
        row.map(|(name,)| name.trim_start_matches("sagesync ").to_string())
    }
}
