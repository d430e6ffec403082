-- description: Failed jobs by failure reason (its first line): how many, when last seen, and the latest example
-- "Last seen" is the latest training_end_time (last_modified_time, creation_time when absent).
SELECT
    reason AS failure_reason,
    count(*)::bigint AS jobs,
    max(seen) AS last_seen,
    (array_agg(training_job_name ORDER BY seen DESC))[1] AS example_job
FROM (
    SELECT
        coalesce(split_part(failure_reason, E'\n', 1), '(no reason given)') AS reason,
        coalesce(training_end_time, last_modified_time, creation_time) AS seen,
        training_job_name
    FROM sagemaker_training_job
    WHERE training_job_status = 'Failed'
) f
GROUP BY reason
ORDER BY jobs DESC, last_seen DESC
