-- description: Spend by month and by the value of one tag, in hours and dollars as in the cost query; untagged jobs form their own group
-- param tag_key: the tag whose value groups the jobs, e.g. team
-- Jobs without the tag are grouped as "(untagged)". Instance-hours and dollars count as in the
-- cost query; a job counts once, a heterogeneous cluster's instance types together.
-- priced_usd is what has a price of the three (estimated_usd when nothing lacks one): the
-- page's charts draw it, with unpriced_instance_hours beside.
WITH usage AS (
    -- One pass over the usage rows. A job counts once: in the group of its row with seq 0 (one
    -- instance type) or 1 (a heterogeneous cluster's first group).
    SELECT month, tags->>:tag_key AS tag_value, instance_type, region,
           count(*) FILTER (WHERE seq <= 1) AS jobs,
           sum(billable_instance_seconds) AS seconds, sum(warm_pool_instance_seconds) AS warm_seconds,
           sum(storage_gb_seconds) AS gb_seconds
    FROM sagemaker_training_job_instance_usage
    GROUP BY 1, 2, 3, 4
),
rated AS (
    SELECT u.*, r.usd_per_hour AS rate,
           s.usd_per_gb_month AS gb_rate
    FROM usage u
    LEFT JOIN instance_rate r ON r.instance_type = u.instance_type AND r.region = u.region
    LEFT JOIN storage_rate s ON s.region = u.region
),
priced AS (
    SELECT month, coalesce(tag_value, '(untagged)') AS tag_value, jobs, seconds,
           CASE WHEN seconds = 0 THEN 0.0 ELSE seconds / 3600.0 * rate END AS compute,
           CASE WHEN warm_seconds = 0 THEN 0.0 ELSE warm_seconds / 3600.0 * rate END AS warm,
           CASE WHEN gb_seconds = 0 THEN 0.0 ELSE gb_seconds / 3600.0 / 730.0 * gb_rate END AS storage,
           CASE WHEN rate IS NULL THEN seconds + warm_seconds ELSE 0 END AS unpriced_seconds
    FROM rated
)
SELECT
    month,
    tag_value,
    sum(jobs)::bigint AS jobs,
    sum(seconds)::bigint AS billable_instance_seconds,
    round(sum(seconds) / 3600.0, 3)::float8 AS instance_hours,
    CASE WHEN count(compute) = count(*) THEN round(sum(compute)::numeric, 2)::float8 END AS compute_usd,
    CASE WHEN count(warm) = count(*) THEN round(sum(warm)::numeric, 2)::float8 END AS warm_pool_usd,
    CASE WHEN count(storage) = count(*) THEN round(sum(storage)::numeric, 2)::float8 END AS storage_usd,
    round(sum(unpriced_seconds) / 3600.0, 3)::float8 AS unpriced_instance_hours,
    CASE WHEN count(compute + warm) = count(*)
        THEN round(sum(compute + warm + coalesce(storage, 0))::numeric, 2)::float8
    END AS estimated_usd,
    round(sum(coalesce(compute + warm, 0) + coalesce(storage, 0))::numeric, 2)::float8 AS priced_usd
FROM priced
GROUP BY 1, 2
ORDER BY 1, 2
