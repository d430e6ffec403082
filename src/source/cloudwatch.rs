//! CloudWatch's `GetMetricData` for training job hosts (namespace `/aws/sagemaker/TrainingJobs`,
//! dimension `Host` = `<job name>/algo-<n>`), behind the [`CloudWatch`] trait: the service
//! through the SDK ([`SdkCloudWatch`], paced like SageMaker's operations), or an in-memory one in
//! the harvest's in-process tests. One call is one page; `metrics` pages and batches.

use std::pin::Pin;
use std::sync::Arc;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric as SdkMetric, MetricDataQuery, MetricStat};
use chrono::{DateTime, Utc};

use super::SourceError;
use super::api::call_error;
use super::capture::Capture;
use super::pace::{Pace, Start};
use crate::model::op::Op;

/// The permission a refusal names.
pub const PERMISSION: &str = "cloudwatch:GetMetricData";

const NAMESPACE: &str = "/aws/sagemaker/TrainingJobs";

/// A metric SageMaker publishes per training job host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// 0-100 × the host's GPUs.
    Gpu,
    /// 0-100 × the host's GPUs.
    GpuMemory,
    /// 0-100 × the host's vCPUs.
    Cpu,
    /// 0-100.
    Memory,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Gpu => "GPUUtilization",
            Metric::GpuMemory => "GPUMemoryUtilization",
            Metric::Cpu => "CPUUtilization",
            Metric::Memory => "MemoryUtilization",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stat {
    Average,
    Maximum,
}

impl Stat {
    pub fn name(self) -> &'static str {
        match self {
            Stat::Average => "Average",
            Stat::Maximum => "Maximum",
        }
    }
}

/// One metric of one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Unique in its call, `[a-z][a-zA-Z0-9_]*`.
    pub id: String,
    /// `<job name>/algo-<n>`.
    pub host: String,
    pub metric: Metric,
    pub stat: Stat,
}

/// One page of a call: the queries, the window and period they share.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    pub queries: &'a [Query],
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub period_seconds: i32,
    pub token: Option<&'a str>,
}

/// What a query answered on one page.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub id: String,
    pub values: Vec<f64>,
    /// `StatusCode` as sent (`Complete`, `PartialData`, ...).
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub answers: Vec<Answer>,
    pub next_token: Option<String>,
}

pub type PageFuture<'a> = Pin<Box<dyn Future<Output = Result<Page, SourceError>> + Send + 'a>>;

/// CloudWatch as the harvest sees it: a page of GetMetricData in, its answers out.
pub trait CloudWatch: Send + Sync {
    fn metric_data<'a>(&'a self, request: Request<'a>) -> PageFuture<'a>;
}

/// The service through the SDK, one client per scope, its calls paced.
pub struct SdkCloudWatch {
    client: Client,
    pace: Arc<Pace>,
}

impl SdkCloudWatch {
    pub fn new(client: Client) -> Self {
        SdkCloudWatch {
            client,
            pace: Arc::new(Pace::new(Start::known(Op::GetMetricData))),
        }
    }
}

fn query(q: &Query, period: i32) -> MetricDataQuery {
    let metric = SdkMetric::builder()
        .namespace(NAMESPACE)
        .metric_name(q.metric.name())
        .dimensions(Dimension::builder().name("Host").value(&q.host).build())
        .build();
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat(q.stat.name())
                .build(),
        )
        .return_data(true)
        .build()
}

fn smithy_time(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

impl CloudWatch for SdkCloudWatch {
    fn metric_data<'a>(&'a self, request: Request<'a>) -> PageFuture<'a> {
        Box::pin(async move {
            let capture = Capture::paced(&self.pace);
            let queries = request
                .queries
                .iter()
                .map(|q| query(q, request.period_seconds))
                .collect();
            let out = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries))
                .start_time(smithy_time(request.start))
                .end_time(smithy_time(request.end))
                .set_next_token(request.token.map(str::to_string))
                .customize()
                .interceptor(capture)
                .send()
                .await
                .map_err(|e| call_error(Op::GetMetricData, e))?;
            Ok(Page {
                answers: out
                    .metric_data_results()
                    .iter()
                    .map(|r| Answer {
                        id: r.id().unwrap_or_default().to_string(),
                        values: r.values().to_vec(),
                        status: r.status_code().map(|s| s.as_str().to_string()),
                    })
                    .collect(),
                next_token: out.next_token().map(str::to_string),
            })
        })
    }
}
