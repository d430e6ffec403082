//! The database: SQLite (embedded default) or PostgreSQL, as an enum of two real pools.
//!
//! `sqlx::AnyPool` cannot decode jsonb, timestamptz or SQLite booleans, so each backend keeps its
//! own pool and its own migrations folder; the SQL that writes jobs is generated once from the
//! column table and rendered per dialect (see [`write`]).

mod backlog;
mod children;
pub mod costs;
mod lock;
pub mod metrics;
mod paces;
mod postgres;
pub mod read;
mod read_only;
mod reflatten;
pub mod sql;
mod sqlite;
mod stats;
mod sync_state;
pub mod url;
pub mod write;

use sqlx::{PgPool, SqlitePool};

use crate::model::time::Timestamp;

pub use sql::Sql;

pub use backlog::{BacklogPosition, SearchWalk, Undescribed};
pub use lock::{Claim, ScopeLocks, SyncLock, worker_name};
pub use paces::StoredPace;
pub use sync_state::{Cursor, Missing};
pub use url::{Backend, DbUrl};
pub use write::{Statement, Writer};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL {0}: use sqlite://PATH (or sqlite::memory:) or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    #[error(
        "invalid --pg-schema {0:?}: use letters, digits and underscores, not starting with a digit"
    )]
    BadSchema(String),
    // Causes are part of the message, not a `source`: `main` prints the chain, and each cause
    // is to be printed once.
    #[error("cannot open database {url}: {cause}")]
    Connect { url: String, cause: sqlx::Error },
    #[error("cannot migrate database {url}: {cause}")]
    Migrate {
        url: String,
        cause: sqlx::migrate::MigrateError,
    },
    #[error("cannot build SQL: {0}")]
    Build(String),
    #[error(
        "column {column} has type {kind}, which sagesync cannot print; cast it to text, e.g. {column}::text"
    )]
    Unprintable { column: String, kind: String },
    #[error(
        "sagesync query runs SQL read-only, and the database refused a write ({0}); change data with the database's own client"
    )]
    ReadOnly(String),
    #[error(
        "sagesync query runs one statement at a time, and this SQL has more after the first; run each with a `sagesync query` of its own"
    )]
    MoreThanOneStatement,
    #[error(
        "the schema of {0} is older than this sagesync; run `sagesync migrate` to upgrade it (reading never upgrades, so a query never waits for one)"
    )]
    SchemaBehind(String),
    #[error("cannot take the sync lock: {0}")]
    Lock(String),
    #[error("database error: {0}")]
    Query(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Query(e)
    }
}

impl StoreError {
    /// Whether the database refused what it was given (a value out of range, too long for an
    /// index, a broken constraint) rather than failing itself: such an error belongs to the
    /// input or job being written, and the others can still be stored.
    pub fn is_content(&self) -> bool {
        let StoreError::Query(sqlx::Error::Database(e)) = self else {
            return false;
        };
        let Some(code) = e.code() else { return false };
        if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
            // SQLite result codes (extended codes keep the primary one in the low byte):
            // TOOBIG, CONSTRAINT, MISMATCH.
            return code
                .parse::<u32>()
                .is_ok_and(|n| matches!(n & 0xff, 18..=20));
        }
        matches!(code.get(..2), Some("22" | "23" | "54"))
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: DbUrl,
    /// Postgres schema for sagesync's tables (`aws` so DDSQL queries run unchanged).
    pub pg_schema: String,
}

