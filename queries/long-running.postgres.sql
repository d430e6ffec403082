-- description: Jobs in progress for longer than a number of hours, with elapsed time and MaxRuntimeInSeconds
-- param hours = 24: the threshold, in hours
-- param as_of?: the moment to measure from, RFC 3339 (default: now)
-- Elapsed time counts from creation_time.
SELECT
    training_job_name,
    region,
    creation_time,
    round(extract(epoch FROM coalesce(CAST(:as_of AS timestamptz), now()) - creation_time))::bigint AS elapsed_seconds,
    round((extract(epoch FROM coalesce(CAST(:as_of AS timestamptz), now()) - creation_time) / 3600)::numeric, 2)::float8 AS elapsed_hours,
    (stopping_condition->>'MaxRuntimeInSeconds')::bigint AS max_runtime_in_seconds,
    secondary_status
FROM sagemaker_training_job
WHERE training_job_status = 'InProgress'
  AND deleted_at IS NULL
  AND extract(epoch FROM coalesce(CAST(:as_of AS timestamptz), now()) - creation_time) / 3600 > CAST(:hours AS double precision)
ORDER BY creation_time
