#!/usr/bin/env python3
"""Writes DIR/report.md and its PNG plots from the runs load/run.sh recorded in DIR.

    load/report.py DIR

DIR/results.txt has one line per wrk run: "phase groups scenario concurrency" then key=value
words (round, attempt, server, the wrk script's RESULT fields, server_ticks, rss_kb,
other_cpu, kept, noisy). DIR/meta.txt has the run's settings as key=value lines. Standard
library only; the plots are drawn by gnuplot from DIR/plots/*.dat and DIR/plots/plots.gp,
which stay beside the report so that they can be redrawn or changed.
"""
import collections
import os
import re
import statistics
import subprocess
import sys

EDGE = "mutex-edge"
SCENARIOS = {  # order and wording in the report
    "get-one": "GET one group, keep-alive",
    "get-one-close": "GET one group, new connection per request",
    "get-all": "GET all groups, keep-alive",
    "post-one": "POST /assign one group, keep-alive",
    "batch": "POST /assign/batch 100 users x 10 groups, keep-alive",
}


def read_meta(path):
    meta, lists = {}, collections.defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            if k in ("note", "failure", "sample"):
                lists[k].append(v)
            else:
                meta[k] = v
    return meta, lists


def read_runs(path, hz):
    runs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if len(words) < 5:
                continue
            run = {"phase": words[0], "groups": words[1], "scenario": words[2],
                   "c": int(words[3])}
            for w in words[4:]:
                k, _, v = w.partition("=")
                try:
                    run[k] = float(v)
                except ValueError:  # codes=200:123, server=nginx
                    run[k] = v
            run["errors"] = run.get("non2xx", 0) + run.get("socket_errors", 0)
            if run.get("requests") and "server_ticks" in run:
                run["cpu_us"] = run["server_ticks"] / hz * 1e6 / run["requests"]
            if "rss_kb" in run:
                run["rss_mb"] = run["rss_kb"] / 1024
            runs.append(run)
    return runs


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Cells:
    """The kept runs grouped by measurement, with medians and per-round ratios."""

    def __init__(self, runs):
        self.by_cell = collections.defaultdict(lambda: collections.defaultdict(dict))
        for r in runs:
            if r.get("kept") == 1:
                key = (r["phase"], r["groups"], r["scenario"], r["c"])
                self.by_cell[key][int(r["round"])][r["server"]] = r

    def keys(self, phase):
        return [k for k in self.by_cell if k[0] == phase]

    def value(self, key, server, metric):
        rounds = self.by_cell.get(key, {})
        return median([rounds[n].get(server, {}).get(metric) for n in rounds])

    def ratio(self, key, metric, a=EDGE, b="nginx"):
        """Median over the rounds of a's value / b's value in the same round."""
        out = []
        for pair in self.by_cell.get(key, {}).values():
            x, y = pair.get(a, {}).get(metric), pair.get(b, {}).get(metric)
            if x is not None and y:
                out.append(x / y)
        return median(out)

    def marks(self, key):
        """'repeated' and 'noisy' for a measurement's rounds, 'wrk-bound: SERVER' when wrk used
        over 90% of its cores in most rounds of that server (then its requests/s is the client's
        limit, and CPU per request is the figure to compare)."""
        flags, bound = set(), collections.Counter()
        rounds = self.by_cell.get(key, {})
        for pair in rounds.values():
            for server, r in pair.items():
                if r.get("attempt") == 2:
                    flags.add("repeated")
                if r.get("noisy") == 1:
                    flags.add("noisy")
                if r.get("wrk_cpu_s", 0) > 0.9 * r.get("wall_s", 1) * r.get("wrk_threads", 1):
                    bound[server] += 1
        flags |= {f"wrk-bound: {s}" for s, n in bound.items() if n * 2 > len(rounds)}
        return ", ".join(sorted(flags))


