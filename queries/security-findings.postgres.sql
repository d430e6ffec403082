-- description: Jobs missing at least one of network isolation, inter-container encryption, a VPC, a volume KMS key, an output KMS key, newest first
-- param limit = 1000: how many jobs, the newest (the list is as long as the inventory where few jobs have all five)
-- Jobs the API no longer returns (deleted_at set) are left out. security-posture counts the same per account and region.
SELECT training_job_name, account_id, region, training_job_status, network_isolation, inter_container_encryption,
       vpc, volume_kms_key, output_kms_key
FROM (
    SELECT
        training_job_name,
        account_id,
        region,
        training_job_status,
        creation_time,
        CASE WHEN coalesce(enable_network_isolation, false) THEN 'yes' ELSE 'no' END AS network_isolation,
        CASE WHEN coalesce(enable_inter_container_traffic_encryption, false) THEN 'yes' ELSE 'no' END AS inter_container_encryption,
        CASE WHEN jsonb_typeof(vpc_config->'Subnets') = 'array' AND jsonb_array_length(vpc_config->'Subnets') > 0
            THEN 'yes' ELSE 'no' END AS vpc,
        CASE WHEN coalesce(resource_config->>'VolumeKmsKeyId', '') <> '' THEN 'yes' ELSE 'no' END AS volume_kms_key,
        CASE WHEN coalesce(output_data_config->>'KmsKeyId', '') <> '' THEN 'yes' ELSE 'no' END AS output_kms_key
    FROM sagemaker_training_job
    WHERE deleted_at IS NULL
) s
WHERE 'no' IN (network_isolation, inter_container_encryption, vpc, volume_kms_key, output_kms_key)
ORDER BY creation_time DESC, training_job_name
LIMIT CAST(:limit AS integer)
