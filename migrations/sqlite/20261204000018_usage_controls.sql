-- security-posture at a million jobs (issues 29, 31): each usage row carries its job's five
-- security controls (1: the job has it), so security-posture and security-findings read the
-- narrow usage rows instead of the job table, and the rule is written once: store::children
-- derives them with the usage rows' other job columns (its `controls`); the UPDATE below writes
-- it out once more for the rows stored before. A job's row with seq 0 (one instance type) or 1
-- (a cluster's first group) stands for it. The index on the job table's expressions that
-- security-posture read (migration 14) gives way to one on these columns.
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_network_isolation INTEGER;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_inter_container_encryption INTEGER;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_vpc INTEGER;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_volume_kms_key INTEGER;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN has_output_kms_key INTEGER;

UPDATE sagemaker_training_job_instance_usage AS u
SET has_network_isolation = coalesce(c.enable_network_isolation, 0) <> 0,
    has_inter_container_encryption = coalesce(c.enable_inter_container_traffic_encryption, 0) <> 0,
    has_vpc = coalesce(json_array_length(c.vpc_config, '$.Subnets'), 0) > 0,
    has_volume_kms_key = coalesce(json_extract(c.resource_config, '$.VolumeKmsKeyId'), '') <> '',
    has_output_kms_key = coalesce(json_extract(c.output_data_config, '$.KmsKeyId'), '') <> ''
FROM sagemaker_training_job c
WHERE c._key = u.training_job_arn;

-- security-posture reads this index alone, in the order it groups by. seq and deleted_at are in it
-- too, though its WHERE fixes them: SQLite reads a column the query names from the row unless the
-- index holds it (1.1 s at a million jobs without them, 0.35 s with).
CREATE INDEX sagemaker_training_job_instance_usage_controls ON sagemaker_training_job_instance_usage (
    account_id, region, month, has_network_isolation, has_inter_container_encryption, has_vpc,
    has_volume_kms_key, has_output_kms_key, seq, deleted_at
) WHERE seq <= 1 AND deleted_at IS NULL;
DROP INDEX sagemaker_training_job_posture_by_month;

-- cost-by-tag counts a heterogeneous cluster once, by its first group (seq 1), instead of once
-- per instance type: the clusters' covering index (migration 15) gains seq.
DROP INDEX sagemaker_training_job_instance_usage_clusters;
CREATE INDEX sagemaker_training_job_instance_usage_clusters ON sagemaker_training_job_instance_usage (
    month, instance_type, region, tags, billable_instance_seconds, warm_pool_instance_seconds,
    storage_gb_seconds, gpu_utilization_pct, seq
) WHERE seq > 0;

-- costliest-jobs and idle-gpu sum each heterogeneous cluster's groups per job: in job order from
-- this index, where they sorted them (costliest-jobs 0.22 → 0.14 s on 200,000 jobs of
-- bench/fresh.sh's shape, a fifth of them clusters).
CREATE INDEX sagemaker_training_job_instance_usage_cluster_jobs ON sagemaker_training_job_instance_usage (
    training_job_arn, month, instance_type, region, billable_instance_seconds,
    warm_pool_instance_seconds, storage_gb_seconds, gpu_utilization_pct
) WHERE seq > 0;
