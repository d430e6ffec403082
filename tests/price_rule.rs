//! One price rule (issue 30), end to end on both backends: every report's dollars are the cost
//! view's (`sagemaker_training_job_cost`) summed over the same rows, with prices from the Price
//! List, a CSV's region rate, a CSV's `*` rate and none at all, so no report can drift from the
//! rule the views `instance_rate` and `storage_rate` define.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::standin::StandIn;
use common::*;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const OTHER: &str = "210987654321";

/// A job created in October 2026 (`month` overrides it); `extra` overrides or adds members.
fn job(name: &str, region: &str, account: &str, extra: Value) -> Value {
    let mut j = json!({
        "TrainingJobName": name,
        "TrainingJobArn": format!("arn:aws:sagemaker:{region}:{account}:training-job/{name}"),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": "2026-10-05T08:00:00Z",
        "TrainingStartTime": "2026-10-05T08:00:00Z",
        "LastModifiedTime": "2026-10-05T10:00:00Z",
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
        "EnableManagedSpotTraining": false,
        "TrainingTimeInSeconds": 3600,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        j[k] = v.clone();
    }
    j
}

fn single(itype: &str, count: u32, gb: u32) -> Value {
    json!({"InstanceType": itype, "InstanceCount": count, "VolumeSizeInGB": gb})
}

fn team(name: &str) -> Value {
    json!([{"Key": "team", "Value": name}])
}

/// Jobs over every source of a rate: the Price List's (m5, c5 in us-east-1, m5 in eu-west-1),
/// the CSV's for a region (p4d in us-east-1), the CSV's `*` (g5, trn1: a region that only the
/// inventory names), and none (inf9, and a failed job with no billable seconds).
fn jobs() -> Vec<Value> {
    vec![
        job(
            "spot",
            "us-east-1",
            ACCOUNT,
            json!({"ResourceConfig": single("ml.m5.xlarge", 2, 50), "EnableManagedSpotTraining": true,
                   "BillableTimeInSeconds": 1800, "Tags": team("growth")}),
        ),
        job(
            "warm",
            "us-east-1",
            ACCOUNT,
            json!({"ResourceConfig": {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1,
                                      "VolumeSizeInGB": 100, "KeepAlivePeriodInSeconds": 1800},
                   "BillableTimeInSeconds": 7200,
                   "WarmPoolStatus": {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 1800},
                   "Tags": team("research")}),
        ),
        job(
            "hetero",
            "us-east-1",
            OTHER,
            json!({"ResourceConfig": {"VolumeSizeInGB": 10, "InstanceGroups": [
                       {"InstanceGroupName": "gpu", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
                       {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1}]},
                   "BillableTimeInSeconds": 3600, "Tags": team("research")}),
        ),
        job(
            "trainium",
            "ap-south-2",
            ACCOUNT,
            json!({"ResourceConfig": single("ml.trn1.32xlarge", 1, 30), "BillableTimeInSeconds": 5400}),
        ),
        job(
            "eu",
            "eu-west-1",
            ACCOUNT,
            json!({"ResourceConfig": single("ml.m5.xlarge", 1, 0), "BillableTimeInSeconds": 3600,
                   "CreationTime": "2026-09-12T08:00:00Z", "TrainingStartTime": "2026-09-12T08:00:00Z"}),
        ),
        job(
            "failed",
            "us-east-1",
            ACCOUNT,
            json!({"ResourceConfig": single("ml.m5.xlarge", 2, 20), "BillableTimeInSeconds": 900,
                   "TrainingJobStatus": "Failed", "FailureReason": "AlgorithmError: out of memory\ntrace",
                   "Tags": team("growth")}),
        ),
        job(
            "zero",
            "us-east-1",
            ACCOUNT,
            json!({"ResourceConfig": single("ml.zero.xlarge", 1, 10), "BillableTimeInSeconds": 0,
                   "TrainingJobStatus": "Failed", "FailureReason": "AlgorithmError: out of memory"}),
        ),
        job(
            "stray",
            "us-east-1",
            OTHER,
            json!({"ResourceConfig": single("ml.inf9.xlarge", 1, 10), "BillableTimeInSeconds": 600,
                   "TrainingJobStatus": "Stopped"}),
        ),
    ]
}

const CSV: &str = "instance_type,region,usd_per_hour,gpus,vcpus
ml.p4d.24xlarge,us-east-1,37.5,8,96
ml.g5.2xlarge,*,1.6,1,8
ml.trn1.32xlarge,*,21.5,16,128
";

/// Each job's summed GPUUtilization and its GPUs, stored as a harvest would.
const UTILIZATION: [(&str, &str, f64, u32); 3] = [
    ("warm", "us-east-1", 40.0, 1),
    ("hetero", "us-east-1", 400.0, 16),
    ("trainium", "ap-south-2", 800.0, 16),
];

async fn stage(api: &StandIn, db: &Db) {
    let f = write_file(db.dir.path(), "jobs.jsonl", &jsonl(&jobs()));
    assert_eq!(
        db.run(&["load", f.to_str().unwrap()]).status.code(),
        Some(0)
    );
    api.control(
        "offer",
        json!({"prices": {"us-east-1": {"ml.m5.xlarge": 0.23, "ml.c5.xlarge": 0.204,
                                        "ml.p4d.24xlarge": 40.0, "ml.g5.2xlarge": 1.515},
                          "eu-west-1": {"ml.m5.xlarge": 0.277}},
               "storage": {"us-east-1": 0.14, "eu-west-1": 0.154},
               "sizes": {"ml.m5.xlarge": [0, 4], "ml.c5.xlarge": [0, 4]}}),
    );
    let out = api.costs(db, &["prices", "sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", db.name());
    let csv = write_file(db.dir.path(), "prices.csv", CSV);
    assert_eq!(
        db.run(&["prices", "load", csv.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    for (name, region, sum, gpus) in UTILIZATION {
        let account = if name == "hetero" { OTHER } else { ACCOUNT };
        db.exec(&format!(
            "INSERT INTO sagemaker_training_job_metrics (training_job_arn, status, hosts_expected, \
             hosts_measured, period_seconds, gpu_utilization_sum, gpus, gpus_per_host, read_at) \
             VALUES ('arn:aws:sagemaker:{region}:{account}:training-job/{name}', 'measured', 1, 1, \
             3600, {sum}, {gpus}, {gpus}, '2026-11-01T00:00:00Z')"
        ))
        .await;
    }
    let bill = json!([{"TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"}, "Groups": [
        {"Keys": [ACCOUNT, "USE1-Train:ml.m5.xlarge"], "Metrics": {
            "UnblendedCost": {"Amount": "0.5", "Unit": "USD"},
            "UsageQuantity": {"Amount": "2.0", "Unit": "Hrs"}}}]}]);
    api.control("billing", json!({"results": bill}));
    let out = api.costs(
        db,
        &["billing", "sync", "--from", "2026-10", "--to", "2026-10"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", db.name());
}

/// The cost view's rows, with the job columns the reports group by.
fn view(db: &Db) -> Vec<Value> {
    let sql = "SELECT c.training_job_name, c.month, c.account_id, c.region, c.instance_type, \
               c.billable_instance_seconds, c.compute_usd, c.warm_pool_usd, c.storage_usd, \
               c.gpu_utilization_pct, c.price_source, u.training_job_status, u.failure_reason \
               FROM sagemaker_training_job_cost c JOIN sagemaker_training_job_instance_usage u \
               ON u.training_job_arn = c.training_job_arn AND u.seq = c.seq";
    query(db, &["--sql", sql])
}

/// A sum the way a report states it: to the cent, and empty when any row has no figure.
fn total<'a>(
    rows: impl IntoIterator<Item = &'a Value>,
    f: impl Fn(&Value) -> Option<f64>,
) -> Option<f64> {
    let mut sum = 0.0;
    for r in rows {
        sum += f(r)?;
    }
    Some((sum * 100.0).round() / 100.0)
}

fn col(name: &'static str) -> impl Fn(&Value) -> Option<f64> {
    move |r| r[name].as_f64()
}

/// compute, warm pool and storage, storage left out when it has no price (as estimated_usd does).
fn estimated(r: &Value) -> Option<f64> {
    Some(
        r["compute_usd"].as_f64()?
            + r["warm_pool_usd"].as_f64()?
            + r["storage_usd"].as_f64().unwrap_or(0.0),
    )
}

fn tag_of(name: &str) -> &'static str {
    match name {
        "spot" | "failed" => "growth",
        "warm" | "hetero" => "research",
        _ => "(untagged)",
    }
}

fn gpus(itype: &str) -> bool {
    ["ml.g5.2xlarge", "ml.p4d.24xlarge", "ml.trn1.32xlarge"].contains(&itype)
}

fn idle(r: &Value) -> Option<f64> {
    Some(r["compute_usd"].as_f64()? * (1.0 - r["gpu_utilization_pct"].as_f64()? / 100.0))
}

/// A report's column and how to read the same figure from a row of the cost view.
type Column<'a> = (&'a str, &'a dyn Fn(&Value) -> Option<f64>);

/// Checks each row of `report` against the view's rows grouped by `key`, column by column.
fn pin(
    db: &Db,
    report: &str,
    rows: &[Value],
    view: &[Value],
    key: impl Fn(&Value) -> String,
    columns: &[Column<'_>],
    keep: impl Fn(&Value) -> bool,
) {
    let mut groups: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for v in view.iter().filter(|v| keep(v)) {
        groups.entry(key(v)).or_default().push(v);
    }
    assert_eq!(
        rows.len(),
        groups.len(),
        "{} {report}: {rows:#?} against {groups:#?}",
        db.name()
    );
    for row in rows {
        let k = key(row);
        let members = groups
            .get(&k)
            .unwrap_or_else(|| panic!("{} {report}: no view rows for {k}", db.name()));
        for (column, f) in columns {
            assert_eq!(
                row[*column].as_f64(),
                total(members.iter().copied(), f),
                "{} {report} {k}: {column} against the cost view's {members:#?}",
                db.name()
            );
        }
    }
}

#[tokio::test]
async fn every_reports_dollars_are_the_cost_views_summed() {
    for db in backends() {
        let api = StandIn::start();
        stage(&api, &db).await;
        let view = view(&db);
        let source =
            |name: &str| find(&view, &[("training_job_name", name)])["price_source"].clone();
        assert_eq!(source("spot"), "price-list", "{}", db.name());
        assert_eq!(
            source("warm"),
            "csv",
            "a `*` rate wins over the Price List's"
        );
        assert_eq!(
            source("trainium"),
            "csv",
            "a `*` rate in a region no price names"
        );
        assert_eq!(source("stray"), Value::Null);
        let zero = find(&view, &[("training_job_name", "zero")]);
        assert_eq!(
            zero["compute_usd"],
            json!(0.0),
            "no seconds cost 0, priced or not: {zero}"
        );
        let some = |name: &str| {
            view.iter()
                .any(|v| v["training_job_name"] == name && !v["compute_usd"].is_null())
        };
        assert!(some("spot") && some("trainium") && !some("stray"));

        let dollars: [Column<'_>; 4] = [
            ("compute_usd", &col("compute_usd")),
            ("warm_pool_usd", &col("warm_pool_usd")),
            ("storage_usd", &col("storage_usd")),
            ("estimated_usd", &estimated),
        ];
        let all = |_: &Value| true;
        let text = |v: &Value, c: &str| v[c].as_str().unwrap_or_default().to_string();

        let cost = query(&db, &["cost"]);
        let by = |v: &Value| format!("{} {}", text(v, "month"), text(v, "instance_type"));
        pin(&db, "cost", &cost, &view, by, &dollars, all);

        let accounts = query(&db, &["cost-by-account"]);
        let by = |v: &Value| {
            format!(
                "{} {} {}",
                text(v, "month"),
                text(v, "account_id"),
                text(v, "region")
            )
        };
        pin(&db, "cost-by-account", &accounts, &view, by, &dollars, all);

        let tags = query(&db, &["cost-by-tag", "--param", "tag_key=team"]);
        let by = |v: &Value| match v.get("tag_value") {
            Some(t) => format!("{} {}", text(v, "month"), t.as_str().unwrap_or_default()),
            None => format!(
                "{} {}",
                text(v, "month"),
                tag_of(&text(v, "training_job_name"))
            ),
        };
        pin(&db, "cost-by-tag", &tags, &view, by, &dollars, all);

        let waste = query(&db, &["waste"]);
        let by = |v: &Value| {
            let reason = text(v, "failure_reason");
            let first = reason.lines().next().unwrap_or("(no reason given)");
            format!("{} {first}", text(v, "training_job_status"))
        };
        let failed = |v: &Value| v["training_job_status"] != "Completed";
        pin(
            &db,
            "waste",
            &waste,
            &view,
            by,
            &[("estimated_usd", &col("compute_usd"))],
            failed,
        );

        let costliest = query(&db, &["costliest-jobs"]);
        let by = |v: &Value| text(v, "training_job_name");
        let billed = |v: &Value| v["billable_instance_seconds"].as_i64() > Some(0);
        pin(
            &db,
            "costliest-jobs",
            &costliest,
            &view,
            by,
            &[("estimated_usd", &estimated)],
            billed,
        );

        let idle_jobs = query(&db, &["idle-gpu"]);
        let by = |v: &Value| text(v, "training_job_name");
        let measured =
            |v: &Value| gpus(&text(v, "instance_type")) && !v["gpu_utilization_pct"].is_null();
        let columns: [Column<'_>; 2] = [
            ("compute_usd", &col("compute_usd")),
            ("idle_gpu_usd", &idle),
        ];
        pin(&db, "idle-gpu", &idle_jobs, &view, by, &columns, measured);

        let months = query(&db, &["gpu-utilization"]);
        let by = |v: &Value| format!("{} {}", text(v, "month"), text(v, "instance_type"));
        pin(
            &db,
            "gpu-utilization",
            &months,
            &view,
            by,
            &[("idle_gpu_usd", &idle)],
            measured,
        );
        assert!(
            months
                .iter()
                .any(|m| m["idle_gpu_usd"].as_f64() > Some(0.0)),
            "{}: {months:#?}",
            db.name()
        );

        // The bill's month alone, compute and warm pool: the hours billed as training.
        let reconcile = query(&db, &["reconcile"]);
        let by = |v: &Value| {
            format!(
                "{} {} {} {}",
                text(v, "month"),
                text(v, "account_id"),
                text(v, "region"),
                text(v, "instance_type")
            )
        };
        let training = |r: &Value| Some(r["compute_usd"].as_f64()? + r["warm_pool_usd"].as_f64()?);
        let october = |v: &Value| v["month"] == "2026-10";
        pin(
            &db,
            "reconcile",
            &reconcile,
            &view,
            by,
            &[("estimated_usd", &training)],
            october,
        );
    }
}
