-- sagemaker_training_job_instance_usage becomes a table, written with each job (store::children)
-- instead of a view over resource_config: the cost reports read one narrow row per job and
-- instance group, with no JSON to parse, at a million jobs (bench/reports.sh, BENCHMARKS.md).
-- Its columns are the view's, plus:
--   seq    0 for a job of one instance type (ResourceConfig itself), else the instance group's
--          place in InstanceGroups, from 1;
--   month  'YYYY-MM' of training_start_time, or of creation_time for a job that never started, UTC;
--   tags   the job's tags, which cost-by-tag groups by.
DROP VIEW sagemaker_training_job_instance_usage;

CREATE TABLE sagemaker_training_job_instance_usage (
    training_job_arn text NOT NULL,
    training_job_name text,
    account_id text NOT NULL,
    region text NOT NULL,
    training_job_status text,
    creation_time timestamptz,
    training_start_time timestamptz,
    instance_group_name text,
    instance_type text,
    instance_count bigint,
    billable_instance_seconds bigint NOT NULL,
    enable_managed_spot_training boolean,
    deleted_at timestamptz,
    seq integer NOT NULL,
    month text,
    tags jsonb,
    PRIMARY KEY (training_job_arn, seq)
);

INSERT INTO sagemaker_training_job_instance_usage
SELECT
    j._key,
    j.training_job_name,
    j.account_id,
    j.region,
    j.training_job_status,
    j.creation_time,
    j.training_start_time,
    g.e->>'InstanceGroupName',
    g.e->>'InstanceType',
    (g.e->>'InstanceCount')::bigint,
    coalesce(j.billable_time_in_seconds, 0) * coalesce((g.e->>'InstanceCount')::bigint, 0),
    j.enable_managed_spot_training,
    j.deleted_at,
    CASE WHEN jsonb_typeof(j.resource_config->'InstanceGroups') = 'array'
         AND jsonb_array_length(j.resource_config->'InstanceGroups') > 0 THEN g.seq ELSE 0 END,
    to_char(coalesce(j.training_start_time, j.creation_time) AT TIME ZONE 'UTC', 'YYYY-MM'),
    j.tags
FROM sagemaker_training_job j
CROSS JOIN LATERAL jsonb_array_elements(CASE
    WHEN jsonb_typeof(j.resource_config->'InstanceGroups') = 'array'
         AND jsonb_array_length(j.resource_config->'InstanceGroups') > 0
        THEN j.resource_config->'InstanceGroups'
    ELSE jsonb_build_array(j.resource_config)
END) WITH ORDINALITY AS g(e, seq);
