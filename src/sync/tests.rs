//! The sync's decisions, in process: a SageMaker answered from memory ([`Memory`]) and a store on
//! `sqlite::memory:`, so `cargo test --lib` runs them in a second with no server, database or
//! network. What they pin: which jobs a sync describes, where tags come from, the backlog's order
//! and budget, and what `--full` does to jobs the API no longer returns. The slow tier
//! (`tests/`) runs the same through the binary against moto, the stand-in and Postgres.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{Progress, ScopeReport, SyncOptions, sync_scope_with};
use crate::flatten::{Flattener, Redactor};
use crate::model::op::Op;
use crate::source::api::CallCounts;
use crate::source::api::{Answer, Request, SageMaker};
use crate::source::{Api, Scope, SourceError};
use crate::store::read::Out;
use crate::store::{Missing, Store, StoreOptions};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
/// Small pages, so that paging is exercised with a handful of jobs.
const PAGE: usize = 2;

/// SageMaker in memory: jobs by name as DescribeTrainingJob answers them, with their tags.
#[derive(Default)]
struct Memory {
    jobs: Mutex<BTreeMap<String, Value>>,
    search_denied: bool,
    /// How many more describes of a job answer ThrottlingException, as when the SDK's retries
    /// ran out.
    throttled: Mutex<BTreeMap<String, u32>>,
}

impl Memory {
    fn with_jobs(n: u32) -> Self {
        let memory = Memory::default();
        for i in 0..n {
            memory.put(i, "Completed", 0);
        }
        memory
    }

    /// Job `i`, created an hour after job `i - 1`, modified `edits` times since.
    fn put(&self, i: u32, status: &str, edits: u32) {
        let name = format!("job-{i:02}");
        let created = 1_700_000_000 + i64::from(i) * 3600;
        let doc = json!({
            "TrainingJobName": name,
            "TrainingJobArn": format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"),
            "TrainingJobStatus": status,
            "CreationTime": created,
            "LastModifiedTime": created + 60 + i64::from(edits),
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "BillableTimeInSeconds": 100,
            "Tags": [{"Key": "team", "Value": format!("t{i}")}],
        });
        self.jobs.lock().unwrap().insert(name, doc);
    }

    fn remove(&self, i: u32) {
        self.jobs.lock().unwrap().remove(&format!("job-{i:02}"));
    }

    /// The jobs newest first, those created at or before `created_by` (Search's whole seconds).
    fn newest_first(&self, created_by: Option<&str>) -> Vec<Value> {
        let limit = created_by.and_then(|c| {
            chrono::NaiveDateTime::parse_from_str(c, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|t| t.and_utc().timestamp())
        });
        let mut jobs: Vec<Value> = self.jobs.lock().unwrap().values().cloned().collect();
        jobs.retain(|j| limit.is_none_or(|l| j["CreationTime"].as_i64() <= Some(l)));
        jobs.sort_by_key(|j| std::cmp::Reverse(j["CreationTime"].as_i64()));
        jobs
    }

    fn answer(&self, request: Request<'_>) -> Result<Option<Value>, SourceError> {
        let page = |items: Vec<Value>, token: Option<&str>, key: &str| {
            let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
            let mut body = json!({ key: items.iter().skip(start).take(PAGE).collect::<Vec<_>>() });
            if start + PAGE < items.len() {
                body["NextToken"] = json!((start + PAGE).to_string());
            }
            body
        };
        Ok(Some(match request {
            Request::List { token } => {
                let summaries = self
                    .newest_first(None)
                    .iter()
                    .map(|j| {
                        json!({"TrainingJobName": j["TrainingJobName"], "TrainingJobArn": j["TrainingJobArn"],
                               "CreationTime": j["CreationTime"], "LastModifiedTime": j["LastModifiedTime"],
                               "TrainingJobStatus": j["TrainingJobStatus"]})
                    })
                    .collect();
                page(summaries, token, "TrainingJobSummaries")
            }
            Request::Describe { name } => {
                if let Some(left) = self.throttled.lock().unwrap().get_mut(name)
                    && *left > 0
                {
                    *left -= 1;
                    return Err(SourceError::Call {
                        operation: Op::DescribeTrainingJob,
                        code: Some("ThrottlingException".into()),
                        failure: crate::source::Failure::Service,
                        message: "Rate exceeded".into(),
                    });
                }
                let mut doc = self.jobs.lock().unwrap().get(name).cloned();
                // DescribeTrainingJob has no tags: they come from Search or ListTags.
                if let Some(d) = doc.as_mut().and_then(Value::as_object_mut) {
                    d.remove("Tags");
                }
                return Ok(doc);
            }
            Request::Search { token, created_by } => {
                if self.search_denied {
                    return Err(SourceError::refused(Op::Search, "AccessDeniedException"));
                }
                let items = self
                    .newest_first(created_by)
                    .into_iter()
                    .map(|j| json!({"TrainingJob": j}))
                    .collect();
                page(items, token, "Results")
            }
            Request::ListTags { arn, .. } => {
                let jobs = self.jobs.lock().unwrap();
                let tags = jobs
                    .values()
                    .find(|j| j["TrainingJobArn"] == arn)
                    .map_or(json!([]), |j| j["Tags"].clone());
                json!({ "Tags": tags })
            }
        }))
    }
}

