//! Cost Explorer (`ce:GetCostAndUsage`): SageMaker's billed usage per month, linked account and
//! usage type. Cost Explorer charges per request, so a run asks for all its months at once and
//! makes one call per page of the answer, never one per job or month.

use aws_config::SdkConfig;
use aws_sdk_costexplorer::Client;
use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType,
};

use super::SourceError;
use super::api::call_error;
use crate::model::op::Op;

/// The SERVICE dimension's value for SageMaker.
pub const SERVICE: &str = "Amazon SageMaker";

/// One group of the answer: a month, an account and a usage type, with the two metrics as Cost
/// Explorer wrote them (decimal text), for the caller to read or refuse.
#[derive(Debug, Clone, PartialEq)]
pub struct BilledLine {
    /// The first day of the month, `YYYY-MM-DD`.
    pub start: String,
    pub account_id: String,
    pub usage_type: String,
    pub cost: Option<Metric>,
    pub quantity: Option<Metric>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub amount: Option<String>,
    pub unit: Option<String>,
}

/// Cost Explorer as `billing` sees it: SageMaker's usage lines of some months. [`CostExplorer`]
/// is the service; the in-process tests answer from memory.
pub trait Usage: Sync {
    /// The months from `start` (`YYYY-MM-01`) up to `end` (the first day after them).
    fn usage(
        &self,
        start: &str,
        end: &str,
    ) -> impl Future<Output = Result<Billed, SourceError>> + Send;
}

pub struct CostExplorer {
    client: Client,
}

/// The lines and the calls (pages) it took.
#[derive(Debug, Clone, Default)]
pub struct Billed {
    pub lines: Vec<BilledLine>,
    pub calls: u64,
}

impl CostExplorer {
    pub fn new(config: &SdkConfig) -> Self {
        CostExplorer {
            client: Client::new(config),
        }
    }
}

impl Usage for CostExplorer {
    async fn usage(&self, start: &str, end: &str) -> Result<Billed, SourceError> {
        let build = |e: aws_smithy_types::error::operation::BuildError| SourceError::Body {
            operation: Op::GetCostAndUsage,
            message: e.to_string(),
        };
        let period = DateInterval::builder()
            .start(start)
            .end(end)
            .build()
            .map_err(build)?;
        let filter = Expression::builder()
            .dimensions(
                DimensionValues::builder()
                    .key(Dimension::Service)
                    .values(SERVICE)
                    .build(),
            )
            .build();
        let group = |key: &str| {
            GroupDefinition::builder()
                .r#type(GroupDefinitionType::Dimension)
                .key(key)
                .build()
        };
        let mut billed = Billed {
            lines: Vec::new(),
            calls: 0,
        };
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_cost_and_usage()
                .time_period(period.clone())
                .granularity(Granularity::Monthly)
                .filter(filter.clone())
                .metrics("UnblendedCost")
                .metrics("UsageQuantity")
                .group_by(group("LINKED_ACCOUNT"))
                .group_by(group("USAGE_TYPE"))
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| call_error(Op::GetCostAndUsage, e))?;
            billed.calls += 1;
            for result in page.results_by_time() {
                let start = result.time_period().map(|p| p.start().to_string());
                for g in result.groups() {
                    let ([account_id, usage_type], Some(start)) = (g.keys(), &start) else {
                        continue;
                    };
                    let metric = |name: &str| {
                        g.metrics().and_then(|m| m.get(name)).map(|v| Metric {
                            amount: v.amount().map(str::to_string),
                            unit: v.unit().map(str::to_string),
                        })
                    };
                    billed.lines.push(BilledLine {
                        start: start.clone(),
                        account_id: account_id.clone(),
                        usage_type: usage_type.clone(),
                        cost: metric("UnblendedCost"),
                        quantity: metric("UsageQuantity"),
                    });
                }
            }
            match page.next_page_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(billed),
            }
        }
    }
}
