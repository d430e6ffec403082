//! What a sync remembers of each SageMaker operation's pace per scope (`sagesync_pace`): read
//! as stored, however it reads, so that an unreadable row is the caller's to judge and skip,
//! never a failed sync.

use sqlx::FromRow;

use super::{Store, StoreError};
use crate::model::scope::ScopeId;
use crate::model::time::Timestamp;
use crate::sql;

/// A stored pace: the operation, its attempts a second and when they were learned, each `None`
/// when the stored value does not read as one.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPace {
    pub operation: String,
    pub rate: Option<f64>,
    pub at: Option<Timestamp>,
}

#[derive(FromRow)]
struct Row {
    operation: String,
    pace: Option<String>,
    learned_at: Option<String>,
}

impl Store {
    /// The paces stored for a scope.
    pub async fn paces(&self, scope: &ScopeId) -> Result<Vec<StoredPace>, StoreError> {
        let b = self.backend();
        let sql = sql![
            "SELECT operation, CAST(pace AS TEXT) AS pace, ",
            b.time_text("learned_at"),
            " AS learned_at FROM sagesync_pace WHERE scope = ",
            self.param(1)
        ];
        let rows: Vec<Row> = self.fetch_typed(&sql, &[Some(scope.key())]).await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredPace {
                operation: r.operation,
                rate: r.pace.and_then(|p| p.trim().parse().ok()),
                at: r.learned_at.as_deref().and_then(Timestamp::parse),
            })
            .collect())
    }

    /// Stores the paces a run of the scope learned, `(operation, attempts a second)`, at `now`.
    pub async fn set_paces(
        &self,
        scope: &ScopeId,
        paces: &[(&'static str, f64)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let b = self.backend();
        let sql = sql![
            "INSERT INTO sagesync_pace (scope, operation, pace, learned_at) VALUES (",
            self.placeholders(1, 2),
            ", ",
            b.double_param(3),
            ", ",
            b.timestamp_param(4),
            ") ON CONFLICT (scope, operation) DO UPDATE SET pace = excluded.pace, \
             learned_at = excluded.learned_at"
        ];
        for (operation, rate) in paces {
            let params = [
                Some(scope.key()),
                Some(operation.to_string()),
                Some(rate.to_string()),
                Some(now.to_string()),
            ];
            self.fetch(&sql, &params).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    async fn memory() -> Store {
        Store::open(&StoreOptions::memory()).await.unwrap()
    }

    #[tokio::test]
    async fn paces_are_read_back_and_an_unreadable_one_reads_as_none() {
        let store = memory().await;
        let scope = ScopeId::new("default", "us-east-1");
        let now = Timestamp::parse("2026-12-03T10:00:00Z").unwrap();
        store
            .set_paces(&scope, &[("DescribeTrainingJob", 7.75)], now)
            .await
            .unwrap();
        store
            .set_paces(&scope, &[("DescribeTrainingJob", 7.5)], now)
            .await
            .unwrap();
        let sql = sql![
            "INSERT INTO sagesync_pace (scope, operation, pace, learned_at) \
             VALUES ('default@us-east-1', 'Search', 'fast', 'yesterday')"
        ];
        store.fetch(&sql, &[]).await.unwrap();
        let mut paces = store.paces(&scope).await.unwrap();
        paces.sort_by(|a, b| a.operation.cmp(&b.operation));
        assert_eq!(
            paces,
            [
                StoredPace {
                    operation: "DescribeTrainingJob".into(),
                    rate: Some(7.5),
                    at: Some(now),
                },
                StoredPace {
                    operation: "Search".into(),
                    rate: None,
                    at: None,
                },
            ]
        );
        let other = ScopeId::new("default", "eu-west-1");
        assert!(store.paces(&other).await.unwrap().is_empty());
    }
}
