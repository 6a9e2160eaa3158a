#!/usr/bin/env python3
"""Writes a large configuration in the list endpoint's shape, reproducibly from a seed.

    gen_groups.py --groups 10000 --seed 1 --out groups.json

Each group (id K, key group-K) has 2 to 20 slots whose integer percentages sum to 100, 3
experiments and 5 individuals per slot, bucketing on device_id. The file is replaced
atomically (written beside it, then renamed), as a deployment tool would. Used by
load/run.sh and load/large_config.py.
"""
import argparse
import json
import os
import random


def make_groups(count, seed):
    rng = random.Random(seed)
    groups = []
    for g in range(1, count + 1):
        slots = rng.randint(2, 20)
        cuts = sorted(rng.sample(range(1, 100), slots - 1))
        shares = [b - a for a, b in zip([0] + cuts, cuts + [100])]
        group = {
            "id": g,
            "projectId": 5000 + g % 7,
            "name": f"Mutex group {g}",
            "key": f"group-{g}",
            "description": f"generated group {g} of {count}",
            "evaluationMode": "local" if g % 2 else "remote",
            "bucketingKey": "device_id",
            "bucketingSalt": f"s{rng.getrandbits(40):010x}",
            "slots": [],
        }
        for index, share in enumerate(shares, start=1):
            group["slots"].append({
                "name": f"SLOT {index}",
                "index": index,
                "variantKey": f"slot-{index}",
                "percentage": share,
                "experiments": [g * 1000 + index * 10 + e for e in range(3)],
                "holdouts": [],
                "individuals": [f"user-{g}-{index}-{i}@example.com" for i in range(5)],
                "cohorts": [],
            })
        groups.append(group)
    return groups


def write(path, groups):
    temp = f"{path}.tmp"
    with open(temp, "w", encoding="utf-8") as f:
        json.dump({"mutexes": groups, "nextCursor": None}, f, separators=(",", ":"))
    os.replace(temp, path)


parser = argparse.ArgumentParser()
parser.add_argument("--groups", type=int, default=10000)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--out", required=True)
args = parser.parse_args()
write(args.out, make_groups(args.groups, args.seed))
