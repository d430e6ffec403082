-- description: Jobs missing at least one of network isolation, inter-container encryption, a VPC, a volume KMS key, an output KMS key, newest first
-- param limit = 1000: how many jobs, the newest (the list is as long as the inventory where few jobs have all five)
-- Jobs the API no longer returns (deleted_at set) are left out. security-posture counts the same per account and region.
-- The controls are read from the usage rows, which carry each job's (migration 18): a job's row
-- with seq 0 (one instance type) or 1 (a cluster's first group) stands for it. The jobs are
-- walked newest first in the job table's creation_time index, so the newest few are found
-- without reading the rest (CROSS JOIN: SQLite keeps that order of the tables).
SELECT
    j.training_job_name,
    j.account_id,
    j.region,
    j.training_job_status,
    CASE WHEN u.has_network_isolation THEN 'yes' ELSE 'no' END AS network_isolation,
    CASE WHEN u.has_inter_container_encryption THEN 'yes' ELSE 'no' END AS inter_container_encryption,
    CASE WHEN u.has_vpc THEN 'yes' ELSE 'no' END AS vpc,
    CASE WHEN u.has_volume_kms_key THEN 'yes' ELSE 'no' END AS volume_kms_key,
    CASE WHEN u.has_output_kms_key THEN 'yes' ELSE 'no' END AS output_kms_key
FROM sagemaker_training_job j
CROSS JOIN sagemaker_training_job_instance_usage u ON u.training_job_arn = j._key AND u.seq <= 1
WHERE j.deleted_at IS NULL
  AND NOT (u.has_network_isolation AND u.has_inter_container_encryption AND u.has_vpc
      AND u.has_volume_kms_key AND u.has_output_kms_key)
ORDER BY j.creation_time DESC, j.training_job_name
LIMIT CAST(:limit AS integer)
