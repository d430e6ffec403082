//! What a sync asks of the database: the stored version of listed jobs, the stored jobs that can
//! still change, the per-scope cursor, and jobs that are gone.

use std::collections::HashMap;

use sqlx::FromRow;
use sqlx::types::Json;

use const_format::formatcp;

use super::{Backend, Sql, Store, StoreError, children};
use crate::flatten::columns::{JOB_TABLE, USAGE_TABLE};
use crate::model::scope::ScopeId;
use crate::model::time::Timestamp;
use crate::sql;

/// A scope's cursor: the newest creation time a completed sync listed, and the scope's account;
/// read back with when and by which worker it was last completed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor {
    pub newest_creation_time: Option<Timestamp>,
    pub account_id: Option<String>,
    pub updated_at: Option<Timestamp>,
    pub worker: Option<String>,
}

#[derive(FromRow)]
struct StoredVersion {
    #[sqlx(rename = "_key")]
    key: String,
    last_modified_time: Option<Timestamp>,
    training_job_status: Option<String>,
}

#[derive(FromRow)]
struct Name {
    training_job_name: Option<String>,
}

#[derive(FromRow)]
struct Key {
    #[sqlx(rename = "_key")]
    key: String,
}

#[derive(FromRow)]
struct StoredCursor {
    newest_creation_time: Option<Timestamp>,
    account_id: Option<String>,
    updated_at: Option<Timestamp>,
    worker: Option<String>,
}

#[derive(FromRow)]
struct RawAndTags {
    raw: Json<serde_json::Value>,
    tags: Option<Json<serde_json::Value>>,
    described: bool,
}

impl Store {
    pub(super) fn placeholders(&self, from: usize, n: usize) -> Sql {
        Sql::placeholders(self.backend(), from, n)
    }

    pub(super) fn param(&self, i: usize) -> Sql {
        Sql::placeholder(self.backend(), i)
    }

    /// (last_modified_time, training_job_status) of those of `arns` that are stored.
    pub async fn stored_versions(
        &self,
        arns: &[String],
    ) -> Result<HashMap<String, (Option<Timestamp>, Option<String>)>, StoreError> {
        let mut out = HashMap::new();
        for chunk in arns.chunks(500) {
            let sql = sql![
                "SELECT _key, last_modified_time, training_job_status FROM sagemaker_training_job \
                 WHERE _key IN (",
                self.placeholders(1, chunk.len()),
                ") AND deleted_at IS NULL"
            ];
            let params: Vec<Option<String>> = chunk.iter().cloned().map(Some).collect();
            for row in self.fetch_typed::<StoredVersion>(&sql, &params).await? {
                out.insert(row.key, (row.last_modified_time, row.training_job_status));
            }
        }
        Ok(out)
    }

