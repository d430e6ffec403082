-- waste and failures at a million jobs (issue 31): each usage row carries the job columns they
-- read, so they read the narrow usage rows alone instead of looking up every failed or stopped
-- job's row in the job table (waste 1.3 s at a million jobs once analyzed, 11 s with the job
-- table out of the cache; failures 1.1 s on SQLite with a third of the jobs failed;
-- BENCHMARKS.md). Copied from the job row like the usage rows' other job columns
-- (store::children), and derived again when they change. failures counts a job once, by its
-- row with seq 0 (one instance type) or 1 (a cluster's first group).
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN failure_reason text;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN training_end_time timestamptz;
ALTER TABLE sagemaker_training_job_instance_usage ADD COLUMN last_modified_time timestamptz;

UPDATE sagemaker_training_job_instance_usage AS u
SET failure_reason = j.failure_reason,
    training_end_time = j.training_end_time,
    last_modified_time = j.last_modified_time
FROM sagemaker_training_job j
WHERE j._key = u.training_job_arn;
