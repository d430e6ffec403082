-- What the GPUs did for the money (issue 29): utilization per training job host from CloudWatch
-- (`sagesync metrics sync`, and after each sync), and the instance types' sizes that turn it into
-- a share of what was paid for.

-- GPUs and vCPUs per instance type: the Price List's (`physicalGpu`, `vCpu`, `gpuMemory` of the
-- Training products `prices sync` reads), or the CSV's `gpus`/`vcpus` columns (`prices load`),
-- which win. gpus 0 is a CPU-only type; a type with no row has an unknown size.
CREATE TABLE instance_type_size (
    instance_type TEXT PRIMARY KEY,
    gpus INTEGER CHECK (gpus >= 0),
    vcpus INTEGER CHECK (vcpus > 0),
    gpu_memory_gib REAL,
    source TEXT NOT NULL CHECK (source IN ('csv', 'price-list')),
    updated_at TEXT NOT NULL
);

-- One row per job whose utilization was read (or found unreadable for good): what CloudWatch
-- answered, summed over the job's hosts as it sent it (GPUUtilization is 0-100 × the host's
-- GPUs), and the job's size when read. Figures are NULL where no host answered them.
--   status          measured, partial (some hosts answered nothing), no-data, expired (ended
--                   more than 455 days before it was asked: CloudWatch keeps no data that old)
--   gpus, vcpus     the job's total: Σ instance count × the type's size (NULL while a type's
--                   size is unknown; filled in when it is stored)
--   gpus_per_host   the same on every host (NULL when instance groups differ)
CREATE TABLE sagemaker_training_job_metrics (
    training_job_arn TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('measured', 'partial', 'no-data', 'expired')),
    hosts_expected INTEGER NOT NULL,
    hosts_measured INTEGER NOT NULL,
    period_seconds INTEGER,
    gpu_utilization_sum REAL,
    gpu_utilization_host_max REAL,
    gpu_memory_sum REAL,
    gpu_memory_host_max REAL,
    cpu_utilization_sum REAL,
    memory_max REAL,
    gpus INTEGER,
    gpus_per_host INTEGER,
    vcpus INTEGER,
    vcpus_per_host INTEGER,
    read_at TEXT NOT NULL
) WITHOUT ROWID;

-- Each host's figures, as CloudWatch answered them over the job's run, so a straggler shows.
CREATE TABLE sagemaker_training_job_host_utilization (
    training_job_arn TEXT NOT NULL,
    host TEXT NOT NULL,
    gpu_utilization_avg REAL,
    gpu_utilization_max REAL,
    gpu_memory_avg REAL,
    gpu_memory_max REAL,
    cpu_utilization_avg REAL,
    memory_max REAL,
    PRIMARY KEY (training_job_arn, host)
) WITHOUT ROWID;

-- Per job, in percent of what was paid for (0-100): the sum over hosts of their average ÷ the
-- job's GPUs (exact for heterogeneous clusters without knowing which host is in which group); a
-- partial job's over the hosts that answered, when every host has the same size. Maxima are a
-- host's, ÷ a host's GPUs. CPU-only jobs have no GPU figures.
CREATE VIEW sagemaker_training_job_utilization AS
SELECT
    m.training_job_arn,
    m.hosts_expected,
    m.hosts_measured,
    m.gpus,
    CASE WHEN m.gpus > 0 AND m.status = 'measured' THEN m.gpu_utilization_sum / m.gpus
         WHEN m.gpus_per_host > 0 AND m.status = 'partial'
             THEN m.gpu_utilization_sum / (m.gpus_per_host * m.hosts_measured)
    END AS gpu_utilization_pct,
    CASE WHEN m.gpus_per_host > 0 THEN m.gpu_utilization_host_max / m.gpus_per_host END
        AS gpu_utilization_max_pct,
    CASE WHEN m.gpus > 0 AND m.status = 'measured' THEN m.gpu_memory_sum / m.gpus
         WHEN m.gpus_per_host > 0 AND m.status = 'partial'
             THEN m.gpu_memory_sum / (m.gpus_per_host * m.hosts_measured)
    END AS gpu_memory_pct,
    CASE WHEN m.gpus_per_host > 0 THEN m.gpu_memory_host_max / m.gpus_per_host END
        AS gpu_memory_max_pct,
    CASE WHEN m.vcpus > 0 AND m.status = 'measured' THEN m.cpu_utilization_sum / m.vcpus
         WHEN m.vcpus_per_host > 0 AND m.status = 'partial'
             THEN m.cpu_utilization_sum / (m.vcpus_per_host * m.hosts_measured)
    END AS cpu_utilization_pct,
    m.memory_max AS memory_max_pct,
    m.period_seconds,
    m.status,
    m.read_at
FROM sagemaker_training_job_metrics m;

-- security-posture counts the months a page shows (from_month): the index it reads whole, with
-- the month's time last, so the report still reads no job row (0.5 s at a million jobs; 4 s
-- through the rows). It serves what the index of migration 9 served, which it replaces.
CREATE INDEX sagemaker_training_job_posture_by_month ON sagemaker_training_job (
    account_id,
    region,
    coalesce(enable_network_isolation, 0),
    coalesce(enable_inter_container_traffic_encryption, 0),
    coalesce(json_array_length(vpc_config, '$.Subnets'), 0) > 0,
    coalesce(json_extract(resource_config, '$.VolumeKmsKeyId'), '') <> '',
    coalesce(json_extract(output_data_config, '$.KmsKeyId'), '') <> '',
    coalesce(training_start_time, creation_time)
) WHERE deleted_at IS NULL;
DROP INDEX sagemaker_training_job_posture;
