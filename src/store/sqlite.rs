//! Opening the embedded SQLite database: WAL so readers never wait for a sync, a busy timeout so
//! overlapping writers queue instead of failing, files only their owner can read (they hold the
//! inventory, and environments from before redaction rules caught up), and deleted content
//! overwritten so a redacted secret does not linger in free pages.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{DbUrl, StoreError, children};
use crate::sql;

pub async fn connect(url: &DbUrl) -> Result<SqlitePool, StoreError> {
    let connect_err = |cause| StoreError::Connect {
        url: url.redacted(),
        cause,
    };
    if let Some(path) = super::url::sqlite_path(url.as_str()) {
        // SQLite gives the -wal and -shm files the database file's mode.
        open_private(Path::new(&path)).map_err(|e| connect_err(sqlx::Error::Io(e)))?;
    }
    let options = SqliteConnectOptions::from_str(url.as_str())
        .map_err(connect_err)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL in WAL mode is durable across application crashes and loses at most the last
        // transactions on power loss; FULL would fsync every commit.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(60))
        // A job row (`raw` and the JSON columns, about 7 KB) fits in one 8 KiB page, where 4 KiB
        // pages spill most of it into overflow pages that every later read of a column past them
        // walks: loads are about 15 % faster (BENCHMARKS.md). Only a new file takes it; an
        // existing one keeps its page size (WAL mode cannot change it).
        .page_size(8192)
        .pragma("cache_size", "-16384")
        .pragma("temp_store", "memory")
        // Zeroes what a replaced row leaves behind (a secret stored before it was redacted);
        // its cost is in BENCHMARKS.md.
        .pragma("secure_delete", "on")
        // A large load is one transaction, so the WAL grows to its size; give the space back after.
        .pragma("journal_size_limit", "67108864");
    SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(connect_err)
}

/// Opens `path`, creating it readable and writable by its owner only, whatever the umask.
/// A file that exists keeps the mode its owner gave it.
pub fn open_private(path: &Path) -> io::Result<File> {
    let created = !path.exists();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)?;
    if created {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Installs the triggers that derive child rows ([`children::sqlite_triggers`]) where the stored
/// ones differ: after an upgrade, or on a database an older sagesync last opened. A plain read
/// otherwise, so a reader does not queue behind a running sync.
pub async fn install_triggers(pool: &SqlitePool) -> Result<(), StoreError> {
    let wanted = children::sqlite_triggers();
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            .fetch_all(pool)
            .await?;
    let current = wanted
        .iter()
        .all(|(name, sql)| stored.iter().any(|(n, s)| n == name && s == sql.as_str()))
        && !stored
            .iter()
            .any(|(n, _)| children::OLD_SQLITE_TRIGGERS.contains(&n.as_str()));
    if current {
        return Ok(());
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let names = children::OLD_SQLITE_TRIGGERS
        .into_iter()
        .chain(wanted.iter().map(|(name, _)| *name));
    for name in names {
        sqlx::query(sql!["DROP TRIGGER IF EXISTS ", name].into_sqlx())
            .execute(&mut *tx)
            .await?;
    }
    for (_, sql) in wanted {
        sqlx::query(sql.into_sqlx()).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
