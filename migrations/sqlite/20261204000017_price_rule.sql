-- One price rule (issue 30): the rate of each region and instance type is defined here once, and
-- the cost view, every report and the page join it, instead of each writing out the rule with
-- its three joins (twelve copies, which had drifted).
--   instance_rate   region × instance type → usd_per_hour, price_source: the CSV's rate for the
--                   region (`prices load`), else the CSV's `*` rate, else the Price List's
--                   (`prices sync`). A pair with no row has no price.
--   storage_rate    region → usd_per_gb_month, the Price List's training volume rate.
-- The rates are listed for the regions the inventory holds jobs in (where a CSV `*` rate applies
-- too), which sagesync_inventory_region lists: kept by the trigger below as usage rows are
-- written, so the rate is read without a pass over the usage rows.
CREATE TABLE sagesync_inventory_region (
    region TEXT PRIMARY KEY
) WITHOUT ROWID;

INSERT INTO sagesync_inventory_region (region)
SELECT DISTINCT region FROM sagemaker_training_job_instance_usage;

-- NOT EXISTS, not INSERT OR IGNORE: a trigger's conflict clause gives way to that of the statement
-- that fired it, and the job table's upsert would make a known region an error.
CREATE TRIGGER sagesync_inventory_region AFTER INSERT ON sagemaker_training_job_instance_usage
WHEN NOT EXISTS (SELECT 1 FROM sagesync_inventory_region WHERE region = NEW.region)
BEGIN
    INSERT INTO sagesync_inventory_region (region) VALUES (NEW.region);
END;

-- Every region the inventory holds jobs in × every instance type with a price anywhere, where the
-- rule finds one. No UNION: Postgres runs a join to a set operation's result outside its
-- parallel workers, which made the per-row reports (costliest-jobs, waste) half as fast again.
CREATE VIEW instance_rate AS
SELECT
    g.region,
    t.instance_type,
    coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour) AS usd_per_hour,
    CASE WHEN p.usd_per_hour IS NOT NULL OR pw.usd_per_hour IS NOT NULL THEN 'csv'
         ELSE 'price-list' END AS price_source
FROM sagesync_inventory_region g
CROSS JOIN (
    -- CAST: a column of TEXT affinity, as the usage rows' is, so SQLite's automatic index on the
    -- rates has both columns (an expression has none, and the index had the region alone).
    SELECT CAST(coalesce(c.instance_type, l.instance_type) AS TEXT) AS instance_type
    FROM (SELECT DISTINCT instance_type FROM instance_price) c
    FULL JOIN (SELECT DISTINCT instance_type FROM price_list_training) l
        ON l.instance_type = c.instance_type
) t
LEFT JOIN instance_price p ON p.instance_type = t.instance_type AND p.region = g.region
LEFT JOIN instance_price pw ON pw.instance_type = t.instance_type AND pw.region = '*'
LEFT JOIN price_list_training pl ON pl.instance_type = t.instance_type AND pl.region = g.region
WHERE coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour) IS NOT NULL;

CREATE VIEW storage_rate AS
SELECT region, usd_per_gb_month, 'price-list' AS price_source FROM price_list_storage;

-- The cost view joins the rates. A quantity of 0 now costs 0 in each dollar column, as the view
-- has always said: compute_usd was NULL for a row with no billable seconds and no price.
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
    u.gpu_utilization_pct
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_rate r ON r.instance_type = u.instance_type AND r.region = u.region
LEFT JOIN storage_rate s ON s.region = u.region;