    /// Names of stored jobs of an account and region, stored before `synced_before`, that can still
    /// change however old they are: in progress, stopping or deleting, holding a warm pool, or with
    /// rule evaluations running.
    pub async fn changeable_jobs(
        &self,
        region: &str,
        account_id: &str,
        synced_before: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT training_job_name FROM sagemaker_training_job \
                 WHERE region = ?1 AND account_id = ?2 AND synced_at < ?3 AND deleted_at IS NULL AND (\
                 training_job_status IN ('InProgress', 'Stopping', 'Deleting') \
                 OR json_extract(warm_pool_status, '$.Status') IN ('Available', 'InUse') \
                 OR EXISTS (SELECT 1 FROM json_each(debug_rule_evaluation_statuses) e \
                     WHERE json_extract(e.value, '$.RuleEvaluationStatus') = 'InProgress') \
                 OR EXISTS (SELECT 1 FROM json_each(profiler_rule_evaluation_statuses) e \
                     WHERE json_extract(e.value, '$.RuleEvaluationStatus') = 'InProgress'))"
            }
            Backend::Postgres => {
                "SELECT training_job_name FROM sagemaker_training_job \
                 WHERE region = $1 AND account_id = $2 AND synced_at < CAST($3 AS timestamptz) \
                 AND deleted_at IS NULL AND (\
                 training_job_status IN ('InProgress', 'Stopping', 'Deleting') \
                 OR warm_pool_status->>'Status' IN ('Available', 'InUse') \
                 OR debug_rule_evaluation_statuses @> '[{\"RuleEvaluationStatus\": \"InProgress\"}]' \
                 OR profiler_rule_evaluation_statuses @> '[{\"RuleEvaluationStatus\": \"InProgress\"}]')"
            }
        };
        let params = [
            Some(region.to_string()),
            Some(account_id.to_string()),
            Some(synced_before.to_string()),
        ];
        let rows: Vec<Name> = self.fetch_typed(sql, &params).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.training_job_name)
            .collect())
    }

    pub async fn cursor(&self, scope: &ScopeId) -> Result<Cursor, StoreError> {
        let sql = sql![
            "SELECT newest_creation_time, account_id, updated_at, worker FROM sagesync_cursor \
             WHERE scope = ",
            self.param(1)
        ];
        let rows: Vec<StoredCursor> = self.fetch_typed(&sql, &[Some(scope.key())]).await?;
        Ok(rows
            .into_iter()
            .next()
            .map(|r| Cursor {
                newest_creation_time: r.newest_creation_time,
                account_id: r.account_id,
                updated_at: r.updated_at,
                worker: r.worker,
            })
            .unwrap_or_default())
    }

    pub async fn set_cursor(
        &self,
        scope: &ScopeId,
        cursor: &Cursor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let b = self.backend();
        let sql = sql![
            "INSERT INTO sagesync_cursor (scope, account_id, newest_creation_time, updated_at, \
             worker) VALUES (",
            self.placeholders(1, 2),
            ", ",
            b.timestamp_param(3),
            ", ",
            b.timestamp_param(4),
            ", ",
            self.param(5),
            ") ON CONFLICT (scope) DO UPDATE SET account_id = excluded.account_id, \
             newest_creation_time = excluded.newest_creation_time, \
             updated_at = excluded.updated_at, worker = excluded.worker"
        ];
        let params = [
            Some(scope.key()),
            cursor.account_id.clone(),
            cursor.newest_creation_time.map(|t| t.to_string()),
            Some(now.to_string()),
            Some(super::lock::worker_name()),
        ];
        self.fetch(sql, &params).await?;
        Ok(())
    }

    /// ARNs of stored jobs with these names.
    pub async fn arns_of(&self, names: &[String]) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for chunk in names.chunks(500) {
            let sql = sql![
                "SELECT _key FROM sagemaker_training_job WHERE training_job_name IN (",
                self.placeholders(1, chunk.len()),
                ")"
            ];
            let params: Vec<Option<String>> = chunk.iter().cloned().map(Some).collect();
            let rows: Vec<Key> = self.fetch_typed(&sql, &params).await?;
            out.extend(rows.into_iter().map(|r| r.key));
        }
        Ok(out)
    }

    /// Marks jobs the API no longer returns.
    pub async fn mark_deleted(&self, arns: &[String], now: Timestamp) -> Result<(), StoreError> {
        for chunk in arns.chunks(500) {
            let stamp = self.backend().timestamp_param(1);
            let keys = self.placeholders(2, chunk.len());
            let mut params = vec![Some(now.to_string())];
            params.extend(chunk.iter().cloned().map(Some));
            // The usage rows first: a job is marked only once its usage rows are, so a run killed
            // in between leaves the job unmarked and the next settle marks both.
            for (table, key) in [(USAGE_TABLE, "training_job_arn"), (JOB_TABLE, "_key")] {
                let sql = sql![
                    "UPDATE ",
                    table,
                    " SET deleted_at = ",
                    &stamp,
                    " WHERE ",
                    key,
                    " IN (",
                    &keys,
                    ") AND deleted_at IS NULL"
                ];
                self.fetch(&sql, &params).await?;
            }
        }
        Ok(())
    }

    /// Runs prepared statements in one transaction.
    pub async fn write(&self, statements: Vec<super::Statement>) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.run(statements).await?;
        tx.commit().await
    }
}

