//! The Price List's decisions in process, on `sqlite::memory:` and a Price List answered from
//! memory behind [`Products`]: which regions are due, a region refused while the others are
//! stored, a product whose price does not read skipped, and nothing asked once all are fresh.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::model::op::Op;
use crate::source::pricing::RegionProducts;
use crate::store::StoreOptions;

/// A region's answer: its products, or a refusal.
enum Answer {
    Products(Vec<String>),
    Denied,
}

#[derive(Default)]
struct Memory {
    regions: BTreeMap<&'static str, Answer>,
    asked: Mutex<Vec<String>>,
}

impl Products for Memory {
    async fn products(&self, region: &str) -> Result<RegionProducts, SourceError> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(region.to_string());
        }
        match self.regions.get(region) {
            Some(Answer::Products(products)) => Ok(RegionProducts {
                products: products.clone(),
                calls: 2,
            }),
            Some(Answer::Denied) => Err(SourceError::refused(
                Op::GetProducts,
                "AccessDeniedException",
            )),
            None => Ok(RegionProducts::default()),
        }
    }
}

impl Memory {
    fn asked(&self) -> Vec<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

/// A Training product of `region` in the Price List's shape; `usd` as the list writes it.
fn training(region: &str, sku: &str, itype: &str, usd: &str) -> String {
    json!({
        "product": {"productFamily": "ML Instance", "sku": sku, "attributes": {
            "regionCode": region, "instanceName": itype, "platoinstancetype": "Training",
            "usagetype": format!("Train:{itype}")}},
        "terms": {"OnDemand": {format!("{sku}.T"): {"priceDimensions": {format!("{sku}.T.D"): {
            "unit": "Hrs", "pricePerUnit": {"USD": usd}}}}}}
    })
    .to_string()
}

/// A store holding one job in each of `regions`, loaded as `sagesync load` does.
async fn store_with_jobs_in(regions: &[&str]) -> Store {
    let store = Store::open(&StoreOptions::memory()).await.unwrap();
    let jobs: Vec<serde_json::Value> = regions
        .iter()
        .map(|region| {
            json!({
                "TrainingJobName": format!("job-{region}"),
                "TrainingJobArn": format!("arn:aws:sagemaker:{region}:123456789012:training-job/job-{region}"),
                "TrainingJobStatus": "Completed",
                "CreationTime": 1_790_000_000,
                "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
                "BillableTimeInSeconds": 3600,
            })
        })
        .collect();
    crate::load::load_responses(&store, &jobs).await;
    store
}

async fn count(store: &Store, sql: &'static str) -> String {
    store.fetch(sql, &[]).await.unwrap().texts().concat()
}

#[tokio::test]
async fn a_refused_region_leaves_the_others_stored_and_an_unreadable_price_is_skipped() {
    let store = store_with_jobs_in(&["us-east-1", "eu-west-1"]).await;
    let list = Memory {
        regions: BTreeMap::from([
            (
                "us-east-1",
                Answer::Products(vec![
                    training("us-east-1", "SKUM5", "ml.m5.xlarge", "0.23"),
                    training("us-east-1", "SKUBAD", "ml.bad.xlarge", "n/a"),
                    // Another region's product in this region's answer is not this region's.
                    training("us-west-2", "SKUW2", "ml.m5.xlarge", "0.25"),
                ]),
            ),
            ("eu-west-1", Answer::Denied),
        ]),
        ..Memory::default()
    };
    let regions = ["eu-west-1".to_string(), "us-east-1".to_string()];
    let fetched = fetch(&list, &regions, Utc::now()).await;
    assert_eq!(fetched.skipped, 1);
    assert_eq!(fetched.calls, 2);
    assert_eq!(fetched.training_prices(), 1);
    let [(region, e)] = fetched.failed.as_slice() else {
        panic!("one region refused: {:?}", fetched.failed);
    };
    assert!(region == "eu-west-1" && e.is_denied(), "{e}");

    refresh(&store, &list).await.unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT region || ' ' || instance_type || ' ' || usd_per_hour FROM price_list_training"
        )
        .await,
        "us-east-1 ml.m5.xlarge 0.23"
    );
    assert_eq!(
        count(
            &store,
            "SELECT CAST(count(*) AS TEXT) FROM instance_rate WHERE price_source = 'price-list'"
        )
        .await,
        "1",
        "the rate of the stored price, in the region the inventory holds jobs in"
    );
}

#[tokio::test]
async fn the_regions_due_are_those_never_read_or_stale_and_a_fresh_inventory_asks_nothing() {
    let store = store_with_jobs_in(&["us-east-1", "eu-west-1"]).await;
    let list = Memory {
        regions: BTreeMap::from([
            (
                "us-east-1",
                Answer::Products(vec![training("us-east-1", "SKUM5", "ml.m5.xlarge", "0.23")]),
            ),
            (
                "eu-west-1",
                Answer::Products(vec![training("eu-west-1", "SKUE1", "ml.m5.xlarge", "0.27")]),
            ),
        ]),
        ..Memory::default()
    };
    refresh(&store, &list).await.unwrap();
    let mut asked = list.asked();
    asked.sort();
    assert_eq!(asked, ["eu-west-1", "us-east-1"], "both never read");

    // Read now: nothing is due, and nothing is asked.
    refresh(&store, &list).await.unwrap();
    assert_eq!(list.asked().len(), 2);

    // Read longer ago than the prices keep: due again.
    let stale = Utc::now() + stale_after() + chrono::Duration::hours(1);
    let due = store
        .price_regions_due(stale - stale_after())
        .await
        .unwrap();
    assert_eq!(due, ["eu-west-1", "us-east-1"]);
}