impl SageMaker for Memory {
    fn call<'a>(&'a self, request: Request<'a>) -> Answer<'a> {
        let answer = self.answer(request);
        Box::pin(async move { answer })
    }
}

async fn store() -> Store {
    let opts = StoreOptions::memory();
    Store::open(&opts).await.unwrap()
}

fn options() -> SyncOptions {
    SyncOptions {
        full: None,
        concurrency: 4,
        all_regions: false,
        scope_concurrency: 1,
        wait: false,
        batch: 3,
        max_rps: None,
        search_first: true,
        describe_budget: None,
        progress: Arc::new(Progress::new([&crate::model::scope::ScopeId::new(
            "test", REGION,
        )])),
    }
}

/// One sync of the scope, as `sagesync sync` runs it, and the calls it made by operation.
async fn sync(
    store: &Store,
    memory: &Arc<Memory>,
    opts: &SyncOptions,
) -> (ScopeReport, CallCounts) {
    // A sync skips a scope completed after it started (another worker's); runs a user makes one
    // after the other start at least a millisecond (the stored resolution) after the last ended.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let flattener = Flattener {
        redactor: Redactor::default_rules(),
        arn_context: None,
        synced_at: crate::model::time::Timestamp::now(),
        replace_nul: false,
    };
    let api = Api::with_source(memory.clone(), None);
    let scope = Scope::for_test("test", REGION);
    let report = sync_scope_with(store, &scope, &api, &flattener, opts).await;
    assert_eq!(report.error, None);
    let calls = report.calls;
    (report, calls)
}

/// (name, described, deleted, team tag) of every stored job, by name.
async fn stored(store: &Store) -> Vec<(String, bool, bool, Option<String>)> {
    let rs = store
        .fetch(
            "SELECT j.training_job_name, j.described_at IS NOT NULL, j.deleted_at IS NOT NULL, t.value \
             FROM sagemaker_training_job j LEFT JOIN sagemaker_training_job_kv t \
             ON t.training_job_arn = j._key AND t.kind = 'tags' AND t.key = 'team' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rs.rows
        .into_iter()
        .map(|r| {
            let text = |o: &Out| match o {
                Out::Text(t) => Some(t.clone()),
                _ => None,
            };
            let flag = |o: &Out| matches!(o, Out::Int(1) | Out::Bool(true));
            (
                text(&r[0]).unwrap_or_default(),
                flag(&r[1]),
                flag(&r[2]),
                text(&r[3]),
            )
        })
        .collect()
}

fn names(
    rows: &[(String, bool, bool, Option<String>)],
    pick: impl Fn(&(String, bool, bool, Option<String>)) -> bool,
) -> Vec<&str> {
    rows.iter()
        .filter(|r| pick(r))
        .map(|r| r.0.as_str())
        .collect()
}

#[tokio::test]
async fn a_first_sync_stores_every_job_from_search_then_describes_each_with_its_tags() {
    let (store, memory) = (store().await, Arc::new(Memory::with_jobs(5)));
    let (report, calls) = sync(&store, &memory, &options()).await;
    let rows = stored(&store).await;
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.1), "every row described: {rows:?}");
    assert_eq!(rows[3].3.as_deref(), Some("t3"), "tags from Search");
    // 5 jobs in pages of 2: 3 Search pages; one describe per job; no ListTags.
    assert_eq!(calls.of(Op::Search), 3, "{calls:?}");
    assert_eq!(calls.of(Op::DescribeTrainingJob), 5, "{calls:?}");
    assert_eq!(calls.of(Op::ListTags), 0, "{calls:?}");
    assert_eq!(report.failed, 0);
}

#[tokio::test]
async fn a_budget_describes_the_newest_rows_first_and_the_next_sync_the_rest() {
    let (store, memory) = (store().await, Arc::new(Memory::with_jobs(5)));
    let opts = SyncOptions {
        describe_budget: Some(2),
        ..options()
    };
    let (_, calls) = sync(&store, &memory, &opts).await;
    assert_eq!(calls.of(Op::DescribeTrainingJob), 2, "{calls:?}");
    let rows = stored(&store).await;
    assert_eq!(rows.len(), 5, "every job stored from Search at once");
    assert_eq!(names(&rows, |r| r.1), ["job-03", "job-04"], "the newest");
    let (_, calls) = sync(&store, &memory, &opts).await;
    assert_eq!(calls.of(Op::DescribeTrainingJob), 2, "{calls:?}");
    assert_eq!(
        names(&stored(&store).await, |r| r.1),
        ["job-01", "job-02", "job-03", "job-04"]
    );
}

