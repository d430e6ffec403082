//! Dollars that match the bill, end to end on both backends: `prices sync` from a Price List in
//! the offer file's shape (the stand-in; moto has none), the cost reports in dollars against
//! figures worked out by hand here, a CSV's precedence, `billing sync` from Cost Explorer pages,
//! `query reconcile`, and what a denied or throttled Price List does to a sync.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";

/// A completed job created in October 2026; `extra` overrides or adds members.
fn job(name: &str, region: &str, extra: Value) -> Value {
    let mut j = json!({
        "TrainingJobName": name,
        "TrainingJobArn": format!("arn:aws:sagemaker:{region}:{ACCOUNT}:training-job/{name}"),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": "2026-10-05T08:00:00Z",
        "TrainingStartTime": "2026-10-05T08:00:00Z",
        "LastModifiedTime": "2026-10-05T10:00:00Z",
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
        "EnableManagedSpotTraining": false,
    });
    for (k, v) in extra.as_object().unwrap() {
        j[k] = v.clone();
    }
    j
}

/// The jobs whose dollars are worked out by hand (prices below):
/// - spot: 2 × ml.m5.xlarge, 1,800 billable of 3,600 s, 50 GB: 1 instance-hour × $0.25 = $0.25;
///   storage 50 × 2 × 1,800 GB-s = 0.0685 GB-mo × $0.10 = $0.0068;
/// - warm: 1 × ml.g5.2xlarge, 7,200 s, warm pool 1,800 s, 100 GB: $3.00 + $0.75, storage
///   100 × 7,200 GB-s = 0.274 GB-mo × $0.10 = $0.0274;
/// - hetero: 2 × ml.p4d.24xlarge and 1 × ml.c5.xlarge, 3,600 s, 10 GB: $80.00 and $0.20;
/// - unpriced: 1 × ml.trn1.32xlarge, 3,600 s: no price anywhere;
/// - eu: 1 × ml.m5.xlarge in eu-west-1, 3,600 s: the Price List's $0.28, or the CSV's $0.20.
fn jobs() -> Vec<Value> {
    vec![
        job(
            "spot",
            "us-east-1",
            json!({"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50},
                   "EnableManagedSpotTraining": true, "BillableTimeInSeconds": 1800,
                   "TrainingTimeInSeconds": 3600}),
        ),
        job(
            "warm",
            "us-east-1",
            json!({"ResourceConfig": {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 100,
                                      "KeepAlivePeriodInSeconds": 1800},
                   "BillableTimeInSeconds": 7200, "TrainingTimeInSeconds": 7200,
                   "WarmPoolStatus": {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 1800}}),
        ),
        job(
            "hetero",
            "us-east-1",
            json!({"ResourceConfig": {"VolumeSizeInGB": 10, "InstanceGroups": [
                       {"InstanceGroupName": "gpu", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
                       {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1}]},
                   "BillableTimeInSeconds": 3600, "TrainingTimeInSeconds": 3600}),
        ),
        job(
            "unpriced",
            "us-east-1",
            json!({"ResourceConfig": {"InstanceType": "ml.trn1.32xlarge", "InstanceCount": 1, "VolumeSizeInGB": 0},
                   "BillableTimeInSeconds": 3600, "TrainingTimeInSeconds": 3600}),
        ),
        job(
            "eu",
            "eu-west-1",
            json!({"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 0},
                   "BillableTimeInSeconds": 3600, "TrainingTimeInSeconds": 3600}),
        ),
    ]
}

/// The Price List: the jobs' types and 120 more in us-east-1 (more than a page), eu-west-1's
/// m5, storage in both, and one product whose price is not a number.
fn offer(api: &StandIn) {
    let mut east = json!({"ml.m5.xlarge": 0.25, "ml.g5.2xlarge": 1.5, "ml.p4d.24xlarge": 40.0,
                          "ml.c5.xlarge": 0.2});
    for i in 0..120 {
        east[format!("ml.x{i}.xlarge")] = json!(1.0 + f64::from(i));
    }
    api.control(
        "offer",
        json!({"prices": {"us-east-1": east, "eu-west-1": {"ml.m5.xlarge": 0.28}},
               "storage": {"us-east-1": 0.10, "eu-west-1": 0.11}}),
    );
    let bad = json!({
        "product": {"productFamily": "ML Instance", "sku": "SKUBAD0001", "attributes": {
            "regionCode": "us-east-1", "instanceName": "ml.bad.xlarge", "platoinstancetype": "Training",
            "usagetype": "USE1-Train:ml.bad.xlarge"}},
        "terms": {"OnDemand": {"SKUBAD0001.T": {"priceDimensions": {"SKUBAD0001.T.D": {
            "unit": "Hrs", "pricePerUnit": {"USD": "n/a"}}}}}}
    });
    api.control("products", json!({"products": [bad.to_string()]}));
}

fn load_jobs(db: &Db) {
    let f = write_file(db.dir.path(), "jobs.jsonl", &jsonl(&jobs()));
    assert_eq!(
        db.run(&["load", f.to_str().unwrap()]).status.code(),
        Some(0)
    );
}

/// `sagesync sync` of us-east-1 from the stand-in, reading prices after it as a user's would.
fn sync_with_prices(
    api: &StandIn,
    db: &Db,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let url = api.url();
    let mut args = vec!["sync", "--region", "us-east-1", "--endpoint-url", &url];
    args.extend_from_slice(extra);
    let mut c = api.costs_cmd(db, &args);
    c.env_remove("SAGESYNC_NO_PRICES").envs(env.iter().copied());
    let out = c.output().expect("run sync");
    eprintln!("--- sync exited {:?}\n{}", out.status.code(), stderr(&out));
    out
}

fn usd(row: &Value, column: &str) -> Option<f64> {
    row[column].as_f64()
}

#[tokio::test]
async fn prices_from_the_price_list_give_each_cost_column_its_dollars() {
    for db in backends() {
        let api = StandIn::start();
        offer(&api);
        load_jobs(&db);
        let out = api.costs(&db, &["prices", "sync"]);
        // One product was skipped: exit 1, with one warning naming its SKU; the rest is stored.
        assert_eq!(out.status.code(), Some(1), "{}", db.name());
        let err = stderr(&out);
        assert_eq!(err.matches("SKUBAD0001").count(), 1, "{err}");
        assert!(err.contains("not a non-negative number"), "{err}");
        assert!(
            err.contains("for 2 of 2 regions"),
            "the inventory's regions by default: {err}"
        );
        // Two queries a region (Training, storage), the first of us-east-1's two pages.
        assert_eq!(api.calls_of("GetProducts"), 5, "{}", db.name());
        let prices = db
            .table(
                "price_list_training",
                &["region", "instance_type", "usd_per_hour", "sku"],
                "region, instance_type",
            )
            .await;
        assert_eq!(prices.len(), 125, "{}: {prices:?}", db.name());
        assert!(
            prices
                .iter()
                .all(|p| p["sku"].as_str().is_some_and(|s| s.starts_with("SKU")))
        );
        let m5 = find(
            &prices,
            &[("region", "us-east-1"), ("instance_type", "ml.m5.xlarge")],
        );
        assert_eq!(
            m5["usd_per_hour"].as_f64(),
            Some(0.25),
            "Training, not Hosting or SpotTraining"
        );

        let cost = query(&db, &["cost"]);
        let row = |t: &str| find(&cost, &[("month", "2026-10"), ("instance_type", t)]).clone();
        let m5 = row("ml.m5.xlarge");
        assert_eq!(usd(&m5, "compute_usd"), Some(0.53), "{}: {m5}", db.name());
        assert_eq!(usd(&m5, "storage_usd"), Some(0.01));
        assert_eq!(usd(&m5, "estimated_usd"), Some(0.54));
        let g5 = row("ml.g5.2xlarge");
        assert_eq!(
            [
                usd(&g5, "compute_usd"),
                usd(&g5, "warm_pool_usd"),
                usd(&g5, "storage_usd")
            ],
            [Some(3.0), Some(0.75), Some(0.03)],
            "{}: {g5}",
            db.name()
        );
        assert_eq!(usd(&g5, "estimated_usd"), Some(3.78));
        assert_eq!(usd(&row("ml.p4d.24xlarge"), "compute_usd"), Some(80.0));
        assert_eq!(usd(&row("ml.c5.xlarge"), "compute_usd"), Some(0.2));
        let trn = row("ml.trn1.32xlarge");
        assert!(
            trn["compute_usd"].is_null() && trn["estimated_usd"].is_null(),
            "{trn}"
        );
        assert_eq!(trn["unpriced_instance_hours"].as_f64(), Some(1.0));

        let by_account = query(&db, &["cost-by-account"]);
        let east = find(&by_account, &[("region", "us-east-1")]);
        assert_eq!(east["jobs"], 4, "{}: {east}", db.name());
        assert!(
            east["estimated_usd"].is_null(),
            "an unpriced job's hours: {east}"
        );
        assert_eq!(east["unpriced_instance_hours"].as_f64(), Some(1.0));
        let eu = find(&by_account, &[("region", "eu-west-1")]);
        assert_eq!(usd(eu, "estimated_usd"), Some(0.28), "{}: {eu}", db.name());

        // A CSV wins for its region and instance type, and nowhere else.
        let csv = write_file(
            db.dir.path(),
            "prices.csv",
            "instance_type,region,usd_per_hour\nml.m5.xlarge,eu-west-1,0.20\n",
        );
        assert_eq!(
            db.run(&["prices", "load", csv.to_str().unwrap()])
                .status
                .code(),
            Some(0)
        );
        let by_account = query(&db, &["cost-by-account"]);
        let eu = find(&by_account, &[("region", "eu-west-1")]);
        assert_eq!(usd(eu, "estimated_usd"), Some(0.2), "{}: {eu}", db.name());
        let cost = query(&db, &["cost"]);
        let m5 = find(&cost, &[("instance_type", "ml.m5.xlarge")]);
        assert_eq!(usd(m5, "compute_usd"), Some(0.45), "{}: {m5}", db.name());

        let list = db.run(&["query", "--list"]);
        let list = String::from_utf8_lossy(&list.stdout).to_string();
        assert!(list.contains("reconcile"), "{list}");
        assert!(
            list.lines()
                .any(|l| l.contains("price-list") && l.contains(" 125 ") && l.contains("read 20")),
            "where prices came from and when: {list}"
        );
        assert!(
            list.lines().any(|l| l.contains("csv") && l.contains(" 1 ")),
            "{list}"
        );
    }
}

/// The bill of October 2026, in Cost Explorer's shape.
fn bill() -> Value {
    let group = |account: &str, usage: &str, hours: f64, cost: f64| {
        json!({"Keys": [account, usage], "Metrics": {
            "UnblendedCost": {"Amount": cost.to_string(), "Unit": "USD"},
            "UsageQuantity": {"Amount": hours.to_string(), "Unit": "Hrs"}}})
    };
    json!([{"TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"}, "Groups": [
        group(ACCOUNT, "USE1-Train:ml.m5.xlarge", 2.0, 0.5),
        group(ACCOUNT, "USE1-Train:ml.g5.2xlarge", 2.5, 3.75),
        group(ACCOUNT, "USE1-Host:ml.m5.xlarge", 100.0, 23.0),
        group(ACCOUNT, "USE1-Train:VolumeUsage.gp2", 0.4, 0.04),
        group("999999999999", "USE1-Train:ml.m5.xlarge", 5.0, 1.25),
    ]}])
}

