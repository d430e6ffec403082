-- The cost view carries each row's creation_time, as on SQLite (migration 19 there), where
-- costliest-jobs and idle-gpu group heterogeneous clusters' groups by it: both backends' views
-- have the same columns. Appended, as CREATE OR REPLACE VIEW requires.
CREATE OR REPLACE VIEW sagemaker_training_job_cost AS
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
         ELSE u.billable_instance_seconds::float8 / 3600 * r.usd_per_hour
    END AS compute_usd,
    CASE WHEN u.warm_pool_instance_seconds = 0 THEN 0.0
         ELSE u.warm_pool_instance_seconds::float8 / 3600 * r.usd_per_hour
    END AS warm_pool_usd,
    CASE WHEN u.storage_gb_seconds = 0 THEN 0.0
         ELSE u.storage_gb_seconds::float8 / 3600 / 730 * s.usd_per_gb_month
    END AS storage_usd,
    u.gpu_utilization_pct,
    u.creation_time
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_rate r ON r.instance_type = u.instance_type AND r.region = u.region
LEFT JOIN storage_rate s ON s.region = u.region;
