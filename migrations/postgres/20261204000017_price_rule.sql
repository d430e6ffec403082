-- One price rule (issue 30): the rate of each region and instance type is defined here once, and
-- the cost view, every report and the page join it, instead of each writing out the rule with
-- its three joins (twelve copies, which had drifted).
--   instance_rate   region × instance type → usd_per_hour, price_source: the CSV's rate for the
--                   region (`prices load`), else the CSV's `*` rate, else the Price List's
--                   (`prices sync`). A pair with no row has no price.
--   storage_rate    region → usd_per_gb_month, the Price List's training volume rate.
-- A CSV `*` rate applies in every region the inventory holds jobs in, which
-- sagesync_inventory_region lists: kept by the trigger below as usage rows are written, so the
-- rate is read without a pass over the usage rows.
CREATE TABLE sagesync_inventory_region (
    region text PRIMARY KEY
);

INSERT INTO sagesync_inventory_region (region)
SELECT DISTINCT region FROM sagemaker_training_job_instance_usage;

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

CREATE VIEW instance_rate AS
SELECT
    k.region,
    k.instance_type,
    coalesce(p.usd_per_hour, pw.usd_per_hour, pl.usd_per_hour) AS usd_per_hour,
    CASE WHEN p.usd_per_hour IS NOT NULL OR pw.usd_per_hour IS NOT NULL THEN 'csv'
         ELSE 'price-list' END AS price_source
FROM (
    SELECT region, instance_type FROM instance_price WHERE region <> '*'
    UNION
    SELECT r.region, w.instance_type
    FROM sagesync_inventory_region r CROSS JOIN instance_price w
    WHERE w.region = '*'
    UNION
    SELECT region, instance_type FROM price_list_training
) k
LEFT JOIN instance_price p ON p.instance_type = k.instance_type AND p.region = k.region
LEFT JOIN instance_price pw ON pw.instance_type = k.instance_type AND pw.region = '*'
LEFT JOIN price_list_training pl ON pl.instance_type = k.instance_type AND pl.region = k.region;

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