# ---------------------------------------------------------------- formatting
def num(v):
    """3 significant digits or so: 104k, 8.8k, 336, 12.6, 1.33, 0.084."""
    if v is None:
        return "–"
    if v == 0:
        return "0"
    for limit, text in ((10000, f"{v / 1000:.0f}k"), (1000, f"{v / 1000:.1f}k"), (100, f"{v:.0f}"),
                        (10, f"{v:.1f}"), (0.1, f"{v:.2f}")):
        if abs(v) >= limit:
            return text
    return f"{v:.3f}"


def times(r):
    return "–" if r is None else f"{r:.2f}×"


def with_ratio(cells, key, metric):
    v = cells.value(key, EDGE, metric)
    r = cells.ratio(key, metric)
    return num(v) if r is None else f"{num(v)} ({times(r)})"


def groups_label(g):
    return f"{int(g):,} groups" if g.isdigit() else g


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def config_order(keys):
    return sorted({k[1] for k in keys}, key=lambda g: (not g.isdigit(), int(g) if g.isdigit() else 0))


# ---------------------------------------------------------------- sections
def summary(cells, meta, runs, lists):
    key_c = int(meta["key_c"])
    configs = config_order(cells.keys("main"))
    ends = sorted({configs[0], configs[-1]}, key=configs.index) if configs else []
    rows = []

    def row(label, fn):
        rows.append([label] + [fn(g) for g in ends])

    main = lambda g: ("main", g, "get-one", key_c)
    row(f"CPU per request, mutex-edge ÷ nginx (GET one group, keep-alive, c={key_c}, pinned)",
        lambda g: times(cells.ratio(main(g), "cpu_us")))
    row("p99 latency, mutex-edge ÷ nginx", lambda g: times(cells.ratio(main(g), "p99_ms")))
    row("requests/s, mutex-edge ÷ nginx", lambda g: times(cells.ratio(main(g), "rps")))
    row("mutex-edge requests/s and p99", lambda g: (
        f"{num(cells.value(main(g), EDGE, 'rps'))}, {num(cells.value(main(g), EDGE, 'p99_ms'))} ms"))
    batch = lambda g: ("main", g, "batch", int(meta["other_c"]))
    row("batch (100 users × 10 groups): mutex-edge CPU per request, µs",
        lambda g: num(cells.value(batch(g), EDGE, "cpu_us")))
    row("mutex-edge RSS (highest sampled, any scenario), MB",
        lambda g: num(max((r["rss_mb"] for r in runs if r["server"] == EDGE and r["groups"] == g
                           and r["phase"] == "main" and "rss_mb" in r), default=None)))
    out = [table(["", *map(groups_label, ends)], rows), ""]

    edge_errors = sum(r["errors"] for r in runs if r["server"] != "nginx" and r.get("kept") == 1)
    nginx_errors = sum(r["errors"] for r in runs if r["server"] == "nginx" and r.get("kept") == 1)
    out.append(f"- **Errors** (non-2xx and socket errors, every scenario): mutex-edge "
               f"**{edge_errors:.0f}**, nginx {nginx_errors:.0f}.")
    for key in cells.keys("churn"):
        out.append(f"- **Config churn** ({groups_label(key[1])}, c={key[3]}): p99 "
                   f"{num(cells.value(key, 'churn', 'p99_ms'))} ms with a group edited every "
                   f"100 ms against {num(cells.value(key, 'quiet', 'p99_ms'))} ms without "
                   f"({times(cells.ratio(key, 'p99_ms', 'churn', 'quiet'))}); "
                   f"{sum_rounds(cells, key, 'churn', 'versions'):.0f} config versions served.")
    for g in config_order(cells.keys("two-core")):
        scale = scaling(cells, g, key_c)
        out.append(f"- **Two threads** ({groups_label(g)}): requests/s × "
                   f"{scale[EDGE]} for mutex-edge, × {scale['nginx']} for nginx.")
    if lists["failure"]:
        out.append("- **FAILED:** " + "; ".join(lists["failure"]))
    return "\n".join(out)


