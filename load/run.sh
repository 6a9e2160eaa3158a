#!/usr/bin/env bash
# HTTP load test of mutex-edge against nginx serving the same answer as a constant.
#
# Generates configurations from a seed (10, 1,000 and 10,000 groups), starts build/bin/mutex-edge
# on each, and runs wrk scenarios (load/scenarios/*.lua: varied users from a seed) against it and
# against nginx answering mutex-edge's own answer to a sample request of the scenario, in
# interleaved rounds (nginx, mutex-edge, nginx, mutex-edge...). With two or more cores the
# servers run on CPU 1 and wrk on CPU 0. Per run it records requests/s, latency percentiles,
# errors, the server's CPU per request and its RSS, and how much CPU other processes took (a
# round over --noise-pct is repeated once). Then a config-churn run (mutex-mgmt edits a group
# every 100 ms, mutex-edge polls it every 200 ms) and a two-core run. It writes
# load/reports/<date>/report.md with PNG plots. Builds nothing; every wait is bounded and the
# whole run stops within --max-seconds.
#
# Exit status: 0 on a clean run; 1 when mutex-edge answered anything but 2xx, had socket
# errors, died, missed the config changes or did not exit on SIGTERM; 2 on a usage or set-up
# problem.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
orig_args=("$@")

usage() {
  cat <<'EOF'
Usage: load/run.sh [OPTIONS]

  -d, --duration S           seconds per wrk run                       (default 3; quick 1)
  -r, --rounds N             nginx+mutex-edge pairs per measurement    (default 2; quick 1)
      --configs LIST         group counts of the generated configurations
                                                           (default 10,1000,10000; quick 10,10000)
      --scenarios LIST       which of: get-one get-one-close get-all post-one batch two-core churn
                             (comma-separated; default all)
  -c, --concurrency LIST     connections of the get-one sweep   (default 1,8,64,128,512; quick 8,128)
      --other-concurrency N  connections of every other scenario       (default 64)
      --server-threads N     mutex-edge --threads and nginx workers of the main comparison
                             (default 1; pinned to CPUs 1..N when there are more cores than N)
      --seed N               seed of the configurations, the users and the churn (default 42)
      --noise-pct P          repeat once a round in which other processes took over P% of the CPU
                                                                       (default 10)
      --churn-groups N       groups seeded into mutex-mgmt for the churn run (default 1000)
      --quick                a smoke run of about a minute (the "quick" defaults above)
      --max-seconds S        hard limit for the whole run              (default 570)
      --out DIR              where the report goes            (default load/reports/<date>)
      --target URL           measure a running mutex-edge at URL instead of starting one
                             (no churn or two-core runs; nginx still runs here as the reference)
      --target-pid PID       the target's process id, for its CPU per request and RSS
  -h, --help                 this help

Default matrix, 5 to 10 minutes on 2 cores (noisy rounds are repeated while time allows):
  per configuration: GET one group with keep-alive at every --concurrency; GET one group with a
    new connection per request, POST /assign and POST /assign/batch (100 users x 10 groups) at
    --other-concurrency; GET all groups only with at most 100 groups;
  two-core: --threads 2 against 2 nginx workers, unpinned, for the smallest and the largest
    configuration at c=128;
  churn: --churn-groups groups in mutex-mgmt, one edited every 100 ms, at --other-concurrency.
Env: MUTEX_EDGE_BIN, MUTEX_MGMT_BIN (default build/bin/...).
EOF
}

die() { echo "load/run.sh: $*" >&2; exit 2; }

