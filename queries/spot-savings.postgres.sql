-- description: Managed spot training per month: jobs, training vs billable seconds, and saved % = (1 − billable ÷ training) × 100
-- The month is that of training_start_time (creation_time for jobs that never started), in UTC.
SELECT
    to_char(coalesce(training_start_time, creation_time) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
    count(*)::bigint AS spot_jobs,
    sum(coalesce(training_time_in_seconds, 0))::bigint AS training_seconds,
    sum(coalesce(billable_time_in_seconds, 0))::bigint AS billable_seconds,
    CASE WHEN sum(coalesce(training_time_in_seconds, 0)) > 0 THEN round(
        (1.0 - sum(coalesce(billable_time_in_seconds, 0))::numeric / sum(coalesce(training_time_in_seconds, 0))) * 100, 2)::float8
    END AS saved_pct
FROM sagemaker_training_job
WHERE enable_managed_spot_training
GROUP BY 1
ORDER BY 1
