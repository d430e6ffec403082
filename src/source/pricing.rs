//! The AWS Price List (`pricing:GetProducts`, service code `AmazonSageMaker`): the products that
//! can hold a region's training prices, as the JSON strings the service answers. Two filtered
//! queries per region (the Training instances, the ML Storage products) keep it to a few pages
//! where the region's whole offer is thousands of products; `prices::offer` reads them.

use aws_config::SdkConfig;
use aws_sdk_pricing::Client;
use aws_sdk_pricing::types::{Filter, FilterType};

use super::SourceError;
use super::api::call_error;
use crate::model::op::Op;

const SERVICE_CODE: &str = "AmazonSageMaker";

/// The Price List as `prices` sees it: a region's candidate products. [`PriceList`] is the
/// service; the in-process tests answer from memory.
pub trait Products: Sync {
    fn products(
        &self,
        region: &str,
    ) -> impl Future<Output = Result<RegionProducts, SourceError>> + Send;
}

pub struct PriceList {
    client: Client,
}

/// A region's candidate products and the calls it took to read them.
#[derive(Debug, Clone, Default)]
pub struct RegionProducts {
    pub products: Vec<String>,
    pub calls: u64,
}

impl PriceList {
    pub fn new(config: &SdkConfig) -> Self {
        PriceList {
            client: Client::new(config),
        }
    }
}

impl Products for PriceList {
    async fn products(&self, region: &str) -> Result<RegionProducts, SourceError> {
        let mut out = RegionProducts {
            products: Vec::new(),
            calls: 0,
        };
        for (field, value) in [
            ("platoinstancetype", "Training"),
            ("productFamily", "ML Storage"),
        ] {
            let filters = [("regionCode", region), (field, value)]
                .into_iter()
                .map(|(f, v)| {
                    Filter::builder()
                        .r#type(FilterType::TermMatch)
                        .field(f)
                        .value(v)
                        .build()
                        .map_err(|e| SourceError::Body {
                            operation: Op::GetProducts,
                            message: e.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut pages = self
                .client
                .get_products()
                .service_code(SERVICE_CODE)
                .format_version("aws_v1")
                .set_filters(Some(filters))
                .max_results(100)
                .into_paginator()
                .send();
            while let Some(page) = pages
                .try_next()
                .await
                .map_err(|e| call_error(Op::GetProducts, e))?
            {
                out.calls += 1;
                out.products.extend(page.price_list().iter().cloned());
            }
        }
        Ok(out)
    }
}
