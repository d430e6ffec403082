-- sagemaker_training_job_instance_usage becomes a table, written with each job (store::children)
-- instead of a view over resource_config: the cost reports read one narrow row per job and
-- instance group, with no JSON to parse, at a million jobs (bench/reports.sh, BENCHMARKS.md).
-- Its columns are the view's, plus:
--   seq    0 for a job of one instance type (ResourceConfig itself), else the instance group's
--          place in InstanceGroups, from 1;
--   month  'YYYY-MM' of training_start_time, or of creation_time for a job that never started;
--   tags   the job's tags (JSON), which cost-by-tag groups by.
DROP VIEW sagemaker_training_job_instance_usage;
-- The indexes migration 6 gave the cost report over the job table: the table below replaces them.
DROP INDEX sagemaker_training_job_usage;
DROP INDEX sagemaker_training_job_instance_groups;

CREATE TABLE sagemaker_training_job_instance_usage (
    training_job_arn TEXT NOT NULL,
    training_job_name TEXT,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    training_job_status TEXT,
    creation_time TEXT,
    training_start_time TEXT,
    instance_group_name TEXT,
    instance_type TEXT,
    instance_count INTEGER,
    billable_instance_seconds INTEGER NOT NULL,
    enable_managed_spot_training INTEGER CHECK (enable_managed_spot_training IN (0, 1)),
    deleted_at TEXT,
    seq INTEGER NOT NULL,
    month TEXT,
    tags TEXT,
    PRIMARY KEY (training_job_arn, seq)
) WITHOUT ROWID;

INSERT INTO sagemaker_training_job_instance_usage
SELECT
    j._key,
    j.training_job_name,
    j.account_id,
    j.region,
    j.training_job_status,
    j.creation_time,
    j.training_start_time,
    json_extract(g.value, '$.InstanceGroupName'),
    json_extract(g.value, '$.InstanceType'),
    json_extract(g.value, '$.InstanceCount'),
    coalesce(j.billable_time_in_seconds, 0) * coalesce(json_extract(g.value, '$.InstanceCount'), 0),
    j.enable_managed_spot_training,
    j.deleted_at,
    CASE WHEN json_array_length(j.resource_config, '$.InstanceGroups') > 0 THEN g.key + 1 ELSE 0 END,
    substr(coalesce(j.training_start_time, j.creation_time), 1, 7),
    j.tags
FROM sagemaker_training_job j,
     json_each(CASE
         WHEN json_array_length(j.resource_config, '$.InstanceGroups') > 0
             THEN json_extract(j.resource_config, '$.InstanceGroups')
         ELSE json_array(json(coalesce(j.resource_config, 'null')))
     END) g;
