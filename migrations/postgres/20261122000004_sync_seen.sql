-- Jobs a `sync --full` listing has returned so far, per scope: what is not here when the listing
-- completes is gone from the API. Kept in the database so memory stays flat however many jobs.
CREATE TABLE sagesync_seen (
    scope text NOT NULL,
    training_job_arn text NOT NULL,
    PRIMARY KEY (scope, training_job_arn)
);
