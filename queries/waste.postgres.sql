-- description: Instance-hours and dollars spent on failed and stopped jobs since a month, by status and failure reason (its first line)
-- param from_month = 0000-00: the first month counted, YYYY-MM
-- estimated_usd is the cost query's compute_usd over the group's rows: empty when one of them
-- has billable seconds and no price.
SELECT
    u.training_job_status,
    coalesce(split_part(u.failure_reason, chr(10), 1), '(no reason given)') AS failure_reason,
    sum(CASE WHEN u.seq <= 1 THEN 1 ELSE 0 END)::bigint AS jobs,
    round(sum(u.billable_instance_seconds) / 3600.0, 3)::float8 AS instance_hours,
    CASE WHEN count(u.compute) = count(*) THEN round(sum(u.compute)::numeric, 2)::float8 END AS estimated_usd
FROM (
    SELECT u.*,
           CASE WHEN u.billable_instance_seconds = 0 THEN 0.0
                ELSE u.billable_instance_seconds::float8 / 3600 * r.usd_per_hour
           END AS compute
    FROM sagemaker_training_job_instance_usage u
    LEFT JOIN instance_rate r ON r.instance_type = u.instance_type AND r.region = u.region
) u
WHERE u.training_job_status IN ('Failed', 'Stopped') AND u.month >= :from_month
GROUP BY 1, 2
ORDER BY estimated_usd DESC NULLS LAST, instance_hours DESC, jobs DESC, 2
