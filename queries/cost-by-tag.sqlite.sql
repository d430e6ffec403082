-- description: Billable instance-hours by month and by the value of one tag; untagged jobs form their own group
-- param tag_key: the tag whose value groups the jobs, e.g. team
-- Jobs without the tag are grouped as "(untagged)". Instance-hours count as in the cost report.
-- (Tag keys cannot hold a double quote, so the quoted path names any key exactly.)
WITH sets AS (
    -- Jobs of one instance type by tag set, in the order of the index
    -- sagemaker_training_job_instance_usage_sums: a few groups, no sort.
    SELECT month, instance_type, region, tags, count(*) AS jobs, sum(billable_instance_seconds) AS seconds
    FROM sagemaker_training_job_instance_usage
    WHERE seq = 0
    GROUP BY 1, 2, 3, 4
),
usage AS (
    SELECT month, json_extract(tags, '$."' || :tag_key || '"') AS tag_value, instance_type, region,
           sum(jobs) AS jobs, sum(seconds) AS seconds
    FROM sets
    GROUP BY 1, 2, 3, 4
    UNION ALL
    -- Heterogeneous clusters: a job with two groups of one type counts once.
    SELECT month, json_extract(tags, '$."' || :tag_key || '"'), instance_type, region,
           count(DISTINCT training_job_arn), sum(billable_instance_seconds)
    FROM sagemaker_training_job_instance_usage
    WHERE seq > 0
    GROUP BY 1, 2, 3, 4
)
SELECT
    u.month,
    coalesce(u.tag_value, '(untagged)') AS tag_value,
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
