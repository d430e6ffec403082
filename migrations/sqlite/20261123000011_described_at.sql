-- Where a row came from: when its DescribeTrainingJob body was stored, or NULL for a row built
-- from a Search record alone, which lacks the members only DescribeTrainingJob returns until a
-- sync describes the job. Every row stored before this migration was described.
ALTER TABLE sagemaker_training_job ADD COLUMN described_at TEXT;
UPDATE sagemaker_training_job SET described_at = synced_at;

-- The backlog a sync completes, newest first (read backwards), per account and region.
CREATE INDEX sagemaker_training_job_undescribed
    ON sagemaker_training_job (region, account_id, creation_time, _key)
    WHERE described_at IS NULL AND deleted_at IS NULL;

-- A first sync's walk over Search, per scope, so that a run killed during it resumes where it
-- was: the oldest creation time whose jobs are all stored, and whether the walk is complete.
CREATE TABLE sagesync_search_walk (
    scope TEXT PRIMARY KEY NOT NULL,
    reached TEXT,
    complete INTEGER NOT NULL DEFAULT 0
);
