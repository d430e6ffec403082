//! The one mapping from DescribeTrainingJob response members to columns of `sagemaker_training_job`.
//!
//! Adding a column from a response member takes:
//! - one line here (the store builds its SQL from this table);
//! - one migration per backend adding the column (`migrations/sqlite`, `migrations/postgres`);
//! - a shape rule for the member in `shape.rs` (a test below fails without it: an unchecked
//!   member of the wrong type would be stored as NULL);
//! - a raise of `FLATTEN_VERSION` in `flatten/mod.rs`, so `migrate` fills the new column of every
//!   stored row from its `raw`, with no API call.
//!
//! Tests check that both schemas carry exactly these columns.

/// How a column is typed in the database (Datadog type in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// string: TEXT / text
    Text,
    /// int64: INTEGER / bigint
    Int,
    /// bool: INTEGER 0-1 / boolean
    Bool,
    /// timestamp: RFC 3339 UTC TEXT / timestamptz
    Time,
    /// json, hstore: TEXT holding JSON / jsonb
    Json,
}

/// Where a column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A top-level member of the response, stored as it is (after normalisation).
    Member(&'static str),
    /// The training job ARN.
    Arn,
    /// Parts of the ARN.
    AccountId,
    Region,
    Partition,
    /// Tags as a key → value object, whatever form they arrived in.
    Tags,
    /// The whole normalised response.
    Raw,
    /// When this version of the job was stored.
    SyncedAt,
    /// Set only when a sync finds the job gone; storing a job clears it.
    DeletedAt,
    /// When a DescribeTrainingJob body of the job was stored; NULL for a Search record.
    DescribedAt,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub source: Source,
}

const fn col(name: &'static str, kind: Kind, source: Source) -> Column {
    Column { name, kind, source }
}

const fn member(name: &'static str, kind: Kind, member: &'static str) -> Column {
    col(name, kind, Source::Member(member))
}

use Kind::*;

/// The 46 columns of Datadog's `aws.sagemaker_training_job`, then sagesync's own.
pub const COLUMNS: &[Column] = &[
    col("_key", Text, Source::Arn),
    col("account_id", Text, Source::AccountId),
    member("algorithm_specification", Json, "AlgorithmSpecification"),
    member("auto_ml_job_arn", Text, "AutoMLJobArn"),
    member("billable_time_in_seconds", Int, "BillableTimeInSeconds"),
    member("checkpoint_config", Json, "CheckpointConfig"),
    member("creation_time", Time, "CreationTime"),
    member("debug_hook_config", Json, "DebugHookConfig"),
    member("debug_rule_configurations", Json, "DebugRuleConfigurations"),
    member(
        "debug_rule_evaluation_statuses",
        Json,
        "DebugRuleEvaluationStatuses",
    ),
    member(
        "enable_inter_container_traffic_encryption",
        Bool,
        "EnableInterContainerTrafficEncryption",
    ),
    member(
        "enable_managed_spot_training",
        Bool,
        "EnableManagedSpotTraining",
    ),
    member("enable_network_isolation", Bool, "EnableNetworkIsolation"),
    member("environment", Json, "Environment"),
    member("experiment_config", Json, "ExperimentConfig"),
    member("failure_reason", Text, "FailureReason"),
    member("final_metric_data_list", Json, "FinalMetricDataList"),
    member("hyper_parameters", Json, "HyperParameters"),
    member("infra_check_config", Json, "InfraCheckConfig"),
    member("input_data_config", Json, "InputDataConfig"),
    member("labeling_job_arn", Text, "LabelingJobArn"),
    member("last_modified_time", Time, "LastModifiedTime"),
    member("model_artifacts", Json, "ModelArtifacts"),
    member("output_data_config", Json, "OutputDataConfig"),
    member("profiler_config", Json, "ProfilerConfig"),
    member(
        "profiler_rule_configurations",
        Json,
        "ProfilerRuleConfigurations",
    ),
    member(
        "profiler_rule_evaluation_statuses",
        Json,
        "ProfilerRuleEvaluationStatuses",
    ),
    member("profiling_status", Text, "ProfilingStatus"),
    member("remote_debug_config", Json, "RemoteDebugConfig"),
    member("resource_config", Json, "ResourceConfig"),
    member("retry_strategy", Json, "RetryStrategy"),
    member("role_arn", Text, "RoleArn"),
    member("secondary_status", Text, "SecondaryStatus"),
    member(
        "secondary_status_transitions",
        Json,
        "SecondaryStatusTransitions",
    ),
    member("stopping_condition", Json, "StoppingCondition"),
    col("tags", Json, Source::Tags),
    member(
        "tensor_board_output_config",
        Json,
        "TensorBoardOutputConfig",
    ),
    member("training_end_time", Time, "TrainingEndTime"),
    col("training_job_arn", Text, Source::Arn),
    member("training_job_name", Text, "TrainingJobName"),
    member("training_job_status", Text, "TrainingJobStatus"),
    member("training_start_time", Time, "TrainingStartTime"),
    member("training_time_in_seconds", Int, "TrainingTimeInSeconds"),
    member("tuning_job_arn", Text, "TuningJobArn"),
    member("vpc_config", Json, "VpcConfig"),
    member("warm_pool_status", Json, "WarmPoolStatus"),
    // sagesync's own
    col("region", Text, Source::Region),
    col("partition", Text, Source::Partition),
    col("raw", Json, Source::Raw),
    col("synced_at", Time, Source::SyncedAt),
    col("deleted_at", Time, Source::DeletedAt),
    col("described_at", Time, Source::DescribedAt),
];

/// Number of columns mirrored from Datadog (the rest are sagesync's).
pub const DATADOG_COLUMNS: usize = 46;

pub const JOB_TABLE: &str = "sagemaker_training_job";
pub const KV_TABLE: &str = "sagemaker_training_job_kv";
pub const METRIC_TABLE: &str = "sagemaker_training_job_metric";
pub const TRANSITION_TABLE: &str = "sagemaker_training_job_status_transition";
pub const USAGE_TABLE: &str = "sagemaker_training_job_instance_usage";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::shape::{Rule, rule};

    #[test]
    fn every_member_column_has_a_shape_rule_of_its_type() {
        for c in COLUMNS {
            let Source::Member(member) = c.source else {
                continue;
            };
            let found = rule(member);
            let fits = match (c.kind, found) {
                (Text, Some(Rule::Str)) | (Int, Some(Rule::Int)) | (Bool, Some(Rule::Bool)) => true,
                (Time, Some(Rule::Time)) => true,
                (Json, Some(r)) => matches!(
                    r,
                    Rule::Object | Rule::ObjectList | Rule::StrList | Rule::StrMap | Rule::Tags
                ),
                _ => false,
            };
            assert!(
                fits,
                "column {} ({:?}) has shape rule {found:?} for {member}",
                c.name, c.kind
            );
        }
    }
}
