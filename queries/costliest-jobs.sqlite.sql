-- description: The costliest jobs since a month: instance-hours and dollars per job, most first
-- param from_month = 0000-00: the first month counted, YYYY-MM
-- param limit = 20: how many jobs
-- Dollars as in the cost report (compute, warm pool and storage: sagemaker_training_job_cost);
-- jobs with an instance type or region without a price have none and come after the priced ones,
-- by instance-hours. A job of one instance type is one usage row:
-- the costliest of those are a top-N pass over the rows, with no grouping of a million jobs; only
-- heterogeneous clusters' instance groups are summed per job.
-- (`+u.month`: SQLite reads the usage table in order rather than through the month of an
-- index and a lookup per row, a third of the time at a million jobs; BENCHMARKS.md.)
WITH single AS (
    SELECT
        u.training_job_name, u.account_id, u.region, u.instance_type, u.month,
        u.billable_instance_seconds AS seconds,
        u.compute_usd + u.warm_pool_usd + coalesce(u.storage_usd, 0) AS usd
    FROM sagemaker_training_job_cost u
    WHERE u.seq = 0 AND +u.month >= :from_month AND u.billable_instance_seconds > 0
    ORDER BY usd DESC NULLS LAST, seconds DESC, u.training_job_name
    LIMIT CAST(:limit AS integer)
),
clusters AS (
    SELECT
        u.training_job_name, u.account_id, u.region, group_concat(DISTINCT u.instance_type) AS instance_type, u.month,
        sum(u.billable_instance_seconds) AS seconds,
        CASE WHEN count(u.compute_usd + u.warm_pool_usd) = count(*)
            THEN sum(u.compute_usd + u.warm_pool_usd + coalesce(u.storage_usd, 0))
        END AS usd
    FROM sagemaker_training_job_cost u
    WHERE u.seq > 0 AND +u.month >= :from_month AND u.billable_instance_seconds > 0
    GROUP BY u.training_job_arn, u.training_job_name, u.account_id, u.region, u.month
),
jobs AS (
    SELECT * FROM single
    UNION ALL
    SELECT * FROM clusters
)
SELECT
    training_job_name,
    account_id,
    region,
    instance_type,
    month,
    round(seconds / 3600.0, 3) AS instance_hours,
    round(usd, 2) AS estimated_usd
FROM jobs
ORDER BY usd DESC NULLS LAST, seconds DESC, training_job_name
LIMIT CAST(:limit AS integer)
