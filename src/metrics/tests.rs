//! The harvest's decisions, in process: CloudWatch answered from memory ([`Memory`]) and a
//! store on `sqlite::memory:`. What they pin: the period and start by a job's age, batches of at
//! most 500 queries, the figures a job's hosts come to, and that no job is asked twice.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::plan::{self, QUERIES_PER_CALL};
use super::*;
use crate::model::op::Op;
use crate::source::cloudwatch::{Answer, Metric, Page, PageFuture, Stat};
use crate::store::StoreOptions;
use crate::store::metrics::DueJob;
use crate::store::read::Out;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn due(name: &str, ended_ago: Duration, hours: i64, hosts: i64) -> DueJob {
    let end = now() - ended_ago;
    DueJob {
        arn: format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"),
        name: name.into(),
        start: Timestamp::from_datetime(end - Duration::hours(hours)).unwrap(),
        end: Timestamp::from_datetime(end).unwrap(),
        hosts,
        cpu_only: false,
    }
}

#[test]
fn the_period_and_start_follow_what_cloudwatch_keeps_for_the_age() {
    let jobs = vec![
        due("fresh", Duration::days(1), 3, 1),
        due("month", Duration::days(30), 3, 1),
        due("old", Duration::days(100), 3, 1),
        due("gone", Duration::days(500), 3, 1),
    ];
    let (expired, batches) = plan::plan(jobs, now());
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].name, "gone");
    let by_name: BTreeMap<&str, &plan::Batch> = batches
        .iter()
        .map(|b| (b.jobs[0].name.as_str(), b))
        .collect();
    for (name, step) in [("fresh", 60), ("month", 300), ("old", 3600)] {
        let b = by_name[name];
        let job = &b.jobs[0];
        assert_eq!(b.jobs.len(), 1, "{name}: a batch per resolution");
        assert_eq!(b.start.timestamp() % step, 0, "{name}: start rounded down");
        assert_eq!(i64::from(b.period_seconds) % step, 0, "{name}: period");
        assert!(b.start <= job.start.as_datetime(), "{name}");
        // One period spans the whole run: one point a query.
        let period_end = b.start + Duration::seconds(i64::from(b.period_seconds));
        assert!(period_end >= job.end.as_datetime(), "{name}");
        assert!(
            period_end - job.end.as_datetime() < Duration::seconds(step),
            "{name}"
        );
    }
}

#[test]
fn batches_hold_at_most_500_queries_and_a_large_job_fills_calls_of_its_own() {
    let mut jobs: Vec<DueJob> = (0..100)
        .map(|i| due(&format!("j{i:03}"), Duration::hours(i + 1), 1, 1))
        .collect();
    jobs.push(due("big", Duration::hours(200), 2, 100));
    let (_, batches) = plan::plan(jobs, now());
    let sizes: Vec<usize> = batches.iter().map(|b| b.queries.len()).collect();
    // The big job (600 queries) alone, then the others six queries a job.
    assert_eq!(sizes, [600, 83 * 6, 17 * 6]);
    let calls: Vec<usize> = batches[0].calls().map(<[_]>::len).collect();
    assert_eq!(calls, [QUERIES_PER_CALL, 100]);
    for b in &batches {
        let mut ids: Vec<&str> = b.queries.iter().map(|q| q.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), b.queries.len(), "ids unique in a batch");
        assert!(b.queries.iter().all(|q| q.id.starts_with('q')));
    }
    assert_eq!(batches[0].queries[0].host, "big/algo-1");
    assert_eq!(batches[0].queries[599].host, "big/algo-100");
}

/// CloudWatch in memory: each host's figures, by `<job>/algo-<n>`, as (GPU average, GPU max,
/// GPU memory average, GPU memory max, CPU average, memory max); hosts not held answer nothing.
#[derive(Default)]
struct Memory {
    hosts: BTreeMap<String, [f64; 6]>,
    denied: bool,
    /// Answers per page, to page by NextToken.
    page: usize,
    calls: Mutex<Vec<(i32, usize)>>,
}

