-- description: The costliest jobs since a month: instance-hours and dollars per job, most first
-- param from_month = 0000-00: the first month counted, YYYY-MM
-- param limit = 20: how many jobs
-- Dollars as in the cost report; jobs with an instance type or region without a price have none
-- and come after the priced ones, by instance-hours.
SELECT
    u.training_job_name,
    u.account_id,
    u.region,
    group_concat(DISTINCT u.instance_type) AS instance_type,
    u.month,
    round(sum(u.billable_instance_seconds) / 3600.0, 3) AS instance_hours,
    CASE WHEN count(coalesce(p.usd_per_hour, pw.usd_per_hour)) = count(*)
        THEN round(sum(u.billable_instance_seconds / 3600.0 * coalesce(p.usd_per_hour, pw.usd_per_hour)), 2)
    END AS estimated_usd
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_price p ON p.instance_type = u.instance_type AND p.region = u.region
LEFT JOIN instance_price pw ON pw.instance_type = u.instance_type AND pw.region = '*'
WHERE u.month >= :from_month AND u.billable_instance_seconds > 0
GROUP BY u.training_job_arn, u.training_job_name, u.account_id, u.region, u.month
ORDER BY estimated_usd DESC NULLS LAST, instance_hours DESC, u.training_job_name
LIMIT CAST(:limit AS integer)
