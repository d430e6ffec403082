-- description: Per account and region: jobs, and how many lack network isolation, inter-container encryption, a VPC, a volume KMS key, an output KMS key
-- Jobs the API no longer returns (deleted_at set) are left out. missing_any counts the jobs that
-- lack at least one; security-findings lists them.
SELECT
    account_id,
    region,
    count(*) AS jobs,
    sum(no_isolation) AS without_network_isolation,
    sum(no_encryption) AS without_inter_container_encryption,
    sum(no_vpc) AS without_vpc,
    sum(no_volume_kms) AS without_volume_kms_key,
    sum(no_output_kms) AS without_output_kms_key,
    sum(max(no_isolation, no_encryption, no_vpc, no_volume_kms, no_output_kms)) AS missing_any
FROM (
    SELECT
        account_id,
        region,
        NOT coalesce(enable_network_isolation, 0) AS no_isolation,
        NOT coalesce(enable_inter_container_traffic_encryption, 0) AS no_encryption,
        coalesce(json_array_length(vpc_config, '$.Subnets'), 0) = 0 AS no_vpc,
        coalesce(json_extract(resource_config, '$.VolumeKmsKeyId'), '') = '' AS no_volume_kms,
        coalesce(json_extract(output_data_config, '$.KmsKeyId'), '') = '' AS no_output_kms
    FROM sagemaker_training_job
    WHERE deleted_at IS NULL
)
GROUP BY 1, 2
ORDER BY 1, 2
