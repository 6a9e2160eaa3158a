#!/usr/bin/env bash
# A fleet on loopback: mutex-mgmt -> 2 edge-tier mutex-edges -> N sidecars chained to them.
#
# For each sidecar count and for watch and plain polling (at the same poll interval), one run
# of load/fleet.py: every sidecar (--threads 1) serves the seed, then --changes edits are made
# at mutex-mgmt --spacing seconds apart while a light /assign loop runs on a sample of the
# sidecars. Reports per-change propagation to all sidecars (p50, p99, max; from the edit at
# mutex-mgmt and from the sidecar's tier instance serving it), the requests per second
# mutex-mgmt received (the tier's pages), the tier's CPU, the sidecars' RSS and failed
# /assign answers, as DIR/report.md, and DIR/propagation.png (gnuplot) by sidecar count.
# Builds nothing. Each run is bounded by timeout(1), and everything started is stopped on
# every exit path (fleet.py stops its processes; the trap kills what is left of the group).
#
# Exit status: 0 when every run had every change reach every sidecar and no failed /assign;
# 1 otherwise; 2 on a usage or set-up problem.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<'EOF'
Usage: load/fleet.sh [OPTIONS]

  --sidecars LIST          sidecar counts, comma-separated (at most 500)  (default 10,100)
  --modes LIST             watch, poll or both                            (default watch,poll)
  --changes N              edits at mutex-mgmt per run                    (default 20)
  --spacing S              seconds between edits                          (default 2)
  --poll-interval D        every mutex-edge's --poll-interval             (default 1s)
  --out DIR                where the report goes    (default load/reports/fleet-<date>)
  --edge BIN, --mgmt BIN   the binaries   (default build/bin/mutex-edge, build/bin/mutex-mgmt)
  -h, --help               this help

Example: load/fleet.sh --sidecars 10,100,500
EOF
}

sidecars=10,100 modes=watch,poll changes=20 spacing=2 interval=1s out=""
edge_bin=$root/build/bin/mutex-edge mgmt_bin=$root/build/bin/mutex-mgmt
while [[ $# -gt 0 ]]; do
  case $1 in
    --sidecars) sidecars=${2:?}; shift ;;
    --modes) modes=${2:?}; shift ;;
    --changes) changes=${2:?}; shift ;;
    --spacing) spacing=${2:?}; shift ;;
    --poll-interval) interval=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --edge) edge_bin=${2:?}; shift ;;
    --mgmt) mgmt_bin=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fleet.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $edge_bin && -x $mgmt_bin ]] || { echo "fleet.sh: build mutex-edge and mutex-mgmt first (cmake --build build)" >&2; exit 2; }
IFS=, read -ra counts <<<"$sidecars"
IFS=, read -ra mode_list <<<"$modes"
for n in "${counts[@]}"; do
  [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 500 ]] || { echo "fleet.sh: --sidecars: 1 to 500 each, got $n" >&2; exit 2; }
done
out=${out:-$root/load/reports/fleet-$(date +%Y-%m-%d-%H%M)}
mkdir -p "$out"
# Each sidecar holds a few descriptors; the tier one per sidecar.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

