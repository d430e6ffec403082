-- description: The costliest jobs since a month: instance-hours and dollars per job, most first
-- param from_month = 0000-00: the first month counted, YYYY-MM
-- param limit = 20: how many jobs
-- Dollars as in the cost query (compute, warm pool and storage: sagemaker_training_job_cost);
-- jobs with an instance type or region without a price have none and come after the priced ones,
-- by instance-hours; ties go by ARN. The jobs are ranked from the cost view's rows, which the
-- usage indexes hold in full (a job of one instance type is one row, only heterogeneous
-- clusters' groups are summed per job); only the jobs listed are then read in full (CROSS JOIN:
-- from the listed jobs to their rows, never the other way round, which SQLite chose at times).
WITH single AS (
    -- Jobs of one instance type: a row each, the costliest first.
    SELECT training_job_arn, billable_instance_seconds AS seconds,
           compute_usd + warm_pool_usd + coalesce(storage_usd, 0) AS usd
    FROM sagemaker_training_job_cost
    WHERE seq = 0 AND month >= :from_month AND billable_instance_seconds > 0
    ORDER BY usd DESC NULLS LAST, seconds DESC, training_job_arn
    LIMIT CAST(:limit AS integer)
),
clusters AS (
    -- Heterogeneous clusters: their instance groups.
    -- In job order (creation_time, then ARN), from the index
    -- sagemaker_training_job_instance_usage_cluster_jobs: grouped as read, with no sort.
    SELECT creation_time, training_job_arn, billable_instance_seconds AS seconds,
           compute_usd + warm_pool_usd AS usd, coalesce(storage_usd, 0) AS storage_usd
    FROM sagemaker_training_job_cost
    WHERE seq > 0 AND month >= :from_month AND billable_instance_seconds > 0
),
jobs AS (
    SELECT training_job_arn, seconds, usd FROM single
    UNION ALL
    SELECT training_job_arn, sum(seconds),
           CASE WHEN count(usd) = count(*) THEN sum(usd + storage_usd) END
    FROM clusters
    GROUP BY creation_time, training_job_arn
),
top AS (
    SELECT training_job_arn, seconds, usd
    FROM jobs
    ORDER BY usd DESC NULLS LAST, seconds DESC, training_job_arn
    LIMIT CAST(:limit AS integer)
)
SELECT
    min(u.training_job_name) AS training_job_name,
    min(u.account_id) AS account_id,
    min(u.region) AS region,
    group_concat(DISTINCT u.instance_type) AS instance_type,
    min(u.month) AS month,
    round(min(t.seconds) / 3600.0, 3) AS instance_hours,
    round(min(t.usd), 2) AS estimated_usd
FROM top t
CROSS JOIN sagemaker_training_job_instance_usage u
    ON u.training_job_arn = t.training_job_arn AND u.billable_instance_seconds > 0
GROUP BY t.training_job_arn
ORDER BY min(t.usd) DESC NULLS LAST, min(t.seconds) DESC, t.training_job_arn
