-- description: Billable instance-hours by month, account and region, with dollars when prices are loaded
-- Instance-hours and estimated_usd count as in the cost report; a heterogeneous cluster's job
-- counts once in jobs.
SELECT
    u.month,
    u.account_id,
    u.region,
    count(DISTINCT u.training_job_arn) AS jobs,
    sum(u.billable_instance_seconds) AS billable_instance_seconds,
    round(sum(u.billable_instance_seconds) / 3600.0, 3) AS instance_hours,
    CASE WHEN count(coalesce(p.usd_per_hour, pw.usd_per_hour)) = count(*)
        THEN round(sum(u.billable_instance_seconds / 3600.0 * coalesce(p.usd_per_hour, pw.usd_per_hour)), 2)
    END AS estimated_usd
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_price p ON p.instance_type = u.instance_type AND p.region = u.region
LEFT JOIN instance_price pw ON pw.instance_type = u.instance_type AND pw.region = '*'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