runner=""
cleanup() {
  if [[ -n $runner ]] && kill -0 "$runner" 2>/dev/null; then
    # timeout(1) passes the signal to fleet.py, which stops every process it started.
    kill -TERM "$runner" 2>/dev/null || true
    wait "$runner" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

status=0
# A run: start-up (a few seconds for 500 sidecars), the edits, 30 s for stragglers, stopping.
limit=$(python3 -c "print(int(120 + $changes * $spacing))")
for n in "${counts[@]}"; do
  for mode in "${mode_list[@]}"; do
    echo "fleet.sh: $n sidecars, $mode ..." >&2
    dir=$out/n$n-$mode
    timeout --kill-after=15 "$limit" python3 "$root/load/fleet.py" --edge "$edge_bin" --mgmt "$mgmt_bin" \
      --sidecars "$n" --mode "$mode" --changes "$changes" --spacing "$spacing" \
      --poll-interval "$interval" --out "$dir" >"$out/n$n-$mode.out" 2>&1 &
    runner=$!
    if ! wait "$runner"; then
      status=1
      echo "fleet.sh: the run of $n sidecars ($mode) failed; see $out/n$n-$mode.out" >&2
    fi
    runner=""
    rm -rf "$dir/logs" "$dir/mgmt.sqlite3"*  # a few MB per sidecar count; result.json stays
  done
done

python3 - "$out" "$interval" "$changes" "$spacing" <<'PY'
import glob, json, os, sys
out, interval, changes, spacing = sys.argv[1:]
rows = []
for path in sorted(glob.glob(os.path.join(out, "n*-*/result.json"))):
    with open(path) as f:
        rows.append(json.load(f))
rows.sort(key=lambda r: (r["sidecars"], r["mode"]))
lines = [
    "# Fleet propagation: mutex-mgmt -> 2 edge-tier instances -> N sidecars",
    "",
    f"Loopback, one machine ({os.cpu_count()} cores). Every mutex-edge polls at --poll-interval "
    f"{interval}; {changes} edits at mutex-mgmt, {spacing} s apart. Propagation: to the last "
    "sidecar serving a change, from the edit at mutex-mgmt and from the sidecar's tier instance "
    "serving it (log timestamps, 1 ms). mutex-mgmt req/s: the pages the two tier instances "
    "fetched, per second. Tier CPU: cores used by each tier instance during the edits.",
    "",
    "| sidecars | mode | from tier p50 / p99 / max (ms) | from edit p50 / p99 / max (ms) | "
    "mutex-mgmt req/s | tier CPU (cores) | sidecar RSS median / max (MB) | RSS sum (MB) | "
    "/assign ok / failed | missed swaps |",
    "|---:|---|---|---|---:|---|---|---:|---|---:|",
]
for r in rows:
    t, e, rss = r["from_tier_ms"], r["from_edit_ms"], r["sidecar_rss_kb"]
    lines.append(
        f"| {r['sidecars']} | {r['mode']} | {t['p50']} / {t['p99']} / {t['max']} | "
        f"{e['p50']} / {e['p99']} / {e['max']} | {r['mgmt_requests_per_s']:.2f} | "
        + " + ".join(f"{c:.3f}" for c in r["tier_cpu_cores"])
        + f" | {rss['median'] / 1024:.1f} / {rss['max'] / 1024:.1f} | {rss['sum'] / 1024:.0f} | "
        f"{r['assign_ok']} / {r['assign_failed']} | {r['missing_swaps']} |")
with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(out, "propagation.dat"), "w") as f:
    for mode in ("watch", "poll"):
        f.write(f"# {mode}: sidecars p50_ms p99_ms max_ms (from tier)\n")
        for r in rows:
            if r["mode"] == mode:
                t = r["from_tier_ms"]
                f.write(f"{r['sidecars']} {t['p50']} {t['p99']} {t['max']}\n")
        f.write("\n\n")
print("\n".join(lines))
PY

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF || echo "fleet.sh: gnuplot failed; the report has the figures" >&2
set terminal pngcairo size 900,540
set output "$out/propagation.png"
set title "Propagation to every sidecar, from its tier instance (p99 over the changes)"
set xlabel "sidecars"
set ylabel "ms"
set logscale x
set key top left
set grid
plot "$out/propagation.dat" index 0 using 1:3 with linespoints title "watch p99", \
     "" index 0 using 1:4 with linespoints title "watch max", \
     "" index 1 using 1:3 with linespoints title "poll p99", \
     "" index 1 using 1:4 with linespoints title "poll max"
EOF
fi
echo "fleet.sh: report in $out/report.md" >&2
exit "$status"
