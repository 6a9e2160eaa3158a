#!/usr/bin/env python3
"""Proves that deploy/kubernetes/validate.py catches what it claims to: runs it on the real
manifests (must pass), then on copies with one mistake each (each must fail, naming it).

    tests/stack/k8s_validator_test.py [--bin-dir build/bin]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "deploy", "kubernetes")
VALIDATE = os.path.join(SRC, "validate.py")

# (what, file, old, new, a text the failure must contain)
MUTATIONS = [
    ("an unknown flag", "edge-tier.yaml", "- --poll-interval=10s", "- --poll-intervall=10s",
     "--poll-intervall is a flag"),
    ("a bad flag value (the binary exits 2)", "sidecar-example.yaml", "--poll-interval=10s",
     "--poll-interval=often", "exited 2"),
    ("an unknown MUTEX_EDGE_ variable", "edge-tier.yaml", "name: MUTEX_EDGE_THREADS",
     "name: MUTEX_EDGE_THREAD", "MUTEX_EDGE_THREAD is a variable"),
    ("a misspelt field", "edge-tier.yaml", "livenessProbe:", "livenessprobe:", "unknown field"),
    ("a removed apiVersion", "edge-tier.yaml", "apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n",
     "outdated"),
    ("a sidecar that is not native", "sidecar-example.yaml", "          restartPolicy: Always",
     "          restartPolicy: OnFailure",
     "restartPolicy can only be Always"),
    ("a missing Secret key", "sidecar-example.yaml", "key: sidecar-key", "key: sidecar-keys",
     "which secret.example.yaml has"),
    ("a probe on a port that does not exist", "edge-tier.yaml", "httpGet: {path: /readyz, port: admin}",
     "httpGet: {path: /readyz, port: metrics}", "is a container port"),
    ("liveness not on /healthz", "sidecar-example.yaml", "httpGet: {path: /healthz, port: admin}\n            periodSeconds: 10",
     "httpGet: {path: /status, port: admin}\n            periodSeconds: 10", "livenessProbe is GET /healthz"),
    ("a Service selecting nothing", "edge-tier.yaml", "spec:\n  type: ClusterIP\n  selector:\n    app.kubernetes.io/name: mutex-edge",
     "spec:\n  type: ClusterIP\n  selector:\n    app.kubernetes.io/name: mutex-edg", "matches a workload"),
    ("a document that does not parse", "namespace.yaml", "  name: mutex-edge\n", "  name: [mutex-edge\n",
     "does not parse"),
]


def run(directory, bin_dir):
    return subprocess.run([sys.executable, VALIDATE, "--bin-dir", bin_dir, directory],
                          capture_output=True, text=True, timeout=300)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    args = ap.parse_args()
    failures = []
    done = run(SRC, args.bin_dir)
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr)
    if done.returncode != 0:
        print(done.stdout + done.stderr)
        failures.append("the real manifests do not pass")
    for what, name, old, new, expect in MUTATIONS:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "kubernetes")
            shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
            path = os.path.join(copy, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if old not in text:
                failures.append(f"{what}: '{old}' is not in {name} any more (update this test)")
                continue
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new, 1))
            got = run(copy, args.bin_dir)
            fails = [l for l in got.stdout.splitlines() if l.strip().startswith("FAIL")]
            ok = got.returncode == 1 and any(expect in l for l in fails)
            print(f"{'ok  ' if ok else 'MISS'} {what}: {fails[0].strip()[:150] if fails else got.stderr.strip()[:150]}")
            if not ok:
                failures.append(f"{what}: not caught (exit {got.returncode}; wanted a FAIL with {expect!r})")
    for f in failures:
        print(f"FAILED: {f}")
    print(f"k8s_validator_test: {len(MUTATIONS) + 1 - len(failures)}/{len(MUTATIONS) + 1} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
