-- description: Per account and region: jobs, and how many lack network isolation, inter-container encryption, a VPC, a volume KMS key, an output KMS key
-- param from_month = 0000-00: the first month counted, YYYY-MM (of training_start_time, else creation_time)
-- Jobs the API no longer returns (deleted_at set) are left out. missing_any counts the jobs that
-- lack at least one; security-findings lists them.
SELECT account_id, region, count(*) AS jobs,
    sum(NOT isolation) AS without_network_isolation,
    sum(NOT encryption) AS without_inter_container_encryption,
    sum(NOT vpc) AS without_vpc,
    sum(NOT volume_kms) AS without_volume_kms_key,
    sum(NOT output_kms) AS without_output_kms_key,
    sum(NOT (isolation AND encryption AND vpc AND volume_kms AND output_kms)) AS missing_any
FROM (
    -- Word for word the expressions of the index sagemaker_training_job_posture_by_month.
    SELECT account_id, region,
        coalesce(enable_network_isolation, 0) AS isolation,
        coalesce(enable_inter_container_traffic_encryption, 0) AS encryption,
        coalesce(json_array_length(vpc_config, '$.Subnets'), 0) > 0 AS vpc,
        coalesce(json_extract(resource_config, '$.VolumeKmsKeyId'), '') <> '' AS volume_kms,
        coalesce(json_extract(output_data_config, '$.KmsKeyId'), '') <> '' AS output_kms
    FROM sagemaker_training_job
    WHERE deleted_at IS NULL
      AND (:from_month = '0000-00' OR coalesce(training_start_time, creation_time) >= :from_month)
)
GROUP BY 1, 2
ORDER BY 1, 2
