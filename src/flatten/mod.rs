//! Turns one DescribeTrainingJob response (JSON, either wire form) into the row of
//! `sagemaker_training_job`, its key/value rows, metrics and status transitions, losing nothing:
//! the whole normalised response is kept in `raw`.

pub mod arn;
pub mod columns;
pub mod redact;
pub mod shape;
pub mod time;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use columns::{COLUMNS, Kind, Source};
pub use redact::Redactor;

/// One column value, typed; the store decides how each type is written per backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null(Kind),
    Text(String),
    Int(i64),
    Bool(bool),
    Time(DateTime<Utc>),
    Json(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: Option<f64>,
    pub timestamp: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub seq: i64,
    pub status: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub status_message: Option<String>,
}

/// Everything stored for one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub arn: String,
    /// In [`COLUMNS`] order.
    pub cells: Vec<Cell>,
    /// (kind, key, value) with kind one of [`KV_KINDS`].
    pub kv: Vec<(&'static str, String, String)>,
    pub metrics: Vec<Metric>,
    pub transitions: Vec<Transition>,
}

pub const KV_KINDS: [&str; 3] = ["hyper_parameters", "environment", "tags"];

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("not a JSON object (found {0})")]
    NotAnObject(&'static str),
    #[error("record has neither TrainingJobArn nor TrainingJobName")]
    NoIdentity,
    #[error(
        "record has TrainingJobName {0:?} but no TrainingJobArn; pass --region and --account-id to derive the ARN"
    )]
    NoArn(String),
    #[error("TrainingJobArn {0:?} is not a SageMaker training job ARN")]
    BadArn(String),
    #[error(transparent)]
    Shape(#[from] shape::ShapeError),
}

/// Settings that apply to every record of a run.
#[derive(Debug, Clone)]
pub struct Flattener {
    pub redactor: Redactor,
    /// (region, account id) for records that carry a name but no ARN.
    pub arn_context: Option<(String, String)>,
    pub synced_at: DateTime<Utc>,
}

impl Flattener {
    pub fn flatten(&self, value: Value) -> Result<JobRecord, RecordError> {
        let mut doc = match value {
            Value::Object(m) => m,
            other => return Err(RecordError::NotAnObject(json_kind(&other))),
        };
        // A `Search` result item wraps the job as {"TrainingJob": {...}}.
        if doc.len() == 1
            && let Some(Value::Object(inner)) = doc.get_mut("TrainingJob")
        {
            doc = std::mem::take(inner);
        }
        shape::normalize(&mut doc)?;
        self.redactor.redact(&mut doc);
        let arn = self.arn_of(&doc)?;
        let parts = arn::parse(&arn).ok_or_else(|| RecordError::BadArn(arn.clone()))?;
        let tags = tags_of(&doc);

        let mut cells = Vec::with_capacity(COLUMNS.len());
        for column in COLUMNS {
            let cell = match column.source {
                Source::Member(name) => cell_of(column.kind, doc.get(name)),
                Source::Arn => Cell::Text(arn.clone()),
                Source::AccountId => Cell::Text(parts.account_id.to_string()),
                Source::Region => Cell::Text(parts.region.to_string()),
                Source::Partition => Cell::Text(parts.partition.to_string()),
                Source::Tags => match &tags {
                    Some(t) => Cell::Json(Value::Object(t.clone())),
                    None => Cell::Null(Kind::Json),
                },
                // Filled below, once the document is no longer needed.
                Source::Raw => Cell::Null(Kind::Json),
                Source::SyncedAt => Cell::Time(self.synced_at),
                Source::DeletedAt => Cell::Null(Kind::Time),
            };
            cells.push(cell);
        }

        let mut kv = Vec::new();
        for (kind, map) in [
            (
                "hyper_parameters",
                doc.get("HyperParameters").and_then(Value::as_object),
            ),
            (
                "environment",
                doc.get("Environment").and_then(Value::as_object),
            ),
            ("tags", tags.as_ref()),
        ] {
            for (key, value) in map.into_iter().flatten() {
                kv.push((
                    kind,
                    key.clone(),
                    value.as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        let metrics = list(&doc, "FinalMetricDataList")
            .map(|m| Metric {
                name: str_of(m, "MetricName").unwrap_or_default(),
                value: m.get("Value").and_then(Value::as_f64),
                timestamp: time_of(m, "Timestamp"),
            })
            .collect();
        let transitions = list(&doc, "SecondaryStatusTransitions")
            .zip(1..)
            .map(|(t, seq)| Transition {
                seq,
                status: str_of(t, "Status"),
                start_time: time_of(t, "StartTime"),
                end_time: time_of(t, "EndTime"),
                status_message: str_of(t, "StatusMessage"),
            })
            .collect();

        if let Some(i) = COLUMNS.iter().position(|c| c.source == Source::Raw) {
            cells[i] = Cell::Json(Value::Object(doc));
        }
        Ok(JobRecord {
            arn,
            cells,
            kv,
            metrics,
            transitions,
        })
    }

    fn arn_of(&self, doc: &Map<String, Value>) -> Result<String, RecordError> {
        if let Some(arn) = doc.get("TrainingJobArn").and_then(Value::as_str) {
            return Ok(arn.to_string());
        }
        let name = doc
            .get("TrainingJobName")
            .and_then(Value::as_str)
            .ok_or(RecordError::NoIdentity)?;
        match &self.arn_context {
            Some((region, account)) => Ok(arn::build(region, account, name)),
            None => Err(RecordError::NoArn(name.to_string())),
        }
    }
}

fn cell_of(kind: Kind, value: Option<&Value>) -> Cell {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Cell::Null(kind);
    };
    // shape::normalize has checked the type of every member mapped to a typed column.
    let cell = match kind {
        Kind::Text => value.as_str().map(|s| Cell::Text(s.to_string())),
        Kind::Int => value.as_i64().map(Cell::Int),
        Kind::Bool => value.as_bool().map(Cell::Bool),
        Kind::Time => value
            .as_str()
            .and_then(|s| time::parse(&Value::String(s.into())))
            .map(Cell::Time),
        Kind::Json => Some(Cell::Json(value.clone())),
    };
    cell.unwrap_or(Cell::Null(kind))
}

/// Tags as key → value, from a list of {Key, Value} or a map.
fn tags_of(doc: &Map<String, Value>) -> Option<Map<String, Value>> {
    match doc.get("Tags")? {
        Value::Object(m) => Some(m.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|t| {
                    let key = t.get("Key")?.as_str()?;
                    let value = t.get("Value").and_then(Value::as_str).unwrap_or_default();
                    Some((key.to_string(), Value::String(value.to_string())))
                })
                .collect(),
        ),
        _ => None,
    }
}

fn list<'a>(doc: &'a Map<String, Value>, name: &str) -> impl Iterator<Item = &'a Value> {
    doc.get(name)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn str_of(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).map(str::to_string)
}

fn time_of(v: &Value, name: &str) -> Option<DateTime<Utc>> {
    v.get(name).and_then(time::parse)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
