-- description: Jobs in progress for longer than a number of hours, with elapsed time and MaxRuntimeInSeconds
-- param hours = 24: the threshold, in hours
-- param as_of?: the moment to measure from, RFC 3339 (default: now)
-- Elapsed time counts from creation_time.
SELECT
    training_job_name,
    region,
    creation_time,
    CAST(round((julianday(coalesce(:as_of, 'now')) - julianday(creation_time)) * 86400) AS INTEGER) AS elapsed_seconds,
    round((julianday(coalesce(:as_of, 'now')) - julianday(creation_time)) * 24, 2) AS elapsed_hours,
    json_extract(stopping_condition, '$.MaxRuntimeInSeconds') AS max_runtime_in_seconds,
    secondary_status
FROM sagemaker_training_job
WHERE training_job_status = 'InProgress'
  AND deleted_at IS NULL
  AND (julianday(coalesce(:as_of, 'now')) - julianday(creation_time)) * 24 > CAST(:hours AS REAL)
ORDER BY creation_time
