-- description: Jobs by idle GPU dollars (compute dollars × the share of their GPUs unused), most first
-- param from_month = 0000-00: the first month counted, YYYY-MM
-- param limit = 20: how many jobs
-- Jobs whose utilization was read (`metrics sync`, or after each sync) on instance types with
-- GPUs; instance_type lists a heterogeneous cluster's GPU types, and its CPU-only groups are left
-- out of instances, gpu_hours and the dollars. gpu_utilization_pct is the job's (see the view
-- sagemaker_training_job_utilization): the sum over hosts of their GPUUtilization ÷ its GPUs.
-- gpu_hours      billable seconds × the type's GPUs (spot jobs' seconds carry their discount)
-- compute_usd    as in the cost report (sagemaker_training_job_cost); empty without a price
-- idle_gpu_usd   compute_usd × (1 − gpu_utilization_pct / 100)
-- Jobs with no figures (not read yet, no data, unknown size) are in gpu-utilization's
-- unmeasured_gpu_hours, never here.
WITH single AS (
    SELECT c.training_job_arn, c.training_job_name, c.account_id, c.region, c.instance_type,
           c.instance_count AS instances, c.billable_instance_seconds * z.gpus AS gpu_seconds,
           c.compute_usd
    FROM sagemaker_training_job_cost c
    JOIN instance_type_size z ON z.instance_type = c.instance_type AND z.gpus > 0
    WHERE c.seq = 0 AND +c.month >= :from_month AND c.billable_instance_seconds > 0
),
clusters AS (
    SELECT c.training_job_arn, c.training_job_name, c.account_id, c.region,
           group_concat(DISTINCT c.instance_type) AS instance_type, sum(c.instance_count),
           sum(c.billable_instance_seconds * z.gpus),
           CASE WHEN count(c.compute_usd) = count(*) THEN sum(c.compute_usd) END
    FROM sagemaker_training_job_cost c
    JOIN instance_type_size z ON z.instance_type = c.instance_type AND z.gpus > 0
    WHERE c.seq > 0 AND +c.month >= :from_month AND c.billable_instance_seconds > 0
    GROUP BY c.training_job_arn, c.training_job_name, c.account_id, c.region
),
jobs AS (
    SELECT * FROM single
    UNION ALL
    SELECT * FROM clusters
)
SELECT
    j.training_job_name,
    j.account_id,
    j.region,
    j.instance_type,
    j.instances,
    u.gpus,
    round(u.gpu_utilization_pct, 1) AS gpu_utilization_pct,
    round(u.gpu_memory_max_pct, 1) AS gpu_memory_max_pct,
    round(j.gpu_seconds / 3600.0, 3) AS gpu_hours,
    round(j.compute_usd, 2) AS compute_usd,
    round(j.compute_usd * (1 - u.gpu_utilization_pct / 100.0), 2) AS idle_gpu_usd
FROM jobs j
JOIN sagemaker_training_job_utilization u ON u.training_job_arn = j.training_job_arn
WHERE u.gpu_utilization_pct IS NOT NULL
ORDER BY j.compute_usd * (1 - u.gpu_utilization_pct / 100.0) DESC NULLS LAST,
         j.gpu_seconds * (1 - u.gpu_utilization_pct / 100.0) DESC, j.training_job_name
LIMIT CAST(:limit AS integer)
