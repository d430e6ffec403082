//! What type each member of a DescribeTrainingJob response has, checked before anything is stored,
//! and the normalisation of every timestamp in the document to one text form.
//!
//! Rules go by member name, wherever the member appears: the API uses each name with one type
//! (the exception, `Value`, is a float in metrics and a string in tags). Members not listed here
//! (newer than this list) pass through untouched, except that a name ending in `Time` or
//! `Timestamp` holding a timestamp is normalised like the known ones.

use serde_json::{Map, Value};

use super::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Str,
    Int,
    Float,
    Bool,
    Time,
    Object,
    List,
    /// A string → string map (HyperParameters, Environment, RuleParameters, ...).
    StrMap,
    /// Tags: a list of {Key, Value} (TrainingJob, ListTags) or a plain map.
    Tags,
}

fn rule(parent: &str, name: &str) -> Option<Rule> {
    use Rule::*;
    if parent == "Tags" {
        return Some(Str);
    }
    Some(match name {
        "TrainingJobName"
        | "TrainingJobArn"
        | "TuningJobArn"
        | "LabelingJobArn"
        | "AutoMLJobArn"
        | "TrainingJobStatus"
        | "SecondaryStatus"
        | "FailureReason"
        | "RoleArn"
        | "ProfilingStatus"
        | "InstanceType"
        | "Status"
        | "StatusMessage"
        | "MetricName"
        | "KmsKeyId"
        | "VolumeKmsKeyId"
        | "S3Uri"
        | "S3OutputPath"
        | "LocalPath"
        | "ChannelName"
        | "TrainingImage"
        | "AlgorithmName"
        | "TrainingInputMode"
        | "RuleConfigurationName"
        | "RuleEvaluationStatus"
        | "RuleEvaluatorImage"
        | "RuleEvaluationJobArn"
        | "S3ModelArtifacts" => Str,
        "BillableTimeInSeconds"
        | "TrainingTimeInSeconds"
        | "InstanceCount"
        | "VolumeSizeInGB"
        | "KeepAlivePeriodInSeconds"
        | "MaxRuntimeInSeconds"
        | "MaxWaitTimeInSeconds"
        | "MaxPendingTimeInSeconds"
        | "Seed"
        | "ProfilingIntervalInMilliseconds"
        | "MaximumRetryAttempts"
        | "ResourceRetainedBillableTimeInSeconds" => Int,
        "Value" => Float,
        "EnableInterContainerTrafficEncryption"
        | "EnableManagedSpotTraining"
        | "EnableNetworkIsolation"
        | "EnableSageMakerMetricsTimeSeries"
        | "DisableProfiler"
        | "EnableInfraCheck"
        | "EnableRemoteDebug" => Bool,
        "CreationTime" | "LastModifiedTime" | "TrainingStartTime" | "TrainingEndTime"
        | "StartTime" | "EndTime" | "Timestamp" => Time,
        "AlgorithmSpecification"
        | "CheckpointConfig"
        | "DebugHookConfig"
        | "ExperimentConfig"
        | "ModelArtifacts"
        | "OutputDataConfig"
        | "ProfilerConfig"
        | "ResourceConfig"
        | "RetryStrategy"
        | "StoppingCondition"
        | "TensorBoardOutputConfig"
        | "VpcConfig"
        | "WarmPoolStatus"
        | "InfraCheckConfig"
        | "RemoteDebugConfig"
        | "DataSource"
        | "S3DataSource"
        | "FileSystemDataSource"
        | "ShuffleConfig" => Object,
        "DebugRuleConfigurations"
        | "DebugRuleEvaluationStatuses"
        | "FinalMetricDataList"
        | "InputDataConfig"
        | "ProfilerRuleConfigurations"
        | "ProfilerRuleEvaluationStatuses"
        | "SecondaryStatusTransitions"
        | "InstanceGroups"
        | "MetricDefinitions"
        | "SecurityGroupIds"
        | "Subnets"
        | "AttributeNames" => List,
        "HyperParameters"
        | "Environment"
        | "RuleParameters"
        | "CollectionParameters"
        | "HookParameters"
        | "ProfilingParameters" => StrMap,
        "Tags" => Tags,
        _ => return None,
    })
}

/// A member whose value does not have the type the API gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("member {path} must be {expected}, found {found}")]
pub struct ShapeError {
    pub path: String,
    pub expected: &'static str,
    pub found: String,
}

impl ShapeError {
    fn new(expected: &'static str, found: &Value) -> Self {
        ShapeError {
            path: String::new(),
            expected,
            found: describe(found),
        }
    }

    /// Paths are built only when there is an error, on its way out, so a valid document
    /// costs no allocation here.
    fn under(mut self, segment: &str) -> Self {
        self.path = match (self.path.is_empty(), self.path.starts_with('[')) {
            (true, _) => segment.to_string(),
            (false, true) => format!("{segment}{}", self.path),
            (false, false) => format!("{segment}.{}", self.path),
        };
        self
    }
}

/// Checks every known member of `doc` and rewrites its timestamps to the normalised text form.
pub fn normalize(doc: &mut Map<String, Value>) -> Result<(), ShapeError> {
    walk_object("", doc)
}

