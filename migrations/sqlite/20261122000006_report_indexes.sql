-- What the canned reports need at a million jobs (bench/reports.sh; figures in BENCHMARKS.md).
--
-- cost: one entry per job with a single instance type (every job but heterogeneous clusters)
-- holding all the report sums, so it reads neither rows nor JSON.
CREATE INDEX sagemaker_training_job_usage ON sagemaker_training_job (
    substr(coalesce(training_start_time, creation_time), 1, 7),
    json_extract(resource_config, '$.InstanceType'),
    region,
    billable_time_in_seconds,
    json_extract(resource_config, '$.InstanceCount')
) WHERE coalesce(json_array_length(resource_config, '$.InstanceGroups'), 0) = 0;

-- cost: the heterogeneous clusters, whose instance groups are read from resource_config.
CREATE INDEX sagemaker_training_job_instance_groups ON sagemaker_training_job (_key)
    WHERE coalesce(json_array_length(resource_config, '$.InstanceGroups'), 0) > 0;

-- spot-savings: the spot jobs alone, with what the report sums.
CREATE INDEX sagemaker_training_job_spot ON sagemaker_training_job (
    substr(coalesce(training_start_time, creation_time), 1, 7),
    training_time_in_seconds,
    billable_time_in_seconds
) WHERE enable_managed_spot_training = 1;

-- tuning-leaderboard given a tuning job's name rather than its ARN.
CREATE INDEX sagemaker_training_job_tuning_job_name ON sagemaker_training_job (
    substr(tuning_job_arn, instr(tuning_job_arn, ':hyper-parameter-tuning-job/') + 28)
) WHERE instr(tuning_job_arn, ':hyper-parameter-tuning-job/') > 0;

-- Tags by key and value (WHERE kind = 'tags' AND key = 'team' AND value = 'search'): three or so
-- per job. Hyperparameters (twenty or so per job) get no such index: it would cost the load more
-- than the lookups it speeds up (BENCHMARKS.md).
CREATE INDEX sagemaker_training_job_kv_tags ON sagemaker_training_job_kv (key, value)
    WHERE kind = 'tags';
