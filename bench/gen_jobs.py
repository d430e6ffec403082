#!/usr/bin/env python3
"""Writes N realistic DescribeTrainingJob responses (service wire form) as JSON Lines to stdout.

Each job has the configs a real response carries, ~20 hyperparameters, ~5 environment entries,
3 final metrics, 6 status transitions and 3 tags; a quarter are spot jobs, a tenth failed, half
belong to a tuning job (of 50 jobs), one in twenty is a heterogeneous cluster and one in a
thousand is still in progress.
Deterministic for a given N and --seed.

`--shape skewed` draws another population, for checking that the reports do not depend on this
one: a third failed and a twentieth stopped, half spot, one in five heterogeneous, one in ten in a
tuning job (of 1,000 jobs), 40 accounts, jobs spread over five years (not fourteen months), and
one in fifty still in progress.

    python3 bench/gen_jobs.py 100000 > /tmp/jobs.jsonl
    python3 bench/gen_jobs.py --shape skewed 1000000 > /tmp/skewed.jsonl
"""
import argparse
import json
import random
import sys

INSTANCE_TYPES = ["ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.4xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge", "ml.p4d.24xlarge"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
HP_NAMES = ["eta", "max_depth", "num_round", "subsample", "min_child_weight", "gamma", "alpha", "lambda",
            "colsample_bytree", "objective", "eval_metric", "early_stopping_rounds", "learning_rate", "epochs",
            "batch_size", "warmup_steps", "weight_decay", "dropout", "seed", "scheduler", "optimizer", "grad_clip"]


class Shape:
    """Which jobs are which, by index: the default population."""
    accounts = 7
    seconds_apart = 37

    def spot(self, i): return i % 4 == 0
    def failed(self, i): return i % 10 == 9
    def stopped(self, i): return False
    def running(self, i): return i % 1000 == 500
    def tuning(self, i): return i % 2 == 0
    def tuning_job(self, i): return i // 100  # 50 jobs a tuning job
    def hetero(self, i): return i % 20 == 7


class Skewed(Shape):
    accounts = 40
    seconds_apart = 158  # a million jobs over five years

    def spot(self, i): return i % 2 == 1
    def failed(self, i): return i % 3 == 2
    def stopped(self, i): return i % 20 == 4
    def running(self, i): return i % 50 == 25
    def tuning(self, i): return i % 10 == 3
    def tuning_job(self, i): return i // 10000  # 1,000 jobs a tuning job
    def hetero(self, i): return i % 5 == 1


SHAPE = Shape()


def job(i, rng):
    account = "%012d" % (100000000000 + i % SHAPE.accounts)
    region = REGIONS[i % len(REGIONS)]
    name = "bench-job-%08d" % i
    arn = "arn:aws:sagemaker:%s:%s:training-job/%s" % (region, account, name)
    created = 1700000000 + i * SHAPE.seconds_apart + rng.random()
    start = created + 60 + rng.randint(0, 300)
    train = rng.randint(300, 20000)
    spot = SHAPE.spot(i)
    running = SHAPE.running(i)
    failed = SHAPE.failed(i) and not running
    stopped = SHAPE.stopped(i) and not running and not failed
    status = "Failed" if failed else "Stopped" if stopped else "InProgress" if running else "Completed"
    itype = INSTANCE_TYPES[i % len(INSTANCE_TYPES)]
    hps = {k: str(round(rng.random(), 4)) for k in rng.sample(HP_NAMES, 20)}
    steps = [("Starting", "Preparing the instances for training"),
             ("Pending", "Preparing the instances for training"),
             ("Downloading", "Downloading input data"),
             ("Training", "Training image download completed. Training in progress."),
             ("Uploading", "Uploading generated training model"),
             (status, "Training job " + status.lower())]
    t = created
    transitions = []
    for k, (s, msg) in enumerate(steps):
        d = {"Status": s, "StartTime": round(t, 3), "StatusMessage": msg}
        if k < len(steps) - 1:
            t += train if s == "Training" else rng.randint(5, 120)
            d["EndTime"] = round(t, 3)
        transitions.append(d)
    end = start + train
    r = {
        "TrainingJobName": name,
        "TrainingJobArn": arn,
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bench-artifacts-%s/%s/output/model.tar.gz" % (account, name)},
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "HyperParameters": hps,
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.%s.amazonaws.com/sagemaker-xgboost:1.7-1" % region,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "validation:auc", "Regex": ".*validation-auc:([-+]?[0-9]*\\.?[0-9]+).*"}],
            "EnableSageMakerMetricsTimeSeries": False,
        },
        "RoleArn": "arn:aws:iam::%s:role/SageMakerExecution" % account,
        "InputDataConfig": [
            {"ChannelName": ch, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
             "S3Uri": "s3://bench-data-%s/%s/%s/" % (account, name, ch), "S3DataDistributionType": "FullyReplicated"}},
             "ContentType": "text/csv", "CompressionType": "None", "RecordWrapperType": "None"}
            for ch in ("train", "validation")],
        "OutputDataConfig": {"KmsKeyId": "", "S3OutputPath": "s3://bench-artifacts-%s/" % account, "CompressionType": "GZIP"},
        "ResourceConfig": {"InstanceType": itype, "InstanceCount": 1 + i % 4, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400, **({"MaxWaitTimeInSeconds": 172800} if spot else {})},
        "CreationTime": round(created, 3),
        "TrainingStartTime": round(start, 3),
        "TrainingEndTime": round(end, 3),
        "LastModifiedTime": round(end + 5, 3),
        "SecondaryStatusTransitions": transitions,
        "FinalMetricDataList": [{"MetricName": m, "Value": round(rng.random(), 5), "Timestamp": round(end, 3)}
                                for m in ("validation:auc", "train:auc", "validation:logloss")],
        "EnableNetworkIsolation": i % 3 == 0,
        "EnableInterContainerTrafficEncryption": i % 5 == 0,
        "EnableManagedSpotTraining": spot,
        "TrainingTimeInSeconds": train,
        "BillableTimeInSeconds": train // 3 if spot else train,
        "ProfilerConfig": {"S3OutputPath": "s3://bench-artifacts-%s/profiler/" % account, "ProfilingIntervalInMilliseconds": 500},
        "ProfilingStatus": "Disabled",
        "Environment": {"LOG_LEVEL": "info", "NCCL_DEBUG": "WARN", "TOKENIZERS_PARALLELISM": "false",
                        "WANDB_PROJECT": "bench", "WANDB_API_KEY": "k-%d" % i},
        "Tags": [{"Key": "team", "Value": ["growth", "search", "ads"][i % 3]},
                 {"Key": "project", "Value": "bench"}, {"Key": "cost-center", "Value": str(1000 + i % 13)}],
        "WarmPoolStatus": {"Status": "Terminated"},
    }
    if SHAPE.tuning(i):
        r["TuningJobArn"] = "arn:aws:sagemaker:%s:%s:hyper-parameter-tuning-job/bench-tune-%05d" % (
            region, account, SHAPE.tuning_job(i))
        hps["_tuning_objective_metric"] = "validation:auc"
    if SHAPE.hetero(i):
        r["ResourceConfig"] = {"VolumeSizeInGB": 30, "InstanceGroups": [
            {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.4xlarge", "InstanceCount": 2},
            {"InstanceGroupName": "gpu", "InstanceType": itype, "InstanceCount": 1}]}
    if running:
        for k in ("TrainingEndTime", "BillableTimeInSeconds", "TrainingTimeInSeconds", "FinalMetricDataList"):
            del r[k]
        r["SecondaryStatus"] = "Training"
        r["SecondaryStatusTransitions"] = transitions[:4]
        r["SecondaryStatusTransitions"][-1].pop("EndTime", None)
    if failed:
        r["FailureReason"] = "AlgorithmError: ExecuteUserScriptError: ExitCode 1"
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shape", choices=["default", "skewed"], default="default")
    a = p.parse_args()
    global SHAPE
    SHAPE = Skewed() if a.shape == "skewed" else Shape()
    rng = random.Random(a.seed)
    out = sys.stdout
    for i in range(a.n):
        out.write(json.dumps(job(i, rng), separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
