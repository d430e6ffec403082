//! What the GPUs did for the money, end to end on both backends: the harvest after `sync` and
//! `metrics sync` against the stand-in's CloudWatch (RPC v2 CBOR, as the SDK speaks it; moto
//! answers it 404), figures worked out by hand, retention by age, paging, a second run that
//! asks nothing, a refused permission, and the reports in idle dollars.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::standin::StandIn;
use common::*;
use serde_json::{Value, json};

const DAY: i64 = 86_400;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

/// The stand-in's CloudWatch needs cbor2, in the test venv scripts/test.sh makes.
fn require_cbor2() {
    let python = std::env::var("SAGESYNC_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import cbor2"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{python} has no cbor2: run the tests with ./scripts/test.sh, or set SAGESYNC_TEST_PYTHON to a python with cbor2"
    );
}

/// A completed job on the stand-in that ended `ended_ago` seconds ago after an hour's training,
/// with this ResourceConfig.
fn put_job(api: &StandIn, name: &str, ended_ago: i64, resources: Value) {
    let end = now() - ended_ago;
    api.control(
        "make",
        json!({"prefix": name, "count": 1, "first_epoch": end - 3700, "status": "Completed"}),
    );
    api.control(
        "set",
        json!({"name": format!("{name}-0000"), "status": "Completed", "extra": {
            "TrainingStartTime": end - 3600, "TrainingEndTime": end,
            "TrainingTimeInSeconds": 3600, "BillableTimeInSeconds": 3600,
            "ResourceConfig": resources}}),
    );
}

fn single(itype: &str, count: u32) -> Value {
    json!({"InstanceType": itype, "InstanceCount": count, "VolumeSizeInGB": 30})
}

/// Each host's [GPU, GPU memory, CPU, memory] as [mean, peak]; null for a silent host.
fn host(gpu: f64, memory: f64, cpu: f64, ram: f64) -> Value {
    json!([
        [gpu, gpu * 1.5],
        [memory, memory * 1.2],
        [cpu, cpu],
        [ram, ram + 10.0]
    ])
}

const SIZES: &str = "instance_type,region,usd_per_hour,gpus,vcpus
ml.g5.12xlarge,*,7.0,4,48
ml.g5.2xlarge,*,1.5,1,8
ml.m5.xlarge,*,0.25,0,4
";

/// The jobs whose figures are worked out by hand (ml.g5.12xlarge: 4 GPUs, 48 vCPUs):
/// - two: 2 × g5.12xlarge, hosts at 200 and 100 → 300 / 8 GPUs = 37.5 %;
/// - hetero: 1 × g5.12xlarge and 2 × g5.2xlarge (1 GPU), hosts at 300, 60, 60 → 420 / 6 = 70 %;
/// - cpu: 1 × m5.xlarge (no GPU, 4 vCPUs), CPU at 200 → 50 %, asked CPU and memory alone;
/// - silent: 2 × g5.12xlarge, algo-2 answers nothing → partial, its own 300 / 4 = 75 %;
/// - quiet: nothing at all → no-data; month: ended 30 days ago (5-minute periods), at 200 → 50 %;
/// - big: 90 × g5.12xlarge at 100 → 25 %, 540 queries in two calls;
/// - ancient: ended 500 days ago → expired, never asked.
fn stage(api: &StandIn) {
    put_job(api, "two", 3 * 3600, single("ml.g5.12xlarge", 2));
    put_job(
        api,
        "hetero",
        3 * 3600,
        json!({"VolumeSizeInGB": 30, "InstanceGroups": [
            {"InstanceGroupName": "big", "InstanceType": "ml.g5.12xlarge", "InstanceCount": 1},
            {"InstanceGroupName": "small", "InstanceType": "ml.g5.2xlarge", "InstanceCount": 2}]}),
    );
    put_job(api, "cpu", 3 * 3600, single("ml.m5.xlarge", 1));
    put_job(api, "silent", 3 * 3600, single("ml.g5.12xlarge", 2));
    put_job(api, "quiet", 3 * 3600, single("ml.g5.12xlarge", 1));
    put_job(api, "month", 30 * DAY, single("ml.g5.12xlarge", 1));
    put_job(api, "big", 2 * DAY, single("ml.g5.12xlarge", 90));
    put_job(api, "ancient", 500 * DAY, single("ml.g5.12xlarge", 1));
    let big: Vec<Value> = (0..90).map(|_| host(100.0, 50.0, 480.0, 40.0)).collect();
    api.control(
        "utilization",
        json!({"page_size": 200, "hosts": {
            "two-0000": [host(200.0, 120.0, 2400.0, 50.0), host(100.0, 80.0, 1200.0, 70.0)],
            "hetero-0000": [host(300.0, 200.0, 960.0, 30.0), host(60.0, 40.0, 160.0, 30.0),
                            host(60.0, 40.0, 160.0, 30.0)],
            "cpu-0000": [host(0.0, 0.0, 200.0, 40.0)],
            "silent-0000": [host(300.0, 100.0, 960.0, 30.0), null],
            "month-0000": [host(200.0, 100.0, 960.0, 30.0)],
            "big-0000": big,
            "ancient-0000": [host(400.0, 400.0, 4800.0, 90.0)]}}),
    );
}

