//! The SageMaker calls a sync makes, counted per operation and paced, each answering with the raw
//! JSON body, behind the [`SageMaker`] trait: the service through the SDK (`sdk`), or SageMaker in
//! memory in the sync's in-process tests.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::RequestId;
use serde_json::Value;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::ConnectorError;

use super::{Failure, SourceError};
use crate::model::op::Op;
use crate::model::time::Timestamp;

/// Calls made, by operation.
#[derive(Debug, Default)]
pub struct Calls([AtomicU64; Op::ALL.len()]);

impl Calls {
    fn add(&self, op: Op) {
        self.0[op as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The SageMaker operations' counts.
    pub fn snapshot(&self) -> CallCounts {
        CallCounts(Op::SAGEMAKER.map(|op| (op, self.0[op as usize].load(Ordering::Relaxed))))
    }
}

/// A scope's calls of each SageMaker operation, in the order reports list them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallCounts(pub [(Op, u64); 4]);

impl Default for CallCounts {
    fn default() -> Self {
        CallCounts(Op::SAGEMAKER.map(|op| (op, 0)))
    }
}

impl CallCounts {
    pub fn of(&self, op: Op) -> u64 {
        self.0
            .iter()
            .find(|(counted, _)| *counted == op)
            .map_or(0, |(_, n)| *n)
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

/// One call a sync makes, with what it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// A page of ListTrainingJobs, newest first.
    List { token: Option<&'a str> },
    /// DescribeTrainingJob.
    Describe { name: &'a str },
    /// A page of Search over training jobs, newest first, of jobs created at or before
    /// `created_by` when given.
    Search {
        token: Option<&'a str>,
        created_by: Option<&'a str>,
    },
    /// A page of ListTags.
    ListTags {
        arn: &'a str,
        token: Option<&'a str>,
    },
}

impl Request<'_> {
    pub fn op(&self) -> Op {
        match self {
            Request::List { .. } => Op::ListTrainingJobs,
            Request::Describe { .. } => Op::DescribeTrainingJob,
            Request::Search { .. } => Op::Search,
            Request::ListTags { .. } => Op::ListTags,
        }
    }
}

/// A call's answer: the body as the service sent it, `None` for a job that no longer exists.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<Option<Value>, SourceError>> + Send + 'a>>;

/// The SageMaker API as a sync sees it: a call in, the body out. [`super::sdk::SdkSageMaker`] is the service;
/// the sync's in-process tests answer from memory. Everything a sync decides from the answers
/// (pages, tags, what changed) is [`Api`]'s and the sync's, the same for both.
pub trait SageMaker: Send + Sync {
    fn call<'a>(&'a self, request: Request<'a>) -> Answer<'a>;

    /// The pace each operation learned, for the next run; none where nothing paces the calls.
    fn learned(&self) -> Vec<(Op, f64)> {
        Vec::new()
    }
}

/// A scope's calls with their counters and rate limit; cheap to clone into concurrent tasks.
#[derive(Clone)]
pub struct Api {
    source: Arc<dyn SageMaker>,
    pub calls: Arc<Calls>,
    limit: Option<Arc<RateLimit>>,
}

/// One entry of a ListTrainingJobs page.
#[derive(Debug, Clone)]
pub struct Summary {
    pub name: String,
    pub arn: String,
    pub creation_time: Option<Timestamp>,
    pub last_modified_time: Option<Timestamp>,
    pub status: Option<String>,
}

impl Api {
    /// The pace each operation learned in this run.
    pub fn learned(&self) -> Vec<(Op, f64)> {
        self.source.learned()
    }

    /// The calls of a scope answered by `source`.
    pub fn with_source(source: Arc<dyn SageMaker>, max_rps: Option<f64>) -> Self {
        Api {
            source,
            calls: Arc::new(Calls::default()),
            limit: max_rps.and_then(RateLimit::per_second).map(Arc::new),
        }
    }

    async fn call(&self, request: Request<'_>) -> Result<Option<Value>, SourceError> {
        if let Some(limit) = &self.limit {
            limit.wait().await;
        }
        self.calls.add(request.op());
        self.source.call(request).await
    }

    /// One page of ListTrainingJobs, newest first, and the token of the next page. A page may be
    /// empty and still have a next page: the service pages first and filters after.
    pub async fn list_page(
        &self,
        token: Option<String>,
    ) -> Result<(Vec<Summary>, Option<String>), SourceError> {
        let token = token.as_deref();
        let body = self
            .call(Request::List { token })
            .await?
            .unwrap_or_default();
        let summaries = body["TrainingJobSummaries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some(Summary {
                    name: s["TrainingJobName"].as_str()?.to_string(),
                    arn: s["TrainingJobArn"].as_str()?.to_string(),
                    creation_time: Timestamp::of(&s["CreationTime"]),
                    last_modified_time: Timestamp::of(&s["LastModifiedTime"]),
                    status: s["TrainingJobStatus"].as_str().map(str::to_string),
                })
            })
            .collect();
        Ok((summaries, next_token(&body)))
    }

    /// DescribeTrainingJob as the service sent it; `None` when the job no longer exists.
    pub async fn describe(&self, name: &str) -> Result<Option<Value>, SourceError> {
        self.call(Request::Describe { name }).await
    }

    /// One page of Search over training jobs, newest first: up to 100 result items
    /// (`{"TrainingJob": {...}}`, tags included), of jobs created at or before `created_by` when
    /// given (Search filters take whole seconds: `YYYY-mm-ddTHH:MM:SS`, UTC, no zone).
    pub async fn search_page(
        &self,
        token: Option<String>,
        created_by: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), SourceError> {
        let token = token.as_deref();
        let request = Request::Search { token, created_by };
        let mut body = self.call(request).await?.unwrap_or_default();
        let items = match body.get_mut("Results").map(Value::take) {
            Some(Value::Array(results)) => results,
            _ => Vec::new(),
        };
        Ok((items, next_token(&body)))
    }

    /// All tags of a resource, following ListTags pages, as the {Key, Value} list the
    /// TrainingJob shape has.
    pub async fn tags(&self, arn: &str) -> Result<Value, SourceError> {
        let mut tags = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = Request::ListTags {
                arn,
                token: token.as_deref(),
            };
            let mut body = self.call(request).await?.unwrap_or_default();
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

/// The token of the next page; an empty one means there is none.
fn next_token(body: &Value) -> Option<String> {
    body["NextToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// The service's code and message (and the request id AWS support asks for) when it answered,
/// else the chain of causes, without the SDK's debug dump.
pub(crate) fn call_error<E>(operation: Op, e: E) -> SourceError
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
        failure: failure(&e),
        message: message + &request,
    }
}

/// The kind of failure: a service error has a code; else the first cause the SDK typed, found
/// by walking the chain of sources.
fn failure<E: std::error::Error + ProvideErrorMetadata + 'static>(e: &E) -> Failure {
    if e.code().is_some() {
        return Failure::Service;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<CredentialsError>().is_some() {
            return Failure::Credentials;
        }
        if c.downcast_ref::<ConnectorError>()
            .is_some_and(|c| c.is_io() || c.is_timeout())
        {
            return Failure::Unreachable;
        }
        cause = c.source();
    }
    Failure::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::operation::list_training_jobs::ListTrainingJobsError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::SdkError;

    type Error = SdkError<ListTrainingJobsError, HttpResponse>;

    #[test]
    fn failures_are_told_apart_by_the_sdk_s_types_not_their_wording() {
        let unreachable = Error::dispatch_failure(ConnectorError::io("no such host".into()));
        let credentials = Error::dispatch_failure(ConnectorError::other(
            Box::new(CredentialsError::provider_error("AccessDenied")),
            None,
        ));
        let other = Error::dispatch_failure(ConnectorError::other("dns error".into(), None));
        for (e, want) in [
            (unreachable, Failure::Unreachable),
            (credentials, Failure::Credentials),
            (other, Failure::Other),
        ] {
            let SourceError::Call { failure, .. } = call_error(Op::ListTrainingJobs, e) else {
                panic!("not a call error");
            };
            assert_eq!(failure, want);
        }
    }
}
