-- description: Per account and region: jobs, and how many lack network isolation, inter-container encryption, a VPC, a volume KMS key, an output KMS key
-- param from_month = 0000-00: the first month counted, YYYY-MM (of training_start_time, else creation_time)
-- Jobs the API no longer returns (deleted_at set) are left out. missing_any counts the jobs that
-- lack at least one; security-findings lists them.
SELECT
    account_id,
    region,
    count(*)::bigint AS jobs,
    sum(no_isolation)::bigint AS without_network_isolation,
    sum(no_encryption)::bigint AS without_inter_container_encryption,
    sum(no_vpc)::bigint AS without_vpc,
    sum(no_volume_kms)::bigint AS without_volume_kms_key,
    sum(no_output_kms)::bigint AS without_output_kms_key,
    sum(greatest(no_isolation, no_encryption, no_vpc, no_volume_kms, no_output_kms))::bigint AS missing_any
FROM (
    SELECT
        account_id,
        region,
        (NOT coalesce(enable_network_isolation, false))::int AS no_isolation,
        (NOT coalesce(enable_inter_container_traffic_encryption, false))::int AS no_encryption,
        (NOT (jsonb_typeof(vpc_config->'Subnets') = 'array' AND jsonb_array_length(vpc_config->'Subnets') > 0)
            OR vpc_config IS NULL)::int AS no_vpc,
        (coalesce(resource_config->>'VolumeKmsKeyId', '') = '')::int AS no_volume_kms,
        (coalesce(output_data_config->>'KmsKeyId', '') = '')::int AS no_output_kms
    FROM sagemaker_training_job
    WHERE deleted_at IS NULL
      AND (:from_month = '0000-00'
           OR to_char(coalesce(training_start_time, creation_time) AT TIME ZONE 'UTC', 'YYYY-MM') >= :from_month)
) s
GROUP BY 1, 2
ORDER BY 1, 2
