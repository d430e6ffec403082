-- description: Spend by month and instance type: instance-hours and dollars (compute, warm pool, storage)
-- The month is that of training_start_time (creation_time for jobs that never started), in UTC.
-- Heterogeneous clusters count each instance group with its own type and count; jobs without
-- billable time count 0.
-- compute_usd     billable seconds × instance count × the Training rate of the region and type
--                 (spot jobs' billable seconds already carry their discount)
-- warm_pool_usd   warm pool retained billable seconds × instance count × the same rate
-- storage_usd     volume GB × instance count × billable seconds, at the region's training
--                 GB-month rate (a month of 730 hours)
-- The rates are the views instance_rate (the CSV's for the region, else its `*` row, else the
-- Price List's) and storage_rate. A dollar column is empty when the group has quantities with no
-- price, never 0; unpriced_instance_hours says how many instance-hours. estimated_usd is the
-- three together, empty when instance-hours have no price; storage without a price (storage_usd
-- empty, as with a CSV alone) is left out of it.
-- priced_usd is what has a price of the three (estimated_usd when nothing lacks one): the
-- page's charts draw it, with unpriced_instance_hours beside.
WITH usage AS (
    -- Jobs of one instance type: one row each.
    SELECT month, instance_type, region, count(*) AS jobs,
           sum(billable_instance_seconds) AS seconds, sum(warm_pool_instance_seconds) AS warm_seconds,
           sum(storage_gb_seconds) AS gb_seconds
    FROM sagemaker_training_job_instance_usage
    WHERE seq = 0
    GROUP BY 1, 2, 3
    UNION ALL
    -- Heterogeneous clusters: a job with two groups of one type counts once.
    SELECT month, instance_type, region, count(DISTINCT training_job_arn),
           sum(billable_instance_seconds), sum(warm_pool_instance_seconds), sum(storage_gb_seconds)
    FROM sagemaker_training_job_instance_usage
    WHERE seq > 0
    GROUP BY 1, 2, 3
),
rated AS (
    SELECT u.*, r.usd_per_hour AS rate,
           s.usd_per_gb_month AS gb_rate
    FROM usage u
    LEFT JOIN instance_rate r ON r.instance_type = u.instance_type AND r.region = u.region
    LEFT JOIN storage_rate s ON s.region = u.region
),
priced AS (
    SELECT month, instance_type, jobs, seconds,
           CASE WHEN seconds = 0 THEN 0.0 ELSE seconds / 3600.0 * rate END AS compute,
           CASE WHEN warm_seconds = 0 THEN 0.0 ELSE warm_seconds / 3600.0 * rate END AS warm,
           CASE WHEN gb_seconds = 0 THEN 0.0 ELSE gb_seconds / 3600.0 / 730.0 * gb_rate END AS storage,
           CASE WHEN rate IS NULL THEN seconds + warm_seconds ELSE 0 END AS unpriced_seconds
    FROM rated
)
SELECT
    month,
    instance_type,
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
