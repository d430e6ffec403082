-- description: Jobs missing at least one of network isolation, inter-container encryption, a VPC, a volume KMS key, an output KMS key, newest first
-- param limit = 1000: how many jobs, the newest (the list is as long as the inventory where few jobs have all five)
-- Jobs the API no longer returns (deleted_at set) are left out. security-posture counts the same per account and region.
-- Read from the usage rows, which carry each job's controls (migration 18): a job's row with seq 0
-- (one instance type) or 1 (a cluster's first group) stands for it.
SELECT
    training_job_name,
    account_id,
    region,
    training_job_status,
    CASE WHEN has_network_isolation THEN 'yes' ELSE 'no' END AS network_isolation,
    CASE WHEN has_inter_container_encryption THEN 'yes' ELSE 'no' END AS inter_container_encryption,
    CASE WHEN has_vpc THEN 'yes' ELSE 'no' END AS vpc,
    CASE WHEN has_volume_kms_key THEN 'yes' ELSE 'no' END AS volume_kms_key,
    CASE WHEN has_output_kms_key THEN 'yes' ELSE 'no' END AS output_kms_key
FROM sagemaker_training_job_instance_usage
WHERE seq <= 1 AND deleted_at IS NULL
  AND NOT (has_network_isolation AND has_inter_container_encryption AND has_vpc
      AND has_volume_kms_key AND has_output_kms_key)
ORDER BY creation_time DESC, training_job_name
LIMIT CAST(:limit AS integer)
