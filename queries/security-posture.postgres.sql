-- description: Per account and region: jobs, and how many lack network isolation, inter-container encryption, a VPC, a volume KMS key, an output KMS key
-- param from_month = 0000-00: the first month counted, YYYY-MM (of training_start_time, else creation_time)
-- Jobs the API no longer returns (deleted_at set) are left out. missing_any counts the jobs that
-- lack at least one; security-findings lists them. Read from the usage rows, which carry each
-- job's controls (migration 18): a job's row with seq 0 (one instance type) or 1 (a cluster's
-- first group) stands for it.
SELECT
    account_id,
    region,
    count(*)::bigint AS jobs,
    count(*) FILTER (WHERE NOT has_network_isolation)::bigint AS without_network_isolation,
    count(*) FILTER (WHERE NOT has_inter_container_encryption)::bigint AS without_inter_container_encryption,
    count(*) FILTER (WHERE NOT has_vpc)::bigint AS without_vpc,
    count(*) FILTER (WHERE NOT has_volume_kms_key)::bigint AS without_volume_kms_key,
    count(*) FILTER (WHERE NOT has_output_kms_key)::bigint AS without_output_kms_key,
    count(*) FILTER (WHERE NOT (has_network_isolation AND has_inter_container_encryption AND has_vpc
        AND has_volume_kms_key AND has_output_kms_key))::bigint AS missing_any
FROM sagemaker_training_job_instance_usage
WHERE seq <= 1 AND deleted_at IS NULL
  AND (:from_month = '0000-00' OR month >= :from_month)
GROUP BY 1, 2
ORDER BY 1, 2
