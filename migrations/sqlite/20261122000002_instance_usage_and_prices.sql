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
    json_extract(g.value, '$.InstanceGroupName') AS instance_group_name,
    json_extract(g.value, '$.InstanceType') AS instance_type,
    json_extract(g.value, '$.InstanceCount') AS instance_count,
    coalesce(j.billable_time_in_seconds, 0) * coalesce(json_extract(g.value, '$.InstanceCount'), 0)
        AS billable_instance_seconds,
    j.enable_managed_spot_training,
    j.deleted_at
FROM sagemaker_training_job j,
     json_each(CASE
         WHEN json_array_length(j.resource_config, '$.InstanceGroups') > 0
             THEN json_extract(j.resource_config, '$.InstanceGroups')
         ELSE json_array(json(coalesce(j.resource_config, 'null')))
     END) g;

-- Optional prices for dollar estimates, loaded by `sagesync prices load FILE.csv`.
-- region '*' applies to every region without a price of its own.
CREATE TABLE instance_price (
    instance_type TEXT NOT NULL,
    region TEXT NOT NULL,
    usd_per_hour REAL NOT NULL CHECK (usd_per_hour >= 0),
    PRIMARY KEY (instance_type, region)
);
