//! `sagesync sync` end to end against moto's SageMaker emulator (started by scripts/test.sh),
//! on both backends. Each test uses its own region, which moto keeps apart.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Output, Stdio};

use common::moto::{self, sync};
use common::*;
use serde_json::json;

/// Creates `count` jobs named PREFIX-NNN (from `first`) with tags in moto.
fn create_jobs(region: &str, prefix: &str, first: u32, count: u32) {
    let (first, count) = (first.to_string(), count.to_string());
    moto::fixture("moto_jobs.py", &[region, prefix, &first, &count]);
}

fn summary_of(out: &Output) -> String {
    stderr(out)
        .lines()
        .filter(|l| l.contains("synced "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn first_sync_stores_every_job_with_its_tags() {
    create_jobs("eu-central-1", "first", 0, 5);
    for db in backends() {
        let out = sync(&db, &["--region", "eu-central-1"]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        // The Search path end to end: moto answers every job in one Search page, with no
        // NextToken; the listing finds them all stored, and describes complete the rows.
        let s = summary_of(&out);
        assert!(
            s.contains("listed 5, from Search 5, described 5, skipped 5, stored 5")
                && s.contains("DescribeTrainingJob 5, ListTags 0, Search 1"),
            "{s}"
        );
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 5, "{}", db.name());
        assert!(
            rows.iter().all(|r| r["described_at"] == true),
            "{}",
            db.name()
        );
        let j = rows
            .iter()
            .find(|r| r["training_job_name"] == "first-001")
            .unwrap();
        assert_eq!(j["region"], "eu-central-1");
        assert_eq!(j["account_id"], "123456789012");
        assert_eq!(j["tags"], json!({"team": "team-1", "project": "first"}));
        assert_eq!(
            j["hyper_parameters"],
            json!({"eta": "0.1", "max_depth": "1"})
        );
        assert_eq!(j["resource_config"]["InstanceCount"], 2);
        assert_eq!(
            j["raw"]["TrainingJobName"], "first-001",
            "raw is the service's own body"
        );
        assert!(j["creation_time"].as_str().unwrap().ends_with('Z'));
        let kv = db.count("sagemaker_training_job_kv").await;
        assert_eq!(kv, 5 * (2 + 2), "hyperparameters and tags of every job");
    }
}

#[tokio::test]
async fn a_second_sync_of_unchanged_jobs_costs_one_list_call() {
    create_jobs("ap-southeast-2", "again", 0, 6);
    for db in backends() {
        assert_eq!(
            sync(&db, &["--region", "ap-southeast-2"]).status.code(),
            Some(0)
        );
        let before = db.dump().await;
        let out = sync(&db, &["--region", "ap-southeast-2"]);
        assert_eq!(out.status.code(), Some(0));
        let s = summary_of(&out);
        assert!(
            s.contains("calls: ListTrainingJobs 1, DescribeTrainingJob 0, ListTags 0, Search 0"),
            "{}: {s}",
            db.name()
        );
        assert!(s.contains("described 0, skipped 6"), "{s}");
        assert_eq!(db.dump().await, before, "an unchanged sync changes nothing");
    }
}

#[tokio::test]
async fn only_new_jobs_are_described_after_the_first_sync() {
    create_jobs("ca-central-1", "inc", 0, 4);
    let dbs = backends();
    for db in &dbs {
        assert_eq!(
            sync(db, &["--region", "ca-central-1"]).status.code(),
            Some(0)
        );
    }
    create_jobs("ca-central-1", "inc", 4, 3);
    for db in &dbs {
        let out = sync(db, &["--region", "ca-central-1"]);
        assert_eq!(out.status.code(), Some(0));
        let s = summary_of(&out);
        assert!(
            s.contains("listed 7, described 3, skipped 4, stored 3"),
            "{}: {s}",
            db.name()
        );
        assert!(
            s.contains("ListTrainingJobs 1, DescribeTrainingJob 3, ListTags 0, Search 1"),
            "{s}"
        );
        assert_eq!(db.jobs(false).await.len(), 7);
    }
}

#[tokio::test]
async fn regions_are_scopes_synced_side_by_side() {
    create_jobs("sa-east-1", "south", 0, 2);
    create_jobs("ap-northeast-3", "north", 0, 3);
    for db in backends() {
        let out = sync(
            &db,
            &["--region", "sa-east-1", "--region", "ap-northeast-3"],
        );
        assert_eq!(out.status.code(), Some(0));
        let s = summary_of(&out);
        assert!(s.contains("default@sa-east-1: listed 2"), "{s}");
        assert!(s.contains("default@ap-northeast-3: listed 3"), "{s}");
        let rows = db.jobs(false).await;
        assert_eq!(
            rows.iter().filter(|r| r["region"] == "sa-east-1").count(),
            2,
            "{}",
            db.name()
        );
        assert_eq!(
            rows.iter()
                .filter(|r| r["region"] == "ap-northeast-3")
                .count(),
            3
        );
    }
}

#[tokio::test]
async fn a_failing_scope_does_not_stop_the_others() {
    create_jobs("eu-north-1", "ok", 0, 2);
    for db in backends() {
        // A profile that does not exist has no credentials: its scope fails, the other is stored.
        let dir = tempfile::tempdir().unwrap();
        let config = write_file(dir.path(), "config", "[default]\nregion = eu-north-1\n");
        let creds = write_file(
            dir.path(),
            "credentials",
            "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        );
        let mut c = db.cmd();
        c.args([
            "sync",
            "--endpoint-url",
            &moto::url(),
            "--profile",
            "default",
            "--profile",
            "nosuch",
            "--region",
            "eu-north-1",
            "--max-attempts",
            "1",
        ])
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE");
        let out = c.stdin(Stdio::null()).output().unwrap();
        eprintln!("{}", stderr(&out));
        assert_eq!(out.status.code(), Some(1), "{}", db.name());
        let s = summary_of(&out);
        assert!(
            s.contains(
                "default@eu-north-1: listed 2, from Search 2, described 2, skipped 2, stored 2"
            ),
            "{s}"
        );
        assert!(
            s.lines()
                .any(|l| l.contains("nosuch@eu-north-1") && l.contains("stopped:")),
            "{s}"
        );
        assert_eq!(db.jobs(false).await.len(), 2);
    }
}

#[tokio::test]
async fn log_format_json_writes_one_object_per_line_for_collectors() {
    create_jobs("eu-west-3", "logged", 0, 2);
    let db = Db::new(Backend::Sqlite);
    let out = sync(&db, &["--region", "eu-west-3", "--log-format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let summary = lines
        .iter()
        .find(|l| {
            l["scope"] == "default@eu-west-3"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("synced"))
        })
        .expect("a summary line");
    assert_eq!(summary["level"], "info");
    assert_eq!(summary["stored"], 2);
    assert_eq!(summary["calls"]["DescribeTrainingJob"], 2);
}

#[tokio::test]
async fn each_role_is_assumed_and_synced_as_a_scope_of_its_account() {
    create_jobs("us-west-1", "role", 0, 2);
    let own = "arn:aws:iam::123456789012:role/inventory-reader";
    let other = "arn:aws:iam::210987654321:role/inventory-reader";
    for db in backends() {
        let out = sync(
            &db,
            &[
                "--region",
                "us-west-1",
                "--role-arn",
                own,
                "--role-arn",
                other,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let s = summary_of(&out);
        // moto keeps accounts apart by the credentials that signed the call: the jobs are seen
        // only through the role of the account that has them.
        assert!(
            s.contains(&format!(
                "default+{own}@us-west-1: listed 2, from Search 2, described 2"
            )),
            "{s}"
        );
        assert!(
            s.contains(&format!("default+{other}@us-west-1: listed 0")),
            "{s}"
        );
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 2, "{}", db.name());
        assert!(rows.iter().all(|r| r["account_id"] == "123456789012"));
    }
}
