-- The GPU reports at a million jobs (issue 29): each usage row carries its job's GPU utilization,
-- so idle-gpu and gpu-utilization read the usage rows alone and join sizes and prices per group,
-- as the cost reports do, instead of looking up every GPU row's job in the metrics table (2 to
-- 3 s at a million jobs, BENCHMARKS.md).
--   gpu_utilization_pct  the job's, as sagemaker_training_job_utilization states it (0-100), on
--                        each of its rows; NULL while it has none. The trigger below keeps it as
--                        the metrics table changes (a harvest, a size found later, a row deleted
--                        by hand to ask anew), and a job's rows derived again read it
--                        (store::children).
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN gpu_utilization_pct double precision;

UPDATE sagemaker_training_job_instance_usage AS u
SET gpu_utilization_pct = v.gpu_utilization_pct
FROM sagemaker_training_job_utilization v
WHERE v.training_job_arn = u.training_job_arn AND v.gpu_utilization_pct IS NOT NULL;

-- The cost view (migration 12) gains the job's GPU utilization, so idle-gpu reads its dollars and
-- the share from one row. Its arithmetic is in double precision, as its rates are: the per-row
-- numeric divisions of migration 12 took most of costliest-jobs' time at a million jobs.
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
    coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour) AS usd_per_hour,
    CASE WHEN p.usd_per_hour IS NOT NULL OR pw.usd_per_hour IS NOT NULL THEN 'csv'
         WHEN pl.usd_per_hour IS NOT NULL THEN 'price-list' END AS price_source,
    u.billable_instance_seconds::float8 / 3600 * coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour) AS compute_usd,
    CASE WHEN u.warm_pool_instance_seconds = 0 THEN 0.0
         ELSE u.warm_pool_instance_seconds::float8 / 3600 * coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour)
    END AS warm_pool_usd,
    CASE WHEN u.storage_gb_seconds = 0 THEN 0.0
         ELSE u.storage_gb_seconds::float8 / 3600 / 730 * s.usd_per_gb_month
    END AS storage_usd,
    u.gpu_utilization_pct
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_price p ON p.instance_type = u.instance_type AND p.region = u.region
LEFT JOIN instance_price pw ON pw.instance_type = u.instance_type AND pw.region = '*'
LEFT JOIN price_list_training pl ON pl.instance_type = u.instance_type AND pl.region = u.region
LEFT JOIN price_list_storage s ON s.region = u.region;

-- The search path is the migration's (the store's schema), whoever writes the metrics row.
CREATE FUNCTION sagesync_gpu_share() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    job text;
    share double precision;
BEGIN
    IF TG_OP = 'DELETE' THEN
        job := OLD.training_job_arn;
    ELSE
        job := NEW.training_job_arn;
        SELECT v.gpu_utilization_pct INTO share FROM sagemaker_training_job_utilization v
        WHERE v.training_job_arn = job;
    END IF;
    UPDATE sagemaker_training_job_instance_usage SET gpu_utilization_pct = share
    WHERE training_job_arn = job AND gpu_utilization_pct IS DISTINCT FROM share;
    RETURN NULL;
END
$$;

CREATE TRIGGER sagesync_gpu_share AFTER INSERT OR UPDATE OR DELETE ON sagemaker_training_job_metrics
FOR EACH ROW EXECUTE FUNCTION sagesync_gpu_share();
