-- description: Jobs by idle GPU dollars (compute dollars × the share of their GPUs unused), most first
-- param from_month = 0000-00: the first month counted, YYYY-MM
-- param limit = 20: how many jobs
-- Jobs whose utilization was read (`metrics sync`, or after each sync) on instance types with
-- GPUs; instance_type lists a heterogeneous cluster's GPU types, and its CPU-only groups are left
-- out of instances, gpu_hours and the dollars. gpu_utilization_pct is the job's (see the view
-- sagemaker_training_job_utilization): the sum over hosts of their GPUUtilization ÷ its GPUs.
-- gpu_hours      billable seconds × the type's GPUs (spot jobs' seconds carry their discount)
-- compute_usd    as in the cost query (sagemaker_training_job_cost); empty without a price
-- idle_gpu_usd   compute_usd × (1 − gpu_utilization_pct / 100)
-- Jobs with no figures (not read yet, no data, unknown size) are in gpu-utilization's
-- unmeasured_gpu_hours, never here.
-- Ranked from the cost view's rows, which carry their job's utilization (migration 15), in
-- the order of the usage indexes; only the jobs listed are then read in full (CROSS JOIN: from
-- the listed jobs to their rows, never the other way round, which SQLite chose at times). Ties go by ARN.
WITH single AS (
    -- Jobs of one instance type: a row each, the most idle dollars first.
    SELECT c.training_job_arn, c.billable_instance_seconds * z.gpus AS gpu_seconds,
           c.gpu_utilization_pct AS pct, c.compute_usd,
           c.compute_usd * (1 - c.gpu_utilization_pct / 100.0) AS idle_usd,
           c.billable_instance_seconds * z.gpus * (1 - c.gpu_utilization_pct / 100.0) AS idle_gpu_seconds
    FROM sagemaker_training_job_cost c
    JOIN instance_type_size z ON z.instance_type = c.instance_type AND z.gpus > 0
    WHERE c.seq = 0 AND c.month >= :from_month AND c.gpu_utilization_pct IS NOT NULL
      AND c.billable_instance_seconds > 0
    ORDER BY idle_usd DESC NULLS LAST, idle_gpu_seconds DESC, training_job_arn
    LIMIT CAST(:limit AS integer)
),
clusters AS (
    -- Heterogeneous clusters: their GPU groups.
    -- In job order (creation_time, then ARN), from the index
    -- sagemaker_training_job_instance_usage_cluster_jobs: grouped as read, with no sort.
    SELECT c.creation_time, c.training_job_arn, c.billable_instance_seconds * z.gpus AS gpu_seconds,
           c.gpu_utilization_pct AS pct, c.compute_usd
    FROM sagemaker_training_job_cost c
    JOIN instance_type_size z ON z.instance_type = c.instance_type AND z.gpus > 0
    WHERE c.seq > 0 AND c.month >= :from_month AND c.gpu_utilization_pct IS NOT NULL
      AND c.billable_instance_seconds > 0
),
jobs AS (
    SELECT training_job_arn, gpu_seconds, pct, compute_usd, idle_usd, idle_gpu_seconds FROM single
    UNION ALL
    SELECT training_job_arn, gpu_seconds, pct, compute_usd, compute_usd * (1 - pct / 100.0),
           gpu_seconds * (1 - pct / 100.0)
    FROM (
        SELECT training_job_arn, sum(gpu_seconds) AS gpu_seconds, max(pct) AS pct,
               CASE WHEN count(compute_usd) = count(*) THEN sum(compute_usd) END AS compute_usd
        FROM clusters
        GROUP BY creation_time, training_job_arn
    ) g
),
top AS (
    SELECT * FROM jobs
    ORDER BY idle_usd DESC NULLS LAST, idle_gpu_seconds DESC, training_job_arn
    LIMIT CAST(:limit AS integer)
)
SELECT
    min(u.training_job_name) AS training_job_name,
    min(u.account_id) AS account_id,
    min(u.region) AS region,
    group_concat(DISTINCT u.instance_type) AS instance_type,
    sum(u.instance_count) AS instances,
    min(v.gpus) AS gpus,
    round(min(t.pct), 1) AS gpu_utilization_pct,
    round(min(v.gpu_memory_max_pct), 1) AS gpu_memory_max_pct,
    round(min(t.gpu_seconds) / 3600.0, 3) AS gpu_hours,
    round(min(t.compute_usd), 2) AS compute_usd,
    round(min(t.idle_usd), 2) AS idle_gpu_usd
FROM top t
CROSS JOIN sagemaker_training_job_instance_usage u
    ON u.training_job_arn = t.training_job_arn AND u.billable_instance_seconds > 0
JOIN instance_type_size z ON z.instance_type = u.instance_type AND z.gpus > 0
JOIN sagemaker_training_job_utilization v ON v.training_job_arn = t.training_job_arn
GROUP BY t.training_job_arn
ORDER BY min(t.idle_usd) DESC NULLS LAST, min(t.idle_gpu_seconds) DESC, t.training_job_arn
