//! What type each member of a DescribeTrainingJob response has, checked before anything is stored,
//! and the normalisation of every timestamp in the document to one text form.
//!
//! Rules go by member name wherever a known member appears inside known members: the API uses
//! each name with one type (the exception, `Value`, is a float in metrics and a string in tags,
//! which are not walked by name). A member these rules do not know (newer than this list) is kept
//! as it came, whatever JSON it holds and at any depth; inside it only timestamps are touched: a
//! member whose name ends in `Time` or `Timestamp` and holds a timestamp is normalised like the
//! known ones.

use serde_json::{Map, Value};

use crate::model::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    Str,
    /// An integer that fits a signed 64-bit column (bigint / INTEGER).
    Int,
    /// A number that fits a double (metric values).
    Float,
    Bool,
    Time,
    Object,
    /// A list of objects (InputDataConfig, FinalMetricDataList, ...).
    ObjectList,
    /// A list of strings (Subnets, SecurityGroupIds, ...).
    StrList,
    /// A string → string map (HyperParameters, Environment, RuleParameters, ...). Its keys are
    /// the user's, not the API's, so they are never read as member names.
    StrMap,
    /// Tags: a list of {Key, Value} (TrainingJob, ListTags) or a plain map.
    Tags,
}

/// The rule of a known member, by name.
pub(crate) fn rule(name: &str) -> Option<Rule> {
    use Rule::*;
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
        | "InstanceGroupName"
        | "Status"
        | "StatusMessage"
        | "StatusDetails"
        | "MetricName"
        | "Name"
        | "Regex"
        | "KmsKeyId"
        | "VolumeKmsKeyId"
        | "S3Uri"
        | "S3OutputPath"
        | "S3DataType"
        | "S3DataDistributionType"
        | "LocalPath"
        | "ChannelName"
        | "ContentType"
        | "CompressionType"
        | "RecordWrapperType"
        | "InputMode"
        | "FileSystemId"
        | "FileSystemAccessMode"
        | "FileSystemType"
        | "DirectoryPath"
        | "TrainingImage"
        | "AlgorithmName"
        | "TrainingInputMode"
        | "TrainingRepositoryAccessMode"
        | "RepositoryAccessMode"
        | "RepositoryCredentialsProviderArn"
        | "ExperimentName"
        | "TrialName"
        | "TrialComponentDisplayName"
        | "RunName"
        | "CollectionName"
        | "RuleConfigurationName"
        | "RuleEvaluationStatus"
        | "RuleEvaluatorImage"
        | "RuleEvaluationJobArn"
        | "ReusedByJob"
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
        | "TrainingImageConfig"
        | "RepositoryAuthConfig"
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
        | "CollectionConfigurations"
        | "InstanceGroups"
        | "MetricDefinitions" => ObjectList,
        "SecurityGroupIds"
        | "Subnets"
        | "AttributeNames"
        | "InstanceGroupNames"
        | "ContainerEntrypoint"
        | "ContainerArguments" => StrList,
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
    fn new(expected: &'static str, found: &Value, echo: bool) -> Self {
        ShapeError {
            path: String::new(),
            expected,
            found: describe(found, echo),
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
    walk_object(doc)
}

/// The members of a known object: known ones by their rule, the rest kept as they came.
fn walk_object(obj: &mut Map<String, Value>) -> Result<(), ShapeError> {
    for (name, value) in obj.iter_mut() {
        match rule(name) {
            Some(rule) => check(rule, value).map_err(|e| e.under(name))?,
            None => keep(name, value),
        }
    }
    Ok(())
}

fn check(rule: Rule, value: &mut Value) -> Result<(), ShapeError> {
    let ok = match rule {
        _ if value.is_null() => true,
        Rule::Str => value.is_string(),
        Rule::Int => value.is_i64(),
        Rule::Float => value.as_f64().is_some_and(f64::is_finite),
        Rule::Bool => value.is_boolean(),
        Rule::Time => match time::parse(value) {
            Some(t) => {
                *value = Value::String(time::format(&t));
                true
            }
            None => false,
        },
        Rule::Object => match value {
            Value::Object(obj) => return walk_object(obj),
            _ => false,
        },
        Rule::ObjectList | Rule::StrList => match value {
            Value::Array(items) => return walk_list(rule, items),
            _ => false,
        },
        Rule::StrMap => match value {
            Value::Object(map) => {
                return match map.iter().find(|(_, v)| !v.is_string()) {
                    // The values are the user's and may be secrets: never shown.
                    Some((key, v)) => Err(ShapeError::new("a string", v, false).under(key)),
                    None => Ok(()),
                };
            }
            _ => false,
        },
        Rule::Tags => is_tags(value),
    };
    if ok {
        Ok(())
    } else {
        let echo = !matches!(rule, Rule::StrMap | Rule::Tags);
        Err(ShapeError::new(expected(rule), value, echo))
    }
}

fn walk_list(rule: Rule, items: &mut [Value]) -> Result<(), ShapeError> {
    for (i, item) in items.iter_mut().enumerate() {
        let result = match (rule, item) {
            (Rule::ObjectList, Value::Object(obj)) => walk_object(obj),
            (Rule::StrList, Value::String(_)) => Ok(()),
            (Rule::ObjectList, other) => Err(ShapeError::new("an object", other, true)),
            (_, other) => Err(ShapeError::new("a string", other, true)),
        };
        result.map_err(|e| e.under(&format!("[{i}]")))?;
    }
    Ok(())
}

/// A member sagesync does not know: kept whatever it holds, with its timestamps normalised.
fn keep(name: &str, value: &mut Value) {
    match value {
        Value::Object(obj) => {
            for (k, v) in obj.iter_mut() {
                keep(k, v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| keep(name, v)),
        Value::String(_) | Value::Number(_) if is_time_name(name) => {
            if let Some(t) = time::parse(value) {
                *value = Value::String(time::format(&t));
            }
        }
        _ => {}
    }
}

fn is_time_name(name: &str) -> bool {
    name.ends_with("Time") || name.ends_with("Timestamp")
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
        Rule::Int => "an integer that fits 64 bits (-9223372036854775808 to 9223372036854775807)",
        Rule::Float => "a number that fits a double",
        Rule::Bool => "a boolean",
        Rule::Time => {
            "a timestamp (epoch seconds or an ISO-8601 string) between the years 1 and 9999"
        }
        Rule::Object => "an object",
        Rule::ObjectList => "a list of objects",
        Rule::StrList => "a list of strings",
        Rule::StrMap => "an object of string values",
        Rule::Tags => "a list of {Key, Value} or an object of string values",
    }
}

/// What was found instead. Values are shown (cut short) only where they cannot be secrets.
fn describe(value: &Value, echo: bool) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(a) => return format!("a list of {} items", a.len()),
        Value::Object(o) => return format!("an object of {} members", o.len()),
    };
    let shown = value.to_string();
    if !echo {
        let chars = value.as_str().unwrap_or(&shown).chars().count();
        return format!("{kind} of {chars} characters");
    }
    let mut shown = shown;
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
            "member ResourceConfig.InstanceCount must be an integer that fits 64 bits (-9223372036854775808 to 9223372036854775807), found a string \"3\""
        );
        let err = check(json!({"EnableNetworkIsolation": "true"})).unwrap_err();
        assert_eq!(err.path, "EnableNetworkIsolation");
        let err =
            check(json!({"SecondaryStatusTransitions": [{"StartTime": "soon"}]})).unwrap_err();
        assert_eq!(err.path, "SecondaryStatusTransitions[0].StartTime");
        let err = check(json!({"InputDataConfig": [{"ContentType": 42}]})).unwrap_err();
        assert_eq!(err.path, "InputDataConfig[0].ContentType");
        let err = check(json!({"VpcConfig": {"Subnets": ["a", 1]}})).unwrap_err();
        assert_eq!(err.path, "VpcConfig.Subnets[1]");
        let err = check(json!({"InputDataConfig": ["s3://x"]})).unwrap_err();
        assert_eq!(err.path, "InputDataConfig[0]");
    }

    #[test]
    fn unknown_members_are_kept_whatever_they_hold() {
        let doc = json!({
            "FutureMember": [1, 2, {"deep": null}, null, true, [[]]],
            "ResourceConfig": {"InstanceCount": 1, "FutureFlag": [null, {"InstanceCount": "x"}]},
            "InputDataConfig": [{"ChannelName": "train", "Future": {"a": [1.5, false]}}],
            "HyperParameters": {"Value": "1", "InstanceCount": "two", "StartTime": "soon"},
        });
        assert_eq!(check(doc.clone()).unwrap(), doc);
    }

    #[test]
    fn secret_maps_never_show_values() {
        let err = check(json!({"Environment": {"HF_TOKEN": 12345678}})).unwrap_err();
        assert_eq!(err.path, "Environment.HF_TOKEN");
        assert!(!err.to_string().contains("12345678"), "{err}");
        assert!(err.to_string().contains("8 characters"), "{err}");
        let err = check(json!({"HyperParameters": ["hunter2"]})).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn numbers_must_fit_their_columns() {
        assert!(check(json!({"BillableTimeInSeconds": 9223372036854775807_i64})).is_ok());
        let big: Value =
            serde_json::from_str(r#"{"BillableTimeInSeconds": 9223372036854775808}"#).unwrap();
        let err = check(big).unwrap_err();
        assert_eq!(err.path, "BillableTimeInSeconds");
        assert!(err.to_string().contains("fits 64 bits"), "{err}");
        assert!(check(json!({"BillableTimeInSeconds": 1.5})).is_err());
        let huge: Value =
            serde_json::from_str(r#"{"FinalMetricDataList": [{"Value": 1e400}]}"#).unwrap();
        assert!(check(huge).is_err());
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
            "FutureList": [{"StartTime": 1709316930.5}, {"StartTime": "not a time"}],
        }))
        .unwrap();
        assert_eq!(out["CreationTime"], "2024-03-01T18:15:30.500Z");
        assert_eq!(
            out["ProgressInfo"]["LastUpdatedTime"],
            "2024-03-01T18:15:30.500Z"
        );
        assert_eq!(out["ElapsedSeconds"], 1709316930.5);
        assert_eq!(
            out["FutureList"][0]["StartTime"],
            "2024-03-01T18:15:30.500Z"
        );
        assert_eq!(out["FutureList"][1]["StartTime"], "not a time");
    }
}
