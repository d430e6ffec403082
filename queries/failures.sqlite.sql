-- description: Failed jobs by failure reason (its first line): how many, when last seen, and the latest example
-- "Last seen" is the latest training_end_time (last_modified_time, creation_time when absent).
-- Read from the usage rows, which carry these job columns (migration 16): a job's row with seq 0
-- (one instance type) or 1 (a cluster's first group) stands for it.
SELECT
    reason AS failure_reason,
    count(*) AS jobs,
    max(seen) AS last_seen,
    training_job_name AS example_job
FROM (
    SELECT
        CASE WHEN instr(coalesce(failure_reason, ''), char(10)) > 0
            THEN substr(failure_reason, 1, instr(failure_reason, char(10)) - 1)
            ELSE coalesce(failure_reason, '(no reason given)')
        END AS reason,
        coalesce(training_end_time, last_modified_time, creation_time) AS seen,
        training_job_name
    FROM sagemaker_training_job_instance_usage
    WHERE training_job_status = 'Failed' AND seq <= 1
)
-- SQLite takes the bare column training_job_name from the row holding max(seen).
GROUP BY reason
ORDER BY jobs DESC, last_seen DESC
