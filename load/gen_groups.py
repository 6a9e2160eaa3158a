#!/usr/bin/env python3
"""Writes a large configuration in the list endpoint's shape, reproducibly from a seed.

    gen_groups.py --groups 10000 --seed 1 --out groups.json
        [--edit-name K] [--new-salts S] [--from groups.json]

Each group has 2 to 20 slots whose integer percentages sum to 100, 3 experiments and 5
individuals per slot, bucketing on device_id. With --from, the groups are read back instead of
generated and edited: --edit-name K renames group K (one group changes), --new-salts S gives
every group a salt derived from S (every group changes: a full rebuild). The file is replaced
atomically (written beside it, then renamed), as a deployment tool would.
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
parser.add_argument("--from", dest="source")
parser.add_argument("--edit-name", type=int)
parser.add_argument("--new-salts", type=int)
args = parser.parse_args()

if args.source:
    with open(args.source, encoding="utf-8") as f:
        groups = json.load(f)["mutexes"]
else:
    groups = make_groups(args.groups, args.seed)
if args.edit_name is not None:
    g = groups[args.edit_name % len(groups)]
    g["name"] = f"{g['name']} (edit {args.edit_name})"
if args.new_salts is not None:
    for g in groups:
        g["bucketingSalt"] = f"{g['bucketingSalt'][:6]}-{args.new_salts}"
write(args.out, groups)
