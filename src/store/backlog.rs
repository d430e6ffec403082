//! What a sync asks of the database about its backlog: the rows built from Search alone
//! (`described_at IS NULL`) that describes complete, newest first, and the position of a first
//! sync's walk over Search, so that a run killed at any point resumes where it was.

use sqlx::FromRow;
use sqlx::types::Json;

use super::{Sql, Store, StoreError};
use crate::model::scope::ScopeId;
use crate::model::time::Timestamp;
use crate::sql;

/// A row built from a Search record, to describe.
#[derive(Debug, Clone)]
pub struct Undescribed {
    pub name: String,
    /// The tags Search gave (as it gave them), which the describe keeps: DescribeTrainingJob
    /// returns none, and ListTags would cost a call per job.
    pub tags: Option<serde_json::Value>,
}

/// Where the backlog's walk stands: after the row of this creation time and ARN.
#[derive(Debug, Clone, Default)]
pub struct BacklogPosition(Option<(Timestamp, String)>);

/// How far a first sync's walk over Search has gone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchWalk {
    /// Every job created at or after this time is stored.
    pub reached: Option<Timestamp>,
    pub complete: bool,
}

#[derive(FromRow)]
struct UndescribedRow {
    training_job_name: Option<String>,
    #[sqlx(rename = "_key")]
    key: String,
    creation_time: Option<Timestamp>,
    search_tags: Option<Json<serde_json::Value>>,
}

#[derive(FromRow)]
struct WalkRow {
    reached: Option<Timestamp>,
    complete: bool,
}

#[derive(FromRow)]
struct Count {
    n: i64,
}

impl Store {
    /// Up to `limit` rows of an account and region built from Search alone and not marked
    /// deleted, newest first, after `from`; `from` moves past them.
    pub async fn undescribed(
        &self,
        region: &str,
        account_id: &str,
        from: &mut BacklogPosition,
        limit: u64,
    ) -> Result<Vec<Undescribed>, StoreError> {
        let tags = self.backend().json_member("raw", "Tags");
        let p = |i| self.param(i);
        let after = match from.0 {
            Some(_) => sql![
                "AND (creation_time, _key) < (",
                self.backend().timestamp_param(3),
                ", ",
                p(4),
                ")"
            ],
            None => "".into(),
        };
        let sql = sql![
            "SELECT training_job_name, _key, creation_time, ",
            tags,
            " AS search_tags FROM sagemaker_training_job WHERE region = ",
            p(1),
            " AND account_id = ",
            p(2),
            " AND described_at IS NULL AND deleted_at IS NULL ",
            after,
            " ORDER BY creation_time DESC, _key DESC LIMIT ",
            Sql::number(i64::try_from(limit).unwrap_or(i64::MAX))
        ];
        let mut params = vec![Some(region.to_string()), Some(account_id.to_string())];
        if let Some((created, key)) = &from.0 {
            params.extend([Some(created.to_string()), Some(key.clone())]);
        }
        let rows: Vec<UndescribedRow> = self.fetch_typed(&sql, &params).await?;
        if let Some(last) = rows.last() {
            // A row without a creation time sorts where the database puts NULLs; a Search
            // record always has one.
            from.0 = last.creation_time.map(|t| (t, last.key.clone()));
        }
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(Undescribed {
                    name: r.training_job_name?,
                    tags: r.search_tags.map(|t| t.0),
                })
            })
            .collect())
    }

    /// How many rows of an account and region are built from Search alone.
    pub async fn count_undescribed(
        &self,
        region: &str,
        account_id: &str,
    ) -> Result<u64, StoreError> {
        let sql = sql![
            "SELECT count(*) AS n FROM sagemaker_training_job WHERE region = ",
            self.param(1),
            " AND account_id = ",
            self.param(2),
            " AND described_at IS NULL AND deleted_at IS NULL"
        ];
        let params = [Some(region.to_string()), Some(account_id.to_string())];
        let rows: Vec<Count> = self.fetch_typed(&sql, &params).await?;
        Ok(rows.first().map_or(0, |r| u64::try_from(r.n).unwrap_or(0)))
    }

    pub async fn search_walk(&self, scope: &ScopeId) -> Result<SearchWalk, StoreError> {
        let sql = sql![
            "SELECT reached, complete FROM sagesync_search_walk WHERE scope = ",
            self.param(1)
        ];
        let rows: Vec<WalkRow> = self.fetch_typed(&sql, &[Some(scope.key())]).await?;
        Ok(rows
            .into_iter()
            .next()
            .map(|r| SearchWalk {
                reached: r.reached,
                complete: r.complete,
            })
            .unwrap_or_default())
    }

    pub async fn set_search_walk(
        &self,
        scope: &ScopeId,
        walk: &SearchWalk,
    ) -> Result<(), StoreError> {
        let sql = sql![
            "INSERT INTO sagesync_search_walk (scope, reached, complete) VALUES (",
            self.param(1),
            ", ",
            self.backend().timestamp_param(2),
            ", ",
            self.backend().boolean(walk.complete),
            ") ON CONFLICT (scope) DO UPDATE SET reached = excluded.reached, \
             complete = excluded.complete"
        ];
        self.fetch(
            &sql,
            &[Some(scope.key()), walk.reached.map(|t| t.to_string())],
        )
        .await?;
        Ok(())
    }

    /// Once the scope's first sync is complete, its walk over Search is of no more use.
    pub async fn clear_search_walk(&self, scope: &ScopeId) -> Result<(), StoreError> {
        let sql = sql![
            "DELETE FROM sagesync_search_walk WHERE scope = ",
            self.param(1)
        ];
        self.fetch(&sql, &[Some(scope.key())]).await?;
        Ok(())
    }
}
