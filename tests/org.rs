//! Many accounts and regions: an AWS organization discovered with `--org-role` (against moto's
//! Organizations and STS), roles that cannot be assumed, and regions an account has not enabled
//! (against the project's stand-in).

mod common;

use std::process::{Command, Output, Stdio};

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::{Value, json};

fn moto_url() -> String {
    std::env::var("SAGESYNC_TEST_MOTO_URL").expect(
        "SAGESYNC_TEST_MOTO_URL is not set: run the suite with scripts/test.sh, which starts moto",
    )
}

/// An organization in moto with `members` accounts holding `jobs` jobs each in `region`.
fn organization(region: &str, members: u32, jobs: u32) -> Value {
    let python = std::env::var("SAGESYNC_TEST_PYTHON")
        .expect("SAGESYNC_TEST_PYTHON is not set: run scripts/test.sh");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/moto_org.py");
    let out = Command::new(python)
        .arg(script)
        .args([&moto_url(), region, &members.to_string(), &jobs.to_string()])
        .output()
        .expect("run moto_org.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the organization as JSON")
}

fn sync(db: &Db, args: &[&str]) -> Output {
    let mut c = db.cmd();
    aws_test_env(&mut c);
    let out = c
        .args(["sync", "--endpoint-url", &moto_url()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sagesync sync");
    eprintln!("--- sync exited {:?}\n{}", out.status.code(), stderr(&out));
    out
}

/// Jobs stored per account id.
async fn accounts(db: &Db) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in db.jobs(false).await {
        *out.entry(r["account_id"].as_str().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    out
}

#[tokio::test]
async fn an_organization_is_synced_account_by_account() {
    let region = "ap-southeast-2";
    let org = organization(region, 3, 2);
    let members: Vec<&str> = org["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for db in backends() {
        let out = sync(&db, &["--org-role", "OrgRead", "--region", region]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let stored = accounts(&db).await;
        for m in &members {
            assert_eq!(stored.get(*m), Some(&2), "{}: {m} in {stored:?}", db.name());
        }
        // Each account is a scope of its own, named by its id.
        for m in &members {
            assert!(
                stderr(&out).contains(&format!("synced {m}@{region}:")),
                "{m}"
            );
        }
        let rows = db.jobs(false).await;
        let j = rows.iter().find(|r| r["account_id"] == members[1]).unwrap();
        assert!(
            j["_key"]
                .as_str()
                .unwrap()
                .contains(&format!(":{}:training-job/", members[1]))
        );
    }

    // Filters: one account; all but one; one organizational unit.
    let db = Db::new(Backend::Sqlite);
    let out = sync(
        &db,
        &[
            "--org-role",
            "OrgRead",
            "--region",
            region,
            "--account",
            members[2],
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(accounts(&db).await.keys().collect::<Vec<_>>(), [members[2]]);

    let db = Db::new(Backend::Sqlite);
    let out = sync(
        &db,
        &[
            "--org-role",
            "OrgRead",
            "--region",
            region,
            "--skip-account",
            members[0],
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let stored = accounts(&db).await;
    assert!(!stored.contains_key(members[0]) && stored.contains_key(members[1]));

    let db = Db::new(Backend::Sqlite);
    let unit = org["unit"].as_str().unwrap();
    let out = sync(
        &db,
        &[
            "--org-role",
            "OrgRead",
            "--region",
            region,
            "--org-unit",
            unit,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(accounts(&db).await.keys().collect::<Vec<_>>(), [members[0]]);
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_fails_its_scopes_and_the_others_go_on() {
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "job", "count": 3, "first_epoch": EPOCH}),
    );
    let db = Db::new(Backend::Sqlite);
    let missing = "arn:aws:iam::111111111111:role/MissingReader";
    let out = api
        .sync_cmd(
            &db,
            &["us-east-1".to_string()],
            &[
                "--role-arn",
                missing,
                "--role-arn",
                "arn:aws:iam::123456789012:role/Reader",
            ],
        )
        .output()
        .expect("sync");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot assume {missing}")), "{err}");
    assert!(err.contains("AccessDenied"), "{err}");
    assert_eq!(
        db.count("sagemaker_training_job").await,
        3,
        "the other role's jobs"
    );
}

#[tokio::test]
async fn regions_an_account_has_not_enabled_are_skipped_with_one_warning() {
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "job", "count": 3, "first_epoch": EPOCH}),
    );
    api.control("disabled", json!({"regions": ["af-south-1", "me-south-1"]}));
    let db = Db::new(Backend::Sqlite);
    let out = api
        .sync_cmd(&db, &[], &["--all-regions"])
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("sync");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("not enabled")).collect();
    assert_eq!(
        warnings,
        [
            "sagesync: warning: default: skipped af-south-1, me-south-1, not enabled for this account or not offered there"
        ],
        "{err}"
    );
    assert!(err.contains("synced default@eu-west-1:"), "{err}");
    assert_eq!(db.count("sagemaker_training_job").await, 3);
}
