#!/usr/bin/env python3
"""One fleet run of load/fleet.sh: mutex-mgmt -> 2 edge-tier mutex-edges -> N sidecars.

    fleet.py --edge BIN --mgmt BIN --sidecars N --mode watch|poll --out DIR [options]

Starts mutex-mgmt seeded with examples/groups.json, two edge-tier instances polling it every
--poll-interval, and N sidecars (--threads 1), half chained to each tier instance, polling
at the same interval. In `watch` mode the tier holds watch requests (the default); in `poll`
mode it runs with --max-watchers 0, so that it advertises no watch and the sidecars poll.
Once every sidecar serves the seed, it makes --changes edits at mutex-mgmt --spacing seconds
apart while a light /assign loop runs on a sample of sidecars, then reads every process's
"config loaded" log lines (millisecond timestamps) to time each change: from the edit at
mutex-mgmt, and from the first tier instance serving it, to the last sidecar serving it.
Writes DIR/result.json. Stops what it started (SIGTERM, then SIGKILL) on every exit path.
"""
import argparse
import datetime
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "fleet-admin-key"
LISTENING = re.compile(r'msg="listening" address=127\.0\.0\.1:(\d+)')
LOADED = re.compile(r'^(\S+)Z level=info msg="config loaded" version=(\d+)')

procs = []  # (name, Popen)


def stop_all():
    for _, p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for _, p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def start(name, argv, env, logdir):
    log = open(os.path.join(logdir, name + ".log"), "w", encoding="utf-8")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env},
                         start_new_session=False)
    procs.append((name, p))
    return p


def await_port(name, p, logdir, timeout=20):
    path = os.path.join(logdir, name + ".log")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"{name} exited with {p.returncode}; see {path}")
        with open(path, encoding="utf-8", errors="replace") as f:
            m = LISTENING.search(f.read())
        if m:
            return int(m.group(1))
        time.sleep(0.02)
    raise RuntimeError(f"{name} did not listen within {timeout} s; see {path}")