def sum_rounds(cells, key, server, metric):
    return sum(p.get(server, {}).get(metric, 0) for p in cells.by_cell.get(key, {}).values())


def scaling(cells, g, key_c):
    one, two = ("main", g, "get-one", key_c), ("two-core", g, "get-one", key_c)
    out = {}
    for s in (EDGE, "nginx"):
        a, b = cells.value(one, s, "rps"), cells.value(two, s, "rps")
        out[s] = f"{b / a:.2f}" if a and b else "–"
    return out


def main_tables(cells):
    out = []
    metrics = [("req/s", "rps"), ("p50 ms", "p50_ms"), ("p90 ms", "p90_ms"), ("p99 ms", "p99_ms"),
               ("p99.9 ms", "p999_ms"), ("CPU µs/req", "cpu_us"), ("RSS MB", "rss_mb")]
    for g in config_order(cells.keys("main")):
        rows = []
        for scenario in SCENARIOS:
            for key in sorted(k for k in cells.keys("main") if k[1] == g and k[2] == scenario):
                errors = f"{cells.value(key, EDGE, 'errors'):.0f} / {cells.value(key, 'nginx', 'errors'):.0f}"
                rows.append([SCENARIOS[scenario], key[3]] +
                            [with_ratio(cells, key, m) for _, m in metrics] +
                            [errors, cells.marks(key)])
        out.append(f"### {groups_label(g)}\n\n" + table(
            ["scenario", "c"] + [h for h, _ in metrics] + ["errors edge / nginx", "rounds"], rows))
    return "\n\n".join(out)


def two_core_table(cells, key_c):
    rows = []
    for g in config_order(cells.keys("two-core")):
        scale = scaling(cells, g, key_c)
        for s in (EDGE, "nginx"):
            two = ("two-core", g, "get-one", key_c)
            rows.append([groups_label(g), s, num(cells.value(("main", g, "get-one", key_c), s, "rps")),
                         num(cells.value(two, s, "rps")), scale[s],
                         num(cells.value(two, s, "p99_ms")), num(cells.value(two, s, "cpu_us")),
                         f"{cells.value(two, s, 'errors'):.0f}"])
    return table(["config", "server", "req/s 1 thread, pinned", "req/s 2 threads, unpinned",
                  "scaling", "p99 ms (2 threads)", "CPU µs/req (2 threads)", "errors"], rows)


def churn_table(cells):
    rows = []
    for key in cells.keys("churn"):
        for s, label in (("quiet", "no edits (polling only)"), ("churn", "one group edited every 100 ms")):
            rows.append([groups_label(key[1]), key[3], label, num(cells.value(key, s, "rps")),
                         num(cells.value(key, s, "p50_ms")), num(cells.value(key, s, "p99_ms")),
                         num(cells.value(key, s, "p999_ms")), num(cells.value(key, s, "max_ms")),
                         f"{sum_rounds(cells, key, s, 'errors'):.0f}",
                         f"{sum_rounds(cells, key, s, 'versions'):.0f}",
                         f"{sum_rounds(cells, key, s, 'polls'):.0f}",
                         f"{sum_rounds(cells, key, s, 'edits'):.0f} ok, "
                         f"{sum_rounds(cells, key, s, 'edit_failures'):.0f} failed"
                         if s == "churn" else "–"])
    return table(["config", "c", "mutex-edge", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
                  "errors", "versions served", "polls", "edits"], rows)


