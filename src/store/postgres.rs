//! Opening PostgreSQL: sagesync's tables live in their own schema (`aws` by default, so DDSQL
//! queries such as `SELECT ... FROM aws.sagemaker_training_job` run unchanged).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use super::{DbUrl, Sql, StoreError};
use crate::sql;

/// How long to keep trying an unreachable server before giving up with an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn connect(url: &DbUrl, schema: &str) -> Result<PgPool, StoreError> {
    if !valid_identifier(schema) {
        return Err(StoreError::BadSchema(schema.to_string()));
    }
    let connect_err = |cause| StoreError::Connect {
        url: url.redacted(),
        cause,
    };
    let base = PgConnectOptions::from_str(url.as_str()).map_err(connect_err)?;

    // The schema must exist before the pool's connections put it first on their search path,
    // where migrations and every unqualified table name will find it. One direct connection
    // also fails at once, with the server's own reason, where a pool would retry until its
    // timeout and say only that it timed out.
    let mut admin = tokio::time::timeout(CONNECT_TIMEOUT, base.connect())
        .await
        .map_err(|_| {
            connect_err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            )))
        })?
        .map_err(connect_err)?;
    let create = sql!["CREATE SCHEMA IF NOT EXISTS ", Sql::ident(schema)];
    // Two first runs at once can race on CREATE SCHEMA; the loser finds it there on a retry.
    if sqlx::query(create.clone().into_sqlx())
        .execute(&mut admin)
        .await
        .is_err()
    {
        sqlx::query(create.into_sqlx()).execute(&mut admin).await?;
    }
    admin.close().await.ok();

    let mut options = base.options([("search_path", format!("\"{schema}\", public"))]);
    // A name of this process's own, so the settling after a write can tell when the pool's
    // server processes have exited (store::stats); a name the URL gives is kept.
    if options.get_application_name().is_none() {
        options = options.application_name(&format!("sagesync {}", std::process::id()));
    }
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(connect_err)
}

fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}