/// What `sync --full` does with jobs the API no longer returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Mark,
    Prune,
}

impl Store {
    pub async fn clear_seen(&self, scope: &ScopeId) -> Result<(), StoreError> {
        let sql = sql!["DELETE FROM sagesync_seen WHERE scope = ", self.param(1)];
        self.fetch(&sql, &[Some(scope.key())]).await?;
        Ok(())
    }

    pub async fn add_seen(&self, scope: &ScopeId, arns: &[String]) -> Result<(), StoreError> {
        for chunk in arns.chunks(500) {
            let rows =
                (0..chunk.len()).map(|i| sql!["(", self.param(1), ", ", self.param(i + 2), ")"]);
            let sql = sql![
                "INSERT INTO sagesync_seen (scope, training_job_arn) VALUES ",
                Sql::join(rows, ", "),
                " ON CONFLICT DO NOTHING"
            ];
            let mut params = vec![Some(scope.key())];
            params.extend(chunk.iter().cloned().map(Some));
            self.fetch(&sql, &params).await?;
        }
        Ok(())
    }

    /// After a complete listing: marks (or deletes, with their child rows) the stored jobs of the
    /// scope's account and region that the listing did not return. Returns how many.
    pub async fn settle_missing(
        &self,
        scope: &ScopeId,
        account_id: &str,
        how: Missing,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let p = |i| self.param(i);
        // Marking skips jobs already marked; pruning takes them too.
        let unmarked = if how == Missing::Mark {
            "AND deleted_at IS NULL"
        } else {
            ""
        };
        let missing = sql![
            "SELECT _key FROM sagemaker_training_job WHERE region = ",
            p(1),
            " AND account_id = ",
            p(2),
            " ",
            unmarked,
            " AND _key NOT IN (SELECT training_job_arn FROM sagesync_seen WHERE scope = ",
            p(3),
            ")"
        ];
        let params = vec![
            Some(scope.region().to_string()),
            Some(account_id.to_string()),
            Some(scope.key()),
        ];
        let rows: Vec<Key> = self.fetch_typed(&missing, &params).await?;
        let arns: Vec<String> = rows.into_iter().map(|r| r.key).collect();
        match how {
            Missing::Mark => self.mark_deleted(&arns, now).await?,
            Missing::Prune => {
                for chunk in arns.chunks(500) {
                    let keys: Vec<Option<String>> = chunk.iter().cloned().map(Some).collect();
                    let list = self.placeholders(1, chunk.len());
                    // A job and its child rows go together, or not at all.
                    let mut tx = self.begin().await?;
                    for child in children::CHILDREN {
                        let sql = sql![
                            "DELETE FROM ",
                            child.table(),
                            " WHERE training_job_arn IN (",
                            &list,
                            ")"
                        ];
                        tx.execute(sql, &keys).await?;
                    }
                    let sql = sql![
                        formatcp!("DELETE FROM {JOB_TABLE} WHERE _key IN ("),
                        list,
                        ")"
                    ];
                    tx.execute(sql, &keys).await?;
                    tx.commit().await?;
                }
            }
        }
        Ok(arns.len() as u64)
    }

    /// The stored `raw` and `tags` of a job, for refreshing its tags without describing it, and
    /// whether `raw` is a described body (not a Search record).
    pub async fn raw_and_tags(
        &self,
        arn: &str,
    ) -> Result<Option<(serde_json::Value, serde_json::Value, bool)>, StoreError> {
        let sql = sql![
            "SELECT raw, tags, described_at IS NOT NULL AS described FROM sagemaker_training_job \
             WHERE _key = ",
            self.param(1)
        ];
        let rows: Vec<RawAndTags> = self.fetch_typed(&sql, &[Some(arn.to_string())]).await?;
        Ok(rows.into_iter().next().map(|r| {
            let tags = r.tags.map_or(serde_json::Value::Null, |t| t.0);
            (r.raw.0, tags, r.described)
        }))
    }
}