def noise_section(runs, meta):
    """Which rounds were repeated, and which stayed noisy."""
    rounds = collections.defaultdict(list)
    for r in runs:
        rounds[(r["phase"], r["groups"], r["scenario"], r["c"], int(r["round"]), int(r["attempt"]))].append(r)
    label = lambda k, rs: (f"{k[0]} {k[1]} {k[2]} c={k[3]} round {k[4]} "
                           f"({'/'.join(format(r['other_cpu'], '.0f') + '%' for r in rs)})")
    repeated = [label(k, rs) for k, rs in rounds.items() if rs[0].get("kept") == 0]
    still = [label(k, rs) for k, rs in rounds.items()
             if rs[0].get("kept") == 1 and any(r.get("noisy") == 1 for r in rs)]
    others = [r.get("other_cpu", 0) for r in runs if r.get("kept") == 1]
    out = [f"Other processes' CPU during a run (busy ticks in /proc/stat minus wrk's and the "
           f"server's, and mutex-mgmt's and the editor's in the churn runs, in % of all cores): median {median(others) or 0:.1f}%, "
           f"highest {max(others, default=0):.1f}%. A round over {meta['noise_pct']}% was run again "
           f"once; the tables mark those (repeated) and the ones still over it (noisy). In brackets: "
           f"the share during each run of the round."]
    for what, items in (("repeated", repeated), ("still noisy after the repeat, kept", still)):
        if items:
            more = f"; and {len(items) - 12} more" if len(items) > 12 else ""
            out.append(f"- {what} ({len(items)} rounds): " + "; ".join(items[:12]) + more)
    return "\n".join(out)


def log_section(directory):
    """Warnings and errors in mutex-edge's logs, by kind (numbers ignored), one example each."""
    kinds = collections.Counter()
    example = {}
    logs = sorted(f for f in os.listdir(os.path.join(directory, "logs")) if f.endswith(".log"))
    for name in logs:
        with open(os.path.join(directory, "logs", name), encoding="utf-8", errors="replace") as f:
            for line in f:
                if re.search(r"level=(warn|warning|error|critical)", line):
                    k = re.sub(r"\d+", "#", line.split("level=", 1)[1])[:120]
                    kinds[k] += 1
                    example.setdefault(k, f"{name}: {line.strip()[:300]}")
    if not kinds:
        return f"No warning or error lines in the logs (`logs/`: {', '.join(logs)})."
    return "\n".join([f"Warning and error lines in `logs/` by kind:", ""] +
                     [f"- {n} × `{example[k]}`" for k, n in kinds.most_common(10)])


def all_runs_table(runs):
    counts = ("round", "attempt", "requests", "non2xx", "socket_errors", "versions", "kept")
    cols = ["phase", "groups", "scenario", "c", "round", "attempt", "server", "requests", "rps",
            "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "non2xx", "socket_errors",
            "cpu_us", "rss_mb", "bytes_per_response", "wrk_cpu_s", "other_cpu", "versions", "kept"]
    cell = lambda r, c: (r.get(c, "") if not isinstance(r.get(c), float)
                         else f"{r[c]:.0f}" if c in counts else num(r[c]))
    return table(cols, [[cell(r, c) for c in cols] for r in runs])


