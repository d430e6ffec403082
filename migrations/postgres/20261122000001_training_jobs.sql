-- The Datadog-mirror table aws.sagemaker_training_job (46 columns, same names), then sagesync's
-- own: region, partition, raw (the whole normalised response), synced_at, deleted_at.
-- Created in the schema first on the search path (aws unless --pg-schema says otherwise).
CREATE TABLE sagemaker_training_job (
    _key text PRIMARY KEY NOT NULL,
    account_id text NOT NULL,
    algorithm_specification jsonb,
    auto_ml_job_arn text,
    billable_time_in_seconds bigint,
    checkpoint_config jsonb,
    creation_time timestamptz,
    debug_hook_config jsonb,
    debug_rule_configurations jsonb,
    debug_rule_evaluation_statuses jsonb,
    enable_inter_container_traffic_encryption boolean,
    enable_managed_spot_training boolean,
    enable_network_isolation boolean,
    environment jsonb,
    experiment_config jsonb,
    failure_reason text,
    final_metric_data_list jsonb,
    hyper_parameters jsonb,
    infra_check_config jsonb,
    input_data_config jsonb,
    labeling_job_arn text,
    last_modified_time timestamptz,
    model_artifacts jsonb,
    output_data_config jsonb,
    profiler_config jsonb,
    profiler_rule_configurations jsonb,
    profiler_rule_evaluation_statuses jsonb,
    profiling_status text,
    remote_debug_config jsonb,
    resource_config jsonb,
    retry_strategy jsonb,
    role_arn text,
    secondary_status text,
    secondary_status_transitions jsonb,
    stopping_condition jsonb,
    tags jsonb,
    tensor_board_output_config jsonb,
    training_end_time timestamptz,
    training_job_arn text NOT NULL,
    training_job_name text,
    training_job_status text,
    training_start_time timestamptz,
    training_time_in_seconds bigint,
    tuning_job_arn text,
    vpc_config jsonb,
    warm_pool_status jsonb,
    region text NOT NULL,
    "partition" text NOT NULL,
    raw jsonb NOT NULL,
    synced_at timestamptz NOT NULL,
    deleted_at timestamptz
);
CREATE INDEX sagemaker_training_job_creation_time ON sagemaker_training_job (creation_time);
CREATE INDEX sagemaker_training_job_status ON sagemaker_training_job (training_job_status);
CREATE INDEX sagemaker_training_job_tuning_job ON sagemaker_training_job (tuning_job_arn);

-- HyperParameters, Environment and tags as rows: WHERE kind = 'hyper_parameters' AND key = 'eta'.
-- The primary key makes the join from a job to its rows an index lookup. A second index on
-- (kind, key) would double the cost of every write for lookups that a scan answers in
-- milliseconds at a million rows.
CREATE TABLE sagemaker_training_job_kv (
    training_job_arn text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('hyper_parameters', 'environment', 'tags')),
    key text NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (training_job_arn, kind, key)
);

-- FinalMetricDataList, one row per metric
CREATE TABLE sagemaker_training_job_metric (
    training_job_arn text NOT NULL,
    metric_name text NOT NULL,
    value double precision,
    timestamp timestamptz
);
CREATE INDEX sagemaker_training_job_metric_job ON sagemaker_training_job_metric (training_job_arn, metric_name);

-- SecondaryStatusTransitions in order, seq from 1
CREATE TABLE sagemaker_training_job_status_transition (
    training_job_arn text NOT NULL,
    seq integer NOT NULL,
    status text,
    start_time timestamptz,
    end_time timestamptz,
    status_message text,
    PRIMARY KEY (training_job_arn, seq)
);