#[tokio::test]
async fn the_bill_from_cost_explorer_reconciles_with_the_inventory() {
    for db in backends() {
        let api = StandIn::start();
        offer(&api);
        load_jobs(&db);
        api.control("billing", json!({"results": bill(), "page_size": 2}));
        let out = api.costs(
            &db,
            &["billing", "sync", "--from", "2026-10", "--to", "2026-10"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        assert!(stderr(&out).contains("stored 5 billed usage lines for 2026-10 to 2026-10"));
        // One call per page of two groups, never one per job or month.
        assert_eq!(api.calls_of("GetCostAndUsage"), 3, "{}", db.name());
        let requests = api.http("GET", "/control/ce_requests", "");
        let first = &requests[0];
        assert_eq!(first["Granularity"], "MONTHLY");
        assert_eq!(
            first["TimePeriod"],
            json!({"Start": "2026-10-01", "End": "2026-11-01"})
        );
        assert_eq!(
            first["Filter"]["Dimensions"]["Values"],
            json!(["Amazon SageMaker"])
        );
        assert_eq!(
            first["GroupBy"],
            json!([{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
        );

        assert_eq!(
            api.costs(&db, &["prices", "sync", "--region", "us-east-1"])
                .status
                .code(),
            Some(1)
        );
        let rows = query(&db, &["reconcile", "--param", "month=2026-10"]);
        let line = |account: &str, t: &str| {
            find(
                &rows,
                &[
                    ("account_id", account),
                    ("region", "us-east-1"),
                    ("instance_type", t),
                ],
            )
            .clone()
        };
        let m5 = line(ACCOUNT, "ml.m5.xlarge");
        assert_eq!(
            [
                m5["billed_hours"].as_f64(),
                m5["inventory_hours"].as_f64(),
                m5["coverage_pct"].as_f64()
            ],
            [Some(2.0), Some(1.0), Some(50.0)],
            "{}: {m5}",
            db.name()
        );
        assert_eq!(m5["billed_usd"].as_f64(), Some(0.5));
        assert_eq!(m5["estimated_usd"].as_f64(), Some(0.25));
        assert_eq!(m5["found"], "both");
        // Warm-pool hours are billed as training: 2 + 0.5 of 2.5 billed.
        let g5 = line(ACCOUNT, "ml.g5.2xlarge");
        assert_eq!(
            g5["coverage_pct"].as_f64(),
            Some(100.0),
            "{}: {g5}",
            db.name()
        );
        assert_eq!(g5["estimated_usd"].as_f64(), Some(3.75));
        // An account the inventory lacks, and training the bill lacks, both show.
        let other = line("999999999999", "ml.m5.xlarge");
        assert_eq!(other["found"], "bill only");
        assert_eq!(other["coverage_pct"].as_f64(), Some(0.0));
        let p4d = line(ACCOUNT, "ml.p4d.24xlarge");
        assert_eq!(p4d["found"], "inventory only", "{p4d}");
        assert!(p4d["billed_hours"].is_null());
        // Hosting and storage are not training compute.
        assert!(rows.iter().all(|r| r["instance_type"] != "VolumeUsage.gp2"));
        assert_eq!(rows.len(), 7, "{}: {rows:#?}", db.name());
        assert_eq!(
            rows.iter()
                .filter(|r| r["found"] == "inventory only")
                .count(),
            4,
            "p4d, c5, trn1 and eu-west-1's m5"
        );

        // A second run of the same month replaces it, it does not add to it.
        api.control("billing", json!({"results": bill(), "page_size": 100}));
        assert_eq!(
            api.costs(
                &db,
                &["billing", "sync", "--from", "2026-10", "--to", "2026-10"]
            )
            .status
            .code(),
            Some(0)
        );
        assert_eq!(db.count("billed_usage").await, 5, "{}", db.name());
    }
}

#[tokio::test]
async fn bad_months_are_refused_before_any_call() {
    let db = Db::new(Backend::Sqlite);
    let api = StandIn::start();
    for (args, why) in [
        (
            vec!["--from", "2026-05", "--to", "2026-03"],
            "--from 2026-05 is after --to 2026-03",
        ),
        (vec!["--from", "2026-13"], "YYYY-MM"),
        (vec!["--to", "October"], "YYYY-MM"),
    ] {
        let mut all = vec!["billing", "sync"];
        all.extend(args);
        let out = api.costs(&db, &all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
    }
    assert_eq!(api.calls_of("GetCostAndUsage"), 0);
}

#[tokio::test]
async fn a_sync_reads_prices_when_due_and_a_denied_price_list_is_one_warning() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "p", "count": 3, "first_epoch": EPOCH}),
        );
        api.control(
            "offer",
            json!({"prices": {"us-east-1": {"ml.m5.xlarge": 0.23}}, "storage": {"us-east-1": 0.14}}),
        );
        assert_eq!(
            sync_with_prices(&api, &db, &[], &[]).status.code(),
            Some(0),
            "{}",
            db.name()
        );
        assert_eq!(api.calls_of("GetProducts"), 2, "{}", db.name());
        let cost = query(&db, &["cost"]);
        assert!(
            cost.iter().all(|r| r["estimated_usd"].as_f64().is_some()),
            "{cost:?}"
        );

        // Fresh prices are not read again.
        assert_eq!(sync_with_prices(&api, &db, &[], &[]).status.code(), Some(0));
        assert_eq!(api.calls_of("GetProducts"), 2, "{}", db.name());

        // A job of a type with no price, created since they were read: read again, once.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        api.control(
            "make",
            json!({"prefix": "new", "count": 1, "first_epoch": now}),
        );
        api.control(
            "set",
            json!({"name": "new-0000", "status": "Completed",
                   "extra": {"ResourceConfig": {"InstanceType": "ml.trn1.32xlarge", "InstanceCount": 1}}}),
        );
        assert_eq!(sync_with_prices(&api, &db, &[], &[]).status.code(), Some(0));
        assert_eq!(api.calls_of("GetProducts"), 4, "{}", db.name());
        assert_eq!(sync_with_prices(&api, &db, &[], &[]).status.code(), Some(0));
        assert_eq!(api.calls_of("GetProducts"), 4, "{}", db.name());

        // After 7 days they are; a Price List that refuses is one warning, the sync's exit
        // unchanged, and the prices stored before stay.
        db.exec("UPDATE price_list_fetch SET fetched_at = '2020-01-01T00:00:00Z'")
            .await;
        api.control("deny", json!({"ops": ["GetProducts"]}));
        let out = sync_with_prices(&api, &db, &[], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let warnings: Vec<_> = stderr(&out)
            .lines()
            .filter(|l| l.contains("warning"))
            .map(str::to_string)
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("pricing:GetProducts"), "{warnings:?}");
        assert_eq!(db.count("price_list_training").await, 1);
        let out = api.costs(&db, &["prices", "sync"]);
        assert_eq!(out.status.code(), Some(2), "{}", db.name());
        assert!(stderr(&out).contains("pricing:GetProducts"));

        // --no-prices: no call at all.
        let before = api.calls_of("GetProducts");
        let out = sync_with_prices(&api, &db, &["--no-prices"], &[]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(api.calls_of("GetProducts"), before);
    }
}

#[tokio::test]
async fn a_throttled_price_list_is_retried() {
    for db in backends() {
        let api = StandIn::start();
        offer(&api);
        load_jobs(&db);
        api.control("faults", json!({"throttle_every": 2, "error_every": 5}));
        let out = api.costs(&db, &["prices", "sync"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "only the bad product: {}",
            db.name()
        );
        assert_eq!(db.count("price_list_training").await, 125, "{}", db.name());
        assert!(
            api.calls_of("GetProducts") > 5,
            "throttled calls were retried"
        );
    }
}

/// Migration 12 fills the warm-pool and storage quantities of the jobs already stored.
#[tokio::test]
async fn upgrading_fills_warm_pool_and_storage_of_stored_jobs() {
    for db in backends() {
        load_jobs(&db);
        let cols = [
            "training_job_arn",
            "seq",
            "warm_pool_instance_seconds",
            "storage_gb_seconds",
        ];
        let usage = "sagemaker_training_job_instance_usage";
        let want = db.table(usage, &cols, "training_job_arn, seq").await;
        // As sagesync left the database before migration 12.
        let sql = before_migration_12(db.backend);
        db.exec(&sql).await;
        assert_eq!(db.run(&["migrate"]).status.code(), Some(0), "{}", db.name());
        let got = db.table(usage, &cols, "training_job_arn, seq").await;
        assert_eq!(got, want, "{}", db.name());
        let warm = got
            .iter()
            .find(|r| {
                r["training_job_arn"]
                    .as_str()
                    .is_some_and(|a| a.ends_with("/warm"))
            })
            .unwrap();
        assert_eq!(warm["warm_pool_instance_seconds"], 1800, "{warm}");
        assert_eq!(warm["storage_gb_seconds"], 720_000, "{warm}");
    }
}

/// A Price List that cannot be reached (no route to it from where the sync runs): the sync ends
/// as it would have, within seconds, with one warning.
#[tokio::test]
async fn an_unreachable_price_list_is_one_warning_and_the_sync_stands() {
    let db = Db::new(Backend::Sqlite);
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "u", "count": 2, "first_epoch": EPOCH}),
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let unreachable = format!("http://127.0.0.1:{closed}");
    let started = std::time::Instant::now();
    let out = sync_with_prices(
        &api,
        &db,
        &[],
        &[("AWS_ENDPOINT_URL_PRICING", unreachable.as_str())],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    let warnings: Vec<_> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("cannot be reached"), "{err}");
    assert_eq!(db.count("sagemaker_training_job").await, 2);
}

/// Cost Explorer refusing the credentials: exit 2, the permission named, nothing stored.
#[tokio::test]
async fn a_denied_cost_explorer_names_the_permission() {
    let db = Db::new(Backend::Sqlite);
    let api = StandIn::start();
    api.control("billing", json!({"results": bill()}));
    api.control("deny", json!({"ops": ["GetCostAndUsage"]}));
    let out = api.costs(
        &db,
        &["billing", "sync", "--from", "2026-10", "--to", "2026-10"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("ce:GetCostAndUsage"),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.count("billed_usage").await, 0);
}