#[tokio::test]
async fn a_later_sync_describes_only_new_and_changed_jobs() {
    let (store, memory) = (store().await, Arc::new(Memory::with_jobs(5)));
    sync(&store, &memory, &options()).await;
    memory.put(3, "Completed", 1); // modified since, within the listing's hour of overlap
    memory.put(0, "Completed", 1); // modified since, older than the listing reaches
    memory.put(5, "Completed", 0); // new
    let (report, calls) = sync(&store, &memory, &options()).await;
    // Listed newest first in pages of 2 until a page reaches an hour before the newest job the
    // last sync saw: jobs 5 to 2.
    assert_eq!(report.listed, 4);
    assert_eq!(calls.of(Op::DescribeTrainingJob), 2, "{calls:?}");
    assert_eq!(report.skipped, 2, "the unchanged jobs listed");
    let rows = stored(&store).await;
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[5].3.as_deref(), Some("t5"), "the new job's tags");
    // Tags for the two: whichever costs fewer calls, Search pages or ListTags.
    assert!(
        calls.of(Op::Search) + calls.of(Op::ListTags) <= 2,
        "{calls:?}"
    );
    // --full walks the whole listing: the old job's change too.
    let full = SyncOptions {
        full: Some(Missing::Mark),
        ..options()
    };
    let (report, calls) = sync(&store, &memory, &full).await;
    assert_eq!(report.listed, 6);
    assert_eq!(calls.of(Op::DescribeTrainingJob), 1, "{calls:?}");
}

#[tokio::test]
async fn a_job_still_in_progress_is_described_again_until_it_ends() {
    let (store, memory) = (store().await, Arc::new(Memory::with_jobs(3)));
    memory.put(0, "InProgress", 0);
    sync(&store, &memory, &options()).await;
    // Older than the listing reaches, yet it can still change: described by name.
    let (_, calls) = sync(&store, &memory, &options()).await;
    assert_eq!(calls.of(Op::DescribeTrainingJob), 1, "{calls:?}");
    memory.put(0, "Completed", 1);
    sync(&store, &memory, &options()).await;
    let (_, calls) = sync(&store, &memory, &options()).await;
    assert_eq!(calls.of(Op::DescribeTrainingJob), 0, "{calls:?}");
}

#[tokio::test]
async fn full_marks_or_prunes_the_jobs_the_api_no_longer_returns() {
    let (store, memory) = (store().await, Arc::new(Memory::with_jobs(4)));
    sync(&store, &memory, &options()).await;
    memory.remove(2);
    sync(&store, &memory, &options()).await;
    assert!(
        stored(&store).await.iter().all(|r| !r.2),
        "an incremental sync settles nothing"
    );
    let full = |how| SyncOptions {
        full: Some(how),
        ..options()
    };
    let (report, _) = sync(&store, &memory, &full(Missing::Mark)).await;
    assert_eq!(report.deleted, 1);
    assert_eq!(names(&stored(&store).await, |r| r.2), ["job-02"]);
    sync(&store, &memory, &full(Missing::Prune)).await;
    let rows = stored(&store).await;
    assert_eq!(names(&rows, |_| true), ["job-00", "job-01", "job-03"]);
}

#[tokio::test]
async fn without_search_every_job_is_described_with_list_tags() {
    let (store, memory) = (
        store().await,
        Arc::new(Memory {
            search_denied: true,
            ..Memory::with_jobs(3)
        }),
    );
    let (report, calls) = sync(&store, &memory, &options()).await;
    assert_eq!(report.failed, 0);
    assert_eq!(calls.of(Op::DescribeTrainingJob), 3, "{calls:?}");
    assert_eq!(calls.of(Op::ListTags), 3, "{calls:?}");
    let rows = stored(&store).await;
    assert!(rows.iter().all(|r| r.1 && r.3.is_some()), "{rows:?}");
}

#[tokio::test]
async fn a_describe_that_ran_out_of_retries_is_made_once_more_at_the_end() {
    let (store, memory) = (store().await, Arc::new(Memory::with_jobs(5)));
    {
        let mut throttled = memory.throttled.lock().unwrap();
        throttled.insert("job-01".into(), 1);
        throttled.insert("job-03".into(), 2);
    }
    let (report, calls) = sync(&store, &memory, &options()).await;
    // job-01 answers the second time; job-03 fails twice and is named as failed.
    assert_eq!(calls.of(Op::DescribeTrainingJob), 7, "{calls:?}");
    assert_eq!(report.failed, 1);
    let rows = stored(&store).await;
    assert_eq!(
        names(&rows, |r| !r.1),
        ["job-03"],
        "only the twice-throttled job is left as Search built it: {rows:?}"
    );
    // The next sync describes it.
    let (report, _) = sync(&store, &memory, &options()).await;
    assert_eq!(report.failed, 0);
    assert!(stored(&store).await.iter().all(|r| r.1));
}
