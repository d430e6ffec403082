//! The canned reports and `sagesync query`, on both backends, against fixture jobs whose figures
//! are worked out by hand here.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";

fn arn(name: &str) -> String {
    format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{name}")
}

/// A completed single-instance job; `extra` overrides or adds members.
fn job(name: &str, created: &str, extra: Value) -> Value {
    let mut j = json!({
        "TrainingJobName": name,
        "TrainingJobArn": arn(name),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": created,
        "TrainingStartTime": created,
        "LastModifiedTime": created,
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
        "EnableNetworkIsolation": false,
        "EnableInterContainerTrafficEncryption": false,
        "EnableManagedSpotTraining": false,
        "HyperParameters": {},
    });
    for (k, v) in extra.as_object().unwrap() {
        j[k] = v.clone();
    }
    j
}

fn fixtures() -> Vec<Value> {
    let tuning =
        format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:hyper-parameter-tuning-job/xgb-hpo");
    let trial = |name: &str, auc: f64, train_auc: f64, eta: &str| {
        job(
            name,
            "2024-06-01T10:00:00Z",
            json!({
                "TuningJobArn": tuning, "BillableTimeInSeconds": 100, "TrainingTimeInSeconds": 100,
                "HyperParameters": {"eta": eta, "max_depth": "5", "_tuning_objective_metric": "validation:auc"},
                "FinalMetricDataList": [
                    {"MetricName": "validation:auc", "Value": auc, "Timestamp": "2024-06-01T10:05:00Z"},
                    {"MetricName": "train:auc", "Value": train_auc, "Timestamp": "2024-06-01T10:05:00Z"}],
            }),
        )
    };
    vec![
        // 3 instances, spot, 288 billable of 960 training seconds: 864 instance-seconds, 70 % saved.
        // Everything secure: it must not appear in security-findings.
        job(
            "spot-xgb",
            "2024-03-05T08:00:00Z",
            json!({
                "ResourceConfig": {"InstanceType": "ml.m5.2xlarge", "InstanceCount": 3, "VolumeSizeInGB": 30, "VolumeKmsKeyId": "key-1"},
                "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/", "KmsKeyId": "key-2"},
                "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
                "EnableNetworkIsolation": true, "EnableInterContainerTrafficEncryption": true,
                "EnableManagedSpotTraining": true, "BillableTimeInSeconds": 288, "TrainingTimeInSeconds": 960,
                "Tags": [{"Key": "team", "Value": "growth"}],
            }),
        ),
        // 2 × ml.c5.18xlarge and 4 × ml.p3dn.24xlarge for 14,400 s: 8 and 16 instance-hours.
        job(
            "hetero-llm",
            "2024-03-20T00:00:00Z",
            json!({
                "ResourceConfig": {"VolumeSizeInGB": 100, "InstanceGroups": [
                    {"InstanceType": "ml.c5.18xlarge", "InstanceCount": 2, "InstanceGroupName": "cpu"},
                    {"InstanceType": "ml.p3dn.24xlarge", "InstanceCount": 4, "InstanceGroupName": "gpu"}]},
                "BillableTimeInSeconds": 14400, "TrainingTimeInSeconds": 14400,
                "Tags": [{"Key": "team", "Value": "research"}],
            }),
        ),
        // Failed before it started: no start, no billable time, counts 0.
        job(
            "no-capacity",
            "2024-04-02T00:00:00Z",
            json!({
                "TrainingJobStatus": "Failed", "SecondaryStatus": "Failed", "TrainingStartTime": null,
                "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
                "FailureReason": "CapacityError: Unable to provision requested ML compute capacity.\nPlease retry later.",
            }),
        ),
        job(
            "oom-1",
            "2024-04-10T00:00:00Z",
            json!({
                "TrainingJobStatus": "Failed", "SecondaryStatus": "Failed", "TrainingEndTime": "2024-04-10T00:10:00Z",
                "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
                "BillableTimeInSeconds": 600, "TrainingTimeInSeconds": 600,
                "FailureReason": "AlgorithmError: ExecuteUserScriptError:\nExitCode 1",
            }),
        ),
        job(
            "oom-2",
            "2024-04-20T00:00:00Z",
            json!({
                "TrainingJobStatus": "Failed", "SecondaryStatus": "Failed", "TrainingEndTime": "2024-04-20T00:05:00Z",
                "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
                "BillableTimeInSeconds": 300, "TrainingTimeInSeconds": 300,
                "FailureReason": "AlgorithmError: ExecuteUserScriptError:\nExitCode 137",
            }),
        ),
        // In progress since 2024-05-01: 48 h at 2024-05-03; the other one only 12 h.
        job(
            "stuck",
            "2024-05-01T00:00:00Z",
            json!({
                "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
                "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
            }),
        ),
        job(
            "fresh",
            "2024-05-02T12:00:00Z",
            json!({
                "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
                "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
            }),
        ),
        trial("xgb-hpo-001", 0.91, 0.97, "0.1"),
        trial("xgb-hpo-002", 0.95, 0.93, "0.2"),
        trial("xgb-hpo-003", 0.87, 0.99, "0.3"),
    ]
}

