-- description: The inventory against the bill: training instance-hours and dollars per month, account, region and instance type, with coverage
-- param month?: one month, YYYY-MM (default: every month `billing sync` stored)
-- billed_hours, billed_usd   Cost Explorer's usage types REGION-Train:INSTANCE (`billing sync`):
--                            training compute alone, not hosting, notebooks, processing or storage
-- inventory_hours            the inventory's billable and warm-pool instance-hours, both billed
--                            at the instance's Training rate
-- estimated_usd              those hours at the stored prices (as the cost query's compute_usd
--                            plus warm_pool_usd), empty when unpriced
-- coverage_pct               inventory_hours ÷ billed_hours × 100: below 100, the bill holds
--                            training the inventory does not (an account, a region or a deleted
--                            job not synced)
-- found                      'both', 'bill only' or 'inventory only'
-- Only months `billing sync` stored are compared.
WITH billed AS (
    SELECT month, account_id, region, instance_type,
           sum(usage_quantity)::numeric AS hours, sum(unblended_usd)::numeric AS usd
    FROM billed_usage
    WHERE instance_type IS NOT NULL AND (:month::text IS NULL OR month = :month)
    GROUP BY 1, 2, 3, 4
),
inventory AS (
    SELECT u.month, u.account_id, u.region, u.instance_type,
           sum(u.billable_instance_seconds + u.warm_pool_instance_seconds)::numeric AS seconds
    FROM sagemaker_training_job_instance_usage u
    WHERE u.month IN (SELECT DISTINCT month FROM billed_usage)
      AND (:month::text IS NULL OR u.month = :month)
      AND u.instance_type IS NOT NULL
    GROUP BY 1, 2, 3, 4
),
rated AS (
    SELECT i.*, r.usd_per_hour AS rate
    FROM inventory i
    LEFT JOIN instance_rate r ON r.instance_type = i.instance_type AND r.region = i.region
)
SELECT
    coalesce(b.month, r.month) AS month,
    coalesce(b.account_id, r.account_id) AS account_id,
    coalesce(b.region, r.region) AS region,
    coalesce(b.instance_type, r.instance_type) AS instance_type,
    round(b.hours, 3)::float8 AS billed_hours,
    round(b.usd, 2)::float8 AS billed_usd,
    round(coalesce(r.seconds, 0) / 3600.0, 3)::float8 AS inventory_hours,
    CASE WHEN r.seconds IS NULL OR r.seconds = 0 THEN 0.0
         ELSE round((r.seconds / 3600.0 * r.rate::numeric), 2)::float8
    END AS estimated_usd,
    CASE WHEN b.hours > 0 THEN round(coalesce(r.seconds, 0) / 36.0 / b.hours, 1)::float8 END AS coverage_pct,
    CASE WHEN b.month IS NULL THEN 'inventory only'
         WHEN r.month IS NULL THEN 'bill only'
         ELSE 'both'
    END AS found
FROM billed b
FULL OUTER JOIN rated r
    ON r.month = b.month AND r.account_id = b.account_id AND r.region = b.region
   AND r.instance_type = b.instance_type
ORDER BY 1, 2, 3, 4
