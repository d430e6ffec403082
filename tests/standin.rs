//! `sagesync sync` against the stand-in SageMaker server (tests/fixtures/standin.py) for what moto
//! cannot show: sort order and pagination, exact call counts at the HTTP level, where tags come
//! from, status changes of old jobs, deletes. On both backends. Faults are in tests/faults.rs.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_sync_costs_what_changed_not_what_exists() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "old", "count": 250, "first_epoch": EPOCH, "step_seconds": 3600}),
        );
        // Search's index lags behind new jobs: these two come from ListTags.
        api.control("unindexed", json!({"names": ["old-0003", "old-0200"]}));

        let (out, calls) = api.counted(&db, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert_eq!(
            calls,
            [3, 250, 2, 3],
            "{}: the first sync lists 3 pages, describes every job, takes tags from 3 Search pages",
            db.name()
        );
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 250);
        assert!(
            rows.iter()
                .all(|r| r["tags"] == json!({"source": "standin", "job": r["training_job_name"]})),
            "{}: every job has its own tags",
            db.name()
        );

        let (out, calls) = api.counted(&db, &[]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            calls,
            [1, 0, 0, 0],
            "{}: unchanged terminal jobs cost one list call",
            db.name()
        );

        // k = 130 new jobs, newer than all the others.
        api.control("make", json!({"prefix": "new", "count": 130, "first_epoch": EPOCH + 300.0 * 3600.0, "step_seconds": 60}));
        let (out, calls) = api.counted(&db, &[]);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            calls[0] <= 130_u64.div_ceil(100) + 1,
            "{}: {} list calls",
            db.name(),
            calls[0]
        );
        assert_eq!(
            calls[1..],
            [130, 0, 2],
            "{}: tags from 2 Search pages",
            db.name()
        );
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 380);
        let j = rows
            .iter()
            .find(|r| r["training_job_name"] == "new-0007")
            .unwrap();
        assert_eq!(j["tags"], json!({"source": "standin", "job": "new-0007"}));
        assert_eq!(
            j["raw"]["FutureMember"],
            json!({"Seen": true}),
            "members newer than the SDK reach raw"
        );
    }
}

#[tokio::test]
async fn old_jobs_that_can_still_change_are_described_by_name() {
    let month_ago = EPOCH - 86400.0 * 30.0;
    let rule = |status: &str| json!([{"RuleConfigurationName": "LossNotDecreasing", "RuleEvaluationStatus": status}]);
    for db in backends() {
        let api = StandIn::start();
        // Older than the cursor, so the listing never reaches them: a job still running, one
        // whose warm pool is kept, one whose debugger rule is still evaluating.
        for prefix in ["slow", "pool", "rule"] {
            api.control("make", json!({"prefix": prefix, "count": 1, "first_epoch": month_ago, "status": "InProgress"}));
        }
        api.control("set", json!({"name": "pool-0000", "status": "Completed",
            "extra": {"WarmPoolStatus": {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 60}}}));
        api.control(
            "set",
            json!({"name": "rule-0000", "status": "Completed",
            "extra": {"DebugRuleEvaluationStatuses": rule("InProgress")}}),
        );
        api.control(
            "make",
            json!({"prefix": "done", "count": 150, "first_epoch": EPOCH, "step_seconds": 3600}),
        );
        assert_eq!(api.sync(&db, &[]).status.code(), Some(0));

        api.control("set", json!({"name": "slow-0000", "status": "Completed"}));
        api.control("set", json!({"name": "pool-0000", "status": "Completed",
            "extra": {"WarmPoolStatus": {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 900}}}));
        api.control(
            "set",
            json!({"name": "rule-0000", "status": "Completed",
            "extra": {"DebugRuleEvaluationStatuses": rule("NoIssuesFound")}}),
        );
        let (out, calls) = api.counted(&db, &[]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            calls,
            [1, 3, 3, 0],
            "{}: one page, then the three changeable jobs by name",
            db.name()
        );
        let rows = db.jobs(false).await;
        let by = |n: &str| rows.iter().find(|r| r["training_job_name"] == n).unwrap();
        assert_eq!(
            by("slow-0000")["training_job_status"],
            "Completed",
            "{}",
            db.name()
        );
        assert_eq!(by("slow-0000")["billable_time_in_seconds"], 270);
        assert_eq!(by("pool-0000")["warm_pool_status"]["Status"], "Terminated");
        assert_eq!(
            by("rule-0000")["debug_rule_evaluation_statuses"],
            rule("NoIssuesFound")
        );

        let (_, calls) = api.counted(&db, &[]);
        assert_eq!(
            calls,
            [1, 0, 0, 0],
            "{}: settled now, they cost nothing more",
            db.name()
        );
    }
}

#[tokio::test]
async fn empty_list_pages_with_a_next_token_do_not_end_the_listing() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "job", "count": 120, "first_epoch": EPOCH}),
        );
        api.control("faults", json!({"empty_pages": 3}));
        let (out, calls) = api.counted(&db, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert_eq!(calls[0], 3 + 2, "{}: 3 empty pages, then 2 full", db.name());
        assert_eq!(db.jobs(false).await.len(), 120);
    }
}