fn loaded(db: &Db) {
    let f = write_file(db.dir.path(), "fixtures.jsonl", &jsonl(&fixtures()));
    assert_eq!(
        db.run(&["load", f.to_str().unwrap()]).status.code(),
        Some(0)
    );
}

#[tokio::test]
async fn cost_counts_instance_seconds_per_group_and_keeps_its_dollar_columns_empty_without_prices()
{
    for db in backends() {
        loaded(&db);
        let rows = query(&db, &["cost"]);
        let spot = find(
            &rows,
            &[("month", "2024-03"), ("instance_type", "ml.m5.2xlarge")],
        );
        assert_eq!(spot["billable_instance_seconds"], 864, "{}", db.name());
        assert_eq!(spot["instance_hours"], 0.24);
        let c5 = find(
            &rows,
            &[("month", "2024-03"), ("instance_type", "ml.c5.18xlarge")],
        );
        assert_eq!(
            (
                c5["billable_instance_seconds"].as_i64(),
                c5["instance_hours"].as_f64()
            ),
            (Some(28800), Some(8.0))
        );
        let p3dn = find(
            &rows,
            &[("month", "2024-03"), ("instance_type", "ml.p3dn.24xlarge")],
        );
        assert_eq!(
            (
                p3dn["billable_instance_seconds"].as_i64(),
                p3dn["instance_hours"].as_f64()
            ),
            (Some(57600), Some(16.0))
        );
        // The job that never started is counted (it is one of the 3) at 0 seconds.
        let g5 = find(
            &rows,
            &[("month", "2024-04"), ("instance_type", "ml.g5.xlarge")],
        );
        assert_eq!(
            (
                g5["jobs"].as_i64(),
                g5["billable_instance_seconds"].as_i64()
            ),
            (Some(3), Some(900))
        );
        assert_eq!(g5["instance_hours"], 0.25);
        // A script reading estimated_usd does not break before prices arrive.
        // (A group of no billable time costs 0, priced or not.)
        assert!(
            rows.iter()
                .all(|r| r.get("estimated_usd").is_some_and(|usd| {
                    usd.is_null() || r["unpriced_instance_hours"].as_f64() == Some(0.0)
                })),
            "no prices: the dollar columns are there, empty: {rows:#?}"
        );

        let prices = write_file(
            db.dir.path(),
            "prices.csv",
            "# example values\ninstance_type,region,usd_per_hour\nml.m5.2xlarge,us-east-1,0.5\nml.c5.18xlarge,*,3.0\nml.p3dn.24xlarge,us-east-1,30\nml.p3dn.24xlarge,eu-west-1,99\n",
        );
        assert_eq!(
            db.run(&["prices", "load", prices.to_str().unwrap()])
                .status
                .code(),
            Some(0)
        );
        let rows = query(&db, &["cost"]);
        let usd = |t: &str| {
            find(&rows, &[("month", "2024-03"), ("instance_type", t)])["estimated_usd"].clone()
        };
        assert_eq!(usd("ml.m5.2xlarge"), 0.12);
        assert_eq!(usd("ml.c5.18xlarge"), 24.0);
        assert_eq!(usd("ml.p3dn.24xlarge"), 480.0);
        assert!(
            find(&rows, &[("month", "2024-04")])["estimated_usd"].is_null(),
            "no price, no guess"
        );

        // The sum of the view is the cost report's total.
        let usage = query(
            &db,
            &[
                "--sql",
                "SELECT sum(billable_instance_seconds) AS s, count(*) AS n FROM sagemaker_training_job_instance_usage",
            ],
        );
        assert_eq!(usage[0]["s"], 864 + 28800 + 57600 + 900 + 300);
        assert_eq!(usage[0]["n"], 11, "one row per job and instance group");
    }
}

