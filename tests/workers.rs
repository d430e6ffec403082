//! Several `sagesync sync` processes on one Postgres database, as cron on several hosts runs
//! them: they split the scopes with no configuration, sync each scope once per round, and finish
//! the scopes of a worker killed with -9.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::json;

const REGIONS: usize = 12;
const JOBS: u64 = 8;

fn regions() -> Vec<String> {
    (1..=REGIONS).map(|i| format!("test-{i:02}")).collect()
}

/// A stand-in serving one scope per region, each answering after `latency_ms`.
fn standin(latency_ms: u64) -> StandIn {
    let api = StandIn::start();
    api.control(
        "regions",
        json!({"regions": regions(), "count": JOBS, "first_epoch": EPOCH}),
    );
    api.control("faults", json!({"latency_ms": latency_ms}));
    api
}

fn spawn(api: &StandIn, db: &Db, extra: &[&str]) -> Child {
    api.sync_cmd(db, &regions(), extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a worker")
}

/// The scopes a worker synced, from its summary lines.
fn synced(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter_map(|l| l.strip_prefix("sagesync: ")?.split_once(": listed "))
        .map(|(scope, _)| scope.to_string())
        .collect()
}

/// The same round by one worker, on a stand-in of its own: the database every test must end with.
async fn single_worker_dump() -> serde_json::Value {
    let api = standin(0);
    let db = Db::new(Backend::Postgres);
    let out = api.sync_cmd(&db, &regions(), &[]).output().expect("sync");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    db.dump().await
}

#[tokio::test]
async fn three_workers_split_the_scopes_and_sync_each_once() {
    let api = standin(100);
    let db = Db::new(Backend::Postgres);
    assert_eq!(db.run(&["migrate"]).status.code(), Some(0));
    let workers: Vec<Child> = (0..3)
        .map(|_| spawn(&api, &db, &["--scope-concurrency", "2"]))
        .collect();
    let pids: Vec<u32> = workers.iter().map(Child::id).collect();
    let outs: Vec<Output> = workers
        .into_iter()
        .map(|w| w.wait_with_output().expect("worker ends"))
        .collect();

    let mut by_scope: HashMap<String, usize> = HashMap::new();
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out.status.code(), Some(0), "worker {i}:\n{}", stderr(out));
        let mine = synced(out);
        assert!(
            !mine.is_empty(),
            "worker {i} synced nothing:\n{}",
            stderr(out)
        );
        for scope in mine {
            assert_eq!(
                by_scope.insert(scope.clone(), i),
                None,
                "{scope} synced twice"
            );
        }
    }
    assert_eq!(by_scope.len(), REGIONS, "{by_scope:?}");
    // Every summary line names its worker.
    for (out, pid) in outs.iter().zip(&pids) {
        for line in stderr(out).lines().filter(|l| l.contains(": listed ")) {
            assert!(line.ends_with(&format!(":{pid}")), "{line}");
        }
    }

    // Calls: what one worker makes for the round, scope by scope.
    let calls = api.calls_by_region();
    for r in regions() {
        assert_eq!(calls[&r]["ListTrainingJobs"], 1, "{r}: {calls}");
        assert_eq!(calls[&r]["DescribeTrainingJob"], JOBS, "{r}: {calls}");
    }
    assert_eq!(db.dump().await, single_worker_dump().await);

    // The next round, by one worker alone, finds nothing new: one list call per scope.
    let before = api.calls_by_region();
    let out = api.sync_cmd(&db, &regions(), &[]).output().expect("sync");
    assert_eq!(out.status.code(), Some(0));
    let after = api.calls_by_region();
    for r in regions() {
        let list = |c: &serde_json::Value| c[&r]["ListTrainingJobs"].as_u64().unwrap_or(0);
        assert_eq!(list(&after) - list(&before), 1, "{r}");
    }
}

#[tokio::test]
async fn a_worker_killed_mid_run_leaves_its_scopes_to_the_others() {
    let api = standin(60);
    let db = Db::new(Backend::Postgres);
    assert_eq!(db.run(&["migrate"]).status.code(), Some(0));
    // One scope at a time, one call at a time: a scope takes about a second.
    let slow = ["--scope-concurrency", "1", "--concurrency", "1"];
    let mut victim = spawn(&api, &db, &slow);
    let others: Vec<Child> = (0..2).map(|_| spawn(&api, &db, &slow)).collect();
    // Killed once it has stored part of a scope.
    let started = Instant::now();
    while db.count_if_exists("sagemaker_training_job").await < 4
        && started.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.kill().expect("kill -9 a worker");
    victim.wait().ok();
    for w in others {
        let out = w.wait_with_output().expect("worker ends");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(
        db.count("sagesync_cursor").await,
        REGIONS as i64,
        "every scope completed in this round"
    );
    assert_eq!(db.dump().await, single_worker_dump().await);
}

#[tokio::test]
async fn a_worker_that_finds_every_scope_taken_exits_3_and_wait_waits() {
    // Each scope takes about three seconds: the two late workers start while all are held.
    let api = standin(300);
    let db = Db::new(Backend::Postgres);
    assert_eq!(db.run(&["migrate"]).status.code(), Some(0));
    let first = spawn(
        &api,
        &db,
        &["--scope-concurrency", "12", "--concurrency", "1"],
    );
    // Once every scope has made its first call, the first worker holds them all.
    let started = Instant::now();
    while api.calls()[0] < REGIONS as u64 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let late = api.sync_cmd(&db, &regions(), &[]).output().expect("sync");
    assert_eq!(late.status.code(), Some(3), "{}", stderr(&late));
    assert!(stderr(&late).contains("holds it"), "{}", stderr(&late));

    // With --wait it waits for each scope, and finds it synced by the first worker.
    let waited = api
        .sync_cmd(&db, &regions(), &["--wait"])
        .output()
        .expect("sync");
    let first = first.wait_with_output().expect("first ends");
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(waited.status.code(), Some(0), "{}", stderr(&waited));
    assert!(
        stderr(&waited).contains("after this run started"),
        "{}",
        stderr(&waited)
    );
    let calls = api.calls_by_region();
    for r in regions() {
        assert_eq!(calls[&r]["ListTrainingJobs"], 1, "{r}: synced once");
    }
}
