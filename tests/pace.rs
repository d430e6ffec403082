//! The pace against the stand-in's per-operation quotas, as a user runs sagesync (issue 28): a
//! long completion stays near what the quota answers and describes every job, and a run starts
//! from the pace the last run of its scope learned. On both backends, each a test of its own so
//! the two run at once (each takes minutes of the quotas' time).

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::json;

/// The quotas the project measures against: List 2/s, Search 2/s, Describe 20/s, ListTags 20/s.
fn known_quotas(api: &StandIn) {
    api.control(
        "quotas",
        json!({"ListTrainingJobs": 2, "Search": 2, "DescribeTrainingJob": 20, "ListTags": 20}),
    );
}

/// The calls of a plain sync, which must exit 0.
fn counted_ok(api: &StandIn, db: &Db) -> [u64; 4] {
    let (out, calls) = api.counted(db, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        db.name(),
        stderr(&out)
    );
    calls
}

/// 3,000 jobs stored from Search (`--describe-budget 0`), then a plain sync completes them: it
/// makes at most 3 % more describe attempts than describes, exits 0 with every row described,
/// and the sync after it costs one call.
async fn completes_a_backlog_near_the_quota(db: Db) {
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "big", "count": 3000, "first_epoch": EPOCH, "step_seconds": 60}),
    );
    known_quotas(&api);
    let out = api.sync(&db, &["--describe-budget", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", db.name());

    let calls = counted_ok(&api, &db);
    assert!(
        calls[1] as f64 <= 1.03 * 3000.0,
        "{}: {} describe attempts for 3,000 describes",
        db.name(),
        calls[1]
    );
    let rows = db.jobs(false).await;
    assert_eq!(rows.len(), 3000, "{}", db.name());
    assert!(
        rows.iter().all(|r| r["described_at"] == json!(true)),
        "{}: every row described",
        db.name()
    );

    let calls = counted_ok(&api, &db);
    assert_eq!(calls, [1, 0, 0, 0], "{}: an unchanged re-sync", db.name());
}

#[tokio::test]
async fn a_3000_job_backlog_completes_near_the_quota_on_sqlite() {
    completes_a_backlog_near_the_quota(Db::new(Backend::Sqlite)).await;
}

#[tokio::test]
async fn a_3000_job_backlog_completes_near_the_quota_on_postgres() {
    completes_a_backlog_near_the_quota(Db::new(Backend::Postgres)).await;
}

/// Against a describe quota of 8/s, below the 20 the pace starts under, the first sync finds it
/// by its throttles and stores it; the next sync of the scope starts there, and is throttled at
/// most half as often.
async fn starts_from_the_pace_the_last_run_learned(db: Db) {
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "one", "count": 400, "first_epoch": EPOCH, "step_seconds": 60}),
    );
    api.control("quotas", json!({"DescribeTrainingJob": 8}));
    let first = counted_ok(&api, &db);
    let first_throttled = first[1] - 400;
    assert!(
        first_throttled > 0,
        "{}: the first sync met the quota",
        db.name()
    );

    api.control(
        "make",
        json!({"prefix": "two", "count": 400, "first_epoch": EPOCH + 1e6, "step_seconds": 60}),
    );
    let second = counted_ok(&api, &db);
    let second_throttled = second[1] - 400;
    eprintln!("throttled: {first_throttled} in the first sync, {second_throttled} in the second");
    assert!(
        2 * second_throttled <= first_throttled,
        "{}: throttled {first_throttled} times in the first sync, {second_throttled} in the second",
        db.name()
    );
    assert_eq!(db.jobs(false).await.len(), 800);
}

#[tokio::test]
async fn a_sync_starts_from_the_learned_pace_on_sqlite() {
    starts_from_the_pace_the_last_run_learned(Db::new(Backend::Sqlite)).await;
}

#[tokio::test]
async fn a_sync_starts_from_the_learned_pace_on_postgres() {
    starts_from_the_pace_the_last_run_learned(Db::new(Backend::Postgres)).await;
}