#[tokio::test]
async fn cost_by_tag_groups_untagged_jobs_apart() {
    for db in backends() {
        loaded(&db);
        let rows = query(&db, &["cost-by-tag", "--param", "tag_key=team"]);
        assert_eq!(
            find(&rows, &[("month", "2024-03"), ("tag_value", "growth")])["billable_instance_seconds"],
            864
        );
        // hetero-llm alone, a cluster of two instance types: one job.
        let research = find(&rows, &[("month", "2024-03"), ("tag_value", "research")]);
        assert_eq!(
            (
                research["jobs"].as_i64(),
                research["billable_instance_seconds"].as_i64(),
                research["instance_hours"].as_f64()
            ),
            (Some(1), Some(86400), Some(24.0)),
            "{}",
            db.name()
        );
        assert_eq!(
            find(&rows, &[("month", "2024-04"), ("tag_value", "(untagged)")])["jobs"],
            3
        );
        // A value is bound, never spliced: this matches no tag and breaks nothing.
        let rows = query(&db, &["cost-by-tag", "--param", "tag_key=team' OR '1'='1"]);
        assert!(
            rows.iter().all(|r| r["tag_value"] == "(untagged)"),
            "{}",
            db.name()
        );
    }
}

#[tokio::test]
async fn spot_savings_failures_and_long_running() {
    for db in backends() {
        loaded(&db);
        let spot = query(&db, &["spot-savings"]);
        assert_eq!(spot.len(), 1);
        assert_eq!(
            spot[0],
            json!({"month": "2024-03", "spot_jobs": 1, "training_seconds": 960, "billable_seconds": 288, "saved_pct": 70.0}),
            "{}",
            db.name()
        );

        let failures = query(&db, &["failures"]);
        assert_eq!(failures.len(), 2);
        assert_eq!(
            failures[0]["failure_reason"],
            "AlgorithmError: ExecuteUserScriptError:"
        );
        assert_eq!(failures[0]["jobs"], 2);
        assert_eq!(failures[0]["last_seen"], "2024-04-20T00:05:00.000Z");
        assert_eq!(failures[0]["example_job"], "oom-2");
        assert_eq!(
            failures[1]["failure_reason"],
            "CapacityError: Unable to provision requested ML compute capacity."
        );

        let long = query(
            &db,
            &["long-running", "--param", "as_of=2024-05-03T00:00:00Z"],
        );
        assert_eq!(long.len(), 1, "{}", db.name());
        assert_eq!(long[0]["training_job_name"], "stuck");
        assert_eq!(long[0]["elapsed_seconds"], 172800);
        assert_eq!(long[0]["elapsed_hours"], 48.0);
        assert_eq!(long[0]["max_runtime_in_seconds"], 86400);
        let long = query(
            &db,
            &[
                "long-running",
                "--param",
                "as_of=2024-05-03T00:00:00Z",
                "--param",
                "hours=6",
            ],
        );
        assert_eq!(long.len(), 2);
        // Without as_of it measures from now: both have been running for years.
        assert_eq!(query(&db, &["long-running"]).len(), 2);
    }
}

