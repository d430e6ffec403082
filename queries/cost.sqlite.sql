-- description: Billable instance-hours by month and instance type (billable seconds × instance count ÷ 3600)
-- The month is that of training_start_time (creation_time for jobs that never started), in UTC.
-- Heterogeneous clusters count each instance group with its own type and count; jobs without
-- billable time count 0. estimated_usd appears when instance_price has rows, and is empty for a
-- group with an instance type or region that has no price.
WITH usage AS (
    -- Jobs of one instance type: one row each.
    SELECT month, instance_type, region, count(*) AS jobs, sum(billable_instance_seconds) AS seconds
    FROM sagemaker_training_job_instance_usage
    WHERE seq = 0
    GROUP BY 1, 2, 3
    UNION ALL
    -- Heterogeneous clusters: a job with two groups of one type counts once.
    SELECT month, instance_type, region, count(DISTINCT training_job_arn), sum(billable_instance_seconds)
    FROM sagemaker_training_job_instance_usage
    WHERE seq > 0
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