# ---------------------------------------------------------------- plots
def plots(directory, cells):
    """throughput.png, latency.png, cpu.png: GET one group, keep-alive, pinned, by concurrency."""
    configs = config_order(cells.keys("main"))
    sweeps = {g: sorted(k[3] for k in cells.keys("main") if k[1] == g and k[2] == "get-one")
              for g in configs}
    configs = [g for g in configs if sweeps[g]]
    if not configs:
        return []
    pdir = os.path.join(directory, "plots")
    os.makedirs(pdir, exist_ok=True)
    for g in configs:
        for s in (EDGE, "nginx"):
            with open(os.path.join(pdir, f"{s}-{g}.dat"), "w", encoding="utf-8") as f:
                f.write("# concurrency rps p50_ms p99_ms cpu_us\n")
                for c in sweeps[g]:
                    key = ("main", g, "get-one", c)
                    vals = [cells.value(key, s, m) for m in ("rps", "p50_ms", "p99_ms", "cpu_us")]
                    f.write(f"{c} " + " ".join("NaN" if v is None else f"{v:.6g}" for v in vals) + "\n")
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    points = sorted({c for g in configs for c in sweeps[g]})
    xtics = ", ".join(f'"{c}" {c}' for c in points)

    def series(g, i, column):  # mutex-edge solid with filled points, nginx dashed
        color = f'lc rgb "{colors[i % len(colors)]}" lw 2'
        return [f'"{EDGE}-{g}.dat" using 1:{column} with linespoints {color} pt 7 '
                f'title "mutex-edge, {groups_label(g)}"',
                f'"nginx-{g}.dat" using 1:{column} with linespoints {color} pt 6 dt 2 '
                f'title "nginx, {groups_label(g)}"']

    head = ['set terminal pngcairo size 1000,600 font "DejaVu Sans,11"',
            "set logscale x 2", f"set xrange [{points[0] / 1.5}:{points[-1] * 1.5}]",
            f"set xtics ({xtics})", "set grid", "set key below horizontal",
            'set xlabel "concurrent connections (wrk -c)"']
    gp = head + ['set output "../throughput.png"',
                 'set title "GET /assign one group, keep-alive: throughput (server on 1 pinned core)"',
                 'set ylabel "requests per second"', "set yrange [0:*]", "set format y \"%.0s%c\"",
                 "plot " + ", \\\n  ".join(x for i, g in enumerate(configs) for x in series(g, i, 2))]
    gp += ['set output "../cpu.png"',
           'set title "GET /assign one group, keep-alive: server CPU time per request"',
           'set ylabel "CPU µs per request (utime+stime)"', 'set format y "%g"',
           "plot " + ", \\\n  ".join(x for i, g in enumerate(configs) for x in series(g, i, 5))]
    # Latency: one panel per configuration, p50 and p99 of both servers.
    width = 520 * len(configs)
    gp += [f'set terminal pngcairo size {width},560 font "DejaVu Sans,11"', 'set output "../latency.png"',
           "set logscale y 10", "set yrange [*:*]", 'set format y "%g"', "set key inside left top",
           'set ylabel "latency, ms (log scale)"',
           f'set multiplot layout 1,{len(configs)} title "GET /assign one group, keep-alive: latency by concurrency"']
    for g in configs:
        gp += [f'set title "{groups_label(g)}"',
               f'plot "{EDGE}-{g}.dat" using 1:4 with linespoints lc rgb "#d62728" lw 2 pt 7 title "mutex-edge p99", '
               f'"nginx-{g}.dat" using 1:4 with linespoints lc rgb "#d62728" lw 2 pt 6 dt 2 title "nginx p99", '
               f'"{EDGE}-{g}.dat" using 1:3 with linespoints lc rgb "#1f77b4" lw 2 pt 7 title "mutex-edge p50", '
               f'"nginx-{g}.dat" using 1:3 with linespoints lc rgb "#1f77b4" lw 2 pt 6 dt 2 title "nginx p50"']
    gp.append("unset multiplot")
    with open(os.path.join(pdir, "plots.gp"), "w", encoding="utf-8") as f:
        f.write("\n".join(gp) + "\n")
    done = subprocess.run(["gnuplot", "plots.gp"], cwd=pdir, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        print(f"report.py: gnuplot failed: {done.stderr.strip()}", file=sys.stderr)
        return []
    return ["throughput.png", "latency.png", "cpu.png"]


# ---------------------------------------------------------------- the report
def main(directory):
    meta, lists = read_meta(os.path.join(directory, "meta.txt"))
    runs = read_runs(os.path.join(directory, "results.txt"), float(meta.get("hz", 100)))
    cells = Cells(runs)
    images = plots(directory, cells)
    target = meta.get("target")
    doc = [f"# mutex-edge load test, {meta['date']}", "",
           f"mutex-edge against nginx {meta['nginx']} answering the same body as a constant, "
           f"measured with wrk {meta['wrk']} in the same run, rounds interleaved "
           f"(nginx, mutex-edge, ...). Ratios are mutex-edge ÷ nginx, the median over "
           f"{meta['rounds']} round(s) of {meta['duration']} s: below 1 is better for latency and "
           f"CPU, above 1 for requests/s. Compare ratios, not absolutes: they depend on the machine.", "",
           f"- host: {meta['host']}; commit {meta['commit']}",
           f"- {meta.get('binary', 'target ' + str(target))}",
           f"- `{meta['command'].strip()}`, {meta['wall_s']} s end to end",
           f"- main comparison: {meta['server_threads']} nginx worker(s) against "
           f"{'the target' if target else 'mutex-edge --threads ' + meta['server_threads']}; "
           f"{meta['pinning'] or 'not pinned (too few cores)'}", ""]
    if target:
        doc[-1:-1] = [f"- **target** {target}" + (
            f" (pid {meta['target_pid']})" if meta.get("target_pid")
            else ": no pid given (--target-pid), so no CPU per request or RSS for it")]
    doc += ["## Summary", "", summary(cells, meta, runs, lists), "",
            "A requests/s ratio near 1 where the tables below say *wrk-bound* means that the one "
            "wrk thread was the limit, not the server: CPU per request is the figure to compare "
            "then.", ""]
    if images:
        doc += ["## Plots", ""] + [f"![{i[:-4]}]({i})" for i in images] + [""]
    doc += ["## Results (server pinned)", "",
            "Each cell: mutex-edge's value (median of the rounds) and, in brackets, its ratio to nginx. "
            "Errors are non-2xx answers plus socket errors (connect, read, write, timeout). CPU is "
            "the server's utime+stime (nginx: master and workers) from /proc over the run divided "
            "by the requests; RSS the highest VmRSS sampled every 100 ms.", "",
            main_tables(cells), ""]
    if cells.keys("two-core"):
        doc += ["## Two threads", "",
                f"mutex-edge `--threads 2` against nginx with 2 workers, nothing pinned (wrk shares "
                f"the cores), GET one group keep-alive c={meta['key_c']}; scaling = requests/s with "
                f"2 threads ÷ with 1 pinned thread.", "", two_core_table(cells, int(meta["key_c"])), ""]
    if cells.keys("churn"):
        doc += ["## Config churn", "",
                "mutex-edge polls mutex-mgmt (`--upstream`, `--poll-interval 200ms`), pinned as above; "
                "mutex-mgmt and the editor (PATCH /api/1/mutexes/K/slots/1 with new experiments, K "
                "drawn from the seed) run on wrk's core. Rounds alternate without and with edits. "
                "Versions served: how far mutex-edge's /status version moved during the runs.", "",
                churn_table(cells), ""]
    doc += ["## Noise", "", noise_section(runs, meta), "", "## mutex-edge's logs", "",
            log_section(directory), "", "## Notes", ""]
    doc += [f"- {n}" for n in lists["note"]]
    doc += ["- nginx answers mutex-edge's answer to one sample request per scenario as a constant "
            "(`load/nginx-constant.conf.template`: `return 200` with the body when it fits in one "
            "nginx configuration token, else the file as static content; the bytes are checked equal):"]
    samples = collections.defaultdict(list)  # (scenario, how, request) -> [(groups, bytes)]
    for line in dict.fromkeys(lists["sample"]):
        g, scenario, size, how, request = line.split(maxsplit=4)
        samples[(scenario, how, request)].append((groups_label(g), f"{int(size):,} bytes"))
    for (scenario, how, request), sizes in samples.items():
        text = (sizes[0][1] if len({b for _, b in sizes}) == 1
                else ", ".join(f"{b} with {g}" for g, b in sizes))
        doc.append(f"  - {scenario}, `{request}`: {text}, "
                   f"{'`return 200`' if how == 'return' else 'static file'}")
    doc += ["- mutex-edge's answers vary with the user, nginx's do not; wrk's bytes per response "
            "are in the table of all runs.", "",
            "<details><summary>All runs</summary>", "", all_runs_table(runs), "", "</details>", ""]
    with open(os.path.join(directory, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(doc))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