#[tokio::test]
async fn tags_come_from_list_tags_when_search_is_denied() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "job", "count": 5, "first_epoch": EPOCH}),
        );
        api.control("deny", json!({"ops": ["Search"]}));
        let (out, calls) = api.counted(&db, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert_eq!(
            calls,
            [1, 5, 5, 1],
            "{}: one Search call, then ListTags",
            db.name()
        );
        assert!(
            stderr(&out).contains("AccessDeniedException")
                && stderr(&out).contains("(request id standin-")
                && stderr(&out).contains("tags come from ListTags"),
            "{}",
            stderr(&out)
        );
        let rows = db.jobs(false).await;
        assert!(
            rows.iter()
                .all(|r| r["tags"] == json!({"source": "standin", "job": r["training_job_name"]}))
        );
    }
}

#[tokio::test]
async fn jobs_that_vanish_are_marked_deleted_not_errors() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "run", "count": 3, "first_epoch": EPOCH, "status": "InProgress"}),
        );
        assert_eq!(api.sync(&db, &[]).status.code(), Some(0));
        api.control("delete", json!({"name": "run-0001"}));
        let out = api.sync(&db, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert!(
            stderr(&out).contains("deleted 1, failed 0"),
            "{}",
            stderr(&out)
        );
        let rows = db.jobs(false).await;
        let gone = rows
            .iter()
            .find(|r| r["training_job_name"] == "run-0001")
            .unwrap();
        assert!(gone["deleted_at"].is_string(), "{}", db.name());
        assert!(
            rows.iter()
                .filter(|r| r["training_job_name"] != "run-0001")
                .all(|r| r["deleted_at"].is_null())
        );
        // The cost reports' table says so too.
        let usage = db
            .table(
                "sagemaker_training_job_instance_usage",
                &["training_job_name", "deleted_at"],
                "training_job_name",
            )
            .await;
        assert_eq!(usage.len(), 3, "{}", db.name());
        for u in usage {
            assert_eq!(
                u["deleted_at"].is_string(),
                u["training_job_name"] == "run-0001",
                "{}: {u}",
                db.name()
            );
        }
    }
}

#[tokio::test]
async fn full_sync_refreshes_tags_and_settles_jobs_the_api_dropped() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "job", "count": 5, "first_epoch": EPOCH}),
        );
        assert_eq!(api.sync(&db, &[]).status.code(), Some(0));

        // Deleted and retagged behind the incremental sync's back: it cannot see either.
        api.control("delete", json!({"name": "job-0002"}));
        api.control(
            "tag",
            json!({"name": "job-0004", "tags": [{"Key": "team", "Value": "search"}]}),
        );
        assert_eq!(api.sync(&db, &[]).status.code(), Some(0));
        assert!(
            db.jobs(false)
                .await
                .iter()
                .all(|r| r["deleted_at"].is_null())
        );

        let (out, calls) = api.counted(&db, &["--full"]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert_eq!(
            calls,
            [1, 0, 0, 1],
            "{}: tags refreshed from one Search page, without describing",
            db.name()
        );
        assert!(stderr(&out).contains("deleted 1"), "{}", stderr(&out));
        let rows = db.jobs(false).await;
        let by = |n: &str| {
            rows.iter()
                .find(|r| r["training_job_name"] == n)
                .unwrap()
                .clone()
        };
        assert!(by("job-0002")["deleted_at"].is_string(), "{}", db.name());
        assert_eq!(by("job-0004")["tags"], json!({"team": "search"}));
        assert!(by("job-0001")["deleted_at"].is_null());

        let out = api.sync(&db, &["--prune"]);
        assert_eq!(out.status.code(), Some(0));
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 4, "{}: pruned", db.name());
        assert!(rows.iter().all(|r| r["training_job_name"] != "job-0002"));
        let kv = db
            .table(
                "sagemaker_training_job_kv",
                &["training_job_arn"],
                "training_job_arn",
            )
            .await;
        assert!(kv.iter().all(|r| {
            !r["training_job_arn"]
                .as_str()
                .unwrap()
                .ends_with("job-0002")
        }));
    }
}

/// SageMaker's quotas are per operation. With no flags, a sync throttled on the listing and on
/// the describes, each at its own rate, still stores every job and fails none (each operation
/// finds its rate on its own; how fast is bench/rates.sh's subject).
#[tokio::test]
async fn per_operation_quotas_are_found_without_flags() {
    let db = Db::new(Backend::Sqlite);
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "q", "count": 150, "first_epoch": EPOCH, "step_seconds": 3600}),
    );
    api.control(
        "quotas",
        json!({"ListTrainingJobs": 2, "Search": 2, "DescribeTrainingJob": 40}),
    );
    let out = api.sync(&db, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains(
            "failed 0; calls: ListTrainingJobs 2, DescribeTrainingJob 150, ListTags 0, Search 2"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.jobs(false).await.len(), 150);
}
