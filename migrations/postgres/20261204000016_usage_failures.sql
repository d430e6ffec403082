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

-- cost-by-account counts a job once by its row with seq 0 or 1 (a cluster's first group), so the
-- accounts index (migration 12) carries seq too: the report reads the index alone, an index-only
-- scan once the table is vacuumed (Postgres: 0.55 → 0.38 s at a million jobs).
DROP INDEX sagemaker_training_job_instance_usage_accounts;
CREATE INDEX sagemaker_training_job_instance_usage_accounts ON sagemaker_training_job_instance_usage (
    month, account_id, region, instance_type
) INCLUDE (seq, billable_instance_seconds, warm_pool_instance_seconds, storage_gb_seconds);
