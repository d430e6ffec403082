//! The store's side of keeping rows in step with the flattener, from their own `raw` and with no
//! API call: re-deriving stored rows a batch at a time when the mapping changed (a new column, a
//! shape or redaction rule; `crate::reflatten` runs the batches), and scrubbing what replaced
//! rows leave behind once secrets kept in clear are redacted.
//!
//! Both are bookkept in `sagesync_meta` (see its migration), so they happen once per database,
//! and the re-derivation resumes after a kill from the last batch it committed.

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::FromRow;

use const_format::formatcp;

use super::write::Rewritten;
use super::{Backend, Sql, Store, StoreError, Tx, Writer};
use crate::flatten::columns::{JOB_TABLE, KV_TABLE};
use crate::flatten::{FLATTEN_VERSION, Flattener};
use crate::sql;

/// Rows re-derived per transaction.
const BATCH: usize = 500;

const VERSION: &str = "flatten_version";
const AFTER: &str = "reflatten_after";
const UNREDACTED: &str = "unredacted";

/// Serialises re-derivations of one Postgres database ("sagesync" + 1 in ASCII).
const PG_REFLATTEN_LOCK: i64 = 0x7361_6765_7379_6e64;

#[derive(FromRow)]
struct Meta {
    value: String,
}

#[derive(FromRow)]
struct StoredRaw {
    #[sqlx(rename = "_key")]
    key: String,
    raw: String,
}

impl Store {
    /// Whether the stored rows were made by an older flattener, and are to be derived again.
    pub async fn behind_flattener(&self) -> Result<bool, StoreError> {
        Ok(self.flatten_version(None).await? < FLATTEN_VERSION)
    }

    /// How many jobs are stored: the length of a re-derivation.
    pub async fn job_count(&self) -> Result<u64, StoreError> {
        #[derive(FromRow)]
        struct Count {
            n: i64,
        }
        let counted: Vec<Count> = self
            .fetch_typed(formatcp!("SELECT count(*) AS n FROM {JOB_TABLE}"), &[])
            .await?;
        Ok(counted.first().map_or(0, |c| c.n.max(0) as u64))
    }

