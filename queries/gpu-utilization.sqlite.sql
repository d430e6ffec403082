-- description: GPU-hours paid and used by month and instance type (or a tag's value), and the idle dollars
-- param tag_key?: group by this tag's value (e.g. team) instead of the instance type
-- Instance types with GPUs alone (their size from the Price List or `prices load`); CPU-only
-- types are never in these figures (their CPU and memory are in sagemaker_training_job_utilization).
-- gpu_hours             paid: billable seconds × the type's GPUs (spot jobs' carry their discount)
-- used_gpu_hours        of the measured jobs' gpu_hours, the share their GPUs were busy
-- utilization_pct       used_gpu_hours ÷ the measured jobs' gpu_hours
-- idle_gpu_usd          the measured jobs' compute dollars × the share unused; empty when some of
--                       them have no price, as in the cost query
-- unmeasured_gpu_hours  jobs with no utilization (not read yet, no data, a size unknown when read):
--                       never counted as used nor as idle
-- Heterogeneous clusters count each GPU group with its own type at the job's utilization.
-- Read from the usage rows alone, which carry their job's utilization (migration 15), grouped in
-- index order; sizes and prices are joined per group, as in the cost query.
WITH sets AS (
    -- By instance type (no tag_key): jobs of one instance type, then heterogeneous clusters' groups.
    SELECT month, instance_type, region, NULL AS tags, sum(billable_instance_seconds) AS seconds,
           sum(CASE WHEN gpu_utilization_pct IS NOT NULL THEN billable_instance_seconds END) AS measured,
           sum(billable_instance_seconds * gpu_utilization_pct / 100.0) AS used
    FROM sagemaker_training_job_instance_usage
    WHERE seq = 0 AND :tag_key IS NULL
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT month, instance_type, region, NULL, sum(billable_instance_seconds),
           sum(CASE WHEN gpu_utilization_pct IS NOT NULL THEN billable_instance_seconds END),
           sum(billable_instance_seconds * gpu_utilization_pct / 100.0)
    FROM sagemaker_training_job_instance_usage
    WHERE seq > 0 AND :tag_key IS NULL
    GROUP BY 1, 2, 3
    UNION ALL
    -- By a tag: by the whole tag set first, in index order; the tag's value is read per set below.
    SELECT month, instance_type, region, tags, sum(billable_instance_seconds),
           sum(CASE WHEN gpu_utilization_pct IS NOT NULL THEN billable_instance_seconds END),
           sum(billable_instance_seconds * gpu_utilization_pct / 100.0)
    FROM sagemaker_training_job_instance_usage
    WHERE seq = 0 AND :tag_key IS NOT NULL
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT month, instance_type, region, tags, sum(billable_instance_seconds),
           sum(CASE WHEN gpu_utilization_pct IS NOT NULL THEN billable_instance_seconds END),
           sum(billable_instance_seconds * gpu_utilization_pct / 100.0)
    FROM sagemaker_training_job_instance_usage
    WHERE seq > 0 AND :tag_key IS NOT NULL
    GROUP BY 1, 2, 3, 4
),
sized AS (
    SELECT s.month,
           CASE WHEN :tag_key IS NULL THEN s.instance_type END AS instance_type,
           CASE WHEN :tag_key IS NOT NULL THEN coalesce(json_extract(s.tags, '$."' || :tag_key || '"'), '(untagged)') END AS tag_value,
           s.seconds * z.gpus AS gpu_seconds,
           s.measured * z.gpus AS measured_gpu_seconds,
           s.used * z.gpus AS used_gpu_seconds,
           CASE WHEN s.measured = 0 THEN 0.0
               ELSE (s.measured - s.used) / 3600.0 * r.usd_per_hour
           END AS idle_usd
    FROM sets s
    JOIN instance_type_size z ON z.instance_type = s.instance_type AND z.gpus > 0
    LEFT JOIN instance_rate r ON r.instance_type = s.instance_type AND r.region = s.region
)
SELECT
    month,
    instance_type,
    tag_value,
    round(sum(gpu_seconds) / 3600.0, 3) AS gpu_hours,
    round(sum(used_gpu_seconds) / 3600.0, 3) AS used_gpu_hours,
    round(100.0 * sum(used_gpu_seconds) / nullif(sum(measured_gpu_seconds), 0), 1) AS utilization_pct,
    CASE WHEN count(idle_usd) = count(measured_gpu_seconds) THEN round(sum(idle_usd), 2) END AS idle_gpu_usd,
    round(sum(gpu_seconds - coalesce(measured_gpu_seconds, 0)) / 3600.0, 3) AS unmeasured_gpu_hours
FROM sized
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
