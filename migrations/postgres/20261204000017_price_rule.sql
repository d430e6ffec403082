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
    region text PRIMARY KEY
);

INSERT INTO sagesync_inventory_region (region)
SELECT DISTINCT region FROM sagemaker_training_job_instance_usage;

-- The planner multiplies the regions by the instance types to size instance_rate: a table it has
-- never analyzed it takes for 1,360 rows, 90,000 rates, and it then sorted a million usage rows
-- to merge them (costliest-jobs 0.8 → 1.3 s). A few rows never reach autovacuum's threshold, so
-- any change is one (sagesync analyzes it after a write by the same rule, src/store/stats.rs).
ALTER TABLE sagesync_inventory_region SET (
    autovacuum_analyze_threshold = 0, autovacuum_analyze_scale_factor = 0
);
ANALYZE sagesync_inventory_region;

-- Once per statement, from its new rows; in the regions' order, so two writers adding the same
-- new regions wait on each other in one order. The search path is the migration's (the store's
-- schema), whoever writes.
CREATE FUNCTION sagesync_inventory_region() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO sagesync_inventory_region (region)
    SELECT DISTINCT n.region FROM new_usage n
    WHERE NOT EXISTS (SELECT 1 FROM sagesync_inventory_region r WHERE r.region = n.region)
    ORDER BY 1
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER sagesync_inventory_region AFTER INSERT ON sagemaker_training_job_instance_usage
REFERENCING NEW TABLE AS new_usage
FOR EACH STATEMENT EXECUTE FUNCTION sagesync_inventory_region();

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
    SELECT coalesce(c.instance_type, l.instance_type) AS instance_type
    FROM (SELECT DISTINCT instance_type FROM instance_price) c
    FULL JOIN (SELECT DISTINCT instance_type FROM price_list_training) l
        ON l.instance_type = c.instance_type
) t
LEFT JOIN instance_price p ON p.instance_type = t.instance_type AND p.region = g.region
LEFT JOIN instance_price pw ON pw.instance_type = t.instance_type AND pw.region = '*'
LEFT JOIN price_list_training pl ON pl.instance_type = t.instance_type AND pl.region = g.region
WHERE coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour) IS NOT NULL;

CREATE VIEW storage_rate AS
SELECT region, usd_per_gb_month, 'price-list'::text AS price_source FROM price_list_storage;

-- The cost view joins the rates. A quantity of 0 now costs 0 in each dollar column, as the view
-- has always said: compute_usd was NULL for a row with no billable seconds and no price. Its
-- columns keep their names, types and order (CREATE OR REPLACE VIEW).
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
    u.gpu_utilization_pct
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_rate r ON r.instance_type = u.instance_type AND r.region = u.region
LEFT JOIN storage_rate s ON s.region = u.region;
