-- description: Billable instance-hours by month and instance type (billable seconds × instance count ÷ 3600)
-- The month is that of training_start_time (creation_time for jobs that never started), in UTC.
-- Heterogeneous clusters count each instance group with its own type and count; jobs without
-- billable time count 0. estimated_usd appears when instance_price has rows, and is empty for a
-- group with an instance type or region that has no price. The same figures as summing
-- sagemaker_training_job_instance_usage, computed from the indexes of migration 6.
WITH usage AS (
    -- Jobs of one instance type, read from the index sagemaker_training_job_usage alone.
    SELECT
        substr(coalesce(training_start_time, creation_time), 1, 7) AS month,
        json_extract(resource_config, '$.InstanceType') AS instance_type,
        region,
        count(*) AS jobs,
        sum(coalesce(billable_time_in_seconds, 0) * coalesce(json_extract(resource_config, '$.InstanceCount'), 0)) AS seconds
    FROM sagemaker_training_job
    WHERE coalesce(json_array_length(resource_config, '$.InstanceGroups'), 0) = 0
    GROUP BY 1, 2, 3
    UNION ALL
    -- Heterogeneous clusters: each instance group with its own type and count.
    SELECT
        substr(coalesce(j.training_start_time, j.creation_time), 1, 7),
        json_extract(g.value, '$.InstanceType'),
        j.region,
        count(DISTINCT j._key),
        sum(coalesce(j.billable_time_in_seconds, 0) * coalesce(json_extract(g.value, '$.InstanceCount'), 0))
    FROM sagemaker_training_job j, json_each(j.resource_config, '$.InstanceGroups') g
    WHERE coalesce(json_array_length(j.resource_config, '$.InstanceGroups'), 0) > 0
    GROUP BY 1, 2, 3
)
SELECT
    u.month,
    u.instance_type,
    sum(u.jobs) AS jobs,
    sum(u.seconds) AS billable_instance_seconds,
    round(sum(u.seconds) / 3600.0, 3) AS instance_hours,
    CASE WHEN count(coalesce(p.usd_per_hour, pw.usd_per_hour)) = count(*)
        THEN round(sum(u.seconds / 3600.0 * coalesce(p.usd_per_hour, pw.usd_per_hour)), 2)
    END AS estimated_usd
FROM usage u
LEFT JOIN instance_price p ON p.instance_type = u.instance_type AND p.region = u.region
LEFT JOIN instance_price pw ON pw.instance_type = u.instance_type AND pw.region = '*'
GROUP BY 1, 2
ORDER BY 1, 2
