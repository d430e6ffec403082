#!/usr/bin/env python3
"""The baseline sagesync is measured against: a straightforward loader written the way a script
would be, with json + sqlite3, one job per transaction, the same tables and the same flattening
(columns, key/value rows, metrics, transitions). Timestamps are converted, environment secrets are
not redacted (that would only make it slower).

    python3 bench/naive_load.py /tmp/jobs.jsonl /tmp/naive.db
"""
import datetime
import json
import sqlite3
import sys

SCHEMA = """
CREATE TABLE IF NOT EXISTS sagemaker_training_job (_key TEXT PRIMARY KEY, account_id TEXT, region TEXT,
  partition TEXT, training_job_name TEXT, training_job_arn TEXT, training_job_status TEXT, secondary_status TEXT,
  creation_time TEXT, training_start_time TEXT, training_end_time TEXT, last_modified_time TEXT,
  billable_time_in_seconds INTEGER, training_time_in_seconds INTEGER, enable_managed_spot_training INTEGER,
  enable_network_isolation INTEGER, enable_inter_container_traffic_encryption INTEGER, role_arn TEXT,
  failure_reason TEXT, profiling_status TEXT, algorithm_specification TEXT, input_data_config TEXT,
  output_data_config TEXT, resource_config TEXT, stopping_condition TEXT, model_artifacts TEXT,
  profiler_config TEXT, warm_pool_status TEXT, secondary_status_transitions TEXT, final_metric_data_list TEXT,
  hyper_parameters TEXT, environment TEXT, tags TEXT, raw TEXT, synced_at TEXT);
CREATE TABLE IF NOT EXISTS sagemaker_training_job_kv (training_job_arn TEXT, kind TEXT, key TEXT, value TEXT,
  PRIMARY KEY (training_job_arn, kind, key));
CREATE TABLE IF NOT EXISTS sagemaker_training_job_metric (training_job_arn TEXT, metric_name TEXT, value REAL, timestamp TEXT);
CREATE TABLE IF NOT EXISTS sagemaker_training_job_status_transition (training_job_arn TEXT, seq INTEGER,
  status TEXT, start_time TEXT, end_time TEXT, status_message TEXT, PRIMARY KEY (training_job_arn, seq));
"""

JSON_COLS = ["AlgorithmSpecification", "InputDataConfig", "OutputDataConfig", "ResourceConfig", "StoppingCondition",
             "ModelArtifacts", "ProfilerConfig", "WarmPoolStatus", "SecondaryStatusTransitions",
             "FinalMetricDataList", "HyperParameters", "Environment"]


def ts(v):
    if v is None:
        return None
    return datetime.datetime.fromtimestamp(v, datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(dst)
    db.executescript(SCHEMA)
    with open(src) as f:
        for line in f:
            j = json.loads(line)
            arn = j["TrainingJobArn"]
            _, partition, _, region, account, _ = arn.split(":", 5)
            tags = {t["Key"]: t.get("Value", "") for t in j.get("Tags", [])}
            cur = db.cursor()
            for table in ("sagemaker_training_job_kv", "sagemaker_training_job_metric",
                          "sagemaker_training_job_status_transition"):
                cur.execute("DELETE FROM %s WHERE training_job_arn = ?" % table, (arn,))
            cur.execute(
                "INSERT OR REPLACE INTO sagemaker_training_job VALUES (" + ",".join("?" * 35) + ")",
                [arn, account, region, partition, j.get("TrainingJobName"), arn, j.get("TrainingJobStatus"),
                 j.get("SecondaryStatus"), ts(j.get("CreationTime")), ts(j.get("TrainingStartTime")),
                 ts(j.get("TrainingEndTime")), ts(j.get("LastModifiedTime")), j.get("BillableTimeInSeconds"),
                 j.get("TrainingTimeInSeconds"), j.get("EnableManagedSpotTraining"), j.get("EnableNetworkIsolation"),
                 j.get("EnableInterContainerTrafficEncryption"), j.get("RoleArn"), j.get("FailureReason"),
                 j.get("ProfilingStatus")]
                + [json.dumps(j[c]) if c in j else None for c in JSON_COLS]
                + [json.dumps(tags), json.dumps(j), ts(datetime.datetime.now().timestamp())])
            for kind, m in (("hyper_parameters", j.get("HyperParameters", {})), ("environment", j.get("Environment", {})),
                            ("tags", tags)):
                cur.executemany("INSERT INTO sagemaker_training_job_kv VALUES (?,?,?,?)",
                                [(arn, kind, k, v) for k, v in m.items()])
            cur.executemany("INSERT INTO sagemaker_training_job_metric VALUES (?,?,?,?)",
                            [(arn, m["MetricName"], m.get("Value"), ts(m.get("Timestamp")))
                             for m in j.get("FinalMetricDataList", [])])
            cur.executemany("INSERT INTO sagemaker_training_job_status_transition VALUES (?,?,?,?,?,?)",
                            [(arn, n, t.get("Status"), ts(t.get("StartTime")), ts(t.get("EndTime")), t.get("StatusMessage"))
                             for n, t in enumerate(j.get("SecondaryStatusTransitions", []), 1)])
            db.commit()
    db.close()


if __name__ == "__main__":
    main()