impl CloudWatch for Memory {
    fn metric_data<'a>(&'a self, request: Request<'a>) -> PageFuture<'a> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push((request.period_seconds, request.queries.len()));
            if self.denied {
                return Err(SourceError::refused(Op::GetMetricData, "AccessDenied"));
            }
            let skip: usize = request.token.and_then(|t| t.parse().ok()).unwrap_or(0);
            let size = if self.page == 0 {
                usize::MAX
            } else {
                self.page
            };
            let answers: Vec<Answer> = request
                .queries
                .iter()
                .skip(skip)
                .take(size)
                .map(|q| {
                    let figures = self.hosts.get(&q.host);
                    let i = match (q.metric, q.stat) {
                        (Metric::Gpu, Stat::Average) => 0,
                        (Metric::Gpu, Stat::Maximum) => 1,
                        (Metric::GpuMemory, Stat::Average) => 2,
                        (Metric::GpuMemory, Stat::Maximum) => 3,
                        (Metric::Cpu, _) => 4,
                        (Metric::Memory, _) => 5,
                    };
                    Answer {
                        id: q.id.clone(),
                        values: figures.map(|f| vec![f[i]]).unwrap_or_default(),
                        status: Some("Complete".into()),
                    }
                })
                .collect();
            let next = skip + answers.len();
            Ok(Page {
                answers,
                next_token: (next < request.queries.len()).then(|| next.to_string()),
            })
        })
    }
}

/// A store holding these jobs (name, instance type, instance count, ended ago), and the sizes
/// of ml.g5.12xlarge (4 GPUs, 48 vCPUs) and ml.m5.xlarge (none, 4 vCPUs).
async fn store_with(jobs: &[(&str, &str, i64, Duration)]) -> Store {
    let store = Store::open(&StoreOptions::memory()).await.unwrap();
    load_jobs(&store, jobs, json!({})).await;
    store_sizes(&store, &[("ml.g5.12xlarge", 4, 48), ("ml.m5.xlarge", 0, 4)]).await;
    store
}

/// Loads these jobs (as [`store_with`] takes them) with these tags, as `sagesync load` does.
async fn load_jobs(store: &Store, jobs: &[(&str, &str, i64, Duration)], tags: serde_json::Value) {
    let responses: Vec<serde_json::Value> = jobs
        .iter()
        .map(|(name, itype, count, ago)| {
            let end = now() - *ago;
            json!({
                "TrainingJobName": name,
                "TrainingJobArn": format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"),
                "TrainingJobStatus": "Completed",
                "CreationTime": (end - Duration::hours(2)).timestamp(),
                "TrainingStartTime": (end - Duration::hours(1)).timestamp(),
                "TrainingEndTime": end.timestamp(),
                "ResourceConfig": {"InstanceType": itype, "InstanceCount": count, "VolumeSizeInGB": 30},
                "BillableTimeInSeconds": 3600,
                "Tags": tags,
            })
        })
        .collect();
    crate::load::load_responses(store, &responses).await;
}

/// Stores these sizes (instance type, GPUs, vCPUs) as `prices load` does, at $1 an hour.
async fn store_sizes(store: &Store, sizes: &[(&str, u32, u32)]) {
    let prices: Vec<crate::prices::Price> = sizes
        .iter()
        .map(|(t, g, v)| crate::prices::Price {
            instance_type: (*t).into(),
            region: "*".into(),
            usd_per_hour: 1.0,
            gpus: Some(*g),
            vcpus: Some(*v),
        })
        .collect();
    crate::prices::store(store, &prices, false).await.unwrap();
}

/// The GPU utilization a job's usage rows carry, which the GPU reports read.
async fn usage_share(store: &Store, job: &str) -> Vec<String> {
    let sql = crate::sql![
        "SELECT gpu_utilization_pct, tags FROM sagemaker_training_job_instance_usage \
         WHERE training_job_name = ",
        crate::store::sql::Sql::placeholder(store.backend(), 1),
        " ORDER BY seq"
    ];
    let rs = store.fetch(sql, &[Some(job.to_string())]).await.unwrap();
    rs.rows
        .iter()
        .map(|r| r.iter().map(text).collect::<Vec<_>>().join(" "))
        .collect()
}

