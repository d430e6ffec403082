//! One sync at a time per database: cron overlaps must not interleave writes. On SQLite an
//! exclusive lock on a file beside the database; on Postgres a session advisory lock. Both are
//! released by the operating system or the server when the process dies, kill -9 included.

use std::fs::{File, TryLockError};

use sqlx::Connection;

use super::{Store, StoreError};

/// Held while a sync runs; dropping it releases the lock.
pub enum SyncLock {
    File(#[allow(dead_code)] File),
    Postgres(#[allow(dead_code)] sqlx::PgConnection),
    /// An in-memory database: nothing to share, nothing to lock.
    None,
}

/// Postgres advisory lock key: "sagesync" in ASCII, plus the schema's hash so schemas are apart.
fn pg_key(schema: &str) -> i64 {
    let hash = schema.bytes().fold(0xcbf29ce484222325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    0x7361_6765_7379_6e63_i64 ^ (hash as i64 & 0x0000_ffff_ffff)
}

impl Store {
    /// Takes the sync lock; `Ok(None)` when another sync holds it and `wait` is false.
    pub async fn sync_lock(
        &self,
        url: &str,
        pg_schema: &str,
        wait: bool,
    ) -> Result<Option<SyncLock>, StoreError> {
        match self {
            Store::Sqlite(_) => {
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
            Store::Postgres(pool) => {
                // A connection of its own, closed (and so unlocked) when the guard is dropped.
                let mut conn = pool.acquire().await?.detach();
                let key = pg_key(pg_schema);
                if wait {
                    sqlx::query("SELECT pg_advisory_lock($1)")
                        .bind(key)
                        .execute(&mut conn)
                        .await?;
                    return Ok(Some(SyncLock::Postgres(conn)));
                }
                let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(key)
                    .fetch_one(&mut conn)
                    .await?;
                if locked {
                    Ok(Some(SyncLock::Postgres(conn)))
                } else {
                    conn.close().await.ok();
                    Ok(None)
                }
            }
        }
    }
}
