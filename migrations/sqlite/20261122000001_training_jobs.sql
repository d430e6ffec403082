-- The Datadog-mirror table aws.sagemaker_training_job (46 columns, same names), then sagesync's
-- own: region, partition, raw (the whole normalised response), synced_at, deleted_at.
-- Timestamps are RFC 3339 UTC text with milliseconds and a Z; JSON columns hold JSON text;
-- booleans are 0/1.
CREATE TABLE sagemaker_training_job (
    _key TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    algorithm_specification TEXT,
    auto_ml_job_arn TEXT,
    billable_time_in_seconds INTEGER,
    checkpoint_config TEXT,
    creation_time TEXT,
    debug_hook_config TEXT,
    debug_rule_configurations TEXT,
    debug_rule_evaluation_statuses TEXT,
    enable_inter_container_traffic_encryption INTEGER CHECK (enable_inter_container_traffic_encryption IN (0, 1)),
    enable_managed_spot_training INTEGER CHECK (enable_managed_spot_training IN (0, 1)),
    enable_network_isolation INTEGER CHECK (enable_network_isolation IN (0, 1)),
    environment TEXT,
    experiment_config TEXT,
    failure_reason TEXT,
    final_metric_data_list TEXT,
    hyper_parameters TEXT,
    infra_check_config TEXT,
    input_data_config TEXT,
    labeling_job_arn TEXT,
    last_modified_time TEXT,
    model_artifacts TEXT,
    output_data_config TEXT,
    profiler_config TEXT,
    profiler_rule_configurations TEXT,
    profiler_rule_evaluation_statuses TEXT,
    profiling_status TEXT,
    remote_debug_config TEXT,
    resource_config TEXT,
    retry_strategy TEXT,
    role_arn TEXT,
    secondary_status TEXT,
    secondary_status_transitions TEXT,
    stopping_condition TEXT,
    tags TEXT,
    tensor_board_output_config TEXT,
    training_end_time TEXT,
    training_job_arn TEXT NOT NULL,
    training_job_name TEXT,
    training_job_status TEXT,
    training_start_time TEXT,
    training_time_in_seconds INTEGER,
    tuning_job_arn TEXT,
    vpc_config TEXT,
    warm_pool_status TEXT,
    region TEXT NOT NULL,
    "partition" TEXT NOT NULL,
    raw TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX sagemaker_training_job_creation_time ON sagemaker_training_job (creation_time);
CREATE INDEX sagemaker_training_job_status ON sagemaker_training_job (training_job_status);
CREATE INDEX sagemaker_training_job_tuning_job ON sagemaker_training_job (tuning_job_arn);

-- HyperParameters, Environment and tags as rows: WHERE kind = 'hyper_parameters' AND key = 'eta'.
-- The primary key makes the join from a job to its rows an index lookup. A second index on
-- (kind, key) would double the cost of every write for lookups that a scan answers in
-- milliseconds at a million rows.
CREATE TABLE sagemaker_training_job_kv (
    training_job_arn TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hyper_parameters', 'environment', 'tags')),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (training_job_arn, kind, key)
) WITHOUT ROWID;

-- FinalMetricDataList, one row per metric
CREATE TABLE sagemaker_training_job_metric (
    training_job_arn TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    value REAL,
    timestamp TEXT
);
CREATE INDEX sagemaker_training_job_metric_job ON sagemaker_training_job_metric (training_job_arn, metric_name);

-- SecondaryStatusTransitions in order, seq from 1
CREATE TABLE sagemaker_training_job_status_transition (
    training_job_arn TEXT NOT NULL,
    seq INTEGER NOT NULL,
    status TEXT,
    start_time TEXT,
    end_time TEXT,
    status_message TEXT,
    PRIMARY KEY (training_job_arn, seq)
) WITHOUT ROWID;