duration="" rounds="" configs="" concurrency="" quick=""
scenarios=get-one,get-one-close,get-all,post-one,batch,two-core,churn
other_c=64 server_threads=1 seed=42 noise_pct=10 churn_groups=1000 max_seconds=570
out="" target="" target_pid=""
while (($#)); do
  case "$1" in
    -d|--duration) duration=${2:?}; shift ;;
    -r|--rounds) rounds=${2:?}; shift ;;
    --configs) configs=${2:?}; shift ;;
    --scenarios) scenarios=${2:?}; shift ;;
    -c|--concurrency) concurrency=${2:?}; shift ;;
    --other-concurrency) other_c=${2:?}; shift ;;
    --server-threads) server_threads=${2:?}; shift ;;
    --seed) seed=${2:?}; shift ;;
    --noise-pct) noise_pct=${2:?}; shift ;;
    --churn-groups) churn_groups=${2:?}; shift ;;
    --quick) quick=1 ;;
    --max-seconds) max_seconds=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --target) target=${2:?}; shift ;;
    --target-pid) target_pid=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
  shift
done
if [[ -n $quick ]]; then
  : "${duration:=1}" "${rounds:=1}" "${configs:=10,10000}" "${concurrency:=8,128}"
else
  : "${duration:=3}" "${rounds:=2}" "${configs:=10,1000,10000}" "${concurrency:=1,8,64,128,512}"
