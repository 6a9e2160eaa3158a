#!/usr/bin/env python3
"""The verdict, plot and report of a load/soak.sh run (standard library and gnuplot).

    soak_report.py DIR

Reads DIR/soak.csv (load/soak_run.py's rows), DIR/meta.txt (the run's settings as key=value
lines; `failure=` lines are failures soak.sh saw itself) and DIR/churn.json (the edits), and
writes DIR/report.md and DIR/soak.png (drawn from DIR/plots/soak.dat and soak.gp, which stay
there to be redrawn). Prints the verdict; exit status 0 when the run passed, 1 when it failed.

The run fails on: any non-2xx answer, socket error (timeouts included) or wrk run without a
result; any failed /status or /metrics probe; mutex-edge dying; a failed churn edit (the
injected faults hit list and get requests only, never edits, so every failed edit is real);
no failed poll although faults were injected (they did not reach mutex-edge); the served
config version not changing for longer than max_version_stall_s (or not at all); and, after
the warm-up, RSS above (warm-up max) x (1 + rss_tolerance_pct/100) + rss_tolerance_mb, fds
above warm-up max + fd_tolerance, or threads above warm-up max + thread_tolerance.
"""
import csv
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import median, read_meta, table  # noqa: E402 (load/report.py, beside this file)


def number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: (v if k in ("time_utc", "codes") else number(v)) for k, v in r.items()}
                for r in csv.DictReader(f)]