async fn utilization(store: &Store, job: &str) -> Vec<Out> {
    let sql = crate::sql![
        "SELECT u.status, u.hosts_expected, u.hosts_measured, u.gpus, u.gpu_utilization_pct, \
         u.gpu_utilization_max_pct, u.cpu_utilization_pct, u.memory_max_pct \
         FROM sagemaker_training_job_utilization u \
         JOIN sagemaker_training_job j ON j._key = u.training_job_arn \
         WHERE j.training_job_name = ",
        crate::store::sql::Sql::placeholder(store.backend(), 1)
    ];
    let rs = store.fetch(sql, &[Some(job.to_string())]).await.unwrap();
    rs.rows.into_iter().next().unwrap_or_default()
}

fn text(v: &Out) -> String {
    match v {
        Out::Float(r) => format!("{r:.1}"),
        Out::Null => "-".into(),
        other => other.text(),
    }
}

#[tokio::test]
async fn a_harvest_stores_each_job_once_with_its_hosts_summed_over_its_gpus() {
    let store = store_with(&[
        ("two", "ml.g5.12xlarge", 2, Duration::hours(3)),
        ("cpu", "ml.m5.xlarge", 1, Duration::hours(3)),
        ("silent", "ml.g5.12xlarge", 2, Duration::hours(3)),
        ("nothing", "ml.g5.12xlarge", 1, Duration::hours(3)),
        ("running-late", "ml.g5.12xlarge", 1, Duration::minutes(5)),
        ("ancient", "ml.g5.12xlarge", 1, Duration::days(500)),
    ])
    .await;
    let mut cw = Memory {
        page: 5,
        ..Memory::default()
    };
    cw.hosts.insert(
        "two/algo-1".into(),
        [200.0, 390.0, 100.0, 300.0, 2400.0, 50.0],
    );
    cw.hosts.insert(
        "two/algo-2".into(),
        [100.0, 150.0, 60.0, 80.0, 1200.0, 70.0],
    );
    cw.hosts
        .insert("cpu/algo-1".into(), [0.0, 0.0, 0.0, 0.0, 200.0, 40.0]);
    cw.hosts.insert(
        "silent/algo-1".into(),
        [300.0, 400.0, 100.0, 100.0, 960.0, 30.0],
    );
    let (done, failure) = harvest(&store, &cw, ACCOUNT, REGION, now()).await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(
        (done.measured, done.partial, done.no_data, done.expired),
        (2, 1, 1, 1)
    );
    // 2 + 2 + 1 GPU hosts at six queries, the CPU-only host at two, in one call of 7 pages
    // (each page asks every query again, and is billed so); a job that ended 5 minutes ago is
    // not asked yet.
    assert_eq!((done.calls, done.metrics), (7, 7 * (5 * 6 + 2)));
    let row = |r: Vec<Out>| r.iter().map(text).collect::<Vec<_>>().join(" ");
    // (200 + 100) / 8 GPUs = 37.5 %; the busiest host at 390 of 400.
    assert_eq!(
        row(utilization(&store, "two").await),
        "measured 2 2 8 37.5 97.5 37.5 70.0"
    );
    assert_eq!(
        row(utilization(&store, "cpu").await),
        "measured 1 1 0 - - 50.0 40.0"
    );
    // One host of two answered: its own share (300 of 4 GPUs).
    assert_eq!(
        row(utilization(&store, "silent").await),
        "partial 2 1 8 75.0 100.0 20.0 30.0"
    );
    assert_eq!(
        row(utilization(&store, "nothing").await),
        "no-data 1 0 4 - - - -"
    );
    assert!(row(utilization(&store, "ancient").await).starts_with("expired 1 0"));
    assert!(utilization(&store, "running-late").await.is_empty());

    let asked = cw.calls.lock().unwrap().len();
    let (again, _) = harvest(&store, &cw, ACCOUNT, REGION, now()).await;
    assert_eq!(again.jobs(), 0);
    assert_eq!(cw.calls.lock().unwrap().len(), asked, "nothing asked twice");
}

