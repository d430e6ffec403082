-- description: GPU-hours paid and used by month and instance type (or a tag's value), and the idle dollars
-- param tag_key?: group by this tag's value (e.g. team) instead of the instance type
-- Instance types with GPUs alone (their size from the Price List or `prices load`); CPU-only
-- types are never in these figures (their CPU and memory are in sagemaker_training_job_utilization).
-- gpu_hours             paid: billable seconds × the type's GPUs (spot jobs' carry their discount)
-- used_gpu_hours        of the measured jobs' gpu_hours, the share their GPUs were busy
-- utilization_pct       used_gpu_hours ÷ the measured jobs' gpu_hours
-- idle_gpu_usd          the measured jobs' compute dollars × the share unused; empty when some of
--                       them have no price, as in the cost report
-- unmeasured_gpu_hours  jobs with no utilization (not read yet, no data, a size unknown when read):
--                       never counted as used nor as idle
-- Heterogeneous clusters count each GPU group with its own type at the job's utilization.
WITH measured AS (
    SELECT c.month,
           CASE WHEN :tag_key IS NULL THEN c.instance_type END AS instance_type,
           CASE WHEN :tag_key IS NOT NULL
               THEN coalesce(t.tags->>:tag_key, '(untagged)')
           END AS tag_value,
           c.billable_instance_seconds * z.gpus AS gpu_seconds,
           u.gpu_utilization_pct AS pct,
           c.compute_usd
    FROM sagemaker_training_job_cost c
    JOIN instance_type_size z ON z.instance_type = c.instance_type AND z.gpus > 0
    JOIN sagemaker_training_job_instance_usage t
        ON t.training_job_arn = c.training_job_arn AND t.seq = c.seq
    LEFT JOIN sagemaker_training_job_utilization u ON u.training_job_arn = c.training_job_arn
)
SELECT
    month,
    instance_type,
    tag_value,
    round(sum(gpu_seconds) / 3600.0, 3)::float8 AS gpu_hours,
    round((sum(gpu_seconds * pct / 100.0) / 3600.0)::numeric, 3)::float8 AS used_gpu_hours,
    round((100.0 * sum(gpu_seconds * pct / 100.0)
          / nullif(sum(CASE WHEN pct IS NOT NULL THEN gpu_seconds END), 0))::numeric, 1)::float8 AS utilization_pct,
    CASE WHEN count(pct) = count(compute_usd * pct)
        THEN round(sum(compute_usd * (1 - pct / 100.0))::numeric, 2)::float8
    END AS idle_gpu_usd,
    round(sum(CASE WHEN pct IS NULL THEN gpu_seconds ELSE 0 END) / 3600.0, 3)::float8 AS unmeasured_gpu_hours
FROM measured
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
