//! Turns one DescribeTrainingJob response (JSON, either wire form) into the row of
//! `sagemaker_training_job`, losing nothing: the whole normalised response is kept in `raw`.
//! Its key/value rows, metrics and status transitions are projections of that row, which the
//! store derives in SQL (see `store::children`).

pub mod columns;
pub mod redact;
pub mod shape;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::model::arn;
use crate::model::time::{self, Timestamp};
use columns::{Column, Kind, Source};
pub use redact::Redactor;

/// One column value of a job, borrowed from its document; the store decides how each type is
/// written per backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null(Kind),
    Text(&'a str),
    Int(i64),
    Bool(bool),
    Time(DateTime<Utc>),
    Json(&'a Value),
    Object(&'a Map<String, Value>),
}

/// One validated job: its normalised, redacted document (what `raw` holds) and its identity.
/// The row, key/value rows, metrics and transitions are views of the document, so nothing is
/// copied on the way to the database.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub partition: String,
    /// Tags as key → value, whatever form they arrived in.
    pub tags: Option<Map<String, Value>>,
    pub doc: Map<String, Value>,
    pub synced_at: Timestamp,
    /// Built from a whole DescribeTrainingJob body, not from a Search record (`{"TrainingJob":
    /// {...}}`), which lacks the members only DescribeTrainingJob returns.
    pub described: bool,
    /// Some string held NUL, which Postgres cannot store; it was replaced by U+FFFD.
    pub replaced_nul: bool,
}

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
    pub synced_at: Timestamp,
    /// Replace NUL in every string and key by U+FFFD: Postgres text and jsonb cannot hold it.
    pub replace_nul: bool,
}

/// What is said, naming the job, when [`Flattener::replace_nul`] changed it.
pub const NUL_WARNING: &str =
    "NUL characters replaced by U+FFFD (PostgreSQL text and jsonb cannot hold them)";

/// The version of the mapping from a response to a row: the column list, the shape rules and the
/// default redaction. Raise it when any of them changes; `migrate` then re-derives every stored
/// row from its `raw` (see `store::reflatten`).
pub const FLATTEN_VERSION: i64 = 2;

impl Flattener {
    pub fn flatten(&self, value: Value) -> Result<JobRecord, RecordError> {
        self.flatten_as(value, None)
    }

    /// Re-derives a stored row from its `raw`; `key` is its ARN, which `raw` lacks when the
    /// record was loaded by name.
    pub fn reflatten(&self, raw: Value, key: &str) -> Result<JobRecord, RecordError> {
        self.flatten_as(raw, Some(key))
    }

    fn flatten_as(&self, mut value: Value, key: Option<&str>) -> Result<JobRecord, RecordError> {
        let replaced_nul = self.replace_nul && replace_nul(&mut value);
        let mut doc = match value {
            Value::Object(m) => m,
            other => return Err(RecordError::NotAnObject(json_kind(&other))),
        };
        // A `Search` result item wraps the job as {"TrainingJob": {...}}.
        let mut described = true;
        if doc.len() == 1
            && let Some(Value::Object(inner)) = doc.get_mut("TrainingJob")
        {
            doc = std::mem::take(inner);
            described = false;
        }
        shape::normalize(&mut doc)?;
        self.redactor.redact(&mut doc);
        let arn = match key {
            Some(key) if !doc.contains_key("TrainingJobArn") => key.to_string(),
            _ => self.arn_of(&doc)?,
        };
        let parts = arn::parse(&arn).ok_or_else(|| RecordError::BadArn(arn.clone()))?;
        let (account_id, region, partition) = (
            parts.account_id.to_string(),
            parts.region.to_string(),
            parts.partition.to_string(),
        );
        Ok(JobRecord {
            tags: tags_of(&doc),
            arn,
            account_id,
            region,
            partition,
            doc,
            synced_at: self.synced_at,
            described,
            replaced_nul,
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

impl JobRecord {
    /// The value of one column of `sagemaker_training_job`.
    pub fn cell(&self, column: &Column) -> Cell<'_> {
        match column.source {
            Source::Member(name) => cell_of(column.kind, self.doc.get(name)),
            Source::Arn => Cell::Text(&self.arn),
            Source::AccountId => Cell::Text(&self.account_id),
            Source::Region => Cell::Text(&self.region),
            Source::Partition => Cell::Text(&self.partition),
            Source::Tags => self
                .tags
                .as_ref()
                .map_or(Cell::Null(Kind::Json), Cell::Object),
            Source::Raw => Cell::Object(&self.doc),
            Source::SyncedAt => Cell::Time(self.synced_at.as_datetime()),
            Source::DeletedAt => Cell::Null(Kind::Time),
            Source::DescribedAt if self.described => Cell::Time(self.synced_at.as_datetime()),
            Source::DescribedAt => Cell::Null(Kind::Time),
        }
    }
}

fn cell_of(kind: Kind, value: Option<&Value>) -> Cell<'_> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Cell::Null(kind);
    };
    // shape::normalize has checked the type of every member mapped to a typed column.
    let cell = match kind {
        Kind::Text => value.as_str().map(Cell::Text),
        Kind::Int => value.as_i64().map(Cell::Int),
        Kind::Bool => value.as_bool().map(Cell::Bool),
        Kind::Time => time::parse(value).map(Cell::Time),
        Kind::Json => Some(Cell::Json(value)),
    };
    cell.unwrap_or(Cell::Null(kind))
}

/// Tags as key → value, from a list of {Key, Value} or a map.
fn tags_of(doc: &Map<String, Value>) -> Option<Map<String, Value>> {
    tags_map(doc.get("Tags")?)
}

/// Tags as key → value, from a list of {Key, Value} (TrainingJob, ListTags) or a map.
pub fn tags_map(tags: &Value) -> Option<Map<String, Value>> {
    match tags {
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

/// Replaces NUL in every string and member name by U+FFFD; whether there was any.
fn replace_nul(value: &mut Value) -> bool {
    const FFFD: &str = "\u{FFFD}";
    match value {
        Value::String(s) if s.contains('\0') => {
            *s = s.replace('\0', FFFD);
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |any, v| replace_nul(v) | any),
        Value::Object(obj) => {
            let mut any = false;
            if obj.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(obj);
                *obj = old
                    .into_iter()
                    .map(|(k, v)| (k.replace('\0', FFFD), v))
                    .collect();
                any = true;
            }
            obj.values_mut().fold(any, |any, v| replace_nul(v) | any)
        }
        _ => false,
    }
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
