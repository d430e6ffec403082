//! A scope's first sync on the stand-in (tests/fixtures/standin.py): every job stored from Search
//! pages first, then completed by describes, newest first, within `--describe-budget`; killed
//! in either step, resumed; Search denied. On both backends. Moto's Search is in tests/sync.rs.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::{Value, json};

const JOBS: &str = "sagemaker_training_job";
const FROM_SEARCH: &str = "sagemaker_training_job WHERE described_at IS NULL";

fn names_from_search(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .filter(|r| r["described_at"] == false)
        .filter_map(|r| r["training_job_name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_backlog_is_stored_from_search_then_completed_newest_first_within_the_budget() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "old", "count": 250, "first_epoch": EPOCH, "step_seconds": 3600}),
        );
        // Search's index lags behind these: the listing describes them directly.
        api.control("unindexed", json!({"names": ["old-0003", "old-0200"]}));

        let (out, calls) = api.counted(&db, &["--describe-budget", "100"]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert_eq!(
            calls,
            [3, 102, 2, 3],
            "{}: 3 Search pages store 248 jobs; 3 list pages; the 2 jobs Search lacks described with \
             ListTags; 100 more describes, the budget, with the tags Search gave",
            db.name()
        );
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 250, "{}: every job is in the table", db.name());
        let left = names_from_search(&rows);
        assert_eq!(left.len(), 148, "{}", db.name());
        assert!(
            left.iter().all(|n| n.as_str() <= "old-0148"),
            "{}: newest first: {left:?}",
            db.name()
        );
        assert!(stderr(&out).contains("from Search 248"), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("148 rows from Search still to describe"),
            "{}",
            stderr(&out)
        );
        // A row from Search has what Search gives, tags included, and lacks the describe-only
        // members until described.
        let row = |name: &str| {
            rows.iter()
                .find(|r| r["training_job_name"] == name)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(row("old-0010")["profiling_status"], Value::Null);
        assert_eq!(
            row("old-0010")["tags"],
            json!({"source": "standin", "job": "old-0010"})
        );
        assert_eq!(
            row("old-0010")["resource_config"]["InstanceType"],
            "ml.m5.xlarge"
        );
        assert_eq!(row("old-0240")["profiling_status"], "Disabled");
        assert_eq!(
            row("old-0240")["tags"],
            json!({"source": "standin", "job": "old-0240"})
        );

        // A job that changed after Search stored it is described as it is now.
        api.control("set", json!({"name": "old-0010", "status": "Failed"}));
        let (out, calls) = api.counted(&db, &["--describe-budget", "100"]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert_eq!(
            calls,
            [1, 100, 0, 0],
            "{}: the next 100, nothing else",
            db.name()
        );
        let (out, calls) = api.counted(&db, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert_eq!(calls, [1, 48, 0, 0], "{}: the rest", db.name());
        assert!(
            !stderr(&out).contains("still to describe"),
            "{}",
            stderr(&out)
        );
        let (_, calls) = api.counted(&db, &[]);
        assert_eq!(calls, [1, 0, 0, 0], "{}: complete and unchanged", db.name());

        // Complete, the rows are what describing every job as listed gives.
        let reference = Db::new(db.backend);
        assert_eq!(
            api.sync(&reference, &["--no-search"]).status.code(),
            Some(0)
        );
        assert_eq!(db.dump().await, reference.dump().await, "{}", db.name());
        let failed = db.jobs(false).await;
        let failed = failed.iter().find(|r| r["training_job_name"] == "old-0010");
        assert_eq!(
            failed.map(|r| &r["training_job_status"]),
            Some(&json!("Failed"))
        );
    }
}

/// The first sync, with calls slowed down so that it can be killed mid-way.
fn start_slow_sync(api: &StandIn, db: &Db) -> Child {
    let regions = ["us-east-1".to_string()];
    api.sync_cmd(db, &regions, &["--concurrency", "2", "--batch-size", "5"])
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sync")
}

async fn until_count(db: &Db, table: &str, n: i64) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if db.count_if_exists(JOBS).await > 0 && db.count(table).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// kill -9 while Search pages are being stored, and again while the backlog is being described:
/// each re-run goes on from where the last stopped, and the end is what an uninterrupted sync
/// leaves.
async fn killed_in_both_steps(backend: Backend) {
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "job", "count": 450, "first_epoch": EPOCH, "step_seconds": 60}),
    );
    api.control("faults", json!({"latency_ms": 400}));
    let db = Db::new(backend);

    let mut sync = start_slow_sync(&api, &db);
    until_count(&db, JOBS, 100).await;
    sync.kill().expect("kill -9 during the Search walk");
    sync.wait().ok();
    let stored = db.count(JOBS).await;
    // Describes start as soon as a page is stored: some rows may be complete already.
    assert!(
        (100..450).contains(&stored) && db.count(FROM_SEARCH).await > 0,
        "{}: killed during the Search walk with {stored} rows",
        db.name()
    );

    let before = api.calls();
    let mut sync = start_slow_sync(&api, &db);
    until_count(
        &db,
        "sagemaker_training_job WHERE described_at IS NOT NULL",
        10,
    )
    .await;
    sync.kill().expect("kill -9 during the describes");
    sync.wait().ok();
    let searched = api.calls()[3] - before[3];
    assert!(
        searched <= (450 - stored as u64).div_ceil(100) + 1,
        "{}: the walk went on from where it was: {searched} Search calls",
        db.name()
    );
    let left = db.count(FROM_SEARCH).await;
    assert_eq!(db.count(JOBS).await, 450, "{}", db.name());
    assert!(
        left > 0 && left < 450,
        "{}: killed during the describes with {left} rows from Search",
        db.name()
    );

    api.control("faults", json!({"latency_ms": 0}));
    let left = db.count(FROM_SEARCH).await as u64;
    let (out, calls) = api.counted(&db, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", db.name());
    assert_eq!(
        calls[1],
        left,
        "{}: what is complete is not described again",
        db.name()
    );
    assert_eq!(calls[3], 0, "{}: nor searched again", db.name());
    let reference = Db::new(backend);
    assert_eq!(api.sync(&reference, &[]).status.code(), Some(0));
    assert_eq!(db.dump().await, reference.dump().await, "{}", db.name());
    assert_eq!(db.count(FROM_SEARCH).await, 0);
}

#[tokio::test]
async fn killed_while_searching_or_describing_ends_as_uninterrupted_sqlite() {
    killed_in_both_steps(Backend::Sqlite).await;
}

#[tokio::test]
async fn killed_while_searching_or_describing_ends_as_uninterrupted_postgres() {
    killed_in_both_steps(Backend::Postgres).await;
}

#[tokio::test]
async fn search_denied_falls_back_to_describing_every_job_with_one_warning() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "job", "count": 30, "first_epoch": EPOCH, "step_seconds": 60}),
        );
        api.control("deny", json!({"ops": ["Search"]}));
        let (out, calls) = api.counted(&db, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{}: {err}", db.name());
        assert_eq!(calls, [1, 30, 30, 1], "{}", db.name());
        assert_eq!(err.matches("AccessDeniedException").count(), 1, "{err}");
        assert!(err.contains("every job is described instead"), "{err}");
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 30);
        assert!(names_from_search(&rows).is_empty(), "{}", db.name());
    }
}

