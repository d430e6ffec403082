-- description: Billable instance-hours by month and by the value of one tag; untagged jobs form their own group
-- param tag_key: the tag whose value groups the jobs, e.g. team
-- Jobs without the tag are grouped as "(untagged)". Instance-hours count as in the cost report.
SELECT
    to_char(coalesce(u.training_start_time, u.creation_time) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
    coalesce(t.value, '(untagged)') AS tag_value,
    count(DISTINCT u.training_job_arn)::bigint AS jobs,
    sum(u.billable_instance_seconds)::bigint AS billable_instance_seconds,
    round(sum(u.billable_instance_seconds) / 3600.0, 3)::float8 AS instance_hours,
    CASE WHEN count(coalesce(p.usd_per_hour, pw.usd_per_hour)) = count(*)
        THEN round(sum(u.billable_instance_seconds / 3600.0 * coalesce(p.usd_per_hour, pw.usd_per_hour))::numeric, 2)::float8
    END AS estimated_usd
FROM sagemaker_training_job_instance_usage u
LEFT JOIN sagemaker_training_job_kv t
    ON t.training_job_arn = u.training_job_arn AND t.kind = 'tags' AND t.key = :tag_key
LEFT JOIN instance_price p ON p.instance_type = u.instance_type AND p.region = u.region
LEFT JOIN instance_price pw ON pw.instance_type = u.instance_type AND pw.region = '*'
GROUP BY 1, 2
ORDER BY 1, 2
