-- description: Spend by month, account and region, in hours and dollars as in the cost query
-- Instance-hours and dollars count as in the cost query; a heterogeneous cluster's job counts
-- once in jobs.
-- priced_usd is what has a price of the three (estimated_usd when nothing lacks one): the
-- page's charts draw it, with unpriced_instance_hours beside.
WITH usage AS (
    -- In the order of the index sagemaker_training_job_instance_usage_accounts.
    SELECT month, account_id, region, instance_type,
           -- A job once, by its row with seq 0 (one type) or 1 (a cluster's first group).
           sum(CASE WHEN seq <= 1 THEN 1 ELSE 0 END) AS jobs,
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
    SELECT month, account_id, region, jobs, seconds,
           CASE WHEN seconds = 0 THEN 0.0 ELSE seconds / 3600.0 * rate END AS compute,
           CASE WHEN warm_seconds = 0 THEN 0.0 ELSE warm_seconds / 3600.0 * rate END AS warm,
           CASE WHEN gb_seconds = 0 THEN 0.0 ELSE gb_seconds / 3600.0 / 730.0 * gb_rate END AS storage,
           CASE WHEN rate IS NULL THEN seconds + warm_seconds ELSE 0 END AS unpriced_seconds
    FROM rated
)
SELECT
    p.month,
    p.account_id,
    p.region,
    sum(p.jobs)::bigint AS jobs,
    sum(p.seconds)::bigint AS billable_instance_seconds,
    round(sum(p.seconds) / 3600.0, 3)::float8 AS instance_hours,
    CASE WHEN count(p.compute) = count(*) THEN round(sum(p.compute)::numeric, 2)::float8 END AS compute_usd,
    CASE WHEN count(p.warm) = count(*) THEN round(sum(p.warm)::numeric, 2)::float8 END AS warm_pool_usd,
    CASE WHEN count(p.storage) = count(*) THEN round(sum(p.storage)::numeric, 2)::float8 END AS storage_usd,
    round(sum(p.unpriced_seconds) / 3600.0, 3)::float8 AS unpriced_instance_hours,
    CASE WHEN count(p.compute + p.warm) = count(*)
        THEN round(sum(p.compute + p.warm + coalesce(p.storage, 0))::numeric, 2)::float8
    END AS estimated_usd,
    round(sum(coalesce(p.compute + p.warm, 0) + coalesce(p.storage, 0))::numeric, 2)::float8 AS priced_usd
FROM priced p
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
