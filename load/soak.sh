#!/usr/bin/env bash
# Soak test of mutex-edge: load, config churn and upstream faults together for --minutes.
#
# Seeds mutex-mgmt with generated groups and starts it with injected faults on its list and
# get requests (500s, 429s, dropped connections, truncated bodies, latency); starts mutex-edge
# polling it every --poll-interval with a --state-dir; edits a group through mutex-mgmt every
# --edit-interval for the whole run; and runs wrk (load/scenarios/soak.lua: GET /assign, POST
# /assign and POST /assign/batch for varied users) in consecutive 5 s windows. Every window
# is a row of soak.csv (load/soak_run.py): mutex-edge's RSS, open fds and threads, the
# window's p99 and errors, the served config version and the polls. load/soak_report.py then
# writes report.md and soak.png and gives the verdict. Builds nothing; every loop ends by
# time and the whole run is bounded by timeout(1).
#
# Exit status: 0 when the run passed; 1 when it failed (see --help); 2 on a usage or set-up
# problem.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
orig_args=("$@")

usage() {
  cat <<'EOF'
Usage: load/soak.sh [OPTIONS]

  --minutes M              how long the load runs, fractional allowed (0.5)  (default 10)
  --groups N               groups seeded into mutex-mgmt                     (default 1000)
  --out DIR                where the report goes       (default load/reports/soak-<date>)
  --edge BIN, --mgmt BIN   the binaries       (default build/bin/mutex-edge, build/bin/mutex-mgmt)
  --seed N                 seed of the groups, users, edits and fault draws  (default 42)
  --connections N          wrk connections (one wrk thread)                  (default 16)
  --rate N                 requests per second at most; 0: as fast as wrk can (default 1000)
  --threads N              mutex-edge --threads                              (default 2)
  --poll-interval D        mutex-edge --poll-interval                        (default 200ms)
  --edit-interval S        seconds between churn edits                       (default 0.25)
  --fault-500-percent N    mutex-mgmt's injected faults on list and get requests:
  --fault-429-percent N      500s (default 3), 429s with Retry-After 1 (default 1),
  --fault-drop-percent N     dropped connections (default 3), truncated bodies
  --fault-truncate-percent N (default 2), and latency added to each (default 20ms)
  --fault-latency D
  --warmup S               seconds of warm-up before growth is judged
                                         (default the first 20% of the run or 60 s, if shorter)
  --rss-tolerance-pct P    after the warm-up, RSS may reach (warm-up max) x (1 + P/100)
  --rss-tolerance-mb MB      + MB                                  (defaults 10 and 8)
  --fd-tolerance N         open fds may reach warm-up max + N                (default 8)
  --thread-tolerance N     threads may reach warm-up max + N                 (default 2)
  --max-version-stall S    the served config version must change at least every S s
                                                                             (default 30)
  -h, --help               this help

The run fails (exit 1) on: any non-2xx answer, socket error or timeout (wrk --timeout 2s) in
any window, or a failed /status or /metrics probe; mutex-edge dying, or not exiting 0 on
SIGTERM at the end; a failed churn edit (faults never hit edits); no failed poll although
faults were injected; the served config version stalling longer than --max-version-stall;
and, after the warm-up, RSS, fds or threads beyond the tolerances above.

Writes DIR/soak.csv (one row per 5 s window), DIR/soak.png, DIR/report.md, DIR/meta.txt,
DIR/churn.json and DIR/logs/. The load runs --minutes; start-up, stopping and the report add
about 30 s, and timeout(1) stops everything at --minutes plus 3 minutes.
EOF
}

die() { echo "load/soak.sh: $*" >&2; exit 2; }

