//! `sagesync sync` under faults, against the stand-in SageMaker server and real databases: a
//! throttling storm with 500s, cron overlap and kill -9, a full disk, a database that goes away.
//! What a user must see each time: a clear message, a non-zero exit where something was lost,
//! the cursor where it was, and a plain re-run that ends as an uninterrupted sync would.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::{Value, json};

/// A storm that lasts the whole sync: every third request is throttled and every seventh answers
/// 500, whatever the pace.
async fn storm(backend: Backend) {
    let db = Db::new(backend);
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "storm", "count": 10, "first_epoch": EPOCH}),
    );
    api.control("faults", json!({"throttle_every": 3, "error_every": 7}));
    let out = api.sync(&db, &["--concurrency", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", db.name());
    assert!(stderr(&out).contains("stored 10, deleted 0, failed 0"));
    let reference = Db::new(backend);
    api.control("faults", json!({"throttle_every": 0, "error_every": 0}));
    assert_eq!(api.sync(&reference, &[]).status.code(), Some(0));
    assert_eq!(db.dump().await, reference.dump().await);
    let calls: u64 = api.calls().iter().sum();
    assert!(
        calls > 2 * (1 + 10 + 1) + 5,
        "the storm really made calls fail and retry: {calls} calls"
    );
}

#[tokio::test]
async fn a_throttling_storm_ends_with_every_job_stored_sqlite() {
    storm(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_throttling_storm_ends_with_every_job_stored_postgres() {
    storm(Backend::Postgres).await;
}

/// Other clients of the account share its quotas: a third of the calls are throttled and one in
/// twenty answers 500 whatever sagesync's pace, in two regions. The sync ends with every job
/// stored, as a clean sync stores them, and the pace each region learned is near its start
/// (others' throttles did not bring it down to its floor).
async fn shared_quota(backend: Backend) {
    let db = Db::new(backend);
    let api = StandIn::start();
    let regions = ["eu-west-1".to_string(), "eu-west-2".to_string()];
    api.control(
        "regions",
        json!({"regions": regions, "count": 150, "first_epoch": EPOCH}),
    );
    api.control(
        "faults",
        json!({"throttle_share": 0.33, "error_share": 0.05, "seed": 7}),
    );
    let out = api
        .sync_cmd(&db, &regions, &["-v"])
        .output()
        .expect("run sagesync sync");
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{}: {said}", db.name());
    assert_eq!(db.count("sagemaker_training_job").await, 300);
    // The describes' pace the run learned, per region, stayed near its start of 19/s.
    let paces = db
        .table("sagesync_pace", &["scope", "operation", "pace"], "scope")
        .await;
    let describes: Vec<f64> = paces
        .iter()
        .filter(|p| p["operation"] == "DescribeTrainingJob")
        .filter_map(|p| p["pace"].as_f64())
        .collect();
    assert_eq!(describes.len(), 2, "{}: {paces:?}", db.name());
    assert!(
        describes.iter().all(|p| *p >= 0.75 * 19.0),
        "{}: the pace fell to {describes:?}; {said}",
        db.name()
    );
    api.control("faults", json!({"throttle_share": 0.0, "error_share": 0.0}));
    let reference = Db::new(backend);
    let clean = api.sync_cmd(&reference, &regions, &[]).output();
    assert_eq!(clean.ok().and_then(|o| o.status.code()), Some(0));
    assert_eq!(db.dump().await, reference.dump().await);
}

#[tokio::test]
async fn others_throttles_on_a_shared_quota_do_not_stop_the_sync_sqlite() {
    shared_quota(Backend::Sqlite).await;
}

#[tokio::test]
async fn others_throttles_on_a_shared_quota_do_not_stop_the_sync_postgres() {
    shared_quota(Backend::Postgres).await;
}

/// Cron overlap and kill -9: a second sync while one runs exits with status 3 and touches
/// nothing; the first, killed mid-way, then re-run, leaves the database exactly as an
/// uninterrupted sync does.
async fn overlap_then_kill(backend: Backend) {
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "slow", "count": 40, "first_epoch": EPOCH, "step_seconds": 60}),
    );
    api.control("faults", json!({"latency_ms": 100}));
    let db = Db::new(backend);
    let mut first = db.cmd();
    aws_test_env(&mut first);
    let mut first = first
        .args([
            "sync",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &api.url(),
            "--concurrency",
            "2",
            "--batch-size",
            "5",
            // Describes as it lists: killed among them (tests/backlog.rs kills the Search path).
            "--no-search",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the first sync");
    // Let it store a few batches.
    until_stored(&db, 10).await;
    let second = api.sync(&db, &[]);
    assert_eq!(second.status.code(), Some(3), "{}", db.name());
    // SQLite: the database is taken; Postgres: its one scope is, by the first worker.
    let said = match backend {
        Backend::Sqlite => "another sync of",
        Backend::Postgres => "holds it",
    };
    assert!(stderr(&second).contains(said), "{}", stderr(&second));

    first.kill().expect("kill -9 the first sync");
    first.wait().ok();
    let stored = db.count("sagemaker_training_job").await;
    assert!(
        stored > 0 && stored < 40,
        "{}: killed mid-way with {stored} stored",
        db.name()
    );

    api.control("faults", json!({"latency_ms": 0}));
    rerun_ends_as_uninterrupted(&api, &db).await;
    assert_eq!(db.count("sagemaker_training_job_kv").await, 40 * 3);
}

#[tokio::test]
async fn overlapping_and_killed_syncs_leave_what_an_uninterrupted_one_does_sqlite() {
    overlap_then_kill(Backend::Sqlite).await;
}

#[tokio::test]
async fn overlapping_and_killed_syncs_leave_what_an_uninterrupted_one_does_postgres() {
    overlap_then_kill(Backend::Postgres).await;
}

/// A plain re-run, then the database compared with a fresh one synced without faults.
async fn rerun_ends_as_uninterrupted(api: &StandIn, db: &Db) {
    let out = api.sync(db, &[]);
    assert_eq!(out.status.code(), Some(0), "{}: the re-run", db.name());
    let reference = Db::new(db.backend);
    assert_eq!(api.sync(&reference, &[]).status.code(), Some(0));
    assert_eq!(db.dump().await, reference.dump().await, "{}", db.name());
}

/// The scope's cursor as stored (none before a sync has completed).
async fn cursor(db: &Db) -> Vec<Value> {
    let sql = match db.backend {
        Backend::Sqlite => {
            "SELECT json_object('c', newest_creation_time) AS j FROM sagesync_cursor"
        }
        Backend::Postgres => {
            "SELECT json_build_object('c', newest_creation_time)::text AS j FROM sagesync_cursor"
        }
    };
    db.json_rows(sql).await
}

/// Waits until `db` holds at least `n` jobs (a sync running beside it stores them).
async fn until_stored(db: &Db, n: i64) {
    let started = Instant::now();
    while db.count_if_exists("sagemaker_training_job").await < n && started.elapsed().as_secs() < 30
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A tmpfs of `size` mounted over `dir` until dropped; `None` where mounting is not allowed
/// (not root, or a container without the capability).
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> Option<Self> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }

    fn grow(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("run mount");
        assert!(status.success(), "remount the tmpfs");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// SQLite on a disk that fills up in the middle of a sync: the sync says so and fails, the jobs
/// stored before stay, the cursor stays; with room again, a re-run completes the inventory.
#[tokio::test]
async fn a_full_disk_stops_the_sync_with_a_clear_error_and_the_cursor_unmoved() {
    let db = Db::new(Backend::Sqlite);
    // Room for the schema and 20 jobs.
    let Some(disk) = SmallDisk::mount(db.dir.path(), "2m") else {
        cannot_check("mounting a small tmpfs needs root (scripts/test.sh in CI runs as root)");
        return;
    };
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "a", "count": 20, "first_epoch": EPOCH}),
    );
    assert_eq!(api.sync(&db, &[]).status.code(), Some(0));
    let before = cursor(&db).await;
    assert_eq!(before.len(), 1);

    // About 4 KB a job: 600 of them do not fit in what is left of 2 MiB.
    api.control(
        "make",
        json!({"prefix": "b", "count": 600, "first_epoch": EPOCH + 86400.0, "step_seconds": 60}),
    );
    let out = api.sync(&db, &[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("database or disk is full"),
        "{}",
        stderr(&out)
    );
    assert_eq!(cursor(&db).await, before, "the cursor did not move");
    let rows = db.jobs(false).await;
    assert!(rows.len() >= 20 && rows.len() < 620, "{} rows", rows.len());

    disk.grow("64m");
    rerun_ends_as_uninterrupted(&api, &db).await;
}

/// Postgres going away in the middle of a sync (its database stops taking connections and the
/// open ones are cut): a clear error, a non-zero exit, the cursor where it was; then a re-run
/// ends as an uninterrupted sync would.
#[tokio::test]
async fn a_lost_database_stops_the_sync_with_a_clear_error_and_the_cursor_unmoved() {
    let admin = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    let name = format!("lost_{}_{}", std::process::id(), nanos());
    let sql = |s: String| sqlx::query(sqlx::AssertSqlSafe(s));
    sql(format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&pg_url()).unwrap();
    url.set_path(&name);
    let mut db = Db::new(Backend::Postgres);
    db.url = url.to_string();

    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "a", "count": 10, "first_epoch": EPOCH}),
    );
    assert_eq!(api.sync(&db, &[]).status.code(), Some(0));
    let before = cursor(&db).await;

    api.control(
        "make",
        json!({"prefix": "b", "count": 40, "first_epoch": EPOCH + 86400.0, "step_seconds": 60}),
    );
    api.control("faults", json!({"latency_ms": 100}));
    let mut c = db.cmd();
    aws_test_env(&mut c);
    let sync = c
        .args([
            "sync",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &api.url(),
        ])
        .args(["--concurrency", "2", "--batch-size", "5"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the sync");
    until_stored(&db, 15).await;
    sql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&admin)
        .await
        .unwrap();
    sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(&admin)
    .await
    .unwrap();
    let out = sync.wait_with_output().expect("wait for the sync");
    let err = stderr(&out);
    eprintln!("{err}");
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("database"), "{err}");

    sql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&admin)
        .await
        .unwrap();
    assert_eq!(cursor(&db).await, before, "the cursor did not move");
    api.control("faults", json!({"latency_ms": 0}));
    rerun_ends_as_uninterrupted(&api, &db).await;
    admin.close().await;
    let admin = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    sql(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .ok();
}
