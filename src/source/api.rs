//! The SageMaker calls a sync makes, counted per operation, each answering with the raw JSON body.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::RequestId;
use aws_sdk_sagemaker::types::{
    Filter, Operator, ResourceType, SearchExpression, SearchSortOrder, SortBy, SortOrder,
};
use serde_json::Value;
use tracing::Instrument;

use super::SourceError;
use super::capture::Capture;
use super::pace::{Pace, Start};

/// Calls made, by operation.
#[derive(Debug, Default)]
pub struct Calls {
    pub list: AtomicU64,
    pub describe: AtomicU64,
    pub list_tags: AtomicU64,
    pub search: AtomicU64,
}

impl Calls {
    pub fn snapshot(&self) -> [(&'static str, u64); 4] {
        [
            ("ListTrainingJobs", self.list.load(Ordering::Relaxed)),
            ("DescribeTrainingJob", self.describe.load(Ordering::Relaxed)),
            ("ListTags", self.list_tags.load(Ordering::Relaxed)),
            ("Search", self.search.load(Ordering::Relaxed)),
        ]
    }

    pub fn total(&self) -> u64 {
        self.snapshot().iter().map(|(_, n)| n).sum()
    }
}

/// Spaces the calls of a scope evenly under a rate (`--max-rps`). Retries the SDK makes inside a
/// call back off on their own and are not counted here.
#[derive(Debug)]
pub struct RateLimit {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl RateLimit {
    pub fn per_second(rate: f64) -> Option<Self> {
        (rate.is_finite() && rate > 0.0).then(|| RateLimit {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: tokio::sync::Mutex::new(Instant::now()),
        })
    }

    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// A scope's client with its call counters and rate limit; cheap to clone into concurrent tasks.
#[derive(Clone)]
pub struct Api {
    client: Client,
    pub calls: Arc<Calls>,
    limit: Option<Arc<RateLimit>>,
    rates: Arc<Rates>,
}

/// Each operation of a scope has a [`Pace`] of its own, learned from the service's throttles:
/// SageMaker's quotas are per operation (ListTrainingJobs about 2 calls/s, DescribeTrainingJob
/// more), so a throttled listing must not slow the describes down, nor one account another.
/// Retries are bounded by --max-attempts alone: the scope's retry partition has no retry quota,
/// which would otherwise run dry in a throttling storm and leave jobs unsynced.
struct Rates {
    partition: RetryPartition,
    list: Arc<Pace>,
    describe: Arc<Pace>,
    list_tags: Arc<Pace>,
    search: Arc<Pace>,
}

impl Rates {
    fn new(label: &str) -> Self {
        Rates {
            partition: RetryPartition::custom(format!("sagesync {label}"))
                .token_bucket(TokenBucket::unlimited())
                .build(),
            list: paced("ListTrainingJobs", 2.0),
            describe: paced("DescribeTrainingJob", 20.0),
            list_tags: paced("ListTags", 20.0),
            search: paced("Search", 2.0),
        }
    }
}

/// An operation's pace, starting from the quota it is known to have ([`Start`] says where these
/// figures come from).
fn paced(operation: &'static str, quota: f64) -> Arc<Pace> {
    Arc::new(Pace::new(Start { operation, quota }))
}

impl Api {
    /// The per-call configuration, and the capture of the call's body that paces its attempts.
    fn per_call(&self, pace: &Arc<Pace>) -> (aws_sdk_sagemaker::config::Builder, Capture) {
        let mut config = aws_sdk_sagemaker::config::Builder::default()
            .retry_partition(self.rates.partition.clone());
        if let Some(retries) = self.client.config().retry_config() {
            // The pace spaces a throttled attempt's retry; a long backoff on top would only idle.
            let retries = retries
                .clone()
                .with_initial_backoff(Duration::from_millis(50));
            config = config.retry_config(retries);
        }
        (config, Capture::paced(pace))
    }
}

/// One entry of a ListTrainingJobs page.
#[derive(Debug, Clone)]
pub struct Summary {
    pub name: String,
    pub arn: String,
    /// Normalised timestamps, comparable with stored ones.
    pub creation_time: Option<String>,
    pub last_modified_time: Option<String>,
    pub status: Option<String>,
}

impl Api {
    /// The calls of scope `label` through `client`, at most `max_rps` a second in all.
    pub fn new(client: Client, label: &str, max_rps: Option<f64>) -> Self {
        Api {
            client,
            calls: Arc::new(Calls::default()),
            limit: max_rps.and_then(RateLimit::per_second).map(Arc::new),
            rates: Arc::new(Rates::new(label)),
        }
    }

    async fn start(&self, counter: &AtomicU64) {
        if let Some(limit) = &self.limit {
            limit.wait().await;
        }
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One page of ListTrainingJobs, newest first, and the token of the next page. A page may be
    /// empty and still have a next page: the service pages first and filters after.
    pub async fn list_page(
        &self,
        token: Option<String>,
    ) -> Result<(Vec<Summary>, Option<String>), SourceError> {
        const OP: &str = "ListTrainingJobs";
        self.start(&self.calls.list).await;
        let (config, capture) = self.per_call(&self.rates.list);
        let call = self
            .client
            .list_training_jobs()
            .max_results(100)
            .sort_by(SortBy::CreationTime)
            .sort_order(SortOrder::Descending)
            .set_next_token(token)
            .customize()
            .config_override(config)
            .interceptor(capture.clone())
            .send();
        observed(OP, call).await.map_err(|e| call_error(OP, e))?;
        let body = capture.json(OP)?;
        let summaries = body["TrainingJobSummaries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some(Summary {
                    name: s["TrainingJobName"].as_str()?.to_string(),
                    arn: s["TrainingJobArn"].as_str()?.to_string(),
                    creation_time: normalised(&s["CreationTime"]),
                    last_modified_time: normalised(&s["LastModifiedTime"]),
                    status: s["TrainingJobStatus"].as_str().map(str::to_string),
                })
            })
            .collect();
        Ok((summaries, next_token(&body)))
    }

