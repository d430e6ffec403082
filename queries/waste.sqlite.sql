-- description: Instance-hours and dollars spent on failed and stopped jobs since a month, by status and failure reason (its first line)
-- param from_month = 0000-00: the first month counted, YYYY-MM
-- estimated_usd is the cost query's compute_usd over the group's rows: empty when one of them
-- has billable seconds and no price.
-- The usage rows alone: each carries its job's failure_reason (migration 16). (`+u.month`: SQLite
-- reads the usage table in order rather than through the month of an index and a lookup per
-- row, a third of the time at a million jobs; BENCHMARKS.md.)
SELECT
    u.training_job_status,
    CASE WHEN instr(coalesce(u.failure_reason, ''), char(10)) > 0
        THEN substr(u.failure_reason, 1, instr(u.failure_reason, char(10)) - 1)
        ELSE coalesce(u.failure_reason, '(no reason given)')
    END AS failure_reason,
    sum(CASE WHEN u.seq <= 1 THEN 1 ELSE 0 END) AS jobs,
    round(sum(u.billable_instance_seconds) / 3600.0, 3) AS instance_hours,
    -- The cost query's compute_usd per row: 0 without billable seconds, else seconds × rate.
    CASE WHEN count(CASE WHEN u.billable_instance_seconds = 0 THEN 0 ELSE r.usd_per_hour END) = count(*)
        THEN round(sum(CASE WHEN u.billable_instance_seconds = 0 THEN 0.0
                            ELSE u.billable_instance_seconds / 3600.0 * r.usd_per_hour END), 2)
    END AS estimated_usd
FROM sagemaker_training_job_instance_usage u
LEFT JOIN instance_rate r ON r.instance_type = u.instance_type AND r.region = u.region
WHERE u.training_job_status IN ('Failed', 'Stopped') AND +u.month >= :from_month
GROUP BY 1, 2
ORDER BY estimated_usd DESC NULLS LAST, instance_hours DESC, jobs DESC, 2