minutes=10 groups=1000 out="" seed=42 connections=16 rate=1000 threads=2
poll_interval=200ms edit_interval=0.25 warmup=""
f500=3 f429=1 fdrop=3 ftrunc=2 flatency=20ms
rss_pct=10 rss_mb=8 fd_tol=8 thread_tol=2 max_stall=30
edge_bin=$root/build/bin/mutex-edge mgmt_bin=$root/build/bin/mutex-mgmt
while (($#)); do
  case "$1" in
    --minutes) minutes=${2:?}; shift ;;
    --groups) groups=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --edge) edge_bin=${2:?}; shift ;;
    --mgmt) mgmt_bin=${2:?}; shift ;;
    --seed) seed=${2:?}; shift ;;
    --connections) connections=${2:?}; shift ;;
    --rate) rate=${2:?}; shift ;;
    --threads) threads=${2:?}; shift ;;
    --poll-interval) poll_interval=${2:?}; shift ;;
    --edit-interval) edit_interval=${2:?}; shift ;;
    --fault-500-percent) f500=${2:?}; shift ;;
    --fault-429-percent) f429=${2:?}; shift ;;
    --fault-drop-percent) fdrop=${2:?}; shift ;;
    --fault-truncate-percent) ftrunc=${2:?}; shift ;;
    --fault-latency) flatency=${2:?}; shift ;;
    --warmup) warmup=${2:?}; shift ;;
    --rss-tolerance-pct) rss_pct=${2:?}; shift ;;
    --rss-tolerance-mb) rss_mb=${2:?}; shift ;;
    --fd-tolerance) fd_tol=${2:?}; shift ;;
    --thread-tolerance) thread_tol=${2:?}; shift ;;
    --max-version-stall) max_stall=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
  shift
done
declare -A flag=([minutes]=--minutes [edit_interval]=--edit-interval [rss_pct]=--rss-tolerance-pct
  [rss_mb]=--rss-tolerance-mb [groups]=--groups [seed]=--seed [connections]=--connections [rate]=--rate
  [threads]=--threads [f500]=--fault-500-percent [f429]=--fault-429-percent [fdrop]=--fault-drop-percent
  [ftrunc]=--fault-truncate-percent [fd_tol]=--fd-tolerance [thread_tol]=--thread-tolerance
  [max_stall]=--max-version-stall)
decimal='^[0-9]+([.][0-9]+)?$'
for v in minutes edit_interval rss_pct rss_mb; do
  [[ ${!v} =~ $decimal ]] || die "${flag[$v]} must be a number, got '${!v}'"
done
[[ -z $warmup || $warmup =~ $decimal ]] || die "--warmup must be a number of seconds, got '$warmup'"
for v in groups seed connections rate threads f500 f429 fdrop ftrunc fd_tol thread_tol max_stall; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "${flag[$v]} must be a whole number, got '${!v}'"
done
[[ $poll_interval =~ ^[0-9]+(ms|s|m)$ && $flatency =~ ^[0-9]+(ms|s|m)$ ]] ||
  die "--poll-interval and --fault-latency take a duration with a unit: 200ms, 1s"
((groups >= 1 && connections >= 1 && threads >= 1)) || die "--groups, --connections and --threads must be at least 1"
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 + 0.5 }')
((seconds >= 15)) || die "--minutes $minutes is under 15 s: too short for a warm-up and samples after it"
((seconds <= 86400)) || die "--minutes is at most 1440"
# Warm-up: the first 20% of the run or 60 s, whichever is shorter.
: "${warmup:=$(awk -v s="$seconds" 'BEGIN { w = s * 0.2; printf "%g", w < 60 ? w : 60 }')}"

# Backstop for the time bound: re-run this script under timeout(1), which signals the whole
# process group (wrk and the servers included) if anything hangs.
if [[ -z ${_LOAD_SOAK_TIMED:-} ]]; then
  _LOAD_SOAK_TIMED=1 exec timeout --kill-after=10 "$((seconds + 180))" bash "$root/load/soak.sh" "${orig_args[@]}"
fi

# ------------------------------------------------------------------ prerequisites
build_cmd="cmake --preset release && cmake --build --preset release"
missing=()
for tool in wrk gnuplot curl python3 timeout; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) ||
  die "missing ${missing[*]}; install the load-test tools with: ./scripts/install-deps.sh --load"
[[ -x $edge_bin ]] || die "$edge_bin not found; build it first (this script builds nothing): $build_cmd"
[[ -x $mgmt_bin ]] || die "$mgmt_bin not found; build it first: $build_cmd"

# ------------------------------------------------------------------ clean-up
tmp=$(mktemp -d)
mgmt_pid="" edge_pid="" churn_pid="" sampler_pid=""
failures=()