    /// DescribeTrainingJob as the service sent it; `None` when the job no longer exists.
    pub async fn describe(&self, name: &str) -> Result<Option<Value>, SourceError> {
        const OP: &str = "DescribeTrainingJob";
        self.start(&self.calls.describe).await;
        let (config, capture) = self.per_call(&self.rates.describe);
        let call = self
            .client
            .describe_training_job()
            .training_job_name(name)
            .customize()
            .config_override(config)
            .interceptor(capture.clone())
            .send();
        match observed(OP, call).await {
            Ok(_) => Ok(Some(capture.json(OP)?)),
            Err(e) if is_not_found(e.code(), e.message()) => Ok(None),
            Err(e) => Err(call_error(OP, e)),
        }
    }

    /// One page of Search over training jobs, newest first: up to 100 result items
    /// (`{"TrainingJob": {...}}`, tags included), of jobs created at or before `created_by` when
    /// given (Search filters take whole seconds: `YYYY-mm-ddTHH:MM:SS`, UTC, no zone).
    pub async fn search_page(
        &self,
        token: Option<String>,
        created_by: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), SourceError> {
        const OP: &str = "Search";
        self.start(&self.calls.search).await;
        let (config, capture) = self.per_call(&self.rates.search);
        let expression = created_by.map(|at| {
            SearchExpression::builder()
                .filters(
                    Filter::builder()
                        .name("CreationTime")
                        .operator(Operator::LessThanOrEqualTo)
                        .value(at)
                        .build(),
                )
                .build()
        });
        let call = self
            .client
            .search()
            .resource(ResourceType::TrainingJob)
            .set_search_expression(expression)
            .sort_by("CreationTime")
            .sort_order(SearchSortOrder::Descending)
            .max_results(100)
            .set_next_token(token)
            .customize()
            .config_override(config)
            .interceptor(capture.clone())
            .send();
        observed(OP, call).await.map_err(|e| call_error(OP, e))?;
        let mut body = capture.json(OP)?;
        let items = match body.get_mut("Results").map(Value::take) {
            Some(Value::Array(results)) => results,
            _ => Vec::new(),
        };
        Ok((items, next_token(&body)))
    }

    /// All tags of a resource, following ListTags pages, as the {Key, Value} list the
    /// TrainingJob shape has.
    pub async fn tags(&self, arn: &str) -> Result<Value, SourceError> {
        const OP: &str = "ListTags";
        let mut tags = Vec::new();
        let mut token = None;
        loop {
            self.start(&self.calls.list_tags).await;
            let (config, capture) = self.per_call(&self.rates.list_tags);
            let call = self
                .client
                .list_tags()
                .resource_arn(arn)
                .max_results(100)
                .set_next_token(token)
                .customize()
                .config_override(config)
                .interceptor(capture.clone())
                .send();
            observed(OP, call).await.map_err(|e| call_error(OP, e))?;
            let mut body = capture.json(OP)?;
            if let Some(Value::Array(page)) = body.get_mut("Tags").map(Value::take) {
                tags.extend(page);
            }
            token = next_token(&body);
            if token.is_none() {
                return Ok(Value::Array(tags));
            }
        }
    }
}

/// Runs one call in a span of its own, so the SDK's retry and throttling events say which call
/// they belong to, and says at debug level how long it took and the request id.
async fn observed<T: RequestId>(operation: &'static str, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let span = tracing::debug_span!("call", operation);
    let result = call.instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            request_id = result.request_id(),
            ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "answered"
        );
    });
    result
}

/// The token of the next page; an empty one means there is none.
fn next_token(body: &Value) -> Option<String> {
    body["NextToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

pub(crate) fn normalised(v: &Value) -> Option<String> {
    crate::flatten::time::parse(v).map(|t| crate::flatten::time::format(&t))
}

/// DescribeTrainingJob answers a job that is gone with ValidationException ("Requested resource
/// not found"); other operations use ResourceNotFound.
fn is_not_found(code: Option<&str>, message: Option<&str>) -> bool {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    code == Some("ResourceNotFound")
        || (code == Some("ValidationException")
            && (message.contains("not found") || message.contains("could not find")))
}

/// The service's code and message (and the request id AWS support asks for) when it answered,
/// else the chain of causes, without the SDK's debug dump.
pub(crate) fn call_error<E>(operation: &'static str, e: E) -> SourceError
where
    E: std::error::Error + ProvideErrorMetadata + RequestId + 'static,
{
    let request = e
        .request_id()
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    let message = match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => {
            let mut parts = vec![e.to_string()];
            let mut source = e.source();
            while let Some(cause) = source {
                let m = cause.to_string();
                if !parts.iter().any(|p| p.contains(&m)) {
                    parts.push(m);
                }
                source = cause.source();
            }
            parts.join(": ")
        }
    };
    SourceError::Call {
        operation,
        code: e.code().map(str::to_string),
        message: message + &request,
    }
}
