//! Property tests that keep the flattener and `load` honest: whatever JSON arrives, sagesync does
//! not panic, and an input it refuses leaves the database as it was. Random documents and
//! mutations of a real response (any member replaced by any JSON, at the top or one level down).
//! Bounded for CI: `PROPTEST_CASES` (default 64 per property) sets how many cases run.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use sagesync::flatten::{Flattener, Redactor};
use sagesync::input::Input;
use sagesync::store::{DbUrl, Store, StoreOptions};
use serde_json::{Map, Value, json};

/// Names the flattener has rules for, so random documents hit them often.
const NAMES: &[&str] = &[
    "TrainingJobArn",
    "TrainingJobName",
    "CreationTime",
    "BillableTimeInSeconds",
    "EnableNetworkIsolation",
    "HyperParameters",
    "Environment",
    "Tags",
    "Key",
    "Value",
    "InputDataConfig",
    "ContentType",
    "ResourceConfig",
    "InstanceCount",
    "InstanceGroups",
    "FinalMetricDataList",
    "SecondaryStatusTransitions",
    "StartTime",
    "Subnets",
    "TrainingJob",
    "FutureTime",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(NAMES).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        prop::sample::select(vec![
            "2024-03-01T18:15:30.123Z",
            "arn:aws:sagemaker:us-east-1:123456789012:training-job/x",
            "123456789012345678901234567890",
            "1e400",
            "-99999999999999",
            "a\u{0}b",
        ])
        .prop_map(|s| serde_json::from_str(s).unwrap_or_else(|_| Value::from(s))),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A real response with one member (top level, or one level down) replaced by any JSON.
fn mutated_job() -> impl Strategy<Value = Value> {
    let base = example_jobs_api_form().remove(0);
    let keys: Vec<String> = base
        .as_object()
        .map_or(vec![], |o| o.keys().cloned().collect());
    (
        prop::sample::select(keys),
        prop::option::of(key()),
        json_value(),
    )
        .prop_map(move |(top, inner, value)| {
            let mut job = base.clone();
            match (inner, job.get_mut(&top)) {
                (Some(k), Some(Value::Object(obj))) => {
                    obj.insert(k, value);
                }
                (Some(_), Some(Value::Array(items))) if !items.is_empty() => items[0] = value,
                _ => job[&top] = value,
            }
            job
        })
}

fn flattener(replace_nul: bool) -> Flattener {
    Flattener {
        redactor: Redactor::default_rules(),
        arn_context: None,
        synced_at: sagesync::model::time::Timestamp::now(),
        replace_nul,
    }
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_flattener_never_panics(doc in prop_oneof![json_value(), mutated_job()]) {
        for nul in [false, true] {
            let _ = flattener(nul).flatten(doc.clone());
        }
    }
}

/// Every table's rows, as text, in key order.
async fn snapshot(store: &Store) -> String {
    let mut out = String::new();
    for (table, order) in [
        ("sagemaker_training_job", "_key"),
        ("sagemaker_training_job_kv", "training_job_arn, kind, key"),
        (
            "sagemaker_training_job_metric",
            "training_job_arn, metric_name",
        ),
        (
            "sagemaker_training_job_status_transition",
            "training_job_arn, seq",
        ),
    ] {
        let rs = store
            .fetch(
                sagesync::sql!["SELECT * FROM ", table, " ORDER BY ", order],
                &[],
            )
            .await
            .expect("read back");
        out.push_str(&format!("{table}: {:?}\n", rs.rows));
    }
    out
}

/// `load` of a mutated response next to a stored one: no panic, and when the input is refused,
/// nothing changed.
fn load_refusals_leave_the_database_unchanged(db: Db) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt.block_on(async {
        let opts = StoreOptions {
            url: DbUrl::parse(&db.url).expect("url"),
            pg_schema: db.schema.clone(),
        };
        Store::open(&opts).await.expect("open")
    });
    let fl = Arc::new(flattener(db.backend == Backend::Postgres));
    let stored = write_file(
        db.dir.path(),
        "stored.json",
        &json!(example_jobs_api_form()).to_string(),
    );
    rt.block_on(sagesync::load::load(
        &store,
        vec![Input::File(stored)],
        fl.clone(),
        256,
    ))
    .expect("load the examples");
    let path = db.dir.path().join("case.json");
    let mut runner = TestRunner::new(config());
    let result = runner.run(&mutated_job(), |job| {
        std::fs::write(&path, job.to_string()).expect("write case");
        let before = rt.block_on(snapshot(&store));
        let report = rt
            .block_on(sagesync::load::load(
                &store,
                vec![Input::File(path.clone())],
                fl.clone(),
                256,
            ))
            .map_err(|e| TestCaseError::fail(format!("{}: load failed: {e}", db.name())))?;
        if !report.refused.is_empty() {
            prop_assert_eq!(before, rt.block_on(snapshot(&store)), "{}", db.name());
        }
        Ok(())
    });
    rt.block_on(store.close());
    if let Err(e) = result {
        panic!("{}: {e}", db.name());
    }
}

#[test]
fn load_refusals_leave_sqlite_unchanged() {
    load_refusals_leave_the_database_unchanged(Db::new(Backend::Sqlite));
}

#[test]
fn load_refusals_leave_postgres_unchanged() {
    load_refusals_leave_the_database_unchanged(Db::new(Backend::Postgres));
}