# Sends SIGTERM to PID and waits up to 10 s for it, then SIGKILL. Sets stop_rc (exit status).
stop_rc=0
# shellcheck disable=SC2317 # also reached from the EXIT trap
stop_pid() {
  local pid=$1 deadline=$((SECONDS + 10))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
  if kill -KILL "$pid" 2>/dev/null; then
    stop_rc=killed
    wait "$pid" 2>/dev/null || true
  else
    wait "$pid" 2>/dev/null && stop_rc=0 || stop_rc=$?
  fi
}
# shellcheck disable=SC2317 # the EXIT trap
on_exit() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "$sampler_pid" "$churn_pid" "$edge_pid" "$mgmt_pid"; do
    if [[ -n $pid ]]; then stop_pid "$pid"; fi
  done
  rm -rf "$tmp"
  exit "$rc"
}
trap on_exit EXIT
trap 'echo "load/soak.sh: interrupted" >&2; exit 1' INT TERM

started=$SECONDS
say() { printf '[%5ds] %s\n' "$((SECONDS - started))" "$*"; }

# The binaries run are copies taken now: a rebuild during the run changes nothing.
{ cp "$edge_bin" "$tmp/mutex-edge" && cp "$mgmt_bin" "$tmp/mutex-mgmt"; } || die "cannot copy the binaries"
edge_info="$edge_bin (built $(date -r "$edge_bin" '+%Y-%m-%d %H:%M'), sha256 $(sha256sum "$edge_bin" | cut -c1-12))"

if [[ -z $out ]]; then
  out=$root/load/reports/soak-$(date +%Y-%m-%d-%H%M)
  [[ ! -e $out ]] || out+=$(date +%S)
fi
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
rm -f "$out/soak.csv" "$out/churn.json" "$out/report.md" "$out/soak.png" "$out"/logs/wrk-window-*.txt