fn walk_object(parent: &str, obj: &mut Map<String, Value>) -> Result<(), ShapeError> {
    for (name, value) in obj.iter_mut() {
        walk_member(parent, name, value).map_err(|e| e.under(name))?;
    }
    Ok(())
}

fn walk_member(parent: &str, name: &str, value: &mut Value) -> Result<(), ShapeError> {
    if value.is_null() {
        return Ok(());
    }
    let Some(rule) = rule(parent, name) else {
        // Unknown member: keep it, normalising what is plainly a timestamp, and look inside it.
        if (name.ends_with("Time") || name.ends_with("Timestamp"))
            && let Some(t) = time::parse(value)
        {
            *value = Value::String(time::format(&t));
            return Ok(());
        }
        return walk_nested(name, value);
    };
    let ok = match rule {
        Rule::Str => value.is_string(),
        Rule::Int => value.is_i64() || value.is_u64(),
        Rule::Float => value.is_number(),
        Rule::Bool => value.is_boolean(),
        Rule::Time => match time::parse(value) {
            Some(t) => {
                *value = Value::String(time::format(&t));
                true
            }
            None => false,
        },
        Rule::Object => value.is_object(),
        Rule::List => value.is_array(),
        Rule::StrMap => value
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string)),
        Rule::Tags => is_tags(value),
    };
    if !ok {
        return Err(ShapeError::new(expected(rule), value));
    }
    walk_nested(name, value)
}

fn walk_nested(name: &str, value: &mut Value) -> Result<(), ShapeError> {
    match value {
        Value::Object(obj) => walk_object(name, obj),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                match item {
                    Value::Object(obj) => {
                        walk_object(name, obj).map_err(|e| e.under(&format!("[{i}]")))?
                    }
                    // Lists of plain values (Subnets, AttributeNames) are strings in the API.
                    other if other.is_string() || name == "Tags" => {}
                    other => {
                        return Err(ShapeError::new("a string or an object", other)
                            .under(&format!("[{i}]")));
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn is_tags(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.values().all(Value::is_string),
        Value::Array(items) => items.iter().all(|t| {
            t.get("Key").is_some_and(Value::is_string)
                && t.get("Value").is_none_or(|v| v.is_string() || v.is_null())
        }),
        _ => false,
    }
}

fn expected(rule: Rule) -> &'static str {
    match rule {
        Rule::Str => "a string",
        Rule::Int => "an integer",
        Rule::Float => "a number",
        Rule::Bool => "a boolean",
        Rule::Time => "a timestamp (epoch seconds or an ISO-8601 string with offset)",
        Rule::Object => "an object",
        Rule::List => "a list",
        Rule::StrMap => "an object of string values",
        Rule::Tags => "a list of {Key, Value} or an object of string values",
    }
}

fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => return "a list".into(),
        Value::Object(_) => return "an object".into(),
    };
    let mut shown = value.to_string();
    if shown.len() > 40 {
        let cut = (0..=40)
            .rev()
            .find(|&i| shown.is_char_boundary(i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    format!("{kind} {shown}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<Value, ShapeError> {
        let Value::Object(mut m) = v else {
            panic!("test input must be an object")
        };
        normalize(&mut m).map(|()| Value::Object(m))
    }

    #[test]
    fn names_the_member_and_the_reason() {
        let err = check(json!({"ResourceConfig": {"InstanceCount": "3"}})).unwrap_err();
        assert_eq!(err.path, "ResourceConfig.InstanceCount");
        assert_eq!(
            err.to_string(),
            "member ResourceConfig.InstanceCount must be an integer, found a string \"3\""
        );
        let err = check(json!({"EnableNetworkIsolation": "true"})).unwrap_err();
        assert_eq!(err.path, "EnableNetworkIsolation");
        let err =
            check(json!({"SecondaryStatusTransitions": [{"StartTime": "soon"}]})).unwrap_err();
        assert_eq!(err.path, "SecondaryStatusTransitions[0].StartTime");
    }

    #[test]
    fn tag_values_are_strings_metric_values_numbers() {
        assert!(check(json!({"Tags": [{"Key": "team", "Value": "nlp"}]})).is_ok());
        assert!(
            check(json!({"FinalMetricDataList": [{"MetricName": "loss", "Value": 0.5}]})).is_ok()
        );
        assert!(check(json!({"FinalMetricDataList": [{"Value": "0.5"}]})).is_err());
    }

    #[test]
    fn normalises_known_and_unknown_timestamps_and_keeps_the_rest() {
        let out = check(json!({
            "CreationTime": 1709316930.5,
            "ProgressInfo": {"LastUpdatedTime": "2024-03-01T18:15:30.5+00:00", "Percent": 3},
            "ElapsedSeconds": 1709316930.5,
        }))
        .unwrap();
        assert_eq!(out["CreationTime"], "2024-03-01T18:15:30.500Z");
        assert_eq!(
            out["ProgressInfo"]["LastUpdatedTime"],
            "2024-03-01T18:15:30.500Z"
        );
        assert_eq!(out["ElapsedSeconds"], 1709316930.5);
    }
}
