-- description: Billable instance-hours by month and instance type (billable seconds × instance count ÷ 3600)
-- The month is that of training_start_time (creation_time for jobs that never started), in UTC.
-- Heterogeneous clusters count each instance group with its own type and count; jobs without
-- billable time count 0. estimated_usd appears when instance_price has rows, and is empty for a
-- group with an instance type or region that has no price.
SELECT
    to_char(coalesce(u.training_start_time, u.creation_time) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
    u.instance_type,
    count(DISTINCT u.training_job_arn)::bigint AS jobs,
    sum(u.billable_instance_seconds)::bigint AS billable_instance_seconds,
    round(sum(u.billable_instance_seconds) / 3600.0, 3)::float8 AS instance_hours,
    CASE WHEN count(coalesce(p.usd_per_hour, pw.usd_per_hour)) = count(*)
        THEN round(sum(u.billable_instance_seconds / 3600.0 * coalesce(p.usd_per_hour, pw.usd_per_hour))::numeric, 2)::float8
    END AS estimated_usd
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_price p ON p.instance_type = u.instance_type AND p.region = u.region
LEFT JOIN instance_price pw ON pw.instance_type = u.instance_type AND pw.region = '*'
GROUP BY 1, 2
ORDER BY 1, 2
