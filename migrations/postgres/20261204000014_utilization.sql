-- What the GPUs did for the money (issue 29): utilization per training job host from CloudWatch
-- (`sagesync metrics sync`, and after each sync), and the instance types' sizes that turn it into
-- a share of what was paid for.

-- GPUs and vCPUs per instance type: the Price List's (`physicalGpu`, `vCpu`, `gpuMemory` of the
-- Training products `prices sync` reads), or the CSV's `gpus`/`vcpus` columns (`prices load`),
-- which win. gpus 0 is a CPU-only type; a type with no row has an unknown size.
CREATE TABLE instance_type_size (
    instance_type text PRIMARY KEY,
    gpus integer CHECK (gpus >= 0),
    vcpus integer CHECK (vcpus > 0),
    gpu_memory_gib double precision,
    source text NOT NULL CHECK (source IN ('csv', 'price-list')),
    updated_at timestamptz NOT NULL
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
    training_job_arn text PRIMARY KEY NOT NULL,
    status text NOT NULL CHECK (status IN ('measured', 'partial', 'no-data', 'expired')),
    hosts_expected integer NOT NULL,
    hosts_measured integer NOT NULL,
    period_seconds integer,
    gpu_utilization_sum double precision,
    gpu_utilization_host_max double precision,
    gpu_memory_sum double precision,
    gpu_memory_host_max double precision,
    cpu_utilization_sum double precision,
    memory_max double precision,
    gpus integer,
    gpus_per_host integer,
    vcpus integer,
    vcpus_per_host integer,
    read_at timestamptz NOT NULL
);

-- Each host's figures, as CloudWatch answered them over the job's run, so a straggler shows.
CREATE TABLE sagemaker_training_job_host_utilization (
    training_job_arn text NOT NULL,
    host text NOT NULL,
    gpu_utilization_avg double precision,
    gpu_utilization_max double precision,
    gpu_memory_avg double precision,
    gpu_memory_max double precision,
    cpu_utilization_avg double precision,
    memory_max double precision,
    PRIMARY KEY (training_job_arn, host)
);

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
