#!/usr/bin/env python3
"""The load and the samples of load/soak.sh (standard library only).

    soak_run.py --edge-url URL --edge-pid PID --mgmt-url URL --mgmt-pid PID --seconds S
                --csv FILE --log-dir DIR --scenario LUA --keys-file FILE [--seed N]
                [--window 5] [--connections 16] [--rate 1000]

Runs wrk in consecutive windows of --window seconds (one bounded wrk run each, the next
started as soon as the last ends) for --seconds, and writes one CSV row per
window: halfway through it, mutex-edge's RSS, peak RSS, open fds and threads from /proc, its
CPU since the last row, its /status (served version) and /metrics (polls by outcome, open
connections), mutex-mgmt's X-Data-Version (edits so far), and how busy the machine was
(all cores, /proc/stat) and its load average; at its end, the window's wrk
RESULT line (requests, p50/p99/max, non-2xx, socket errors, the X-Config-Version range
answered). The /proc reads come first, halfway, while wrk's connections are all open, so the
fd count does not see them come and go.

Exit status: 0 when the time was up; 3 when mutex-edge died (its row is the last); 2 on a
usage problem. Whether the run passed is load/soak_report.py's verdict, from the CSV.
"""
import argparse
import csv
import datetime
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse

COLUMNS = ["t_s", "time_utc", "window", "rss_kb", "hwm_kb", "fds", "threads", "cpu_pct",
           "requests", "rps", "p50_ms", "p99_ms", "max_ms", "non2xx", "socket_errors", "timeouts",
           "codes", "resp_version_min", "resp_version_max", "version", "groups", "polls_ok",
           "polls_failed", "polls_updated", "consecutive_failures", "open_connections",
           "mgmt_data_version", "probe_errors", "wrk_failed", "gap_ms", "host_busy_pct", "load1",
           "edge_alive"]
OK_POLLS = ("updated", "unchanged", "not_modified")
HZ = os.sysconf("SC_CLK_TCK")


def alive(pid):
    """False once the process is gone or a zombie (its parent, soak.sh, has not reaped it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def proc_sample(pid):
    """RSS and peak RSS (kB), threads and open fds of PID, and its CPU ticks (utime+stime)."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[{"VmRSS": "rss_kb", "VmHWM": "hwm_kb", "Threads": "threads"}[k]] = int(v.split()[0])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out["ticks"] = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return out


def host_ticks():
    """(busy, total) CPU ticks of the whole machine, all cores (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as f:
        t = [int(x) for x in f.readline().split()[1:9]]
    return sum(t) - t[3] - t[4], sum(t)  # less idle and iowait


def get(url, path, timeout=2.0):
    """(status, headers, body) of GET url+path on a connection of its own."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply, reply.read()
    finally:
        conn.close()


