#!/usr/bin/env python3
"""The stand-in's Price List for the benchmarks: every SageMaker training instance type (the list
below, from the SageMaker pricing page's Training tab, 2026-12) in each region given, at made-up
prices, with training storage, and each type's GPUs and vCPUs as the Price List states them
(physicalGpu, vCpu). Prints the body of the stand-in's /control/offer.

    python3 bench/training_types.py us-east-1 eu-west-1 ...
"""
import json
import sys

FAMILIES = {
    "m5": ["large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"],
    "m6i": ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"],
    "c5": ["xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"],
    "c6i": ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"],
    "r5": ["large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"],
    "p3": ["2xlarge", "8xlarge", "16xlarge"],
    "p3dn": ["24xlarge"],
    "p4d": ["24xlarge"],
    "p4de": ["24xlarge"],
    "p5": ["48xlarge"],
    "g4dn": ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"],
    "g5": ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"],
    "g6": ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"],
    "trn1": ["2xlarge", "32xlarge"],
    "trn1n": ["32xlarge"],
}


def types():
    return ["ml.%s.%s" % (f, s) for f, sizes in FAMILIES.items() for s in sizes]


VCPUS = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "9xlarge": 36, "12xlarge": 48,
         "16xlarge": 64, "18xlarge": 72, "24xlarge": 96, "32xlarge": 128, "48xlarge": 192}
# GPUs per instance where a family has them (the rest: 1 for g4dn, g5 and g6, none elsewhere).
GPUS = {"ml.p3.2xlarge": 1, "ml.p3.8xlarge": 4, "ml.p3.16xlarge": 8, "ml.p3dn.24xlarge": 8, "ml.p4d.24xlarge": 8,
        "ml.p4de.24xlarge": 8, "ml.p5.48xlarge": 8, "ml.g4dn.12xlarge": 4, "ml.g5.12xlarge": 4,
        "ml.g5.24xlarge": 4, "ml.g5.48xlarge": 8, "ml.g6.12xlarge": 4, "ml.g6.24xlarge": 4, "ml.g6.48xlarge": 8}


def size(t):
    family, part = t[3:].split(".")
    gpus = GPUS.get(t, 1 if family in ("g4dn", "g5", "g6") else 0)
    return [gpus if gpus else "N/A", VCPUS[part]]


if __name__ == "__main__":
    regions = sys.argv[1:]
    all_types = types()
    prices = {r: {t: round(0.1 + 0.37 * i + 0.01 * k, 4) for i, t in enumerate(all_types)}
              for k, r in enumerate(regions)}
    print(json.dumps({"prices": prices, "storage": {r: 0.14 for r in regions},
                      "sizes": {t: size(t) for t in all_types}}))