#[tokio::test]
async fn a_refused_call_stores_nothing_of_its_batch_and_says_why() {
    let store = store_with(&[("two", "ml.g5.12xlarge", 2, Duration::hours(3))]).await;
    let cw = Memory {
        denied: true,
        ..Memory::default()
    };
    let (done, failure) = harvest(&store, &cw, ACCOUNT, REGION, now()).await;
    let Some(MetricsError::Source(e)) = failure else {
        panic!("{failure:?}");
    };
    assert!(e.is_denied());
    assert_eq!(done.jobs(), 0);
    assert!(utilization(&store, "two").await.is_empty());
}

#[tokio::test]
async fn a_job_stating_more_instances_than_a_job_can_have_is_never_asked() {
    let store = store_with(&[("huge", "ml.g5.12xlarge", 20_000, Duration::hours(3))]).await;
    let cw = Memory::default();
    let (done, failure) = harvest(&store, &cw, ACCOUNT, REGION, now()).await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(done.jobs(), 0);
    assert!(cw.calls.lock().unwrap().is_empty(), "not 120,000 queries");
    assert!(utilization(&store, "huge").await.is_empty());
}

#[test]
fn a_figure_that_is_not_a_number_or_not_complete_is_skipped_never_zero() {
    let (_, batches) = plan::plan(vec![due("odd", Duration::hours(1), 1, 1)], now());
    let b = &batches[0];
    let answers: Vec<Answer> = b
        .queries
        .iter()
        .enumerate()
        .map(|(i, q)| Answer {
            id: q.id.clone(),
            values: vec![if i == 0 { f64::NAN } else { 50.0 }],
            status: Some(if i == 1 { "PartialData" } else { "Complete" }.into()),
        })
        .collect();
    let (jobs, skipped) = plan::figures(b, &answers);
    assert_eq!(skipped.len(), 2);
    assert!(
        skipped[0]
            .to_string()
            .contains("GPUUtilization of job odd host algo-1")
    );
    assert!(skipped[1].to_string().contains("PartialData"));
    let host = &jobs[0].hosts[0];
    assert_eq!((host.gpu_avg, host.gpu_max), (None, None));
    assert_eq!(host.gpu_memory_avg, Some(50.0));
}

#[tokio::test]
async fn the_usage_rows_carry_the_share_through_a_rewrite_a_late_size_and_a_deletion() {
    let jobs = [
        ("two", "ml.g5.12xlarge", 2, Duration::hours(3)),
        ("late", "ml.p3.8xlarge", 1, Duration::hours(3)),
    ];
    let store = store_with(&jobs).await;
    let mut cw = Memory::default();
    for (host, gpu) in [
        ("two/algo-1", 200.0),
        ("two/algo-2", 100.0),
        ("late/algo-1", 100.0),
    ] {
        cw.hosts
            .insert(host.into(), [gpu, gpu, 50.0, 50.0, 100.0, 10.0]);
    }
    let (_, failure) = harvest(&store, &cw, ACCOUNT, REGION, now()).await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(usage_share(&store, "two").await, ["37.5 {}"]);
    // No size for ml.p3.8xlarge yet: no share, until its size is stored.
    assert_eq!(usage_share(&store, "late").await, ["- {}"]);
    store_sizes(&store, &[("ml.p3.8xlarge", 4, 32)]).await;
    assert_eq!(usage_share(&store, "late").await, ["25.0 {}"]);

    // The jobs written again with new tags: their usage rows are derived anew, with the share.
    load_jobs(&store, &jobs, json!({"team": "vision"})).await;
    let tagged = r#"{"team":"vision"}"#;
    assert_eq!(usage_share(&store, "two").await, [format!("37.5 {tagged}")]);
    assert_eq!(
        usage_share(&store, "late").await,
        [format!("25.0 {tagged}")]
    );

    // A row deleted by hand to ask anew takes the share with it.
    store
        .execute_all(vec![(
            crate::sql!["DELETE FROM sagemaker_training_job_metrics"],
            sea_query_sqlx::SqlxValues(sea_query::Values(Vec::new())),
        )])
        .await
        .unwrap();
    assert_eq!(usage_share(&store, "two").await, [format!("- {tagged}")]);
}