def slope_per_hour(points):
    """Least-squares slope of (t_s, y) points, per hour; None with fewer than 3 points."""
    if len(points) < 3:
        return None
    mt = statistics.fmean(t for t, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return None if den == 0 else sum((t - mt) * (y - my) for t, y in points) / den * 3600


def values(rows, key):
    return [r[key] for r in rows if r.get(key) is not None]


def mb(kb):
    return "–" if kb is None else f"{kb / 1024:.1f} MB"


class Verdict:
    def __init__(self, rows, meta, churn, lists):
        self.failures = list(lists["failure"])
        self.notes = list(lists["note"])
        self.rows = rows
        m = {k: float(meta[k]) for k in ("warmup_s", "rss_tolerance_pct", "rss_tolerance_mb",
                                          "fd_tolerance", "thread_tolerance", "max_version_stall_s")}
        self.m = m
        self.warm = [r for r in rows if r["t_s"] <= m["warmup_s"] and r.get("rss_kb") is not None]
        self.after = [r for r in rows if r["t_s"] > m["warmup_s"] and r.get("rss_kb") is not None]
        self.limits = {}
        self.requests_checks(rows)
        self.churn_checks(churn, meta)
        self.version_checks(rows)
        self.growth_checks()

    def fail(self, text):
        self.failures.append(text)

    def requests_checks(self, rows):
        if not rows:
            self.fail("no samples: the load never ran")
            return
        for key, what in (("non2xx", "non-2xx answers"), ("socket_errors", "socket errors (timeouts included)"),
                          ("wrk_failed", "wrk runs without a RESULT line"), ("probe_errors", "failed /status or /metrics probes")):
            bad = [r for r in rows if (r.get(key) or 0) > 0]
            if bad:
                total = sum(r[key] for r in bad)
                windows = ", ".join(f"{int(r['window'])} (t={r['t_s']:.0f}s)" for r in bad[:5])
                self.fail(f"{total:.0f} {what} in {len(bad)} windows: {windows}" + (" ..." if len(bad) > 5 else ""))
        if any(r.get("edge_alive") == 0 for r in rows):
            r = next(r for r in rows if r.get("edge_alive") == 0)
            self.fail(f"mutex-edge died during window {int(r['window'])} (t={r['t_s']:.0f}s)")

    def churn_checks(self, churn, meta):
        if churn is None:
            self.fail("no churn.json: the churn client did not report")
        elif churn.get("failed", 0) > 0:
            self.fail(f"{churn['failed']} churn edits failed (edits are never faulted): {churn.get('errors')}")
        elif churn.get("edits", 0) == 0:
            self.fail("the churn client made no edit")
        faulted = any(float(meta.get(k, 0) or 0) > 0 for k in
                      ("fault_500_percent", "fault_drop_percent", "fault_429_percent", "fault_truncate_percent"))
        failed = values(self.rows, "polls_failed")
        if faulted and failed and failed[-1] - failed[0] <= 0 and failed[-1] == 0:
            self.fail("faults were injected but no poll failed: they did not reach mutex-edge")

    def version_checks(self, rows):
        seen = [(r["t_s"], r["version"]) for r in rows if r.get("version") is not None]
        if len(seen) < 2 or seen[-1][1] == seen[0][1]:
            self.fail("the served config version never changed: the churn was not visible")
            return
        stall, since, last = 0.0, seen[0][0], seen[0][1]
        for t, v in seen[1:]:
            if v != last:
                since, last = t, v
            stall = max(stall, t - since)
        self.max_stall = stall
        if stall > self.m["max_version_stall_s"]:
            self.fail(f"the served config version did not change for {stall:.0f} s "
                      f"(more than the {self.m['max_version_stall_s']:.0f} s allowed)")

    def growth_checks(self):
        m = self.m
        if not self.warm or not self.after:
            self.fail(f"too short: {len(self.warm)} samples in the warm-up and {len(self.after)} after it "
                      "(at least one of each is needed)")
            return
        specs = (("rss_kb", "RSS", lambda w: w * (1 + m["rss_tolerance_pct"] / 100) + m["rss_tolerance_mb"] * 1024, mb),
                 ("fds", "open fds", lambda w: w + m["fd_tolerance"], lambda v: f"{v:.0f}"),
                 ("threads", "threads", lambda w: w + m["thread_tolerance"], lambda v: f"{v:.0f}"))
        for key, what, limit_of, fmt in specs:
            warm_max = max(values(self.warm, key))
            limit = limit_of(warm_max)
            self.limits[key] = (warm_max, limit)
            over = [r for r in self.after if r[key] > limit]
            if over:
                top = max(over, key=lambda r: r[key])
                self.fail(f"{what} grew after the warm-up: {fmt(top[key])} at t={top['t_s']:.0f}s "
                          f"(first over at t={over[0]['t_s']:.0f}s), over the limit of {fmt(limit)} "
                          f"(warm-up max {fmt(warm_max)})")


def plot(directory, rows, v, meta):
    pdir = os.path.join(directory, "plots")
    os.makedirs(pdir, exist_ok=True)
    cols = ["t_s", "rss_kb", "fds", "threads", "p50_ms", "p99_ms", "version", "polls_failed", "rps", "cpu_pct"]
    with open(os.path.join(pdir, "soak.dat"), "w", encoding="utf-8") as f:
        f.write("# " + " ".join(cols) + "\n")
        for r in rows:
            f.write(" ".join("NaN" if r.get(c) is None else f"{r[c]:.6g}" for c in cols) + "\n")
    warm = float(meta["warmup_s"])
    verdict = "PASS" if not v.failures else "FAIL"

    def limit_line(key, scale, label):
        if key not in v.limits:
            return ""
        return f', {v.limits[key][1] / scale:.6g} with lines lc rgb "#d62728" dt 2 lw 2 title "{label}"'

    gp = ['set terminal pngcairo size 1100,1400 font "DejaVu Sans,10"', 'set output "../soak.png"',
          "set grid", "set key below horizontal", "set lmargin 12", "set rmargin 12",
          "set xrange [0:*]",
          f'set object 1 rect from 0, graph 0 to {warm / 60:.6g}, graph 1 fc rgb "#e8e8e8" fs solid noborder behind',
          f'set multiplot layout 4,1 title "mutex-edge soak, {meta.get("date", "")}: {verdict} '
          f'({meta.get("groups")} groups, {meta.get("connections")} connections at up to {meta.get("rate")} req/s, '
          f'churn and upstream faults; warm-up shaded)"',
          'set title "memory"', 'set ylabel "RSS (MB)"', "set yrange [0:*]",
          f'plot "soak.dat" using ($1/60):($2/1024) with linespoints pt 7 ps 0.4 lw 2 lc rgb "#1f77b4" title "RSS"'
          + limit_line("rss_kb", 1024, f"limit: warm-up max x{1 + v.m['rss_tolerance_pct'] / 100:g} + {v.m['rss_tolerance_mb']:g} MB"),
          'set title "open file descriptors and threads"', 'set ylabel "count"',
          'plot "soak.dat" using ($1/60):3 with linespoints pt 7 ps 0.4 lw 2 lc rgb "#2ca02c" title "open fds", '
          '"soak.dat" using ($1/60):4 with linespoints pt 7 ps 0.4 lw 2 lc rgb "#9467bd" title "threads"'
          + limit_line("fds", 1, f"fd limit: warm-up max + {v.m['fd_tolerance']:g}"),
          'set title "latency of each 5 s wrk window"', 'set ylabel "ms (log scale)"', "set logscale y",
          "set yrange [*:*]",
          'plot "soak.dat" using ($1/60):6 with linespoints pt 7 ps 0.4 lw 2 lc rgb "#d62728" title "p99", '
          '"soak.dat" using ($1/60):5 with linespoints pt 7 ps 0.4 lw 2 lc rgb "#1f77b4" title "p50"',
          'set title "config churn and upstream faults"', 'set ylabel "served config version"',
          "unset logscale y", "set yrange [0:*]",
          'set xlabel "time since the load started (min)"',
          'set y2label "failed polls (cumulative)"', "set y2tics", "set y2range [0:*]", "set ytics nomirror",
          'plot "soak.dat" using ($1/60):7 with lines lw 2 lc rgb "#ff7f0e" title "served version", '
          '"soak.dat" using ($1/60):8 axes x1y2 with lines lw 2 lc rgb "#7f7f7f" title "failed polls"',
          "unset multiplot"]
    with open(os.path.join(pdir, "soak.gp"), "w", encoding="utf-8") as f:
        f.write("\n".join(gp) + "\n")
    done = subprocess.run(["gnuplot", "soak.gp"], cwd=pdir, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        print(f"soak_report.py: gnuplot failed: {done.stderr.strip()}", file=sys.stderr)
        return False
    return True


def fmt_ms(v):
    return "–" if v is None else f"{v:.2f} ms"


def delta(rows, key):
    xs = values(rows, key)
    return (xs[-1] - xs[0]) if xs else None


def figures(rows, v, churn):
    """The report's table of figures: (what, value) rows."""
    warm, after = v.warm, v.after
    out = []
    if warm and after:
        rss_w, rss_a = values(warm, "rss_kb"), values(after, "rss_kb")
        slope = slope_per_hour([(r["t_s"], r["rss_kb"]) for r in after])
        out += [("RSS at the end of the warm-up / warm-up max", f"{mb(rss_w[-1])} / {mb(max(rss_w))}"),
                ("RSS after the warm-up: min / max / end", f"{mb(min(rss_a))} / {mb(max(rss_a))} / {mb(rss_a[-1])}"),
                ("RSS limit after the warm-up", mb(v.limits["rss_kb"][1])),
                ("RSS trend after the warm-up (least-squares slope, over the time after the warm-up)",
                 "–" if slope is None else f"{slope / 1024:+.2f} MB/hour (over {(after[-1]['t_s'] - after[0]['t_s']) / 60:.1f} min)"),
                ("peak RSS of the process (VmHWM)", mb(max(values(rows, "hwm_kb")))),
                ("open fds: warm-up max / after: min / max / end (limit)",
                 f"{max(values(warm, 'fds')):.0f} / {min(values(after, 'fds')):.0f} / {max(values(after, 'fds')):.0f} / "
                 f"{values(after, 'fds')[-1]:.0f} ({v.limits['fds'][1]:.0f})"),
                ("threads: warm-up max / after: min / max (limit)",
                 f"{max(values(warm, 'threads')):.0f} / {min(values(after, 'threads')):.0f} / "
                 f"{max(values(after, 'threads')):.0f} ({v.limits['threads'][1]:.0f})")]
    p99 = values(rows, "p99_ms")
    reqs = sum(values(rows, "requests"))
    secs = len(rows) and rows[-1]["t_s"] + 2.5
    out += [("windows (5 s each) / total requests / mean rate",
             f"{len(rows)} / {reqs:,.0f} / {reqs / secs if secs else 0:,.0f} req/s"),
            ("non-2xx / socket errors (timeouts included) / failed probes",
             f"{sum(values(rows, 'non2xx')):.0f} / {sum(values(rows, 'socket_errors')):.0f} / "
             f"{sum(values(rows, 'probe_errors')):.0f}"),
            ("p99 per window: median / 95th percentile / max",
             "–" if not p99 else f"{fmt_ms(median(p99))} / "
             f"{fmt_ms(sorted(p99)[min(len(p99) - 1, int(len(p99) * 0.95))])} / {fmt_ms(max(p99))}"),
            ("p50 per window: median; slowest single request", f"{fmt_ms(median(values(rows, 'p50_ms')))}; "
             f"{fmt_ms(max(values(rows, 'max_ms'), default=None))}"),
            ("mutex-edge CPU per window: median / max (% of one core)",
             f"{median(values(rows, 'cpu_pct')) or 0:.0f}% / {max(values(rows, 'cpu_pct'), default=0):.0f}%"),
            ("whole machine busy (all cores, everything: wrk, both servers, others): median / max; "
             "max load average", f"{median(values(rows, 'host_busy_pct')) or 0:.0f}% / "
             f"{max(values(rows, 'host_busy_pct'), default=0):.0f}%; {max(values(rows, 'load1'), default=0):.2f}")]
    vers = values(rows, "version")
    if vers:
        out.append(("served config version: first / last sample (changes seen in the samples)",
                    f"{vers[0]:.0f} / {vers[-1]:.0f} ({sum(1 for a, b in zip(vers, vers[1:]) if a != b)} of "
                    f"{len(vers) - 1} sample intervals changed; longest without a change: "
                    f"{getattr(v, 'max_stall', 0):.0f} s)"))
    rv = [r for r in rows if (r.get("resp_version_max") or -1) >= 0]
    if rv:
        out.append(("X-Config-Version answered: lowest / highest",
                    f"{min(values(rv, 'resp_version_min')):.0f} / {max(values(rv, 'resp_version_max')):.0f}"))
    ok, failed, upd = delta(rows, "polls_ok"), delta(rows, "polls_failed"), delta(rows, "polls_updated")
    if ok is not None:
        out.append(("polls during the load: ok (of which a new config) / failed",
                    f"{ok:.0f} ({upd:.0f}) / {failed:.0f} ({failed / max(ok + failed, 1) * 100:.1f}%)"))
    if churn:
        out.append(("churn edits: made / failed / slowest",
                    f"{churn.get('edits', 0)} / {churn.get('failed', 0)} / {churn.get('max_ms', 0):.0f} ms"))
    dv = delta(rows, "mgmt_data_version")
    if dv is not None:
        out.append(("mutex-mgmt data versions during the load", f"{dv:.0f}"))
    gaps = values(rows[1:], "gap_ms")
    if gaps:
        out.append(("gap between wrk windows: median / max", f"{median(gaps):.1f} ms / {max(gaps):.1f} ms"))
    return out


def main(directory):
    meta, lists = read_meta(os.path.join(directory, "meta.txt"))
    rows = read_rows(os.path.join(directory, "soak.csv")) if os.path.exists(os.path.join(directory, "soak.csv")) else []
    churn = None
    if os.path.exists(os.path.join(directory, "churn.json")):
        with open(os.path.join(directory, "churn.json"), encoding="utf-8") as f:
            churn = json.load(f)
    v = Verdict(rows, meta, churn, lists)
    drawn = plot(directory, rows, v, meta) if rows else False
    m = v.m
    verdict = "PASS" if not v.failures else "FAIL"
    doc = [f"# mutex-edge soak, {meta.get('date')}: {verdict}", "",
           f"`{meta.get('command')}` on {meta.get('host')}, commit {meta.get('commit')}.", "",
           f"- mutex-edge: {meta.get('edge_binary')}, `--threads {meta.get('threads')} "
           f"--poll-interval {meta.get('poll_interval')} {meta.get('poll_flags')}`, polling mutex-mgmt "
           f"seeded with {meta.get('groups')} generated groups (seed {meta.get('seed')}).",
           f"- Upstream faults on mutex-mgmt's list and get requests: {meta.get('faults')}.",
           f"- Churn: a group edited every {meta.get('edit_interval')} s through mutex-mgmt (experiments, "
           "individuals, holdouts or the description, in turn).",
           f"- Load: wrk -t1 -c{meta.get('connections')}, at most {meta.get('rate')} requests/s, in consecutive "
           "5 s windows; requests: 75% GET /assign one group, 20% POST /assign one group, 5% POST "
           "/assign/batch (20 users x 5 groups); wrk --timeout 2s.",
           f"- Load time {float(meta.get('seconds', 0)) / 60:g} min; warm-up: the first {m['warmup_s']:g} s.",
           "", "## Verdict", ""]
    if v.failures:
        doc += [f"**FAIL**:", ""] + [f"- {x}" for x in v.failures]
    else:
        doc.append("**PASS**: every request answered 2xx with no socket error, mutex-edge stayed up and "
                   "followed the churn, and RSS, fds and threads stayed within the tolerances after the warm-up.")
    doc += ["", "Tolerances after the warm-up: RSS at most (warm-up max) x "
            f"{1 + m['rss_tolerance_pct'] / 100:g} + {m['rss_tolerance_mb']:g} MB; open fds at most warm-up max + "
            f"{m['fd_tolerance']:g}; threads at most warm-up max + {m['thread_tolerance']:g}; the served config "
            f"version changes at least every {m['max_version_stall_s']:g} s. Any non-2xx, socket error or failed "
            "probe fails the run.", ""]
    for n in v.notes:
        doc.append(f"Note: {n}")
    doc += ["## Figures", "", table(["", "value"], figures(rows, v, churn)), ""]
    if drawn:
        doc += ["![RSS, fds and threads, latency, config version and failed polls over time](soak.png)", ""]
    doc += ["Every 5 s window is one row of `soak.csv`: RSS, peak RSS, open fds and threads of mutex-edge "
            "(/proc, halfway through the window), its CPU, the window's wrk figures, the served version "
            "(/status), polls by outcome (/metrics) and mutex-mgmt's data version. Logs are in `logs/`.", ""]
    with open(os.path.join(directory, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(doc))
    if v.failures:
        print("FAIL:\n" + "\n".join(f"  {x}" for x in v.failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