def get(port, path, headers=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def metric(port, name):
    _, body = get(port, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def swaps(logdir, name):
    """{version: unix seconds} of the process's "config loaded" lines."""
    out = {}
    with open(os.path.join(logdir, name + ".log"), encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LOADED.match(line)
            if m:
                at = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
                out[int(m.group(2))] = at.replace(tzinfo=datetime.timezone.utc).timestamp()
    return out


def pct(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))]


class AssignLoop(threading.Thread):
    """GET /assign on a few sidecars, each at `rate` requests per second, until stopped."""

    def __init__(self, ports, rate):
        super().__init__(daemon=True)
        self.ports, self.rate, self.ok, self.failed, self.errors = ports, rate, 0, 0, []
        self.stop = threading.Event()

    def run(self):
        conns = {}
        n = 0
        start = time.monotonic()
        while not self.stop.is_set():
            for port in self.ports:
                try:
                    conn = conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conns[port] = conn
                    conn.request("GET", f"/assign?device_id=d{n}&user_id=u{n}")
                    r = conn.getresponse()
                    r.read()
                    if r.status == 200:
                        self.ok += 1
                    else:
                        self.failed += 1
                        self.errors.append(f"{port}: {r.status}")
                except (OSError, http.client.HTTPException) as e:
                    conns.pop(port, None)
                    self.failed += 1
                    self.errors.append(f"{port}: {e!r}")
                n += 1
            self.stop.wait(max(0.0, start + n / len(self.ports) / self.rate - time.monotonic()))


def edit(port, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    body = json.dumps({"description": f"fleet change {n}"})
    conn.request("PATCH", "/api/1/mutexes/101", body,
                 {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
    r = conn.getresponse()
    text = r.read()
    conn.close()
    if r.status != 200:
        raise RuntimeError(f"the edit at mutex-mgmt answered {r.status}: {text[:200]!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edge", required=True)
    ap.add_argument("--mgmt", required=True)
    ap.add_argument("--sidecars", type=int, default=100)
    ap.add_argument("--mode", choices=("watch", "poll"), default="watch")
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--spacing", type=float, default=2.0)
    ap.add_argument("--poll-interval", default="1s")
    ap.add_argument("--sample", type=int, default=10)
    ap.add_argument("--rate", type=float, default=20.0, help="/assign per second per sampled sidecar")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    logs = os.path.join(a.out, "logs")
    os.makedirs(logs, exist_ok=True)
    result = {"sidecars": a.sidecars, "mode": a.mode, "changes": a.changes,
              "spacing_s": a.spacing, "poll_interval": a.poll_interval}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    try:
        mgmt = start("mgmt", [a.mgmt, "--listen", "127.0.0.1:0", "--db", os.path.join(a.out, "mgmt.sqlite3"),
                              "--seed", os.path.join(ROOT, "examples", "groups.json")],
                     {"MUTEX_MGMT_API_KEYS": KEY}, logs)
        mgmt_port = await_port("mgmt", mgmt, logs)
        common = ["--poll-interval", a.poll_interval, "--log-level", "info"]
        tier_ports, tier_pids = [], []
        for i in range(2):
            extra = ["--max-watchers", "0"] if a.mode == "poll" else []
            p = start(f"tier{i}", [a.edge, "--listen", "127.0.0.1:0", "--threads", "2", "--upstream",
                                   f"http://127.0.0.1:{mgmt_port}", *common, *extra],
                      {"MUTEX_EDGE_API_KEY": KEY}, logs)
            tier_ports.append(await_port(f"tier{i}", p, logs))
            tier_pids.append(p.pid)
        side_ports, side_pids = [], []
        for i in range(a.sidecars):
            p = start(f"sidecar{i}", [a.edge, "--listen", "127.0.0.1:0", "--threads", "1", "--upstream",
                                      f"http://127.0.0.1:{tier_ports[i % 2]}", *common], {}, logs)
            side_pids.append(p.pid)
        for i in range(a.sidecars):
            side_ports.append(await_port(f"sidecar{i}", procs[3 + i][1], logs))
        deadline = time.monotonic() + 60
        pending = list(side_ports) + tier_ports
        while pending and time.monotonic() < deadline:
            pending = [p for p in pending if get(p, "/readyz")[0] != 200]
            time.sleep(0.1)
        if pending:
            raise RuntimeError(f"{len(pending)} instances not ready within 60 s")
        time.sleep(2)  # the sidecars' first watches (or polls) settle

        loop = AssignLoop(side_ports[:a.sample], a.rate)
        loop.start()
        pages0 = [metric(p, "mutex_edge_upstream_pages_total") for p in tier_ports]
        cpu0 = [cpu_seconds(pid) for pid in tier_pids]
        t0 = time.monotonic()
        edits = []
        for n in range(a.changes):
            edits.append(time.time())
            edit(mgmt_port, n)
            time.sleep(max(0.0, t0 + (n + 1) * a.spacing - time.monotonic()))
        # Every change has a spacing to arrive; then wait (bounded) for the stragglers.
        want = 1 + a.changes
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(metric(p, "mutex_edge_config_version") >= want for p in side_ports[:: max(1, a.sidecars // 20)]):
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - t0
        pages1 = [metric(p, "mutex_edge_upstream_pages_total") for p in tier_ports]
        cpu1 = [cpu_seconds(pid) for pid in tier_pids]
        loop.stop.set()
        loop.join(5)
        rss = [rss_kb(pid) for pid in side_pids]
        result.update({
            "elapsed_s": elapsed,
            "mgmt_requests_per_s": sum(b - x for b, x in zip(pages1, pages0)) / elapsed,
            "tier_cpu_cores": [(b - x) / elapsed for b, x in zip(cpu1, cpu0)],
            "sidecar_rss_kb": {"min": min(rss), "median": statistics.median(rss), "max": max(rss),
                               "sum": sum(rss)},
            "assign_ok": loop.ok, "assign_failed": loop.failed, "assign_errors": loop.errors[:5],
        })
    finally:
        stop_all()

    # Each edit is one swap everywhere: version 1 is the seed, version 1+n the n-th change.
    tiers = [swaps(logs, f"tier{i}") for i in range(2)]
    sides = [swaps(logs, f"sidecar{i}") for i in range(a.sidecars)]
    from_edit, from_tier, missing = [], [], 0
    for n in range(a.changes):
        v = n + 2
        at = [s[v] for s in sides if v in s]
        missing += a.sidecars - len(at)
        # From the tier instance a sidecar is chained to serving the change (the two poll
        # mutex-mgmt on their own, so they see it up to a poll interval apart).
        lag = [s[v] - tiers[i % 2][v] for i, s in enumerate(sides) if v in s and v in tiers[i % 2]]
        if at and lag:
            from_edit.append(max(at) - edits[n])
            from_tier.append(max(lag))
    ms = lambda xs, q: round(1000 * pct(xs, q), 1)  # noqa: E731
    result.update({
        "missing_swaps": missing,
        "from_edit_ms": {"p50": ms(from_edit, 0.5), "p99": ms(from_edit, 0.99), "max": ms(from_edit, 1)},
        "from_tier_ms": {"p50": ms(from_tier, 0.5), "p99": ms(from_tier, 0.99), "max": ms(from_tier, 1)},
    })
    with open(os.path.join(a.out, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))
    return 0 if missing == 0 and result["assign_failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
