-- What the canned reports need at a million jobs (bench/reports.sh; figures in BENCHMARKS.md).
--
-- spot-savings: the spot jobs alone, with what the report sums (an index-only scan).
CREATE INDEX sagemaker_training_job_spot ON sagemaker_training_job (
    training_start_time, creation_time, training_time_in_seconds, billable_time_in_seconds
) WHERE enable_managed_spot_training;

-- tuning-leaderboard given a tuning job's name rather than its ARN.
CREATE INDEX sagemaker_training_job_tuning_job_name ON sagemaker_training_job (
    split_part(tuning_job_arn, ':hyper-parameter-tuning-job/', 2)
);

-- Tags by key and value (WHERE kind = 'tags' AND key = 'team' AND value = 'search'): three or so
-- per job. Hyperparameters (twenty or so per job) get no such index: it would cost the load more
-- than the lookups it speeds up (BENCHMARKS.md).
CREATE INDEX sagemaker_training_job_kv_tags ON sagemaker_training_job_kv (key, value)
    WHERE kind = 'tags';