/// [`SIZES`] through `prices load`.
fn load_sizes(db: &Db) {
    let sizes = write_file(db.dir.path(), "sizes.csv", SIZES);
    let out = db.run(&["prices", "load", sizes.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// `sagesync sync` with the harvest after it, CloudWatch on the stand-in.
fn sync(api: &StandIn, db: &Db) -> std::process::Output {
    let url = api.url();
    let mut c = api.costs_cmd(
        db,
        &["sync", "--region", "us-east-1", "--endpoint-url", &url],
    );
    c.env_remove("SAGESYNC_NO_METRICS")
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", &url);
    let out = c.output().expect("run sync");
    eprintln!("--- sync exited {:?}\n{}", out.status.code(), stderr(&out));
    out
}

fn metrics_sync(api: &StandIn, db: &Db) -> std::process::Output {
    let url = api.url();
    let mut c = api.costs_cmd(db, &["metrics", "sync", "--region", "us-east-1"]);
    c.env("AWS_ENDPOINT_URL_CLOUDWATCH", &url);
    let out = c.output().expect("run metrics sync");
    eprintln!(
        "--- metrics sync exited {:?}\n{}",
        out.status.code(),
        stderr(&out)
    );
    out
}

fn utilization(db: &Db) -> Vec<Value> {
    let round = |column: &str, name: &str| match db.name() {
        "postgres" => format!("round(u.{column}::numeric, 2)::float8 AS {name}"),
        _ => format!("round(u.{column}, 2) AS {name}"),
    };
    let sql = format!(
        "SELECT j.training_job_name AS name, u.status, u.hosts_expected, u.hosts_measured, \
         u.gpus, {}, {}, {}, u.memory_max_pct AS memory_max, u.period_seconds \
         FROM sagemaker_training_job_utilization u \
         JOIN sagemaker_training_job j ON j._key = u.training_job_arn ORDER BY 1",
        round("gpu_utilization_pct", "gpu"),
        round("gpu_utilization_max_pct", "gpu_max"),
        round("cpu_utilization_pct", "cpu"),
    );
    query(db, &["--sql", &sql])
}

#[test]
fn utilization_of_each_kind_of_job_matches_the_figures_worked_by_hand() {
    require_cbor2();
    for db in backends() {
        let api = StandIn::start();
        stage(&api);
        load_sizes(&db);
        let out = sync(&api, &db);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let err = stderr(&out);
        assert!(
            err.contains(
                "utilization: 8 jobs read (5 measured, 1 partial, 1 with no data, 1 expired)"
            ),
            "{}: {err}",
            db.name()
        );
        assert!(err.contains("metrics requested ($0."), "{err}");

        let rows = utilization(&db);
        let row = |name: &str| find(&rows, &[("name", &format!("{name}-0000"))]).clone();
        let figures = |name: &str, cols: &[&str]| -> Vec<Value> {
            let r = row(name);
            cols.iter().map(|c| r[*c].clone()).collect()
        };
        let cols = ["status", "hosts_expected", "hosts_measured", "gpus", "gpu"];
        assert_eq!(
            figures("two", &cols),
            [json!("measured"), json!(2), json!(2), json!(8), json!(37.5)],
            "{}",
            db.name()
        );
        // The busiest host's peak: 300 × 1.5 of 4 GPUs.
        assert_eq!(row("two")["gpu_max"], json!(75.0));
        assert_eq!(row("two")["cpu"], json!(37.5), "3,600 of 96 vCPUs");
        assert_eq!(row("two")["memory_max"].as_f64(), Some(80.0));
        assert_eq!(
            figures("hetero", &cols),
            [json!("measured"), json!(3), json!(3), json!(6), json!(70.0)]
        );
        // Hosts of different sizes: no host's share of its own GPUs can be said.
        assert!(row("hetero")["gpu_max"].is_null());
        let cpu = row("cpu");
        assert_eq!(
            (&cpu["gpus"], &cpu["gpu"], &cpu["cpu"]),
            (&json!(0), &Value::Null, &json!(50.0))
        );
        assert_eq!(
            figures("silent", &cols),
            [json!("partial"), json!(2), json!(1), json!(8), json!(75.0)]
        );
        assert_eq!(
            figures("quiet", &cols),
            [json!("no-data"), json!(1), json!(0), json!(4), Value::Null]
        );
        let month = row("month");
        assert_eq!(month["gpu"], json!(50.0), "{month}");
        assert_eq!(month["period_seconds"].as_i64().unwrap() % 300, 0);
        assert_eq!(
            figures("big", &cols),
            [
                json!("measured"),
                json!(90),
                json!(90),
                json!(360),
                json!(25.0)
            ]
        );
        assert_eq!(row("ancient")["status"], json!("expired"));

        // Straggler hosts show in the hosts' table.
        let hosts = query(
            &db,
            &[
                "--sql",
                "SELECT h.host, h.gpu_utilization_avg FROM sagemaker_training_job_host_utilization h \
                 JOIN sagemaker_training_job j ON j._key = h.training_job_arn \
                 WHERE j.training_job_name = 'two-0000' ORDER BY 1",
            ],
        );
        assert_eq!(
            hosts,
            [
                json!({"host": "algo-1", "gpu_utilization_avg": 200.0}),
                json!({"host": "algo-2", "gpu_utilization_avg": 100.0})
            ]
        );

        idle_dollars_match_the_figures_worked_by_hand(&db);

        // The page's section: GPU-hours by month and the jobs with the most idle dollars.
        let out = db.run(&["report", "--out", "-"]);
        let html = String::from_utf8_lossy(&out.stdout).into_owned();
        let gpu = &html[html.find("id=\"gpu\"").expect("a GPU section")..];
        let gpu = &gpu[..gpu.find("id=\"costliest\"").unwrap_or(gpu.len())];
        assert!(gpu.contains("big-0000") && gpu.contains("$472.50"), "{gpu}");
        assert!(gpu.contains("GPU-hours per month"), "{gpu}");
        assert!(!gpu.contains("quiet-0000"), "no data, never idle: {gpu}");

        let requests = api.http("GET", "/control/metric_requests", "");
        let requests = requests.as_array().unwrap();
        for r in requests {
            assert!(r["queries"].as_u64().unwrap() <= 500, "{r}");
            let hosts = r["hosts"].as_array().unwrap();
            assert!(
                !hosts
                    .iter()
                    .any(|h| h.as_str().unwrap().starts_with("ancient")),
                "an expired job is never asked: {r}"
            );
        }
        let pages = api.calls_of("GetMetricData");
        // big's 540 queries: calls of 500 and 40, the first in three pages of 200; the other
        // jobs by age: 30 days (5-minute periods) and the hours-old ones.
        assert!(pages >= 6, "{pages}");

        // A second run asks nothing: every ended job has its row.
        let out = metrics_sync(&api, &db);
        assert_eq!(out.status.code(), Some(0));
        assert!(stderr(&out).contains("no ended job is waiting"));
        assert_eq!(api.calls_of("GetMetricData"), pages, "{}", db.name());
    }
}

/// The jobs of [`stage`] at the CSV's prices (ml.g5.12xlarge $7.00 an hour, ml.g5.2xlarge $1.50),
/// an hour each: idle dollars = compute × (1 − utilization):
/// big $630 × 0.75 = $472.50, two $14 × 0.625 = $8.75, month $7 × 0.5 and silent $14 × 0.25 =
/// $3.50, hetero ($7 + $3) × 0.3 = $3.00; quiet (no data) and cpu (no GPU) are not there.
fn idle_dollars_match_the_figures_worked_by_hand(db: &Db) {
    let idle = query(db, &["idle-gpu"]);
    let names: Vec<&str> = idle
        .iter()
        .map(|r| r["training_job_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "big-0000",
            "two-0000",
            "month-0000",
            "silent-0000",
            "hetero-0000"
        ],
        "{}",
        db.name()
    );
    let usd: Vec<f64> = idle
        .iter()
        .map(|r| r["idle_gpu_usd"].as_f64().unwrap())
        .collect();
    assert_eq!(usd, [472.5, 8.75, 3.5, 3.5, 3.0]);
    let two = &idle[1];
    assert_eq!(
        [
            &two["instances"],
            &two["gpus"],
            &two["gpu_utilization_pct"],
            &two["gpu_hours"],
            &two["compute_usd"]
        ],
        [
            &json!(2),
            &json!(8),
            &json!(37.5),
            &json!(8.0),
            &json!(14.0)
        ]
    );
    assert_eq!(
        two["gpu_memory_max_pct"],
        json!(36.0),
        "the busiest host's 120 × 1.2 of 4 GPUs"
    );
    let hetero = &idle[4];
    assert_eq!(
        (
            &hetero["instances"],
            &hetero["gpu_hours"],
            &hetero["compute_usd"]
        ),
        (&json!(3), &json!(6.0), &json!(10.0))
    );
    let top = query(db, &["idle-gpu", "--param", "limit=1"]);
    assert_eq!(top.len(), 1);

    // Summed over the months (jobs that ended hours ago may be last month's at midnight).
    let by_type = query(db, &["gpu-utilization"]);
    let total = |t: &str, column: &str| -> f64 {
        by_type
            .iter()
            .filter(|r| r["instance_type"] == json!(t))
            .filter_map(|r| r[column].as_f64())
            .sum()
    };
    let near = |a: f64, b: f64| (a - b).abs() < 0.01;
    assert!(
        near(total("ml.g5.12xlarge", "gpu_hours"), 392.0),
        "{by_type:#?}"
    );
    assert!(
        near(total("ml.g5.12xlarge", "used_gpu_hours"), 103.8),
        "{by_type:#?}"
    );
    assert!(
        near(total("ml.g5.12xlarge", "unmeasured_gpu_hours"), 8.0),
        "quiet and ancient"
    );
    assert!(
        near(total("ml.g5.12xlarge", "idle_gpu_usd"), 490.35),
        "{by_type:#?}"
    );
    assert!(near(total("ml.g5.2xlarge", "used_gpu_hours"), 1.4));
    assert!(near(total("ml.g5.2xlarge", "idle_gpu_usd"), 0.9));
    assert!(
        by_type
            .iter()
            .all(|r| r["instance_type"] != json!("ml.m5.xlarge")),
        "no GPU"
    );
    assert!(by_type.iter().all(|r| r["tag_value"].is_null()));
    let by_job = query(db, &["gpu-utilization", "--param", "tag_key=job"]);
    let two: Vec<&Value> = by_job
        .iter()
        .filter(|r| r["tag_value"] == json!("two-0000"))
        .collect();
    assert_eq!(two.len(), 1, "{by_job:#?}");
    assert_eq!(
        [
            &two[0]["instance_type"],
            &two[0]["gpu_hours"],
            &two[0]["used_gpu_hours"],
            &two[0]["utilization_pct"],
            &two[0]["idle_gpu_usd"]
        ],
        [
            &Value::Null,
            &json!(8.0),
            &json!(3.0),
            &json!(37.5),
            &json!(8.75)
        ]
    );
}

#[test]
fn a_refused_permission_is_one_warning_and_the_sync_goes_on() {
    require_cbor2();
    for db in backends() {
        let api = StandIn::start();
        put_job(&api, "two", 3 * 3600, single("ml.g5.12xlarge", 2));
        api.control("deny", json!({"ops": ["GetMetricData"]}));
        let out = sync(&api, &db);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let err = stderr(&out);
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(warnings.len(), 1, "{}: {err}", db.name());
        assert!(
            warnings[0].contains("these credentials need cloudwatch:GetMetricData"),
            "{err}"
        );
        assert!(err.contains("AccessDenied"), "{err}");
        assert_eq!(
            query(
                &db,
                &["--sql", "SELECT count(*) AS n FROM sagemaker_training_job"]
            )[0]["n"],
            json!(1)
        );
        assert_eq!(
            utilization(&db).len(),
            0,
            "nothing stored of a refused call"
        );
        // On its own, a refusal in every scope is a failure with the permission to grant.
        let out = metrics_sync(&api, &db);
        assert_eq!(out.status.code(), Some(2), "{}", db.name());
        assert!(stderr(&out).contains("cloudwatch:GetMetricData"));
    }
}

#[test]
fn sizes_come_from_the_price_list_and_the_csv_and_size_jobs_measured_before_them() {
    require_cbor2();
    for db in backends() {
        let api = StandIn::start();
        put_job(&api, "two", 3 * 3600, single("ml.g5.12xlarge", 2));
        put_job(&api, "cpu", 3 * 3600, single("ml.m5.xlarge", 1));
        api.control(
            "utilization",
            json!({"hosts": {
                "two-0000": [host(200.0, 120.0, 2400.0, 50.0), host(100.0, 80.0, 1200.0, 70.0)],
                "cpu-0000": [host(0.0, 0.0, 200.0, 40.0)]}}),
        );
        // Measured while no size is known: the hosts' figures are kept, the shares wait.
        assert_eq!(sync(&api, &db).status.code(), Some(0));
        let two = || {
            let rows = utilization(&db);
            find(&rows, &[("name", "two-0000")]).clone()
        };
        assert_eq!(
            (&two()["gpus"], &two()["gpu"]),
            (&Value::Null, &Value::Null)
        );
        // What the GPU reports read: the share on the job's usage rows.
        let idle = || {
            let rows = query(&db, &["idle-gpu"]);
            rows.iter()
                .map(|r| {
                    (
                        r["training_job_name"].clone(),
                        r["gpu_utilization_pct"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(idle(), [], "{}", db.name());

        api.control(
            "offer",
            json!({"prices": {"us-east-1": {"ml.g5.12xlarge": 7.09, "ml.m5.xlarge": 0.23}},
                   "sizes": {"ml.g5.12xlarge": [4, 48], "ml.m5.xlarge": ["N/A", 4]}}),
        );
        assert_eq!(api.costs(&db, &["prices", "sync"]).status.code(), Some(0));
        assert_eq!((&two()["gpus"], &two()["gpu"]), (&json!(8), &json!(37.5)));
        assert_eq!(idle(), [(json!("two-0000"), json!(37.5))], "{}", db.name());
        let sizes = query(
            &db,
            &[
                "--sql",
                "SELECT instance_type, gpus, vcpus, gpu_memory_gib, source FROM instance_type_size ORDER BY 1",
            ],
        );
        assert_eq!(
            sizes,
            [
                json!({"instance_type": "ml.g5.12xlarge", "gpus": 4, "vcpus": 48, "gpu_memory_gib": 96.0, "source": "price-list"}),
                json!({"instance_type": "ml.m5.xlarge", "gpus": 0, "vcpus": 4, "gpu_memory_gib": 0.0, "source": "price-list"})
            ],
            "{}",
            db.name()
        );
        // The CSV's win for their type, and stay when the Price List is read again.
        let csv = write_file(
            db.dir.path(),
            "sizes.csv",
            "instance_type,region,usd_per_hour,gpus\nml.g5.12xlarge,*,7.0,8\n",
        );
        assert_eq!(
            db.run(&["prices", "load", csv.to_str().unwrap()])
                .status
                .code(),
            Some(0)
        );
        assert_eq!(api.costs(&db, &["prices", "sync"]).status.code(), Some(0));
        let g5 = query(
            &db,
            &[
                "--sql",
                "SELECT gpus, source FROM instance_type_size WHERE instance_type = 'ml.g5.12xlarge'",
            ],
        );
        assert_eq!(g5, [json!({"gpus": 8, "source": "csv"})], "{}", db.name());
        // The CSV corrects the jobs of its types: 2 × 8 GPUs now.
        assert_eq!((&two()["gpus"], &two()["gpu"]), (&json!(16), &json!(18.75)));
        assert_eq!(idle(), [(json!("two-0000"), json!(18.8))], "{}", db.name());
        let bad = write_file(
            db.dir.path(),
            "bad.csv",
            "instance_type,region,usd_per_hour,gpus\nml.g5.12xlarge,*,7.0,four\n",
        );
        let out = db.run(&["prices", "load", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("bad.csv line 2: gpus \"four\" is not a whole number"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn throttled_calls_are_retried_and_a_value_that_is_not_a_number_is_skipped() {
    require_cbor2();
    for db in backends() {
        let api = StandIn::start();
        // 40 jobs of 20 hosts: 10 calls of 480 queries, under a quota of 2 calls a second.
        for i in 0..40 {
            put_job(
                &api,
                &format!("wide{i:02}"),
                3 * 3600,
                single("ml.g5.12xlarge", 20),
            );
        }
        put_job(&api, "odd", 3 * 3600, single("ml.g5.12xlarge", 1));
        let mut hosts = serde_json::Map::new();
        for i in 0..40 {
            let all: Vec<Value> = (0..20).map(|_| host(100.0, 50.0, 480.0, 40.0)).collect();
            hosts.insert(format!("wide{i:02}-0000"), json!(all));
        }
        hosts.insert(
            "odd-0000".into(),
            json!([[["NaN", "NaN"], [50.0, 60.0], [480.0, 480.0], [40.0, 50.0]]]),
        );
        api.control("utilization", json!({ "hosts": hosts }));
        api.control("quotas", json!({"GetMetricData": 2}));
        load_sizes(&db);
        let out = sync(&api, &db);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let err = stderr(&out);
        assert!(
            err.contains("utilization: 41 jobs read (41 measured"),
            "{}: {err}",
            db.name()
        );
        // Each page once answered, the throttled ones again.
        assert!(
            api.calls_of("GetMetricData") > 11,
            "{}",
            api.calls_of("GetMetricData")
        );
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(warnings.len(), 2, "average and maximum: {err}");
        assert!(
            warnings[0].contains(
                "GPUUtilization of job odd-0000 host algo-1: a value that is not a number; skipped"
            ),
            "{err}"
        );
        let odd = utilization(&db);
        let odd = find(&odd, &[("name", "odd-0000")]);
        assert_eq!(
            (&odd["status"], &odd["gpu"], &odd["cpu"]),
            (&json!("measured"), &Value::Null, &json!(10.0))
        );
    }
}
