-- One row per job and instance group: what the cost reports build on. A heterogeneous cluster has
-- no top-level InstanceType/InstanceCount; each of its InstanceGroups counts with its own type and
-- count. Jobs without billable time (failed before they started) count 0 seconds.
CREATE VIEW sagemaker_training_job_instance_usage AS
SELECT
    j._key AS training_job_arn,
    j.training_job_name,
    j.account_id,
    j.region,
    j.training_job_status,
    j.creation_time,
    j.training_start_time,
    g->>'InstanceGroupName' AS instance_group_name,
    g->>'InstanceType' AS instance_type,
    (g->>'InstanceCount')::bigint AS instance_count,
    coalesce(j.billable_time_in_seconds, 0) * coalesce((g->>'InstanceCount')::bigint, 0)
        AS billable_instance_seconds,
    j.enable_managed_spot_training,
    j.deleted_at
FROM sagemaker_training_job j
CROSS JOIN LATERAL jsonb_array_elements(CASE
    WHEN jsonb_typeof(j.resource_config->'InstanceGroups') = 'array'
         AND jsonb_array_length(j.resource_config->'InstanceGroups') > 0
        THEN j.resource_config->'InstanceGroups'
    ELSE jsonb_build_array(j.resource_config)
END) AS g;

-- Optional prices for dollar estimates, loaded by `sagesync prices load FILE.csv`.
-- region '*' applies to every region without a price of its own.
CREATE TABLE instance_price (
    instance_type text NOT NULL,
    region text NOT NULL,
    usd_per_hour double precision NOT NULL CHECK (usd_per_hour >= 0),
    PRIMARY KEY (instance_type, region)
);