    /// Re-derives the next batch of stored rows from their `raw` with `flattener`, in one
    /// transaction that records where it got to, so a killed re-derivation resumes after its last
    /// batch. Returns how many rows it rewrote, `None` once there are no more (the version is then
    /// recorded, and the rows are current).
    pub async fn rederive_batch(&self, flattener: &Flattener) -> Result<Option<u64>, StoreError> {
        let mut tx = self.begin().await?;
        if let Tx::Postgres(t) = &mut tx {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_REFLATTEN_LOCK)
                .execute(&mut **t)
                .await?;
        }
        // Another process may have finished while this one waited for the lock.
        if self.flatten_version(Some(&mut tx)).await? >= FLATTEN_VERSION {
            tx.rollback().await?;
            return Ok(None);
        }
        let after = tx.meta(AFTER).await?.unwrap_or_default();
        let raw = self.backend().json_text("raw");
        let sql = sql![
            "SELECT _key, ",
            raw,
            formatcp!(" FROM {JOB_TABLE} WHERE _key > "),
            Sql::placeholder(self.backend(), 1),
            formatcp!(" ORDER BY _key LIMIT {BATCH}")
        ];
        let rows: Vec<StoredRaw> = tx.fetch_all(&sql, &[Some(after)]).await?;
        let Some(last) = rows.last().map(|r| r.key.clone()) else {
            tx.set_meta(VERSION, Some(&FLATTEN_VERSION.to_string()))
                .await?;
            tx.set_meta(AFTER, None).await?;
            tx.commit().await?;
            return Ok(None);
        };
        let mut jobs = Vec::with_capacity(rows.len());
        // Whether newer rules changed a stored document (redacted more of it): then the old
        // row versions must be scrubbed.
        let mut redacted = false;
        for row in rows {
            let job = serde_json::from_str::<Value>(&row.raw)
                .map_err(|e| e.to_string())
                .and_then(|raw| {
                    let job = flattener
                        .reflatten(raw.clone(), &row.key)
                        .map_err(|e| e.to_string())?;
                    redacted |= raw.as_object() != Some(&job.doc);
                    Ok(job)
                });
            match job {
                Ok(job) => jobs.push(job),
                // Kept as it is: the row is what it was, and the next describe replaces it.
                Err(e) => tracing::warn!(
                    "kept {} as stored: cannot re-derive it from raw: {e}",
                    row.key
                ),
            }
        }
        // SQLite's triggers derive the child rows; Postgres's upsert says which to derive.
        let mut writer = Writer::reflatten(self.backend());
        let returned: Vec<Rewritten> = tx.run_returning(writer.prepare(&jobs)?).await?;
        tx.run(writer.children(&returned)?).await?;
        tx.set_meta(AFTER, Some(&last)).await?;
        if redacted {
            tx.set_meta(UNREDACTED, Some("1")).await?;
        }
        tx.commit().await?;
        Ok(Some(jobs.len() as u64))
    }

    async fn flatten_version(&self, tx: Option<&mut Tx>) -> Result<i64, StoreError> {
        let value = match tx {
            Some(tx) => tx.meta(VERSION).await?,
            None => self.meta(VERSION).await?,
        };
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Reads a meta value without taking the write lock.
    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let rows: Vec<Meta> = self
            .fetch_typed(&meta_sql(self.backend()), &[Some(key.to_string())])
            .await?;
        Ok(rows.into_iter().next().map(|m| m.value))
    }

    /// Before a write that keeps values the default rules would redact.
    pub async fn mark_unredacted(&self) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.set_meta(UNREDACTED, Some("1")).await?;
        tx.commit().await
    }

    /// After a write under the default rules: when rows were once stored with values those rules
    /// redact, rewrite the tables so the old row versions are gone from them. SQLite's
    /// `secure_delete` has zeroed them already; what is left is to empty the WAL. Postgres keeps
    /// dead row versions in the table files until their space is reused, so the tables that hold
    /// Environment and HyperParameters values are rewritten whole, once no transaction that
    /// might still read an old version runs (see [`Store::older_transactions`]). If one is
    /// still running after [`SCRUB_WAIT`], the scrub is left to the next write, with a warning.
    pub async fn scrub(&self) -> Result<(), StoreError> {
        if self.meta(UNREDACTED).await?.is_none() {
            return Ok(());
        }
        match self {
            Store::Sqlite(pool) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await?;
            }
            Store::Postgres(pool) => {
                let holders = self.older_transactions().await?;
                if !holders.is_empty() {
                    tracing::warn!(
                        "old versions of rows stored before redaction stay in the table files \
                         while {} runs, which began before this write; the next write under the \
                         default rules scrubs them",
                        holders.join(", ")
                    );
                    return Ok(());
                }
                for sql in [
                    formatcp!("VACUUM FULL {JOB_TABLE}"),
                    formatcp!("VACUUM FULL {KV_TABLE}"),
                ] {
                    sqlx::query(sql).execute(pool).await?;
                }
            }
        }
        let mut tx = self.begin().await?;
        tx.set_meta(UNREDACTED, None).await?;
        tx.commit().await
    }

    /// The transactions of this database that began before now and are still running after
    /// waiting up to [`SCRUB_WAIT`] for them, named for the user. Postgres keeps a deleted row
    /// version, through VACUUM FULL too, while any of them might still read it. Sessions of other
    /// roles are only seen with `pg_read_all_stats`.
    async fn older_transactions(&self) -> Result<Vec<String>, StoreError> {
        // Every transaction that began before this one has an older snapshot or xid.
        let mark: Vec<Meta> = self
            .fetch_typed("SELECT pg_current_xact_id()::text AS value", &[])
            .await?;
        let mark = mark.into_iter().next().map(|m| m.value);
        let deadline = Instant::now() + SCRUB_WAIT;
        loop {
            let holders: Vec<Meta> = self
                .fetch_typed(OLDER_SQL, std::slice::from_ref(&mark))
                .await?;
            if holders.is_empty() || Instant::now() >= deadline {
                return Ok(holders.into_iter().map(|h| h.value).collect());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// How long a scrub waits for transactions that began before it to end.
const SCRUB_WAIT: Duration = Duration::from_secs(10);

/// The sessions and prepared transactions of this database whose snapshot or xid is older than
/// the transaction id `$1`.
const OLDER_SQL: &str = "\
    WITH mark AS (SELECT age(CAST($1 AS xid8)::xid) AS age) \
    SELECT format('session %s (%s, %s)', pid, \
                  coalesce(nullif(application_name, ''), backend_type), state) AS value \
    FROM pg_stat_activity, mark \
    WHERE datname = current_database() AND pid <> pg_backend_pid() \
      AND greatest(age(backend_xmin), age(backend_xid)) > mark.age \
    UNION ALL \
    SELECT format('prepared transaction %s', gid) \
    FROM pg_prepared_xacts, mark \
    WHERE database = current_database() AND age(transaction) > mark.age";

impl Tx {
    async fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let sql = meta_sql(self.backend());
        let rows: Vec<Meta> = self.fetch_all(&sql, &[Some(key.to_string())]).await?;
        Ok(rows.into_iter().next().map(|m| m.value))
    }

    /// Sets `key`, or removes it when `value` is `None`.
    async fn set_meta(&mut self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        let p = |i| Sql::placeholder(self.backend(), i);
        let sql = match value {
            Some(_) => sql![
                "INSERT INTO sagesync_meta (key, value) VALUES (",
                p(1),
                ", ",
                p(2),
                ") ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ],
            None => sql!["DELETE FROM sagesync_meta WHERE key = ", p(1)],
        };
        let mut params = vec![Some(key.to_string())];
        if let Some(v) = value {
            params.push(Some(v.to_string()));
        }
        self.execute(&sql, &params).await
    }
}

fn meta_sql(backend: Backend) -> Sql {
    sql![
        "SELECT value FROM sagesync_meta WHERE key = ",
        Sql::placeholder(backend, 1)
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::flatten::Redactor;
    use crate::model::time;
    use crate::store::StoreOptions;

    async fn texts(store: &Store, sql: &'static str) -> Vec<String> {
        store.fetch(sql, &[]).await.unwrap().texts()
    }

    /// A re-derivation rewrites the rows whose derived values changed and leaves the others as
    /// they are: no new row version. Of a rewritten row's child tables, it derives again those
    /// whose source columns changed or that hold none of the row's (an older sagesync did not
    /// derive them): here `a`'s key/value rows, and none of `b`'s.
    #[tokio::test]
    async fn only_rows_whose_derived_values_changed_are_rewritten() {
        let opts = StoreOptions::memory();
        let store = Store::open(&opts).await.unwrap();
        let flattener = Flattener {
            redactor: Redactor::default_rules(),
            arn_context: None,
            synced_at: time::Timestamp::now(),
            replace_nul: false,
        };
        let jobs: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|name| {
                let doc = json!({
                    "TrainingJobName": name,
                    "TrainingJobArn": format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"),
                    "TrainingJobStatus": "Completed",
                    "CreationTime": 1_700_000_000,
                    "AlgorithmSpecification": {"TrainingInputMode": "File"},
                    "HyperParameters": {"epochs": "3", "eta": "0.1"},
                });
                flattener.flatten(doc).unwrap()
            })
            .collect();
        let statements = Writer::new(Backend::Sqlite).prepare(&jobs).unwrap();
        store.write(statements).await.unwrap();
        for sql in [
            "UPDATE sagemaker_training_job SET algorithm_specification = NULL \
             WHERE training_job_name IN ('a', 'b')",
            "DELETE FROM sagemaker_training_job_kv WHERE training_job_arn LIKE '%/a'",
            "UPDATE sagesync_meta SET value = '1' WHERE key = 'flatten_version'",
            "CREATE TABLE written (name TEXT)",
            "CREATE TRIGGER written AFTER UPDATE ON sagemaker_training_job \
             BEGIN INSERT INTO written VALUES (NEW.training_job_name); END",
            "CREATE TRIGGER kv_written AFTER INSERT ON sagemaker_training_job_kv \
             BEGIN INSERT INTO written VALUES (NEW.key || ' of ' || NEW.training_job_arn); END",
        ] {
            store.fetch(sql, &[]).await.unwrap();
        }
        while store.rederive_batch(&flattener).await.unwrap().is_some() {}
        assert_eq!(
            texts(&store, "SELECT name FROM written ORDER BY name").await,
            [
                "a",
                "b",
                "epochs of arn:aws:sagemaker:us-east-1:123456789012:training-job/a",
                "eta of arn:aws:sagemaker:us-east-1:123456789012:training-job/a"
            ]
        );
        assert_eq!(
            texts(
                &store,
                "SELECT algorithm_specification ->> 'TrainingInputMode' \
                 FROM sagemaker_training_job ORDER BY _key"
            )
            .await,
            ["File"; 3]
        );
    }
}
