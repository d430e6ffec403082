//! Many accounts and regions: an AWS organization discovered with `--org-role` (against moto's
//! Organizations and STS), roles that cannot be assumed, and regions an account has not enabled
//! (against the project's stand-in).

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::moto::{self, sync};
use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::{Value, json};

/// An organization in moto with `members` accounts holding `jobs` jobs each in `region`.
fn organization(region: &str, members: u32, jobs: u32) -> Value {
    let (members, jobs) = (members.to_string(), jobs.to_string());
    let out = moto::fixture("moto_org.py", &[region, &members, &jobs]);
    serde_json::from_slice(&out).expect("the organization as JSON")
}

/// Jobs stored per account id.
async fn accounts(db: &Db) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in db.jobs(false).await {
        *out.entry(r["account_id"].as_str().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    out
}

/// Jobs stored per account by an organization sync of one region, narrowed by `filter`, into a
/// fresh SQLite file.
async fn filtered(region: &str, filter: &[&str]) -> BTreeMap<String, usize> {
    let db = Db::new(Backend::Sqlite);
    let mut args = vec!["--org-role", "OrgRead", "--region", region];
    args.extend_from_slice(filter);
    assert_eq!(sync(&db, &args).status.code(), Some(0), "{filter:?}");
    accounts(&db).await
}

#[tokio::test]
async fn an_organization_is_synced_account_by_account() {
    // A region no other moto test uses: the management account's own jobs there are none.
    let region = "ap-south-1";
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
    let only = filtered(region, &["--account", members[2]]).await;
    assert_eq!(only.keys().collect::<Vec<_>>(), [members[2]]);
    let stored = filtered(region, &["--skip-account", members[0]]).await;
    assert!(!stored.contains_key(members[0]) && stored.contains_key(members[1]));
    let unit = filtered(region, &["--org-unit", org["unit"].as_str().unwrap()]).await;
    assert_eq!(unit.keys().collect::<Vec<_>>(), [members[0]]);
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