#[tokio::test]
async fn security_findings_list_only_jobs_missing_something() {
    for db in backends() {
        loaded(&db);
        let rows = query(&db, &["security-findings"]);
        assert_eq!(rows.len(), fixtures().len() - 1, "{}", db.name());
        assert!(rows.iter().all(|r| r["training_job_name"] != "spot-xgb"));
        let h = find(&rows, &[("training_job_name", "hetero-llm")]);
        assert_eq!(h["account_id"], ACCOUNT);
        assert_eq!(h["network_isolation"], "no");
        assert_eq!(h["vpc"], "no");
        assert_eq!(h["volume_kms_key"], "no");
        assert_eq!(h["output_kms_key"], "no");
        // The newest `limit` only: the whole list is as long as the inventory at worst.
        let newest = query(&db, &["security-findings", "--param", "limit=1"]);
        assert_eq!(newest.len(), 1, "{}", db.name());
        assert_eq!(newest[0], rows[0], "{}", db.name());

        // The posture counts the same jobs per account and region.
        let posture = query(&db, &["security-posture"]);
        assert_eq!(posture.len(), 1, "{}: one account, one region", db.name());
        let p = &posture[0];
        assert_eq!(p["jobs"], fixtures().len());
        assert_eq!(p["missing_any"], rows.len(), "{}", db.name());
        for (column, listed) in [
            ("without_network_isolation", "network_isolation"),
            (
                "without_inter_container_encryption",
                "inter_container_encryption",
            ),
            ("without_vpc", "vpc"),
            ("without_volume_kms_key", "volume_kms_key"),
            ("without_output_kms_key", "output_kms_key"),
        ] {
            let lacking = rows.iter().filter(|r| r[listed] == "no").count();
            assert_eq!(p[column], lacking, "{}: {column}", db.name());
        }
    }
}

