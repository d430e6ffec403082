-- Migration 18's index of heterogeneous clusters' groups in job order made SQLite loads about a
-- fifth slower (BENCHMARKS.md): in ARN order, whose region and account come first, a batch's new
-- entries landed on as many pages as it had accounts and regions, each page written out whole.
-- In creation_time order first, the jobs a sync writes (newest first) or a load reads (in the
-- order they were made) land together at one end. A job's groups share its creation_time, so
-- costliest-jobs and idle-gpu group by (creation_time, training_job_arn) in this order, still
-- with no sort. The cost view carries creation_time for it, appended as Postgres' CREATE OR
-- REPLACE VIEW must (its migration 19), so both backends' views have the same columns.
DROP INDEX sagemaker_training_job_instance_usage_cluster_jobs;
CREATE INDEX sagemaker_training_job_instance_usage_cluster_jobs ON sagemaker_training_job_instance_usage (
    creation_time, training_job_arn, month, instance_type, region, billable_instance_seconds,
    warm_pool_instance_seconds, storage_gb_seconds, gpu_utilization_pct
) WHERE seq > 0;

DROP VIEW sagemaker_training_job_cost;
CREATE VIEW sagemaker_training_job_cost AS
SELECT
    u.training_job_arn,
    u.training_job_name,
    u.seq,
    u.month,
    u.account_id,
    u.region,
    u.instance_type,
    u.instance_count,
    u.billable_instance_seconds,
    u.warm_pool_instance_seconds,
    u.storage_gb_seconds,
    r.usd_per_hour,
    r.price_source,
    CASE WHEN u.billable_instance_seconds = 0 THEN 0.0
         ELSE u.billable_instance_seconds / 3600.0 * r.usd_per_hour
    END AS compute_usd,
    CASE WHEN u.warm_pool_instance_seconds = 0 THEN 0.0
         ELSE u.warm_pool_instance_seconds / 3600.0 * r.usd_per_hour
    END AS warm_pool_usd,
    CASE WHEN u.storage_gb_seconds = 0 THEN 0.0
         ELSE u.storage_gb_seconds / 3600.0 / 730.0 * s.usd_per_gb_month
    END AS storage_usd,
    u.gpu_utilization_pct,
    u.creation_time
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_rate r ON r.instance_type = u.instance_type AND r.region = u.region
LEFT JOIN storage_rate s ON s.region = u.region;