#[cfg(test)]
impl StoreOptions {
    /// An in-memory SQLite database, for the in-process tests.
    pub fn memory() -> Self {
        StoreOptions {
            url: DbUrl::parse("sqlite::memory:").unwrap_or_else(|e| panic!("{e}")),
            pg_schema: "aws".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open write transaction.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Store {
    /// Opens the database (creating a SQLite file if missing) and brings its schema up to date.
    /// A command that writes opens it through `crate::reflatten::open`, which also brings the
    /// stored rows up to date.
    pub async fn open(opts: &StoreOptions) -> Result<Self, StoreError> {
        let store = Store::connect(opts).await?;
        store.upgrade_schema(&opts.url).await?;
        Ok(store)
    }

    /// Opens the database to read (`query`): never re-derives rows nor waits for an upgrade another
    /// process runs (rows being re-derived are each consistent, old or new). A new, empty
    /// database gets its schema, since there is nothing to wait for; one whose schema is behind
    /// this sagesync is refused: `sagesync migrate` upgrades it.
    pub async fn open_reader(opts: &StoreOptions) -> Result<Self, StoreError> {
        let store = Store::connect(opts).await?;
        match store.applied().await {
            Some(applied) if applied == store.wanted() => Ok(store),
            Some(applied) if !applied.is_empty() => {
                store.close().await;
                Err(StoreError::SchemaBehind(opts.url.redacted()))
            }
            _ => {
                store.upgrade_schema(&opts.url).await?;
                Ok(store)
            }
        }
    }

    async fn connect(opts: &StoreOptions) -> Result<Self, StoreError> {
        Ok(match opts.url.backend {
            Backend::Sqlite => Store::Sqlite(sqlite::connect(&opts.url).await?),
            Backend::Postgres => {
                Store::Postgres(postgres::connect(&opts.url, &opts.pg_schema).await?)
            }
        })
    }

    /// The migrations, then (SQLite) the triggers that derive child rows.
    async fn upgrade_schema(&self, url: &DbUrl) -> Result<(), StoreError> {
        self.migrate(url).await?;
        if let Store::Sqlite(pool) = self {
            sqlite::install_triggers(pool).await?;
        }
        Ok(())
    }

    async fn migrate(&self, url: &DbUrl) -> Result<(), StoreError> {
        if self.is_current().await {
            // Migrating takes a lock; a reader must not queue behind a running sync for it.
            return Ok(());
        }
        let result = match self {
            Store::Sqlite(pool) => self.migrator().run(pool).await,
            Store::Postgres(pool) => self.migrator().run(pool).await,
        };
        result.map_err(|cause| StoreError::Migrate {
            url: url.redacted(),
            cause,
        })
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self {
            Store::Sqlite(_) => sqlx::migrate!("migrations/sqlite"),
            Store::Postgres(_) => sqlx::migrate!("migrations/postgres"),
        }
    }

    /// Whether every embedded migration is already applied, found with a plain read.
    async fn is_current(&self) -> bool {
        self.applied().await == Some(self.wanted())
    }

    fn wanted(&self) -> Vec<i64> {
        self.migrator().iter().map(|m| m.version).collect()
    }

    /// The migrations applied here, in order; none when the database has no migration table.
    async fn applied(&self) -> Option<Vec<i64>> {
        let query = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        let applied: Result<Vec<i64>, sqlx::Error> = match self {
            Store::Sqlite(pool) => sqlx::query_scalar(query).fetch_all(pool).await,
            Store::Postgres(pool) => sqlx::query_scalar(query).fetch_all(pool).await,
        };
        applied.ok()
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            // IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
            // instead of one failing when it upgrades a read lock.
            Store::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Tables grow inside one long load transaction without fresh statistics, and the
                // planner would answer "children of these 256 jobs" with scans of them, making a
                // load quadratic. Every statement sagesync writes with is a key lookup.
                sqlx::query("SET LOCAL enable_seqscan = off")
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        })
    }

    /// Runs sea-query statements in one transaction.
    pub async fn execute_all(
        &self,
        statements: Vec<(Sql, sea_query_sqlx::SqlxValues)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (sql, values) in statements {
            let sql = sql.into_sqlx();
            match &mut tx {
                Tx::Sqlite(t) => {
                    sqlx::query_with(sql, values).execute(&mut **t).await?;
                }
                Tx::Postgres(t) => {
                    sqlx::query_with(sql, values).execute(&mut **t).await?;
                }
            }
        }
        tx.commit().await
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool) => pool.close().await,
            Store::Postgres(pool) => pool.close().await,
        }
    }
}

/// A timestamp column read on either backend: SQLite stores sagesync's text form
/// (`2024-03-01T18:15:30.123Z`), Postgres a timestamptz.
impl sqlx::Type<sqlx::Sqlite> for Timestamp {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<sqlx::Sqlite>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for Timestamp {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<sqlx::Sqlite>>::decode(value)?;
        Timestamp::parse(text).ok_or_else(|| "a stored timestamp is not one sagesync wrote".into())
    }
}