# Waits up to 20 s for LOG to name the address the server listens on (both servers log
# `msg="listening" address=HOST:PORT`; they are started on port 0) and for URL_PATH there to
# answer 200; prints the base URL. Fails early when PID exits.
await_server() {
  local name=$1 pid=$2 log=$3 path=$4 deadline=$((SECONDS + 20)) addr=""
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || { echo "load/soak.sh: $name exited at start:" >&2; tail -n 5 "$log" >&2; return 1; }
    [[ -n $addr ]] || addr=$(grep -s -m1 -o 'msg="listening" address=[0-9.:]*' "$log" | cut -d= -f3) || true
    if [[ -n $addr && $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$addr$path" || true) == 200 ]]; then
      echo "http://$addr"
      return 0
    fi
    sleep 0.1
  done
  echo "load/soak.sh: $name not answering 200 on $path after 20 s" >&2
  return 1
}

# ------------------------------------------------------------------ start
key=soak-edge-key
python3 "$root/load/gen_groups.py" --groups "$groups" --seed "$seed" --out "$tmp/groups.json"
seq -f 'group-%.0f' 1 "$groups" >"$tmp/keys.txt"

faults_desc="500: $f500%, 429: $f429% (Retry-After 1 s), dropped connection: $fdrop%, truncated body: $ftrunc%, latency $flatency"
faults=(--fault-500-percent "$f500" --fault-429-percent "$f429" --fault-drop-percent "$fdrop"
  --fault-truncate-percent "$ftrunc" --fault-latency "$flatency" --fault-retry-after 1 --fault-seed "$seed")
MUTEX_MGMT_API_KEYS="soak-admin-key,$key" "$tmp/mutex-mgmt" --db "$tmp/mgmt.sqlite3" --seed "$tmp/groups.json" \
  --listen 127.0.0.1:0 "${faults[@]}" >"$out/logs/mgmt.log" 2>&1 &
mgmt_pid=$!
mgmt_url=$(await_server mutex-mgmt "$mgmt_pid" "$out/logs/mgmt.log" /healthz) || exit 2

# Failed polls are retried after 200 ms, doubling to at most 2 s, so the faults cost seconds.
poll_flags="--poll-failure-interval 200ms --poll-backoff-max 2s"
# shellcheck disable=SC2086 # poll_flags is two flags with their values
MUTEX_EDGE_API_KEY=$key "$tmp/mutex-edge" --listen 127.0.0.1:0 --threads "$threads" --upstream "$mgmt_url" \
  --poll-interval "$poll_interval" $poll_flags --state-dir "$tmp/state" >"$out/logs/edge.log" 2>&1 &
edge_pid=$!
edge_url=$(await_server mutex-edge "$edge_pid" "$out/logs/edge.log" /readyz) || exit 1
say "mutex-mgmt at $mgmt_url ($groups groups; faults $faults_desc), mutex-edge at $edge_url"

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
[[ -z $(git -C "$root" status --porcelain -- . ':!load' 2>/dev/null) ]] || commit+=" (with uncommitted changes)"
{
  echo "date=$(date '+%Y-%m-%d %H:%M %Z')"
  echo "host=$(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "commit=$commit"
  echo "edge_binary=$edge_info"
  echo "edge_pid=$edge_pid"
  echo "mgmt_pid=$mgmt_pid"
  echo "command=load/soak.sh ${orig_args[*]}"
  echo "seconds=$seconds"
  echo "groups=$groups"
  echo "seed=$seed"
  echo "connections=$connections"
  echo "rate=$rate"
  echo "threads=$threads"
  echo "poll_interval=$poll_interval"
  echo "poll_flags=$poll_flags"
  echo "edit_interval=$edit_interval"
  echo "faults=$faults_desc"
  echo "fault_500_percent=$f500"
  echo "fault_429_percent=$f429"
  echo "fault_drop_percent=$fdrop"
  echo "fault_truncate_percent=$ftrunc"
  echo "warmup_s=$warmup"
  echo "rss_tolerance_pct=$rss_pct"
  echo "rss_tolerance_mb=$rss_mb"
  echo "fd_tolerance=$fd_tol"
  echo "thread_tolerance=$thread_tol"
  echo "max_version_stall_s=$max_stall"
  echo "wrk=$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f2)"
} >"$out/meta.txt"

MUTEX_MGMT_KEY=soak-admin-key python3 "$root/load/run_helper.py" churn --url "$mgmt_url" --groups "$groups" \
  --seed "$seed" --interval "$edit_interval" --seconds "$((seconds + 5))" --out "$out/churn.json" --vary mixed &
churn_pid=$!

say "load for ${seconds}s (warm-up ${warmup}s): wrk -t1 -c$connections at up to $rate req/s in 5 s windows; report in $out"
python3 "$root/load/soak_run.py" --edge-url "$edge_url" --edge-pid "$edge_pid" --mgmt-url "$mgmt_url" \
  --mgmt-pid "$mgmt_pid" --seconds "$seconds" --csv "$out/soak.csv" --log-dir "$out/logs" \
  --scenario "$root/load/scenarios/soak.lua" --keys-file "$tmp/keys.txt" --seed "$seed" \
  --connections "$connections" --rate "$rate" &
sampler_pid=$!
sampler_rc=0
wait "$sampler_pid" || sampler_rc=$?
sampler_pid=""
# soak_run.py exits 3 when mutex-edge died (the CSV says in which window).
[[ $sampler_rc == 0 || $sampler_rc == 3 ]] || failures+=("load/soak_run.py failed (exit status $sampler_rc)")

# ------------------------------------------------------------------ stop and judge
stop_pid "$churn_pid"
churn_pid=""
if kill -0 "$edge_pid" 2>/dev/null; then
  stop_pid "$edge_pid"
  [[ $stop_rc == 0 ]] || failures+=("mutex-edge did not exit cleanly on SIGTERM (exit status $stop_rc)")
  say "mutex-edge stopped: exit status $stop_rc"
else
  wait "$edge_pid" 2>/dev/null && stop_rc=0 || stop_rc=$?
  how="exit status $stop_rc"
  ((stop_rc <= 128)) || how+=", signal $((stop_rc - 128))"
  failures+=("mutex-edge exited during the load ($how); see logs/edge.log")
fi
edge_pid=""
kill -0 "$mgmt_pid" 2>/dev/null || failures+=("mutex-mgmt died during the run")
stop_pid "$mgmt_pid"
mgmt_pid=""
for log in "$out"/logs/*.log; do
  [[ -e $log ]] || continue
  tail -c 2000000 "$log" >"$log.tail" && mv "$log.tail" "$log" # keep the report's folder small
done
{
  for f in "${failures[@]}"; do echo "failure=$f"; done
  echo "wall_s=$((SECONDS - started))"
} >>"$out/meta.txt"
rc=0
python3 "$root/load/soak_report.py" "$out" || rc=$?
say "report: $out/report.md, $out/soak.png, $out/soak.csv"
((rc <= 1)) || die "the report could not be written"
exit "$rc"
