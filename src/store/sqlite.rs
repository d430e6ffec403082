//! Opening the embedded SQLite database: WAL so readers never wait for a sync, a busy timeout so
//! overlapping writers queue instead of failing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{DbUrl, StoreError};

pub async fn connect(url: &DbUrl) -> Result<SqlitePool, StoreError> {
    let connect_err = |cause| StoreError::Connect {
        url: url.redacted(),
        cause,
    };
    let options = SqliteConnectOptions::from_str(url.as_str())
        .map_err(connect_err)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL in WAL mode is durable across application crashes and loses at most the last
        // transactions on power loss; FULL would fsync every commit.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(60))
        .pragma("cache_size", "-16384")
        .pragma("temp_store", "memory")
        // A large load is one transaction, so the WAL grows to its size; give the space back after.
        .pragma("journal_size_limit", "67108864");
    SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(connect_err)
}
