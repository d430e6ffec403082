-- description: Instance-hours and dollars spent on failed and stopped jobs since a month, by status and failure reason (its first line)
-- param from_month = 0000-00: the first month counted, YYYY-MM
-- Dollars as in the cost report: empty for a group with an instance type or region without a price.
SELECT
    u.training_job_status,
    coalesce(split_part(u.failure_reason, chr(10), 1), '(no reason given)') AS failure_reason,
    sum(CASE WHEN u.seq <= 1 THEN 1 ELSE 0 END)::bigint AS jobs,
    round(sum(u.billable_instance_seconds) / 3600.0, 3)::float8 AS instance_hours,
    CASE WHEN count(coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour)) = count(*)
        THEN round(sum(u.billable_instance_seconds / 3600.0 * coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour))::numeric, 2)::float8
    END AS estimated_usd
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_price p ON p.instance_type = u.instance_type AND p.region = u.region
LEFT JOIN instance_price pw ON pw.instance_type = u.instance_type AND pw.region = '*'
LEFT JOIN price_list_training pl ON pl.instance_type = u.instance_type AND pl.region = u.region
WHERE u.training_job_status IN ('Failed', 'Stopped') AND u.month >= :from_month
GROUP BY 1, 2
ORDER BY estimated_usd DESC NULLS LAST, instance_hours DESC, jobs DESC, 2
