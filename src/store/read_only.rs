//! The SQLite connection `query` reads through: opened read-only (`SQLITE_OPEN_READONLY`, so no
//! pragma, `ATTACH` or statement can write or create a file), running exactly one statement.
//!
//! Where the first statement ends is SQLite's own parser's answer (`sqlite3_prepare_v2`'s tail),
//! through the connection's raw handle: a splitter of our own would have to know every quoting,
//! comment and trigger body SQLite does, and sqlx runs every statement of a text without saying.
//! The names of an empty result's columns come from the same prepare: sqlx's `describe` also
//! works out each column's type by walking the statement's bytecode, which took 4 to 11 s for
//! the GPU reports on a database with no utilization yet.

use std::ffi::{CStr, c_int};
use std::ptr;

use libsqlite3_sys::{
    SQLITE_OK, sqlite3, sqlite3_column_count, sqlite3_column_name, sqlite3_finalize,
    sqlite3_prepare_v2,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, SqlitePool};

use super::StoreError;

/// A connection of its own to the pool's file, read-only, with the file also attached as `aws`
/// so a DDSQL query (`SELECT ... FROM aws.sagemaker_training_job`) runs unchanged.
pub async fn connect(pool: &SqlitePool) -> Result<SqliteConnection, StoreError> {
    let options: SqliteConnectOptions = (*pool.connect_options()).clone();
    let file = options.get_filename().to_string_lossy().into_owned();
    let mut conn = options
        .read_only(true)
        .create_if_missing(false)
        .connect()
        .await?;
    sqlx::query("ATTACH DATABASE ?1 AS aws")
        .bind(file)
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Refuses `sql` when it holds more than one statement (blanks, comments and empty `;` aside).
/// Text SQLite cannot parse before the first statement is left for the query to report.
pub async fn one_statement(conn: &mut SqliteConnection, sql: &str) -> Result<(), StoreError> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut rest = sql.as_bytes();
    let mut statements = 0;
    while !rest.is_empty() {
        let (parsed, one, used) = prepare(db, rest);
        if !parsed {
            if statements == 0 {
                return Ok(());
            }
            return Err(StoreError::MoreThanOneStatement);
        }
        statements += usize::from(one);
        if statements > 1 {
            return Err(StoreError::MoreThanOneStatement);
        }
        if used == 0 {
            break;
        }
        rest = &rest[used..];
    }
    Ok(())
}

/// The names of the columns the first statement of `sql` returns.
pub async fn column_names(
    conn: &mut SqliteConnection,
    sql: &str,
) -> Result<Vec<String>, StoreError> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let Ok(len) = c_int::try_from(sql.len()) else {
        return Err(StoreError::Build(
            "the query is longer than SQLite takes".into(),
        ));
    };
    let mut stmt = ptr::null_mut();
    // SAFETY: as in `prepare`; each name is copied out before the statement is finalized, which
    // is what frees it, and a null name (out of memory) is left out.
    let names = unsafe {
        let rc = sqlite3_prepare_v2(db, sql.as_ptr().cast(), len, &mut stmt, ptr::null_mut());
        if rc != SQLITE_OK {
            sqlite3_finalize(stmt);
            return Err(StoreError::Build(format!(
                "SQLite cannot prepare the query again to name its columns (code {rc})"
            )));
        }
        let names = (0..sqlite3_column_count(stmt))
            .filter_map(|i| {
                let name = sqlite3_column_name(stmt, i);
                (!name.is_null()).then(|| CStr::from_ptr(name).to_string_lossy().into_owned())
            })
            .collect();
        sqlite3_finalize(stmt);
        names
    };
    Ok(names)
}

/// Prepares the first statement of `text` and throws it away: whether SQLite parsed it, whether
/// it was a statement (not only blanks or comments), and how many bytes it took.
fn prepare(db: *mut sqlite3, text: &[u8]) -> (bool, bool, usize) {
    let Ok(len) = c_int::try_from(text.len()) else {
        return (false, false, 0);
    };
    let mut stmt = ptr::null_mut();
    let mut tail = ptr::null();
    // SAFETY: `db` is the open connection the caller holds locked; `text` outlives the call and
    // `len` is its length, so SQLite reads no further; the statement is finalized at once
    // (finalizing null is a no-op), and `tail` points into `text` or is null.
    unsafe {
        let rc = sqlite3_prepare_v2(db, text.as_ptr().cast(), len, &mut stmt, &mut tail);
        let one = !stmt.is_null();
        sqlite3_finalize(stmt);
        let used = if tail.is_null() {
            text.len()
        } else {
            usize::try_from(tail.cast::<u8>().offset_from(text.as_ptr())).unwrap_or(text.len())
        };
        (rc == SQLITE_OK, one, used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    #[tokio::test]
    async fn one_statement_is_what_sqlite_parses_as_one() {
        let Ok(mut conn) = SqliteConnection::connect("sqlite::memory:").await else {
            panic!("an in-memory database");
        };
        for sql in [
            "SELECT 1",
            "SELECT 1;",
            "SELECT 1; -- a comment\n",
            "SELECT 1;; /* and another */ ;",
            "SELECT 'a; b' AS s",
            "SELEC 1; SELECT 2",
        ] {
            assert!(one_statement(&mut conn, sql).await.is_ok(), "{sql}");
        }
        for sql in [
            "SELECT 1; SELECT 2",
            "PRAGMA query_only=0; DELETE FROM sqlite_master",
            "SELECT 1; ATTACH DATABASE '/tmp/x' AS x",
            "SELECT 1; not sql at all",
        ] {
            assert!(
                matches!(
                    one_statement(&mut conn, sql).await,
                    Err(StoreError::MoreThanOneStatement)
                ),
                "{sql}"
            );
        }
    }

    #[tokio::test]
    async fn an_empty_result_is_named_by_sqlite_itself() {
        let Ok(mut conn) = SqliteConnection::connect("sqlite::memory:").await else {
            panic!("an in-memory database");
        };
        let sql =
            "WITH t(a) AS (SELECT 1) SELECT a AS first, a + 1 AS \"sé cond\" FROM t WHERE a > 1";
        let names = column_names(&mut conn, sql)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names, ["first", "sé cond"]);
    }
}
