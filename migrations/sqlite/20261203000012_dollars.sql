-- Dollars with no hand work (issue 21): prices from the AWS Price List, what a job costs beyond
-- its compute (warm pool, storage), and the billed usage from Cost Explorer to check against.
--
-- The usage rows gain the two quantities besides billable_instance_seconds that a job is billed
-- for, derived with each job like the rest of the row (store::children):
--   warm_pool_instance_seconds  WarmPoolStatus.ResourceRetainedBillableTimeInSeconds × instance count
--   storage_gb_seconds          ResourceConfig.VolumeSizeInGB × instance count × billable seconds
-- Dollars are not stored: they are these quantities times the prices stored when a report runs
-- (sagemaker_training_job_cost), so loading or syncing prices changes every figure at once.
ALTER TABLE sagemaker_training_job_instance_usage
    ADD COLUMN warm_pool_instance_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sagemaker_training_job_instance_usage
    ADD COLUMN storage_gb_seconds INTEGER NOT NULL DEFAULT 0;

-- A member that is not a number counts 0, as a missing one does (the flattener keeps these
-- objects as the API sent them).
UPDATE sagemaker_training_job_instance_usage AS u
SET warm_pool_instance_seconds = coalesce(u.instance_count, 0) * CASE
        WHEN json_type(j.warm_pool_status, '$.ResourceRetainedBillableTimeInSeconds') IN ('integer', 'real')
            THEN CAST(json_extract(j.warm_pool_status, '$.ResourceRetainedBillableTimeInSeconds') AS INTEGER)
        ELSE 0 END,
    storage_gb_seconds = u.billable_instance_seconds * CASE
        WHEN json_type(j.resource_config, '$.VolumeSizeInGB') IN ('integer', 'real')
            THEN CAST(json_extract(j.resource_config, '$.VolumeSizeInGB') AS INTEGER)
        ELSE 0 END
FROM sagemaker_training_job j
WHERE j._key = u.training_job_arn
  AND (j.warm_pool_status IS NOT NULL OR json_type(j.resource_config, '$.VolumeSizeInGB') IS NOT NULL);

-- The cost reports' covering index, with the two new quantities.
DROP INDEX IF EXISTS sagemaker_training_job_instance_usage_sums;
CREATE INDEX sagemaker_training_job_instance_usage_sums ON sagemaker_training_job_instance_usage (
    month, instance_type, region, tags, billable_instance_seconds, warm_pool_instance_seconds,
    storage_gb_seconds
) WHERE seq = 0;

-- The cost reports' heterogeneous clusters (a few rows in a hundred): in group order, holding what
-- they sum, instead of a scan of every usage row.
CREATE INDEX sagemaker_training_job_instance_usage_clusters ON sagemaker_training_job_instance_usage (
    month, instance_type, region, tags, billable_instance_seconds, warm_pool_instance_seconds,
    storage_gb_seconds
) WHERE seq > 0;

-- cost-by-account and reconcile: the usage by account in group order.
CREATE INDEX sagemaker_training_job_instance_usage_accounts ON sagemaker_training_job_instance_usage (
    month, account_id, region, instance_type, billable_instance_seconds, warm_pool_instance_seconds,
    storage_gb_seconds
);

-- On-demand Training prices from the Price List (`sagesync prices sync`), per region and instance
-- type. instance_price (`prices load`) wins over them for its region and instance type.
CREATE TABLE price_list_training (
    region TEXT NOT NULL,
    instance_type TEXT NOT NULL,
    usd_per_hour REAL NOT NULL CHECK (usd_per_hour >= 0),
    sku TEXT NOT NULL,
    effective_date TEXT,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (region, instance_type)
);

-- Training volume storage (REGION-Train:VolumeUsage.gp2), USD per GB-month.
CREATE TABLE price_list_storage (
    region TEXT PRIMARY KEY,
    usd_per_gb_month REAL NOT NULL CHECK (usd_per_gb_month >= 0),
    sku TEXT NOT NULL,
    effective_date TEXT,
    fetched_at TEXT NOT NULL
);

-- When each region's prices were last read, found or not: `sync` reads a region again after 7
-- days, or sooner when a job of an instance type it has no price for was written since.
CREATE TABLE price_list_fetch (
    region TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    products INTEGER NOT NULL
);

-- SageMaker's billed usage per month, account and usage type (`sagesync billing sync`).
-- region and instance_type are read from a REGION-Train:INSTANCE usage type (training compute),
-- else NULL; usage_type keeps AWS's text.
CREATE TABLE billed_usage (
    month TEXT NOT NULL,
    account_id TEXT NOT NULL,
    usage_type TEXT NOT NULL,
    region TEXT,
    instance_type TEXT,
    usage_quantity REAL NOT NULL,
    usage_unit TEXT,
    unblended_usd REAL NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (month, account_id, usage_type)
);

-- What each usage row costs at the prices stored now: one row per job and instance group.
-- The rate is the CSV's for the region, else the CSV's for every region (*), else the Price
-- List's. A NULL dollar figure means a quantity with no price, never 0; a quantity of 0 costs 0.
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
    coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour) AS usd_per_hour,
    CASE WHEN p.usd_per_hour IS NOT NULL OR pw.usd_per_hour IS NOT NULL THEN 'csv'
         WHEN pl.usd_per_hour IS NOT NULL THEN 'price-list' END AS price_source,
    u.billable_instance_seconds / 3600.0 * coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour) AS compute_usd,
    CASE WHEN u.warm_pool_instance_seconds = 0 THEN 0.0
         ELSE u.warm_pool_instance_seconds / 3600.0 * coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour)
    END AS warm_pool_usd,
    CASE WHEN u.storage_gb_seconds = 0 THEN 0.0
         ELSE u.storage_gb_seconds / 3600.0 / 730.0 * s.usd_per_gb_month
    END AS storage_usd
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_price p ON p.instance_type = u.instance_type AND p.region = u.region
LEFT JOIN instance_price pw ON pw.instance_type = u.instance_type AND pw.region = '*'
LEFT JOIN price_list_training pl ON pl.instance_type = u.instance_type AND pl.region = u.region
LEFT JOIN price_list_storage s ON s.region = u.region;
