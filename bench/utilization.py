#!/usr/bin/env python3
"""Utilization rows for the reports benchmark, as a harvest would store them: every job of the
inventory measured, one in fifty with no data, its hosts at 5-95 % of their GPUs and CPUs.

    python3 bench/utilization.py FILE.db     # into a SQLite file
    python3 bench/utilization.py --postgres  # prints the statement for psql
"""
import sqlite3
import sys

COLUMNS = """training_job_arn, status, hosts_expected, hosts_measured, period_seconds,
    gpu_utilization_sum, gpu_utilization_host_max, gpu_memory_sum, gpu_memory_host_max,
    cpu_utilization_sum, memory_max, read_at"""

SQLITE = """
INSERT INTO sagemaker_training_job_metrics (%s)
SELECT arn, CASE WHEN r %% 50 = 0 THEN 'no-data' ELSE 'measured' END, hosts,
       CASE WHEN r %% 50 = 0 THEN 0 ELSE hosts END, 3600,
       CASE WHEN r %% 50 <> 0 THEN (5 + r %% 91) * gpus END, CASE WHEN r %% 50 <> 0 THEN 100.0 END,
       CASE WHEN r %% 50 <> 0 THEN (5 + r %% 61) * gpus END, CASE WHEN r %% 50 <> 0 THEN 90.0 END,
       CASE WHEN r %% 50 <> 0 THEN (5 + r %% 91) * vcpus END, CASE WHEN r %% 50 <> 0 THEN 60.0 END,
       '2026-12-04T00:00:00Z'
FROM (
    SELECT u.training_job_arn AS arn, abs(random()) AS r, coalesce(sum(u.instance_count), 1) AS hosts,
           coalesce(sum(u.instance_count * z.gpus), 0) AS gpus, coalesce(sum(u.instance_count * z.vcpus), 4) AS vcpus
    FROM sagemaker_training_job_instance_usage u
    LEFT JOIN instance_type_size z ON z.instance_type = u.instance_type
    GROUP BY u.training_job_arn
) WHERE true ON CONFLICT DO NOTHING
""" % COLUMNS

POSTGRES = """
INSERT INTO sagemaker_training_job_metrics (%s)
SELECT arn, CASE WHEN r %% 50 = 0 THEN 'no-data' ELSE 'measured' END, hosts,
       CASE WHEN r %% 50 = 0 THEN 0 ELSE hosts END, 3600,
       CASE WHEN r %% 50 <> 0 THEN (5 + r %% 91) * gpus END, CASE WHEN r %% 50 <> 0 THEN 100.0 END,
       CASE WHEN r %% 50 <> 0 THEN (5 + r %% 61) * gpus END, CASE WHEN r %% 50 <> 0 THEN 90.0 END,
       CASE WHEN r %% 50 <> 0 THEN (5 + r %% 91) * vcpus END, CASE WHEN r %% 50 <> 0 THEN 60.0 END,
       now()
FROM (
    SELECT u.training_job_arn AS arn, (random() * 1000000)::bigint AS r,
           coalesce(sum(u.instance_count), 1) AS hosts,
           coalesce(sum(u.instance_count * z.gpus), 0) AS gpus, coalesce(sum(u.instance_count * z.vcpus), 4) AS vcpus
    FROM sagemaker_training_job_instance_usage u
    LEFT JOIN instance_type_size z ON z.instance_type = u.instance_type
    GROUP BY u.training_job_arn
) s ON CONFLICT DO NOTHING;
""" % COLUMNS

if __name__ == "__main__":
    if sys.argv[1] == "--postgres":
        print(POSTGRES)
    else:
        db = sqlite3.connect(sys.argv[1])
        db.execute(SQLITE)
        db.commit()