#[tokio::test]
async fn a_budget_of_nothing_stores_every_job_from_search_and_says_what_is_left() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "job", "count": 120, "first_epoch": EPOCH, "step_seconds": 60}),
        );
        let (out, calls) = api.counted(&db, &["--describe-budget", "0"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{}: {err}", db.name());
        assert_eq!(calls, [2, 0, 0, 2], "{}", db.name());
        assert!(
            err.contains("120 rows from Search still to describe"),
            "{err}"
        );
        assert_eq!(db.count(FROM_SEARCH).await, 120, "{}", db.name());

        // --full re-stores a row whose tags changed from its raw: a row from Search stays one.
        api.control(
            "tag",
            json!({"name": "job-0007", "tags": [{"Key": "team", "Value": "new"}]}),
        );
        let out = api.sync(&db, &["--full", "--describe-budget", "0"]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let rows = db.jobs(false).await;
        let row = rows.iter().find(|r| r["training_job_name"] == "job-0007");
        assert_eq!(
            row.map(|r| &r["tags"]),
            Some(&json!({"team": "new"})),
            "{}",
            db.name()
        );
        assert_eq!(
            row.map(|r| &r["described_at"]),
            Some(&json!(false)),
            "{}",
            db.name()
        );
        assert_eq!(db.count(FROM_SEARCH).await, 120, "{}", db.name());
    }
}
