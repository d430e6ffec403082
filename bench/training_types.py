#!/usr/bin/env python3
"""The stand-in's Price List for the benchmarks: every SageMaker training instance type (the list
below, from the SageMaker pricing page's Training tab, 2026-12) in each region given, at made-up
prices, with training storage. Prints the body of the stand-in's /control/offer.

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


if __name__ == "__main__":
    regions = sys.argv[1:]
    all_types = types()
    prices = {r: {t: round(0.1 + 0.37 * i + 0.01 * k, 4) for i, t in enumerate(all_types)}
              for k, r in enumerate(regions)}
    print(json.dumps({"prices": prices, "storage": {r: 0.14 for r in regions}}))