def edge_probe(url):
    """/status and /metrics of mutex-edge; a failed or non-200 request raises."""
    out = {}
    status, _, body = get(url, "/status")
    if status != 200:
        raise OSError(f"/status answered {status}")
    doc = json.loads(body)
    out["version"], out["groups"] = doc.get("version"), doc.get("groups")
    out["consecutive_failures"] = (doc.get("lastAttempt") or {}).get("consecutiveFailures")
    status, _, body = get(url, "/metrics")
    if status != 200:
        raise OSError(f"/metrics answered {status}")
    ok = failed = updated = 0
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("mutex_edge_upstream_polls_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            n = int(float(line.rsplit(" ", 1)[1]))
            ok += n if outcome in OK_POLLS else 0
            failed += 0 if outcome in OK_POLLS else n
            updated += n if outcome == "updated" else 0
        elif line.startswith("mutex_edge_open_connections "):
            out["open_connections"] = int(float(line.rsplit(" ", 1)[1]))
    out.update(polls_ok=ok, polls_failed=failed, polls_updated=updated)
    return out


def mgmt_version(url):
    status, reply, _ = get(url, "/healthz")
    if status != 200:
        raise OSError(f"mutex-mgmt /healthz answered {status}")
    return int(reply.getheader("X-Data-Version", "-1"))


def parse_result(text):
    """The last `RESULT key=value ...` line of wrk's output as a dict (empty without one)."""
    lines = [ln for ln in text.splitlines() if ln.startswith("RESULT ")]
    return dict(w.split("=", 1) for w in lines[-1].split()[1:]) if lines else {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("edge-url", "mgmt-url", "csv", "log-dir", "scenario", "keys-file"):
        ap.add_argument(f"--{name}", required=True)
    for name in ("edge-pid", "mgmt-pid"):
        ap.add_argument(f"--{name}", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rate", type=int, default=1000, help="requests/s at most; 0: as fast as wrk can")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.window < 1 or a.connections < 1 or a.rate < 0 or a.seconds < a.window:
        ap.error("--window and --connections must be at least 1, --seconds at least --window")
    delay_ms = 0 if a.rate == 0 else max(1, round(a.connections * 1000 / a.rate))
    wrk = None
    def on_term(*_):  # once: soak.sh and timeout(1) may both send one
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.exit(1)  # the finally below stops wrk

    signal.signal(signal.SIGTERM, on_term)

    def start_wrk(window):
        cmd = ["wrk", "-t1", f"-c{a.connections}", f"-d{a.window}s", "--timeout", "2s",
               "-s", a.scenario, a.edge_url, "--", f"keys_file={a.keys_file}",
               f"seed={a.seed * 100000 + window}", "track_version=1", "batch_users=20",
               "batch_groups=5", f"delay_ms={delay_ms}"]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    start = time.monotonic()
    end = start + a.seconds
    last_ticks, last_t, last_host = proc_sample(a.edge_pid)["ticks"], start, host_ticks()
    window, code, gap_ms, last_progress = 0, 0, 0.0, start
    try:
        with open(a.csv, "w", newline="", encoding="utf-8") as f:
            out = csv.DictWriter(f, COLUMNS, restval="")
            out.writeheader()
            t_end = None
            # round(seconds / window) windows; each overruns by a few ms, so time bounds them too.
            while window < max(1, round(a.seconds / a.window)) and time.monotonic() < end + a.window:
                window += 1
                t0 = time.monotonic()
                if t_end is not None:
                    gap_ms = (t0 - t_end) * 1000
                wrk = start_wrk(window)
                time.sleep(max(0.0, t0 + a.window / 2 - time.monotonic()))
                t_mid = time.monotonic()
                row = {"t_s": f"{t_mid - start:.1f}", "window": window, "gap_ms": f"{gap_ms:.1f}",
                       "time_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S"),
                       "edge_alive": int(alive(a.edge_pid)), "probe_errors": 0}
                host = host_ticks()
                row["host_busy_pct"] = f"{(host[0] - last_host[0]) / max(host[1] - last_host[1], 1) * 100:.1f}"
                last_host = host
                with open("/proc/loadavg", encoding="ascii") as la:
                    row["load1"] = la.read().split()[0]
                if row["edge_alive"]:
                    try:
                        p = proc_sample(a.edge_pid)
                        row["cpu_pct"] = f"{(p['ticks'] - last_ticks) / HZ / (t_mid - last_t) * 100:.1f}"
                        last_ticks, last_t = p.pop("ticks"), t_mid
                        row.update(p)
                    except (OSError, ValueError):
                        row["edge_alive"] = 0
                if row["edge_alive"]:
                    try:
                        row.update(edge_probe(a.edge_url))
                    except (OSError, http.client.HTTPException, ValueError) as e:
                        row["probe_errors"] = 1
                        print(f"soak_run.py: window {window}: probe of mutex-edge failed: {e!r}", file=sys.stderr)
                try:
                    row["mgmt_data_version"] = mgmt_version(a.mgmt_url) if alive(a.mgmt_pid) else ""
                except (OSError, http.client.HTTPException, ValueError) as e:
                    print(f"soak_run.py: window {window}: mutex-mgmt /healthz failed: {e!r}", file=sys.stderr)
                try:
                    text, _ = wrk.communicate(timeout=a.window + 10)
                except subprocess.TimeoutExpired:
                    wrk.kill()
                    text = wrk.communicate()[0] + "\n(wrk killed: it overran its window by 10 s)"
                t_end, wrk = time.monotonic(), None
                result = parse_result(text)
                row["wrk_failed"] = 0 if result else 1
                for k in ("requests", "rps", "p50_ms", "p99_ms", "max_ms", "non2xx", "socket_errors",
                          "timeouts", "codes"):
                    row[k] = result.get(k, "")
                row["resp_version_min"] = result.get("version_min", "")
                row["resp_version_max"] = result.get("version_max", "")
                bad = not result or result.get("non2xx") != "0" or result.get("socket_errors") != "0"
                if bad or window == 1:  # the first window's output shows what wrk ran
                    with open(os.path.join(a.log_dir, f"wrk-window-{window}.txt"), "w", encoding="utf-8") as w:
                        w.write(text)
                if not alive(a.edge_pid):
                    row["edge_alive"] = 0
                out.writerow(row)
                f.flush()
                if not row["edge_alive"]:
                    print(f"soak_run.py: mutex-edge (pid {a.edge_pid}) died in window {window}", file=sys.stderr)
                    code = 3
                    break
                if bad or t_end - last_progress >= 60:
                    last_progress = t_end
                    print(f"[{t_end - start:5.0f}s] window {window}: rss={row.get('rss_kb')} kB "
                          f"fds={row.get('fds')} threads={row.get('threads')} p99={row['p99_ms']} ms "
                          f"requests={row['requests']} non2xx={row['non2xx']} "
                          f"socket_errors={row['socket_errors']} version={row.get('version')} "
                          f"polls_failed={row.get('polls_failed')}", flush=True)
    finally:
        if wrk is not None and wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    return code


if __name__ == "__main__":
    sys.exit(main())
