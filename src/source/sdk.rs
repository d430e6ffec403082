//! The SageMaker service through the SDK, as [`SageMaker`]: one client per scope, each operation
//! paced on its own (`pace`), each answer the body exactly as the service sent it (`capture`).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::RequestId;
use aws_sdk_sagemaker::types::{
    Filter, Operator, ResourceType, SearchExpression, SearchSortOrder, SortBy, SortOrder,
};
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument;

use super::SourceError;
use super::api::{Answer, Api, Request, SageMaker, call_error};
use super::capture::Capture;
use super::pace::{Pace, Start};
use crate::model::op::Op;
use crate::model::scope::ScopeId;

/// The service, through the SDK: one client per scope, each operation paced on its own.
pub struct SdkSageMaker {
    client: Client,
    rates: Rates,
}

/// Each operation of a scope has a [`Pace`] of its own, learned from the service's throttles:
/// SageMaker's quotas are per operation (ListTrainingJobs about 2 calls/s, DescribeTrainingJob
/// more), so a throttled listing must not slow the describes down, nor one account another.
/// Retries are bounded by --max-attempts alone: the scope's retry partition has no retry quota,
/// which would otherwise run dry in a throttling storm and leave jobs unsynced.
struct Rates {
    partition: RetryPartition,
    /// Indexed by [`Op`].
    paces: [Arc<Pace>; 4],
}

impl Rates {
    fn new(scope: &ScopeId, starts: &[(Op, Start)]) -> Self {
        let paced = |op: Op| {
            let start = starts
                .iter()
                .find(|(o, _)| *o == op)
                .map_or_else(|| Start::known(op), |(_, s)| *s);
            Arc::new(Pace::new(start))
        };
        Rates {
            partition: RetryPartition::custom(format!("sagesync {}", scope.key()))
                .token_bucket(TokenBucket::unlimited())
                .build(),
            paces: Op::SAGEMAKER.map(paced),
        }
    }

    fn of(&self, op: Op) -> &Arc<Pace> {
        &self.paces[op as usize]
    }
}

impl SdkSageMaker {
    /// The calls of scope `scope` through `client`, at most `max_rps` a second in all, each
    /// operation's pace starting where `starts` says.
    pub fn api(
        client: Client,
        scope: &ScopeId,
        starts: &[(Op, Start)],
        max_rps: Option<f64>,
    ) -> Api {
        Api::with_source(Arc::new(SdkSageMaker::new(client, scope, starts)), max_rps)
    }

    pub fn new(client: Client, scope: &ScopeId, starts: &[(Op, Start)]) -> Self {
        SdkSageMaker {
            client,
            rates: Rates::new(scope, starts),
        }
    }

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

impl SageMaker for SdkSageMaker {
    fn call<'a>(&'a self, request: Request<'a>) -> Answer<'a> {
        Box::pin(async move {
            match request {
                Request::List { token } => self.list(token).await.map(Some),
                Request::Describe { name } => self.describe(name).await,
                Request::Search { token, created_by } => {
                    self.search(token, created_by).await.map(Some)
                }
                Request::ListTags { arn, token } => self.list_tags(arn, token).await.map(Some),
            }
        })
    }

    fn learned(&self) -> Vec<(Op, f64)> {
        Op::SAGEMAKER
            .iter()
            .filter_map(|op| Some((*op, self.rates.of(*op).learned()?)))
            .collect()
    }
}

impl SdkSageMaker {
    async fn list(&self, token: Option<&str>) -> Result<Value, SourceError> {
        const OP: Op = Op::ListTrainingJobs;
        let (config, capture) = self.per_call(self.rates.of(Op::ListTrainingJobs));
        let call = self
            .client
            .list_training_jobs()
            .max_results(100)
            .sort_by(SortBy::CreationTime)
            .sort_order(SortOrder::Descending)
            .set_next_token(token.map(str::to_string))
            .customize()
            .config_override(config)
            .interceptor(capture.clone())
            .send();
        observed(OP, call).await.map_err(|e| call_error(OP, e))?;
        capture.json(OP)
    }

    async fn describe(&self, name: &str) -> Result<Option<Value>, SourceError> {
        const OP: Op = Op::DescribeTrainingJob;
        let (config, capture) = self.per_call(self.rates.of(Op::DescribeTrainingJob));
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

    async fn search(
        &self,
        token: Option<&str>,
        created_by: Option<&str>,
    ) -> Result<Value, SourceError> {
        const OP: Op = Op::Search;
        let (config, capture) = self.per_call(self.rates.of(Op::Search));
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
            .set_next_token(token.map(str::to_string))
            .customize()
            .config_override(config)
            .interceptor(capture.clone())
            .send();
        observed(OP, call).await.map_err(|e| call_error(OP, e))?;
        capture.json(OP)
    }

    async fn list_tags(&self, arn: &str, token: Option<&str>) -> Result<Value, SourceError> {
        const OP: Op = Op::ListTags;
        let (config, capture) = self.per_call(self.rates.of(Op::ListTags));
        let call = self
            .client
            .list_tags()
            .resource_arn(arn)
            .max_results(100)
            .set_next_token(token.map(str::to_string))
            .customize()
            .config_override(config)
            .interceptor(capture.clone())
            .send();
        observed(OP, call).await.map_err(|e| call_error(OP, e))?;
        capture.json(OP)
    }
}

/// Runs one call in a span of its own, so the SDK's retry and throttling events say which call
/// they belong to, and says at debug level how long it took and the request id.
async fn observed<T: RequestId>(operation: Op, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let span = tracing::debug_span!("call", operation = operation.name());
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

/// DescribeTrainingJob answers a job that is gone with ValidationException ("Requested resource
/// not found"); other operations use ResourceNotFound.
fn is_not_found(code: Option<&str>, message: Option<&str>) -> bool {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    code == Some("ResourceNotFound")
        || (code == Some("ValidationException")
            && (message.contains("not found") || message.contains("could not find")))
}