fi
for v in duration rounds other_c server_threads seed noise_pct churn_groups max_seconds; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
[[ $configs =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--configs must be numbers separated by commas"
[[ $concurrency =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--concurrency must be numbers separated by commas"
((duration >= 1 && rounds >= 1 && server_threads >= 1 && churn_groups >= 1)) ||
  die "--duration, --rounds, --server-threads and --churn-groups must be at least 1"
IFS=, read -r -a config_list <<<"$configs"
IFS=, read -r -a sweep <<<"$concurrency"
IFS=, read -r -a scenario_list <<<"$scenarios"
for s in "${scenario_list[@]}"; do
  [[ $s =~ ^(get-one|get-one-close|get-all|post-one|batch|two-core|churn)$ ]] ||
    die "unknown scenario '$s' (known: get-one get-one-close get-all post-one batch two-core churn)"
done
for c in "${sweep[@]}" "$other_c"; do ((c >= 1)) || die "concurrency must be at least 1"; done
[[ -z $target || $target =~ ^http://[^/]+$ ]] || die "--target must look like http://HOST:PORT"
[[ -z $target_pid || -n $target ]] || die "--target-pid needs --target"
[[ -z $target_pid || -r /proc/$target_pid/stat ]] || die "no process $target_pid"

# Backstop for the time bound: re-run this script under timeout(1), which signals the whole
# process group (wrk and the servers included) if anything hangs. The budget checks below
# normally finish well before it.
if [[ -z ${_LOAD_RUN_TIMED:-} ]]; then
  _LOAD_RUN_TIMED=1 exec timeout --kill-after=5 "$((max_seconds + 20))" \
    bash "$root/load/run.sh" "${orig_args[@]}"
fi
started=$SECONDS

# ------------------------------------------------------------------ prerequisites
bin=${MUTEX_EDGE_BIN:-$root/build/bin/mutex-edge}
mgmt_bin=${MUTEX_MGMT_BIN:-$root/build/bin/mutex-mgmt}
build_cmd="cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2"
nginx=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx) # /usr/sbin may not be on PATH
missing=()
[[ -x $nginx ]] || missing+=(nginx)
for tool in wrk gnuplot curl python3 taskset timeout; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) ||
  die "missing ${missing[*]}; install the load-test tools with: ./scripts/install-deps.sh --load"
if [[ -z $target ]]; then
  [[ -x $bin ]] || die "$bin not found; build it first (this script builds nothing): $build_cmd"
  [[ -x $mgmt_bin ]] || die "$mgmt_bin not found; build it first: $build_cmd"
fi

ncpu=$(nproc)
hz=$(getconf CLK_TCK)
# Pinning: the server under test on CPUs 1..N, wrk (and the churn's helpers) on CPU 0.
all_cpus=0-$((ncpu - 1))
pinning=""
if ((ncpu > server_threads)); then
  pinning="servers on CPU 1, wrk on CPU 0 (1 thread)"
  ((server_threads == 1)) || pinning="servers on CPUs 1-$server_threads, wrk on CPU 0 (1 thread)"
  [[ -z $target ]] || pinning="nginx on CPU 1, wrk on CPU 0 (1 thread); the target as it runs"
fi
# This script and its helpers (curl, the RSS sampler, the editor) stay off the servers' CPUs.
if [[ -n $pinning ]]; then taskset -p -c 0 $$ >/dev/null; fi
# The settings of a phase: server threads (nginx workers) and CPUs, wrk's CPUs and threads.
set_phase() {
  if [[ $1 == two-core ]]; then
    threads=2 server_cpus=$all_cpus wrk_cpus=$all_cpus wrk_threads=2
  elif [[ -n $pinning ]]; then
    threads=$server_threads server_cpus=1 wrk_cpus=0 wrk_threads=1
    ((server_threads == 1)) || server_cpus=1-$server_threads
  else
    threads=$server_threads server_cpus=$all_cpus wrk_cpus=$all_cpus wrk_threads=$ncpu
  fi
}
key_c=128 # the concurrency of the summary and of the two-core run
[[ ",$concurrency," == *",128,"* ]] || key_c=${sweep[-1]}
has() { [[ ",$scenarios," == *",$1,"* ]]; }

# ------------------------------------------------------------------ clean-up
tmp=$(mktemp -d)
chmod 755 "$tmp" # nginx's workers, run as root, switch to nobody and read the body from here
edge_pid="" nginx_pid="" mgmt_pid="" churn_pid="" sampler_pid=""
failures=()

# Stops a server: SIGTERM, up to 5 s for it to exit, then SIGKILL. Sets stop_rc.
stop_rc=0
# shellcheck disable=SC2317 # reached from the EXIT trap, which shellcheck does not follow
stop_server() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 250; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    stop_rc=killed
  else
    wait "$pid" 2>/dev/null && stop_rc=0 || stop_rc=$?
  fi
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "$sampler_pid" "$churn_pid" "$nginx_pid" "$edge_pid" "$mgmt_pid"; do
    if [[ -n $pid ]]; then stop_server "$pid"; fi
  done
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "load/run.sh: interrupted" >&2; exit 1' INT TERM

# The binaries measured are copies taken now: a rebuild during the run changes nothing.
if [[ -z $target ]]; then
  cp "$bin" "$tmp/mutex-edge" || die "cannot copy $bin"
  cp "$mgmt_bin" "$tmp/mutex-mgmt" || die "cannot copy $mgmt_bin"
  bin_info="$bin (built $(date -r "$bin" '+%Y-%m-%d %H:%M'), sha256 $(sha256sum "$bin" | cut -c1-12))"
  bin=$tmp/mutex-edge mgmt_bin=$tmp/mutex-mgmt
else
  python3 "$root/load/run_helper.py" keys "$target" "$tmp/keys-target.txt" || exit 2
fi

# ------------------------------------------------------------------ the plan
# One line per measurement: phase groups scenario concurrency. Each is --rounds pairs of runs.
plan=() notes=()
if [[ -n $target ]]; then
  config_list=(target)
  notes+=("target $target: no config churn or two-core runs (they need a mutex-edge started here)")
  [[ -n $target_pid ]] ||
    notes+=("target without --target-pid: no CPU per request or RSS for it, only for nginx")
fi
for g in "${config_list[@]}"; do
  if has get-one; then for c in "${sweep[@]}"; do plan+=("main $g get-one $c"); done; fi
  if has get-one-close; then plan+=("main $g get-one-close $other_c"); fi
  if has get-all; then
    n=$g
    [[ $g != target ]] || n=$(wc -l <"$tmp/keys-target.txt")
    if ((n <= 100)); then plan+=("main $g get-all $other_c")
    else notes+=("GET all groups skipped with $n groups (an answer of about $((n * 130 / 1000)) KB)"); fi
  fi
  if has post-one; then plan+=("main $g post-one $other_c"); fi
  if has batch; then plan+=("main $g batch $other_c"); fi
done
if [[ -z $target ]]; then
  if has two-core; then
    if ((ncpu >= 2)); then
      mapfile -t ends < <(printf '%s\n' "${config_list[@]}" | sort -n | sed -n '1p;$p' | uniq)
      for g in "${ends[@]}"; do plan+=("two-core $g get-one $key_c"); done
    else
      notes+=("two-core run skipped: this machine has $ncpu core")
    fi
  fi
  if has churn; then plan+=("churn $churn_groups get-one $other_c"); fi
fi
((${#plan[@]})) || die "nothing to run with --scenarios $scenarios"

# Time: a run costs its duration plus ~0.6 s of wrk start-up and bookkeeping (run_ds, in
# tenths of a second); a measurement ~1 s to capture its sample and start nginx; a
# configuration ~0.4 s per 1,000 groups to generate and load; 15 s to stop and report.
run_ds=$((duration * 10 + 6))
total_groups=0
for g in "${config_list[@]}"; do [[ $g == target ]] || total_groups=$((total_groups + g)); done
estimate=$((${#plan[@]} * (rounds * 2 * run_ds / 10 + 1) + total_groups / 2500 + 15))
((estimate <= max_seconds)) ||
  die "${#plan[@]} measurements x $rounds rounds need about ${estimate}s, over --max-seconds $max_seconds"

# ------------------------------------------------------------------ output
if [[ -z $out ]]; then
  out=$root/load/reports/$(date +%Y-%m-%d-%H%M)
  [[ ! -e $out ]] || out+=$(date +%S) # two runs in one minute
fi
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
results=$out/results.txt
: >"$results"

say() { printf '[%4ds] %s\n' "$((SECONDS - started))" "$*"; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls URL (200 expected) for up to 20 s; fails early if the process PID dies.
wait_ready() {
  local name=$1 pid=$2 url=$3 i
  for ((i = 0; i < 200; i++)); do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      say "$name exited before it was ready"
      return 1
    fi
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]] && return 0
    sleep 0.1
  done
  say "$name: $url not 200 after 20 s"
  return 1
}

# CPU ticks (utime+stime) of processes and their children (nginx's workers), and their RSS
# in kB (summed): bash reads of /proc, cheap enough to sample during a run.
family() { local p; for p in "$@"; do echo "$p"; pgrep -P "$p" || true; done; }
ticks_of() {
  local p t=0 f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
rss_of() {
  local p kb=0 k v _
  for p in "$@"; do
    while read -r k v _; do
      if [[ $k == VmRSS: ]]; then kb=$((kb + v)); break; fi
    done <"/proc/$p/status" 2>/dev/null || true
  done
  echo "$kb"
}
busy_ticks() { local _c u n s _; read -r _c u n s _ </proc/stat; echo $((u + n + s)); }
# In the background: the highest RSS of PIDS into FILE every 100 ms, for at most S seconds.
sample_rss() {
  local file=$1 seconds=$2 max=0 r i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    r=$(rss_of "$@")
    if ((r > max)); then max=$r; echo "$max" >"$file"; fi
    sleep 0.1
  done
}

# ------------------------------------------------------------------ the servers
edge_key="" edge_url="" edge_log="" edge_runs=0 mgmt_url="" nginx_url=""
key=load-test-key # mutex-mgmt's API key in the churn phase
config_file() { # the generated configuration and its key list for G groups
  local g=$1
  if [[ ! -e $tmp/groups-$g.json ]]; then
    python3 "$root/load/gen_groups.py" --groups "$g" --seed "$seed" --out "$tmp/groups-$g.json"
    seq -f 'group-%.0f' 1 "$g" >"$tmp/keys-$g.txt"
  fi
}

stop_edge() {
  if [[ -n $edge_pid ]]; then
    stop_server "$edge_pid"
    [[ $stop_rc == 0 ]] || failures+=("$edge_key: mutex-edge did not exit cleanly on SIGTERM ($stop_rc)")
    say "mutex-edge ($edge_key) stopped: exit status $stop_rc"
    edge_pid=""
  fi
  if [[ -n $mgmt_pid ]]; then stop_server "$mgmt_pid"; mgmt_pid=""; fi
}

# Starts what PHASE needs for G groups: the pinned mutex-edge (main), an unpinned one with
# two threads (two-core), or mutex-mgmt seeded with G groups and a mutex-edge polling it
# (churn). Nothing for a --target.
start_edge() {
  local phase=$1 g=$2 port source
  stop_edge
  edge_key="$phase-$g" edge_runs=$((edge_runs + 1))
  edge_log=$out/logs/edge-$edge_runs-$edge_key.log
  if [[ $g == target ]]; then edge_url=$target; return 0; fi
  config_file "$g"
  source=(--config-file "$tmp/groups-$g.json")
  if [[ $phase == churn ]]; then
    port=$(free_port)
    mgmt_url=http://127.0.0.1:$port
    rm -f "$tmp/mgmt.db"
    taskset -c "$wrk_cpus" env "MUTEX_MGMT_API_KEYS=$key" "$mgmt_bin" --db "$tmp/mgmt.db" \
      --seed "$tmp/groups-$g.json" --listen "127.0.0.1:$port" >"$out/logs/mgmt.log" 2>&1 &
    mgmt_pid=$!
    wait_ready mutex-mgmt "$mgmt_pid" "$mgmt_url/healthz" || exit 2
    source=(--upstream "$mgmt_url" --poll-interval 200ms)
  fi
  port=$(free_port)
  edge_url=http://127.0.0.1:$port
  taskset -c "$server_cpus" env "MUTEX_EDGE_API_KEY=$key" "$bin" --listen "127.0.0.1:$port" \
    --threads "$threads" "${source[@]}" >"$edge_log" 2>&1 &
  edge_pid=$!
  if ! wait_ready mutex-edge "$edge_pid" "$edge_url/readyz"; then
    tail -n 20 "$edge_log" >&2
    exit 1
  fi
  say "mutex-edge ($edge_key, $threads threads on CPU $server_cpus) ready at $edge_url"
}

# Captures mutex-edge's answer to the scenario's sample request and starts nginx serving it;
# checks that nginx answers the same bytes.
start_nginx() {
  local scenario=$1 g=$2 dir=$tmp/nginx method path code port how data=()
  if [[ -n $nginx_pid ]]; then stop_server "$nginx_pid"; nginx_pid=""; fi
  rm -rf "$dir" && mkdir -p "$dir"
  read -r method path < <(python3 "$root/load/run_helper.py" sample "$scenario" \
    "$tmp/keys-$g.txt" "$tmp/request.json")
  [[ $method == GET ]] || data=(-H 'Content-Type: application/json' --data-binary "@$tmp/request.json")
  sample() { curl -s --max-time 10 -X "$method" "${data[@]}" -o "$2" -w '%{http_code}' "$1$path" || true; }
  code=$(sample "$edge_url" "$dir/body.json")
  if [[ $code != 200 ]]; then
    failures+=("$edge_key $scenario: $method $path answered $code $(head -c 300 "$dir/body.json")")
    return 1
  fi
  port=$(free_port)
  nginx_url=http://127.0.0.1:$port
  how=$(python3 "$root/load/run_helper.py" nginx-conf "$root/load/nginx-constant.conf.template" \
    "$dir" "$port" "$threads")
  taskset -c "$server_cpus" "$nginx" -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" -g 'daemon off;' \
    >"$dir/stderr" 2>&1 &
  nginx_pid=$!
  wait_ready nginx "$nginx_pid" "$nginx_url/readyz" || { cat "$dir/stderr" >&2; exit 2; }
  code=$(sample "$nginx_url" "$tmp/nginx-body")
  if [[ $code != 200 ]] || ! cmp -s "$dir/body.json" "$tmp/nginx-body"; then
    die "nginx's answer ($code) to $method $path differs from mutex-edge's"
  fi
  echo "sample=$g $scenario $(wc -c <"$dir/body.json") $how $method ${path:0:120}" >>"$out/meta.txt"
}

# ------------------------------------------------------------------ one wrk run
declare -A script=([get-one]=get_one [get-one-close]=get_one [get-all]=get_all
  [post-one]=post_one [batch]=batch)
# run_wrk LABELS SERVER URL PIDS...: one wrk run, appended to $tmp/round as key=value words.
# LABELS starts with "phase groups scenario concurrency"; PIDS (maybe none) are the server's.
run_wrk() {
  local labels=$1 server=$2 url=$3 g scenario c line t0 b0 s0 o0 s1 b1 o1 wu ws extra=""
  shift 3
  local pids=() own=() args
  read -r _ g scenario c _ <<<"$labels"
  if (($#)); then mapfile -t pids < <(family "$@"); fi
  for p in "$mgmt_pid" "$churn_pid"; do [[ -z $p ]] || own+=("$p"); done
  args=("keys_file=$tmp/keys-$g.txt" "seed=$seed")
  [[ $scenario != get-one-close ]] || args+=(close=1)
  [[ $labels != churn* ]] || args+=(track_version=1)
  rm -f "$tmp/rss"
  if ((${#pids[@]})); then
    sample_rss "$tmp/rss" "$((duration + 5))" "${pids[@]}" &
    sampler_pid=$!
  fi
  t0=$EPOCHREALTIME b0=$(busy_ticks) s0=$(ticks_of "${pids[@]}") o0=$(ticks_of "${own[@]}")
  local TIMEFORMAT='%3U %3S' wt=$((c < wrk_threads ? c : wrk_threads))
  if ! { time timeout --kill-after=2 "$((duration + 10))" taskset -c "$wrk_cpus" wrk -t "$wt" \
      -c "$c" -d "${duration}s" --timeout 2s -s "$root/load/scenarios/${script[$scenario]}.lua" \
      "$url" -- "${args[@]}" >"$tmp/wrk.out" 2>&1; } 2>"$tmp/wrk.time"; then
    cat "$tmp/wrk.out" >&2
  fi
  s1=$(ticks_of "${pids[@]}") b1=$(busy_ticks) o1=$(ticks_of "${own[@]}")
  if [[ -n $sampler_pid ]]; then
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
    extra="server_ticks=$((s1 - s0)) rss_kb=$(cat "$tmp/rss" 2>/dev/null || echo 0) "
  fi
  line=$(grep '^RESULT ' "$tmp/wrk.out" | tail -n 1) || true
  [[ -n $line ]] || line="RESULT requests=0 non2xx=0 socket_errors=1 wrk_failed=1"
  read -r wu ws <"$tmp/wrk.time"
  # Other processes' CPU in % of all cores: busy ticks minus wrk's, the server's and ours.
  extra+=$(awk -v t0="$t0" -v t1="$EPOCHREALTIME" -v b="$((b1 - b0 - s1 + s0 - o1 + o0))" \
    -v w="$wu $ws" -v hz="$hz" -v n="$ncpu" 'BEGIN { split(w, x, " ")
      o = (b - (x[1] + x[2]) * hz) / (n * (t1 - t0) * hz) * 100
      printf "wall_s=%.2f wrk_cpu_s=%.2f other_cpu=%.1f", t1 - t0, x[1] + x[2], o < 0 ? 0 : o }')
  extra+=" wrk_threads=$wt"
  echo "$labels server=$server ${line#RESULT } $extra" >>"$tmp/round"
}

# ------------------------------------------------------------------ one measurement
# Rounds of (nginx, mutex-edge) — or (quiet, churn) in the churn phase — each repeated once
# when other processes took more than --noise-pct of the CPU and the time budget allows it.
left_runs=$((${#plan[@]} * rounds * 2))
budget_end=$((started + max_seconds - 15))

measure() {
  local phase=$1 g=$2 scenario=$3 c=$4 round attempt noisy labels pids=()
  if [[ $phase != churn ]]; then start_nginx "$scenario" "$g" || return 0; fi
  if [[ $g != target ]]; then pids=("$edge_pid"); elif [[ -n $target_pid ]]; then pids=("$target_pid"); fi
  for ((round = 1; round <= rounds; round++)); do
    for attempt in 1 2; do
      if ((SECONDS + 2 * run_ds / 10 > budget_end)); then
        notes+=("time budget: $phase $g $scenario c=$c stopped before round $round")
        return 0
      fi
      : >"$tmp/round"
      labels="$phase $g $scenario $c round=$round attempt=$attempt"
      if [[ $phase == churn ]]; then
        churn_round "$labels"
      else
        run_wrk "$labels" nginx "$nginx_url" "$nginx_pid"
        run_wrk "$labels" mutex-edge "$edge_url" "${pids[@]}"
      fi
      noisy=$(awk -v p="$noise_pct" '{ for (i = 1; i <= NF; i++)
        if ($i ~ /^other_cpu=/ && substr($i, 11) + 0 > p) n = 1 } END { print n + 0 }' "$tmp/round")
      left_runs=$((left_runs - 2))
      # Repeat a noisy round once if the rest of the plan still fits in the budget after it.
      if ((noisy && attempt == 1 && SECONDS + (left_runs + 2) * run_ds / 10 <= budget_end)); then
        sed 's/$/ kept=0 noisy=1/' "$tmp/round" >>"$results"
        left_runs=$((left_runs + 2))
        say "$phase $g $scenario c=$c round $round: other processes over $noise_pct% of the CPU, repeating"
        continue
      fi
      sed "s/\$/ kept=1 noisy=$noisy/" "$tmp/round" >>"$results"
      break
    done
    if ((${#pids[@]})) && ! kill -0 "${pids[0]}" 2>/dev/null; then
      failures+=("$edge_key: mutex-edge died during $scenario c=$c round $round")
      tail -n 20 "$edge_log" >&2
      edge_pid=""
      return 0
    fi
  done
  say "$phase $g $scenario c=$c: $(awk '{ for (i = 1; i <= NF; i++)
    if ($i ~ /^(server|rps)=/) printf "%s ", $i }' "$tmp/round")"
}

# One churn round: the scenario without, then with, a group edited every 100 ms. How many
# config versions mutex-edge went through comes from its /status, its polls from /metrics.
churn_runs=0
edge_state() { # prints "version polls updating-polls failed-polls"
  local v p
  v=$(curl -s --max-time 2 "$edge_url/status" | grep -o '"version":[0-9]*' | head -n 1) || true
  p=$(curl -s --max-time 2 "$edge_url/metrics" | awk '/^mutex_edge_upstream_polls_total/ {
      n += $NF; if (/"updated"/) u += $NF; else if (!/"unchanged"|"not_modified"/) f += $NF }
    END { printf "%d %d %d", n, u, f }') || true
  echo "${v#*:} ${p:-0 0 0}"
}
churn_round() {
  local labels=$1 g v0 p0 u0 f0 v1 p1 u1 f1 stats=$tmp/churn.json edits="" server
  read -r _ g _ <<<"$labels"
  churn_runs=$((churn_runs + 1))
  for server in quiet churn; do
    read -r v0 p0 u0 f0 < <(edge_state)
    if [[ $server == churn ]]; then
      rm -f "$stats"
      taskset -c "$wrk_cpus" env "MUTEX_MGMT_KEY=$key" python3 "$root/load/run_helper.py" churn \
        --url "$mgmt_url" --groups "$g" --seed "$((seed * 1000 + churn_runs))" --interval 0.1 --seconds "$((duration + 3))" \
        --out "$stats" &
      churn_pid=$!
    fi
    run_wrk "$labels" "$server" "$edge_url" "$edge_pid"
    if [[ $server == churn ]]; then
      stop_server "$churn_pid"
      churn_pid=""
      edits=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("edits=%d edit_failures=%d edit_max_ms=%.1f" % (d["edits"], d["failed"], d["max_ms"]))' \
        "$stats" 2>/dev/null || echo edits=0 edit_failures=1)
    fi
    read -r v1 p1 u1 f1 < <(edge_state)
    sed -i "\$s/\$/ versions=$((v1 - v0)) polls=$((p1 - p0)) polls_updated=$((u1 - u0)) polls_failed=$((f1 - f0)) $edits/" "$tmp/round"
  done
}

# ------------------------------------------------------------------ run
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
[[ -z $(git -C "$root" status --porcelain -- . ':!load' 2>/dev/null) ]] || commit+=" (with uncommitted changes)"
{
  echo "date=$(date '+%Y-%m-%d %H:%M %Z')"
  echo "host=$ncpu cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "commit=$commit"
  if [[ -z $target ]]; then echo "binary=$bin_info"; fi
  echo "target=$target"
  echo "target_pid=$target_pid"
  echo "command=load/run.sh ${orig_args[*]}"
  echo "duration=$duration"
  echo "rounds=$rounds"
  echo "sweep=$concurrency"
  echo "other_c=$other_c"
  echo "key_c=$key_c"
  echo "server_threads=$server_threads"
  echo "pinning=$pinning"
  echo "noise_pct=$noise_pct"
  echo "hz=$hz"
  echo "seed=$seed"
  echo "churn_groups=$churn_groups"
  echo "nginx=$("$nginx" -v 2>&1 | cut -d/ -f2)"
  echo "wrk=$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f2)"
} >"$out/meta.txt"
say "${#plan[@]} measurements x $rounds rounds x 2 runs of ${duration}s: about ${estimate}s; report in $out"
[[ -n $pinning ]] || say "warning: $ncpu cores for $server_threads server threads: nothing is pinned"

for cell in "${plan[@]}"; do
  read -r phase g scenario c <<<"$cell"
  set_phase "$phase"
  [[ $edge_key == "$phase-$g" && ( -n $edge_pid || $g == target ) ]] || start_edge "$phase" "$g"
  measure "$phase" "$g" "$scenario" "$c"
done
if [[ -n $nginx_pid ]]; then stop_server "$nginx_pid"; nginx_pid=""; fi
stop_edge

# ------------------------------------------------------------------ verdict and report
while read -r line; do
  case " $line " in
    *" kept=1 "*) ;;
    *) continue ;;
  esac
  [[ $line =~ server=(mutex-edge|quiet|churn) ]] || continue
  for kv in $line; do
    case "$kv" in
      non2xx=[1-9]* | socket_errors=[1-9]*) failures+=("${line%% server=*}: ${BASH_REMATCH[1]} $kv") ;;
      versions=0) [[ $line != *server=churn* ]] || failures+=("${line%% server=*}: no new config version during the churn") ;;
    esac
  done
done <"$results"
for log in "$out"/logs/edge-*.log; do
  [[ -e $log ]] || continue
  tail -c 1000000 "$log" >"$log.tail" && mv "$log.tail" "$log" # keep the report's folder small
done
{
  for n in "${notes[@]}"; do echo "note=$n"; done
  for f in "${failures[@]}"; do echo "failure=$f"; done
  echo "wall_s=$((SECONDS - started))"
} >>"$out/meta.txt"
python3 "$root/load/report.py" "$out" || die "the report could not be written"
say "report: $out/report.md"
if ((${#failures[@]})); then
  printf 'FAIL: %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "OK: mutex-edge answered every request with 2xx and no socket errors"
