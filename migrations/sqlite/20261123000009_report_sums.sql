-- SQLite sorts to group, where Postgres hashes: these indexes hand the reports their rows already
-- in group order, holding everything they read (bench/reports.sh, BENCHMARKS.md).
--
-- cost and cost-by-tag: the usage rows of jobs of one instance type, by month, instance type,
-- region and tag set. cost-by-tag groups by the whole tag set first and reads one tag's value
-- from each of those few groups.
CREATE INDEX sagemaker_training_job_instance_usage_sums ON sagemaker_training_job_instance_usage (
    month, instance_type, region, tags, billable_instance_seconds
) WHERE seq = 0;

-- security-posture: the five controls of every job the API still returns, by account and region.
-- The expressions are the report's, word for word: SQLite matches them by their text.
CREATE INDEX sagemaker_training_job_posture ON sagemaker_training_job (
    account_id,
    region,
    coalesce(enable_network_isolation, 0),
    coalesce(enable_inter_container_traffic_encryption, 0),
    coalesce(json_array_length(vpc_config, '$.Subnets'), 0) > 0,
    coalesce(json_extract(resource_config, '$.VolumeKmsKeyId'), '') <> '',
    coalesce(json_extract(output_data_config, '$.KmsKeyId'), '') <> ''
) WHERE deleted_at IS NULL;
