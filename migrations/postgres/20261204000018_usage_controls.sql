-- security-posture at a million jobs (issues 29, 31): each usage row carries its job's five
-- security controls (true: the job has it), so security-posture and security-findings read the
-- narrow usage rows instead of the job table's 2 GB of rows (posture 0.8 s at a million jobs,
-- most of the page's time on Postgres; BENCHMARKS.md). store::children derives them with the
-- usage rows' other job columns, its `controls` the one statement of the rule; the UPDATE below
-- writes it out once more for the rows stored before. A job's row with seq 0 (one instance type)
-- or 1 (a cluster's first group) stands for it.
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_network_isolation boolean;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_inter_container_encryption boolean;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_vpc boolean;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_volume_kms_key boolean;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_output_kms_key boolean;

UPDATE sagemaker_training_job_instance_usage AS u
SET has_network_isolation = coalesce(c.enable_network_isolation, false),
    has_inter_container_encryption = coalesce(c.enable_inter_container_traffic_encryption, false),
    has_vpc = CASE WHEN jsonb_typeof(c.vpc_config->'Subnets') = 'array'
        THEN jsonb_array_length(c.vpc_config->'Subnets') > 0 ELSE false END,
    has_volume_kms_key = coalesce(c.resource_config->>'VolumeKmsKeyId', '') <> '',
    has_output_kms_key = coalesce(c.output_data_config->>'KmsKeyId', '') <> ''
FROM sagemaker_training_job c
WHERE c._key = u.training_job_arn;

-- The two reports read this index alone (an index-only scan once the table is vacuumed), in the
-- order security-posture groups by.
CREATE INDEX sagemaker_training_job_instance_usage_controls ON sagemaker_training_job_instance_usage (
    account_id, region, month
) INCLUDE (has_network_isolation, has_inter_container_encryption, has_vpc, has_volume_kms_key,
    has_output_kms_key)
WHERE seq <= 1 AND deleted_at IS NULL;

-- Heterogeneous clusters' groups, a tenth of the usage rows at most, in the order cost groups and
-- counts them: cost, costliest-jobs and idle-gpu read them here instead of scanning every usage
-- row for them (at a million jobs: cost 1.0 → 0.6 s of CPU, costliest-jobs 1.3 → 1.0, idle-gpu
-- 1.1 → 0.8; BENCHMARKS.md).
CREATE INDEX sagemaker_training_job_instance_usage_clusters ON sagemaker_training_job_instance_usage (
    month, instance_type, region, training_job_arn
) INCLUDE (billable_instance_seconds, warm_pool_instance_seconds, storage_gb_seconds,
    gpu_utilization_pct)
WHERE seq > 0;