impl sqlx::Type<sqlx::Postgres> for Timestamp {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <chrono::DateTime<chrono::Utc> as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Timestamp {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let t = <chrono::DateTime<chrono::Utc> as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Timestamp::from_datetime(t).ok_or_else(|| "a stored timestamp is out of range".into())
    }
}

/// Text parameters (NULL for `None`), bound in order, for either backend.
pub(crate) fn text_args<DB: sqlx::Database>(
    params: &[Option<String>],
) -> Result<DB::Arguments, sqlx::Error>
where
    for<'t> Option<String>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut args = DB::Arguments::default();
    for p in params {
        sqlx::Arguments::add(&mut args, p.clone()).map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// A row type readable from either backend.
pub trait Typed:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
{
}

impl<T> Typed for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

impl Store {
    /// Runs `sql` with text parameters and reads each row into `T` by column name.
    pub async fn fetch_typed<T: Typed>(
        &self,
        sql: impl Into<Sql>,
        params: &[Option<String>],
    ) -> Result<Vec<T>, StoreError> {
        let sql = sql.into();
        match self {
            Store::Sqlite(pool) => fetch_on(pool, sql, params).await,
            Store::Postgres(pool) => fetch_on(pool, sql, params).await,
        }
    }
}

/// The one query path of [`Store`] and [`Tx`]: `sql` with text parameters on any of a backend's
/// executors (a pool, a transaction), each row read into `T` by column name. Each of them only
/// says which backend it is.
async fn fetch_on<'e, DB, E, T>(
    executor: E,
    sql: Sql,
    params: &[Option<String>],
) -> Result<Vec<T>, StoreError>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'e, Database = DB>,
    T: for<'r> sqlx::FromRow<'r, DB::Row> + Send + Unpin,
    for<'t> Option<String>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let args = text_args::<DB>(params)?;
    Ok(sqlx::query_as_with(sql.into_sqlx(), args)
        .fetch_all(executor)
        .await?)
}

/// [`fetch_on`] for a statement whose rows are not read.
async fn execute_on<'e, DB, E>(
    executor: E,
    sql: Sql,
    params: &[Option<String>],
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'e, Database = DB>,
    for<'t> Option<String>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let args = text_args::<DB>(params)?;
    sqlx::query_with(sql.into_sqlx(), args)
        .execute(executor)
        .await?;
    Ok(())
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// [`Store::fetch_typed`] inside this transaction.
    pub async fn fetch_all<T: Typed>(
        &mut self,
        sql: impl Into<Sql>,
        params: &[Option<String>],
    ) -> Result<Vec<T>, StoreError> {
        let sql = sql.into();
        match self {
            Tx::Sqlite(tx) => fetch_on(&mut **tx, sql, params).await,
            Tx::Postgres(tx) => fetch_on(&mut **tx, sql, params).await,
        }
    }

    pub async fn run(&mut self, statements: Vec<Statement>) -> Result<(), StoreError> {
        /// The rows of statements that return none.
        #[derive(sqlx::FromRow)]
        struct Nothing {}
        self.run_returning::<Nothing>(statements).await.map(|_| ())
    }

    /// Runs prepared statements and reads the rows they return (`RETURNING`) into `T`.
    pub async fn run_returning<T: Typed>(
        &mut self,
        statements: Vec<Statement>,
    ) -> Result<Vec<T>, StoreError> {
        let mismatch = || StoreError::Build("statement prepared for the other backend".into());
        let mut out = Vec::new();
        for st in statements {
            let sql = st.sql.into_sqlx();
            match self {
                Tx::Sqlite(tx) => {
                    let args = st.args.into_sqlite().ok_or_else(mismatch)?;
                    out.extend(sqlx::query_as_with(sql, args).fetch_all(&mut **tx).await?);
                }
                Tx::Postgres(tx) => {
                    let args = st.args.into_postgres().ok_or_else(mismatch)?;
                    out.extend(sqlx::query_as_with(sql, args).fetch_all(&mut **tx).await?);
                }
            }
        }
        Ok(out)
    }

    /// Runs one statement with text parameters.
    pub async fn execute(
        &mut self,
        sql: impl Into<Sql>,
        params: &[Option<String>],
    ) -> Result<(), StoreError> {
        let sql = sql.into();
        match self {
            Tx::Sqlite(tx) => execute_on(&mut **tx, sql, params).await,
            Tx::Postgres(tx) => execute_on(&mut **tx, sql, params).await,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}