#[tokio::test]
async fn tuning_leaderboard_ranks_by_the_objective_metric() {
    for db in backends() {
        loaded(&db);
        let tuning =
            format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:hyper-parameter-tuning-job/xgb-hpo");
        for key in ["xgb-hpo", "XGB-HPO", tuning.as_str()] {
            let rows = query(
                &db,
                &[
                    "tuning-leaderboard",
                    "--param",
                    &format!("tuning_job={key}"),
                ],
            );
            let names: Vec<&str> = rows
                .iter()
                .map(|r| r["training_job_name"].as_str().unwrap())
                .collect();
            assert_eq!(
                names,
                ["xgb-hpo-002", "xgb-hpo-001", "xgb-hpo-003"],
                "{} {key}",
                db.name()
            );
            assert_eq!(rows[0]["rank"], 1);
            assert_eq!(rows[0]["metric_name"], "validation:auc");
            assert_eq!(rows[0]["metric_value"], 0.95);
            let hp = &rows[0]["hyper_parameters"];
            let hp: Value = if hp.is_string() {
                serde_json::from_str(hp.as_str().unwrap()).unwrap()
            } else {
                hp.clone()
            };
            assert_eq!(hp["eta"], "0.2");
        }
        let rows = query(
            &db,
            &[
                "tuning-leaderboard",
                "--param",
                "tuning_job=xgb-hpo",
                "--param",
                "metric=train:auc",
                "--param",
                "order=asc",
            ],
        );
        let names: Vec<&str> = rows
            .iter()
            .map(|r| r["training_job_name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["xgb-hpo-002", "xgb-hpo-001", "xgb-hpo-003"]);
        assert_eq!(rows[0]["metric_value"], 0.93);
    }
}

#[tokio::test]
async fn output_formats() {
    for db in backends() {
        loaded(&db);
        let csv = db.run(&["query", "spot-savings", "--format", "csv"]);
        assert_eq!(
            String::from_utf8_lossy(&csv.stdout),
            "month,spot_jobs,training_seconds,billable_seconds,saved_pct\n2024-03,1,960,288,70\n",
            "{}",
            db.name()
        );
        // Not a terminal: csv by default.
        assert_eq!(db.run(&["query", "spot-savings"]).stdout, csv.stdout);
        let lines = db.run(&["query", "spot-savings", "--format", "jsonl"]);
        let lines = String::from_utf8_lossy(&lines.stdout);
        let row: serde_json::Value = serde_json::from_str(&lines).expect("one JSON object");
        assert_eq!(lines.lines().count(), 1);
        assert_eq!(row["month"], "2024-03");
        assert_eq!(row["saved_pct"].as_f64(), Some(70.0), "{}", db.name());
        let table = db.run(&["query", "spot-savings", "--format", "table"]);
        assert_eq!(
            String::from_utf8_lossy(&table.stdout),
            "month    spot_jobs  training_seconds  billable_seconds  saved_pct\n\
             -------  ---------  ----------------  ----------------  ---------\n\
             2024-03          1               960               288         70\n\
             (1 row)\n"
        );
        let list = db.run(&["query", "--list"]);
        let list = String::from_utf8_lossy(&list.stdout);
        for name in [
            "cost",
            "cost-by-tag",
            "spot-savings",
            "failures",
            "long-running",
            "security-posture",
            "security-findings",
            "tuning-leaderboard",
        ] {
            assert!(
                list.lines().any(|l| l.starts_with(name)),
                "{name} not listed:\n{list}"
            );
        }
        assert!(list.contains("--param tag_key=…"));
    }
}

#[tokio::test]
async fn bad_requests_exit_2_with_a_clear_message() {
    for db in backends() {
        loaded(&db);
        for (args, says) in [
            (
                vec!["query", "no-such-report"],
                "unknown canned query \"no-such-report\"",
            ),
            (vec!["query", "cost-by-tag"], "missing parameter tag_key"),
            (
                vec!["query", "cost", "--param", "team=x"],
                "unknown parameter team; canned query cost takes no parameters",
            ),
            (
                vec!["query", "cost", "--param", "novalue"],
                "must be KEY=VALUE",
            ),
            (vec!["query", "--sql", "SELEC 1"], "the query failed"),
            (
                vec!["query", "--sql", "SELECT :a AS a"],
                "missing parameter a",
            ),
        ] {
            let out = db.run(&args);
            assert_eq!(out.status.code(), Some(2), "{}: {args:?}", db.name());
            assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        }
        let out = db.run(&[
            "query",
            "--sql",
            "SELECT :a AS a",
            "--param",
            "a=1; DROP TABLE x",
            "--format",
            "csv",
        ]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a\n1; DROP TABLE x\n");
    }
}

#[tokio::test]
async fn bad_price_files_are_refused_whole() {
    for db in backends() {
        loaded(&db);
        let bad = write_file(
            db.dir.path(),
            "bad.csv",
            "instance_type,region,usd_per_hour\nml.m5.xlarge,us-east-1,1\nml.c5.xlarge,us-east-1,cheap\n",
        );
        let out = db.run(&["prices", "load", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out)
                .contains("bad.csv line 3: usd_per_hour \"cheap\" is not a non-negative number"),
            "{}",
            stderr(&out)
        );
        let n = query(&db, &["--sql", "SELECT count(*) AS n FROM instance_price"]);
        assert_eq!(n[0]["n"], 0, "{}", db.name());
    }
}

#[tokio::test]
async fn reading_is_not_blocked_by_a_running_writer() {
    for db in backends() {
        loaded(&db);
        let sql = "SELECT count(*) AS n FROM sagemaker_training_job";
        match db.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
                sqlx::query("DELETE FROM sagemaker_training_job")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let started = std::time::Instant::now();
                let rows = query(&db, &["--sql", sql]);
                assert!(
                    started.elapsed().as_secs() < 10,
                    "the read waited for the writer"
                );
                assert_eq!(rows[0]["n"], fixtures().len(), "it sees what is committed");
                tx.rollback().await.unwrap();
            }
            Backend::Postgres => {
                let pool = db.pg_pool().await;
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("LOCK TABLE sagemaker_training_job IN ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query("DELETE FROM sagemaker_training_job")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let rows = query(&db, &["--sql", sql]);
                assert_eq!(rows[0]["n"], fixtures().len());
                tx.rollback().await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn tuning_job_names_are_matched_literally() {
    for db in backends() {
        loaded(&db);
        // LIKE wildcards and a trailing backslash are plain characters of a name.
        for key in ["xgb%", "%", "xgb_hpo", "xgb-hp_", "xgb-hpo\\"] {
            let rows = query(
                &db,
                &[
                    "tuning-leaderboard",
                    "--param",
                    &format!("tuning_job={key}"),
                ],
            );
            assert!(rows.is_empty(), "{} {key}: {rows:?}", db.name());
        }
    }
}

#[tokio::test]
async fn user_sql_runs_read_only() {
    for db in backends() {
        loaded(&db);
        let before = db.count("sagemaker_training_job").await;
        for sql in [
            "DELETE FROM sagemaker_training_job",
            "UPDATE sagemaker_training_job SET failure_reason = 'x'",
        ] {
            let out = db.run(&["query", "--sql", sql]);
            assert_eq!(out.status.code(), Some(2), "{}: {sql}", db.name());
            let err = stderr(&out);
            assert!(err.contains("runs SQL read-only"), "{}: {err}", db.name());
            // The database's own reason, once.
            let said = err.matches("read-only transaction").count()
                + err.matches("readonly database").count();
            assert_eq!(said, 1, "{}: {err}", db.name());
        }
        assert_eq!(db.count("sagemaker_training_job").await, before);
        // The connection a refused query used is not left read-only for the rest.
        db.load_examples();
    }
}

/// What `--sql` may run: one statement, on a connection that cannot write (SQLite opened
/// read-only, so neither a pragma nor ATTACH gets round it).
#[tokio::test]
async fn user_sql_is_one_statement_on_a_connection_that_cannot_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    for db in backends() {
        loaded(&db);
        let before = db.count("sagemaker_training_job").await;
        let out = db.run(&[
            "query",
            "--sql",
            "PRAGMA query_only=0; DELETE FROM sagemaker_training_job",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", db.name());
        if db.backend == Backend::Sqlite {
            let err = stderr(&out);
            assert!(err.contains("one statement at a time"), "{err}");
            assert_eq!(err.matches("one statement").count(), 1, "{err}");
        }
        for sql in [
            "SELECT 1 AS a; SELECT 2 AS b",
            "SELECT 1 AS a; DELETE FROM sagemaker_training_job",
        ] {
            let out = db.run(&["query", "--sql", sql]);
            assert_eq!(out.status.code(), Some(2), "{}: {sql}", db.name());
        }
        let file = dir.path().join(format!("attached-{}.db", db.name()));
        let attach = format!("ATTACH DATABASE '{}' AS x", file.display());
        let out = db.run(&["query", "--sql", &attach]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            db.name(),
            stderr(&out)
        );
        assert!(!file.exists(), "{}: ATTACH created {file:?}", db.name());
        assert_eq!(db.count("sagemaker_training_job").await, before);
        // One statement with a `;`, blanks and a comment after it is one statement.
        let out = db.run(&[
            "query",
            "--sql",
            "SELECT count(*) AS n FROM sagemaker_training_job; -- all of them\n",
            "--format",
            "csv",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            db.name(),
            stderr(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("n\n{before}\n")
        );
        // ...and so is a `;` inside a string.
        let out = db.run(&["query", "--sql", "SELECT 'a; b' AS s", "--format", "csv"]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "s\na; b\n",
            "{}",
            db.name()
        );
    }
}

#[tokio::test]
async fn zero_rows_still_print_the_header() {
    for db in backends() {
        loaded(&db);
        let sql = "SELECT training_job_name, billable_time_in_seconds FROM sagemaker_training_job WHERE 1 = 0";
        let out = db.run(&["query", "--sql", sql, "--format", "csv"]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "training_job_name,billable_time_in_seconds\n",
            "{}",
            db.name()
        );
        let out = db.run(&["query", "--sql", sql, "--format", "table"]);
        let table = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            table.starts_with("training_job_name  billable_time_in_seconds\n"),
            "{}: {table}",
            db.name()
        );
        assert!(table.ends_with("(0 rows)\n"), "{table}");
        let rows = query(&db, &["tuning-leaderboard", "--param", "tuning_job=none"]);
        assert!(rows.is_empty());
    }
}

#[tokio::test]
async fn a_reader_that_goes_away_ends_the_query_quietly() {
    for db in backends() {
        loaded(&db);
        // Far more than a pipe holds, so the writes meet the closed pipe.
        let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) SELECT i FROM n";
        // The list, too (`sagesync query --list | head`): it was a panic.
        for args in [
            &["query", "--sql", sql, "--format", "csv"][..],
            &["query", "--list"],
        ] {
            let mut child = db
                .cmd()
                .args(args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            drop(child.stdout.take());
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{} {args:?}: {err}", db.name());
            assert!(err.is_empty(), "{} {args:?}: {err}", db.name());
        }
    }
}

#[tokio::test]
async fn json_columns_and_booleans_read_alike_on_both_backends() {
    let mut results = Vec::new();
    for db in backends() {
        loaded(&db);
        let rows = query(
            &db,
            &[
                "--sql",
                "SELECT training_job_name, resource_config, enable_network_isolation, creation_time \
                 FROM sagemaker_training_job ORDER BY training_job_name",
            ],
        );
        assert!(
            rows[0]["resource_config"].is_object(),
            "{}: {rows:?}",
            db.name()
        );
        assert!(
            rows[0]["enable_network_isolation"].is_boolean(),
            "{}",
            db.name()
        );
        results.push(rows);
    }
    assert_eq!(results[0], results[1]);
}

/// On Postgres the tables live in schema `aws` by default (tests use a schema each, see
/// `postgres_tables_live_in_schema_aws_by_default`); SQLite attaches the database as `aws`.
#[tokio::test]
async fn ddsql_queries_run_unchanged_on_sqlite() {
    {
        let db = Db::new(Backend::Sqlite);
        loaded(&db);
        let rows = query(
            &db,
            &[
                "--sql",
                "SELECT count(*) AS n FROM aws.sagemaker_training_job WHERE training_job_status = :s",
                "--param",
                "s=Completed",
            ],
        );
        assert!(
            rows[0]["n"].as_i64().unwrap() > 0,
            "{}: {rows:?}",
            db.name()
        );
    }
}

/// The usage rows the cost reports read are rewritten with their job: a new version replaces
/// them, and a cluster with two groups of one instance type is still one job.
#[tokio::test]
async fn usage_rows_follow_each_version_of_a_job() {
    let groups = json!({"InstanceGroups": [
        {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "InstanceGroupName": "a"},
        {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "InstanceGroupName": "b"}]});
    let first = vec![
        job(
            "two-groups",
            "2025-05-01T00:00:00Z",
            json!({"ResourceConfig": groups, "BillableTimeInSeconds": 100}),
        ),
        job(
            "retagged",
            "2025-05-02T00:00:00Z",
            json!({"BillableTimeInSeconds": 10, "Tags": [{"Key": "team", "Value": "a"}]}),
        ),
    ];
    let second = vec![job(
        "retagged",
        "2025-05-02T00:00:00Z",
        json!({"BillableTimeInSeconds": 20, "LastModifiedTime": "2025-05-03T00:00:00Z",
               "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
               "Tags": [{"Key": "team", "Value": "b"}]}),
    )];
    for db in backends() {
        for (n, jobs) in [first.clone(), second.clone()].iter().enumerate() {
            let f = write_file(db.dir.path(), &format!("v{n}.jsonl"), &jsonl(jobs));
            assert_eq!(
                db.run(&["load", f.to_str().unwrap()]).status.code(),
                Some(0)
            );
        }
        let cost = query(&db, &["cost"]);
        let g5 = find(&cost, &[("instance_type", "ml.g5.xlarge")]);
        assert_eq!(
            (
                g5["jobs"].as_i64(),
                g5["billable_instance_seconds"].as_i64()
            ),
            (Some(1), Some(300)),
            "{}",
            db.name()
        );
        let m5 = find(&cost, &[("instance_type", "ml.m5.xlarge")]);
        assert_eq!(
            m5["billable_instance_seconds"],
            40,
            "{}: the second version only",
            db.name()
        );

        let by_tag = query(&db, &["cost-by-tag", "--param", "tag_key=team"]);
        let values: Vec<&Value> = by_tag.iter().map(|r| &r["tag_value"]).collect();
        assert_eq!(values, [&json!("(untagged)"), &json!("b")], "{}", db.name());
        assert_eq!(
            find(&by_tag, &[("tag_value", "b")])["billable_instance_seconds"],
            40
        );
        assert_eq!(db.count("sagemaker_training_job_instance_usage").await, 3);
    }
}

/// Migration 7 turns the usage view into a table and fills it from the jobs already stored.
#[tokio::test]
async fn upgrading_fills_the_usage_table_from_stored_jobs() {
    for db in backends() {
        loaded(&db);
        let want = query(&db, &["cost"]);
        let posture = query(&db, &["security-posture"]);
        let backend = db.name().to_lowercase();
        let view = std::fs::read_to_string(format!(
            "migrations/{backend}/20261122000002_instance_usage_and_prices.sql"
        ))
        .unwrap();
        let view = view.split("-- Optional prices").next().unwrap();
        // As sagesync left the database before migration 7 (and so before 12).
        let mut sql = before_migration_12(db.backend);
        sql.push_str(&format!(
            "DROP TABLE sagemaker_training_job_instance_usage; {view}"
        ));
        if backend == "sqlite" {
            sql.push_str(
                "CREATE INDEX sagemaker_training_job_usage ON sagemaker_training_job (region); \
                 CREATE INDEX sagemaker_training_job_instance_groups ON sagemaker_training_job (region);",
            );
        }
        // The usage columns of migrations 15 and 16 go with the table: they run again too.
        sql.push_str(if backend == "sqlite" {
            "DROP TRIGGER sagesync_gpu_share_on_insert; DROP TRIGGER sagesync_gpu_share_on_update; \
             DROP TRIGGER sagesync_gpu_share_on_delete; "
        } else {
            "DROP FUNCTION sagesync_gpu_share() CASCADE; "
        });
        sql.push_str(
            "DELETE FROM _sqlx_migrations WHERE version IN \
             (20261123000007, 20261204000015, 20261204000016)",
        );
        db.exec(&sql).await;
        // A reader does not upgrade: it says how to.
        let out = db.run(&["query", "cost"]);
        assert_eq!(out.status.code(), Some(2), "{}", db.name());
        assert!(
            stderr(&out).contains("run `sagesync migrate`"),
            "{}",
            stderr(&out)
        );
        assert_eq!(db.run(&["migrate"]).status.code(), Some(0), "{}", db.name());
        assert_eq!(query(&db, &["cost"]), want, "{}", db.name());
        assert_eq!(query(&db, &["security-posture"]), posture, "{}", db.name());
        assert_eq!(db.count("sagemaker_training_job_instance_usage").await, 11);
    }
}

/// The reports the HTML page adds, on the example jobs with the example prices: per account, the
/// costliest jobs (a heterogeneous cluster summed over its groups), and what failures cost.
#[tokio::test]
async fn cost_by_account_costliest_jobs_and_waste() {
    for db in backends() {
        db.load_examples();
        let prices = examples_dir().join("../instance_prices.example.csv");
        let out = db.run(&["prices", "load", prices.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

        let accounts = query(&db, &["cost-by-account"]);
        let us = find(&accounts, &[("account_id", "123456789012")]);
        assert_eq!(
            (
                us["month"].as_str(),
                us["jobs"].as_i64(),
                us["estimated_usd"].as_f64()
            ),
            // With the xgb job's warm pool: 900 s × $2.00/h = $0.50.
            (Some("2024-03"), Some(2), Some(1680.66)),
            "{}",
            db.name()
        );
        let eu = find(&accounts, &[("account_id", "210987654321")]);
        assert_eq!(eu["estimated_usd"].as_f64(), Some(0.83), "{}", db.name());

        let costliest = query(&db, &["costliest-jobs", "--param", "limit=2"]);
        let names: Vec<&str> = costliest
            .iter()
            .filter_map(|r| r["training_job_name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["llm-finetune-hetero-0042", "bert-ner-failed-7"],
            "{}",
            db.name()
        );
        assert_eq!(costliest[0]["instance_hours"].as_f64(), Some(24.0));
        assert_eq!(costliest[0]["estimated_usd"].as_f64(), Some(1680.0));
        assert_eq!(
            costliest[0]["instance_type"],
            "ml.c5.18xlarge,ml.p3dn.24xlarge",
            "{}",
            db.name()
        );
        let later = query(&db, &["costliest-jobs", "--param", "from_month=2024-04"]);
        assert_eq!(later.len(), 1, "{}", db.name());

        let waste = query(&db, &["waste"]);
        assert_eq!(waste.len(), 1, "{}: {waste:?}", db.name());
        assert_eq!(waste[0]["training_job_status"], "Failed");
        assert_eq!(waste[0]["jobs"].as_i64(), Some(1));
        assert_eq!(
            waste[0]["estimated_usd"].as_f64(),
            Some(0.83),
            "{}",
            db.name()
        );
        let reason = waste[0]["failure_reason"].as_str().unwrap_or_default();
        assert!(!reason.contains('\n') && !reason.is_empty(), "{reason:?}");
    }
}
