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
           sum(usage_quantity) AS hours, sum(unblended_usd) AS usd
    FROM billed_usage
    WHERE instance_type IS NOT NULL AND (:month IS NULL OR month = :month)
    GROUP BY 1, 2, 3, 4
),
inventory AS (
    SELECT u.month, u.account_id, u.region, u.instance_type,
           sum(u.billable_instance_seconds + u.warm_pool_instance_seconds) AS seconds
    FROM sagemaker_training_job_instance_usage u
    WHERE u.month IN (SELECT DISTINCT month FROM billed_usage)
      AND (:month IS NULL OR u.month = :month)
      AND u.instance_type IS NOT NULL
    GROUP BY 1, 2, 3, 4
),
rated AS (
    SELECT i.*, r.usd_per_hour AS rate
    FROM inventory i
    LEFT JOIN instance_rate r ON r.instance_type = i.instance_type AND r.region = i.region
),
-- Each key's bill and inventory side by side: a union grouped by the four keys, a sort of a few
-- thousand rows. SQLite ran the FULL JOIN of the two as a nested loop (every bill line against
-- every inventory group: 0.15 to 0.3 s at a million jobs). A key is at most once on each side.
sides AS (
    SELECT month, account_id, region, instance_type, hours, usd, NULL AS seconds, NULL AS rate,
           1 AS billed, 0 AS inventoried
    FROM billed
    UNION ALL
    SELECT month, account_id, region, instance_type, NULL, NULL, seconds, rate, 0, 1
    FROM rated
)
SELECT
    month,
    account_id,
    region,
    instance_type,
    round(max(hours), 3) AS billed_hours,
    round(max(usd), 2) AS billed_usd,
    round(coalesce(max(seconds), 0) / 3600.0, 3) AS inventory_hours,
    CASE WHEN max(seconds) IS NULL OR max(seconds) = 0 THEN 0.0
         ELSE round(max(seconds) / 3600.0 * max(rate), 2)
    END AS estimated_usd,
    CASE WHEN max(hours) > 0 THEN round(coalesce(max(seconds), 0) / 36.0 / max(hours), 1) END AS coverage_pct,
    CASE WHEN max(billed) = 0 THEN 'inventory only'
         WHEN max(inventoried) = 0 THEN 'bill only'
         ELSE 'both'
    END AS found
FROM sides
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
